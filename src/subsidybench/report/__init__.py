"""Reports of runs: Markdown, a self-contained HTML page with charts, CSV tables and an Excel
workbook, every number beside its basis and the assumptions it rests on.

`tables` builds the data (torch- and matplotlib-free); `charts`, `render_md`, `render_html` and
`render_xlsx` render it; `files.write_report` writes them all into a directory.

Imports cost, results, catalogue and the vocabulary; never measure, devices or torch.
"""

from typing import Any

# Resolved on first use (PEP 562): `cost` imports report.cost_answer, which must not import
# the run tables (and the run record, numpy statistics) behind these names.
_EXPORTS = (
    "DEFAULT_RATES",
    "LabelledRun",
    "PriceSpec",
    "Report",
    "ReportOptions",
    "build_report",
    "label_runs",
    "parse_price",
    "report_title",
)

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from subsidybench.report import tables

    return getattr(tables, name)
