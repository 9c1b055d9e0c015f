"""Write a report into a directory: report.md, report.html, report.xlsx and one CSV per table."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from subsidybench.datafile import write_atomic
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

    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"--out: {out_dir} is a file, not a directory")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"--out: cannot create {out_dir}: {e.strerror or e}") from None
    # Each file is written whole or not at all (datafile.write_atomic): a failure part-way
    # leaves the previous report's file, never a truncated one.
    texts = text_files(report, m)
    files: list[tuple[Path, str | Callable[[Path], None]]] = [
        (out_dir / f"{STEM}.md", texts.pop(f"{STEM}.md")),
        (out_dir / f"{STEM}.html", render_html(report, render_charts(report, m), m)),
    ]
    files += [(out_dir / name, text) for name, text in texts.items()]
    files.append((out_dir / f"{STEM}.xlsx", lambda path: write_xlsx(report, path, m)))
    for path, content in files:
        write_atomic(path, content, "--out")
    return [path for path, _ in files]


def text_files(report: Report, m: Messages = ENGLISH) -> dict[str, str]:
    """The report's text files by name, as write_report writes them: the markdown and one csv
    per table (`verify` makes these again; the html and xlsx cost charts and a workbook)."""
    from subsidybench.report.answer_view import answer_frame
    from subsidybench.report.render_md import render_markdown

    out = {f"{STEM}.md": render_markdown(report, m)}
    out["answer.csv"] = answer_frame(report).to_csv(index=False)
    for name, table in report.tables().items():
        if not table.empty:
            out[f"{name}.csv"] = table.to_csv(index=False)
    return out
