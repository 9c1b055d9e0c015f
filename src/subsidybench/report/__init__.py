"""Reports of runs: Markdown, a self-contained HTML page with charts, CSV tables and an Excel
workbook, every number beside its basis and the assumptions it rests on.

`tables` builds the data (torch- and matplotlib-free); `charts`, `render_md`, `render_html` and
`render_xlsx` render it; `files.write_report` writes them all into a directory.

Imports cost, results, catalogue and the vocabulary; never measure, devices or torch.
"""

from subsidybench.report.tables import (
    DEFAULT_RATES,
    LabelledRun,
    PriceSpec,
    Report,
    ReportOptions,
    build_report,
    label_runs,
    parse_price,
)

__all__ = [
    "DEFAULT_RATES",
    "LabelledRun",
    "PriceSpec",
    "Report",
    "ReportOptions",
    "build_report",
    "label_runs",
    "parse_price",
]
