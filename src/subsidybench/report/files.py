"""Write a report into a directory: report.md, report.html, report.xlsx and one CSV per table."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING

from subsidybench.datafile import write_atomic
from subsidybench.errors import UserError
from subsidybench.report.alongside import Alongside
from subsidybench.report.i18n import ENGLISH, Messages
from subsidybench.report.tables import Report

if TYPE_CHECKING:
    from subsidybench.report.charts import Chart

STEM = "report"


def write_report(
    report: Report,
    out_dir: Path,
    m: Messages = ENGLISH,
    *,
    drawer: Alongside[list[Chart]] | None = None,
) -> list[Path]:
    """Render every format into `out_dir` (created if missing); returns the files written.
    `drawer` draws the bar charts in a second process: one forked before the report was built
    (`chart_drawer`, matplotlib imported), or `Alongside(fork=False)` to draw them here;
    default, one forked now where report.alongside can.

    Existing files of the same names are replaced: a report is derived from its run files and
    can always be made again.
    """
    for name in ("matplotlib", "openpyxl"):
        if importlib.util.find_spec(name) is None:
            raise UserError(
                f"reports need matplotlib and openpyxl ({name} is missing):"
                " pip install 'subsidybench[report]'"
            )
    from subsidybench.report.render_xlsx import write_xlsx

    if m.lang != "en":  # the fonts checked before anything is written (charts import matplotlib)
        from subsidybench.report.charts import check_fonts

        check_fonts(m)
    from subsidybench.report.render_html import render_html

    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"--out: {out_dir} is a file, not a directory")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"--out: cannot create {out_dir}: {e.strerror or e}") from None
    # Each file is written whole or not at all (datafile.write_atomic): a failure part-way
    # leaves the previous report's file, never a truncated one. The charts (only the html
    # shows them) and the workbook are a 40-run report's slowest parts: a second process
    # draws the bar charts while this one writes the workbook and then draws the rest
    # (report.alongside).
    with drawer if drawer is not None else Alongside() as bars:
        bars.send(_charts, report, m, 0)
        texts = text_files(report, m)
        md, html, xlsx = (out_dir / f"{STEM}.{suffix}" for suffix in ("md", "html", "xlsx"))
        write_atomic(xlsx, lambda path: write_xlsx(report, path, m), "--out")
        write_atomic(md, texts.pop(f"{STEM}.md"), "--out")
        csvs = [out_dir / name for name in texts]
        for path, text in zip(csvs, texts.values(), strict=True):
            write_atomic(path, text, "--out")
        rest = _charts(report, m, 1)
        write_atomic(html, render_html(report, [*bars.result(), *rest], m), "--out")
    return [md, html, *csvs, xlsx]


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


def chart_drawer(fork: bool | None = None) -> Alongside[list[Chart]]:
    """A child to draw a report's bar charts, forked now to import matplotlib while this
    process loads the runs and builds the report (a third of a second a report spends
    waiting otherwise); give it to write_report, in a `with` block that ends it."""
    return Alongside(fork=fork, prepare=_import_charts)


def _import_charts() -> None:
    import subsidybench.report.charts  # noqa: F401  (matplotlib with it)


def _charts(report: Report, m: Messages, part: int) -> list[Chart]:
    """One part of the report's charts (charts.render_charts); matplotlib is imported here, in
    the process that draws them."""
    from subsidybench.report.charts import render_charts

    return render_charts(report, m, part)
