"""Write a report into a directory: report.md, report.html, report.xlsx and one CSV per table."""

from __future__ import annotations

from pathlib import Path

from subsidybench.errors import UserError
from subsidybench.report.i18n import ENGLISH, Messages
from subsidybench.report.tables import Report

STEM = "report"


def write_report(report: Report, out_dir: Path, m: Messages = ENGLISH) -> list[Path]:
    """Render every format into `out_dir` (created if missing); returns the files written.

    Existing files of the same names are replaced: a report is derived from its run files and
    can always be made again.
    """
    try:
        from subsidybench.report.charts import render_charts
        from subsidybench.report.render_xlsx import write_xlsx
    except ImportError as e:  # matplotlib or openpyxl missing
        raise UserError(
            f"reports need matplotlib and openpyxl ({e.name} is missing):"
            " pip install 'subsidybench[report]'"
        ) from None
    from subsidybench.report.render_html import render_html
    from subsidybench.report.render_md import render_markdown

    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"--out: {out_dir} is a file, not a directory")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    md = out_dir / f"{STEM}.md"
    md.write_text(render_markdown(report, m), encoding="utf-8")
    written.append(md)
    page = out_dir / f"{STEM}.html"
    page.write_text(render_html(report, render_charts(report, m), m), encoding="utf-8")
    written.append(page)
    for name, table in report.tables().items():
        if table.empty:
            continue
        path = out_dir / f"{name}.csv"
        table.to_csv(path, index=False)
        written.append(path)
    xlsx = out_dir / f"{STEM}.xlsx"
    write_xlsx(report, xlsx, m)
    written.append(xlsx)
    return written
