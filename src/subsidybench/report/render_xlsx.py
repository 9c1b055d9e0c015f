"""A report as an Excel workbook for finance users: one sheet per table, numbers as numbers.

An "About" sheet comes first (what the report is, the basis legend, the notes); "Assumptions"
has a sheet of its own. Cells keep full precision; only their display format is set (money with
two decimals, shares as percentages), so a reader can recompute any figure from the sheets.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from subsidybench.report.display import basis_legend, programme_name
from subsidybench.report.i18n import ENGLISH, Messages
from subsidybench.report.tables import Report

_PERCENT = {"spread", "of_peak", "of_best_matmul", "subsidy_rate", "rate", "prefill_share"}
_MONEY = {
    "price_per_hour",
    "net_price_per_hour",
    "gross_per_pflop_hour",
    "net_per_pflop_hour",
    "net_per_million_tokens",
    *(
        f"{k}_per_million_{w}"
        for k in ("gross", "net")
        for w in ("output_all_in", "input", "output")
    ),
}
# Excel shows at most about 255 characters of a column comfortably; wider text wraps.
_MAX_WIDTH = 60


def _format_sheet(ws: Any, frame: Any, m: Messages = ENGLISH) -> None:
    from openpyxl.styles import Alignment, Font

    ws.freeze_panes = "A2"
    for cell in ws[1]:
        cell.font = Font(bold=True)
    english = {m(f"xcol.{c}"): c for c in (*_PERCENT, *_MONEY) if m.has(f"xcol.{c}")}
    for i, column in enumerate(frame.columns, start=1):
        letter = ws.cell(row=1, column=i).column_letter
        values = [str(v) for v in frame[column].head(200)]
        width = max([len(str(column)), *(len(v) for v in values)], default=10)
        ws.column_dimensions[letter].width = min(_MAX_WIDTH, width + 2)
        number_format = None
        column = english.get(column, column)
        if column in _PERCENT:
            number_format = "0.0%"
        elif column in _MONEY:
            number_format = "#,##0.00"
        elif column.endswith("_per_s"):
            number_format = "0.000E+00"
        for cell in ws[letter][1:]:
            if number_format:
                cell.number_format = number_format
            if isinstance(cell.value, str) and len(cell.value) > _MAX_WIDTH:
                cell.alignment = Alignment(wrap_text=True, vertical="top")


def write_xlsx(report: Report, path: Path, m: Messages = ENGLISH) -> None:
    """Write the workbook: About, then one sheet per table (Assumptions among them)."""
    import pandas as pd

    programme = "none"
    if report.programme:
        programme = f"{programme_name(report, m)} [{report.programme}]"
    about = [
        (m("about.report"), report.title),
        (m("about.generated"), report.generated),
        (m("about.toolkit"), f"subsidybench {report.toolkit_version}"),
        (m("about.currency"), m.currency(report.currency) or m("about.no_currency")),
        (m("about.programme"), programme),
        ("", ""),
        (m("about.basis"), m("about.meaning")),
        *basis_legend(m),
        ("", ""),
        *((m("about.note"), n) for n in report.notes),
    ]
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        frame = pd.DataFrame(about, columns=[m("about.field"), m("about.value")])
        about_sheet = m("sheet.about")
        frame.to_excel(writer, sheet_name=about_sheet, index=False)
        _format_sheet(writer.sheets[about_sheet], frame)
        for name, table in report.tables().items():
            if table.empty:
                table = pd.DataFrame({"note": [m("about.nothing", table=m(f"sheet.{name}"))]})
            sheet = m(f"sheet.{name}")
            table = table.rename(columns=lambda c: m(f"xcol.{c}") if m.has(f"xcol.{c}") else c)
            table.to_excel(writer, sheet_name=sheet, index=False)
            _format_sheet(writer.sheets[sheet], table, m)
        _live_sheets(writer.book, report, m)


LIVE_SHEETS = 8
"""At most this many live cost sheets (one per run's reference result): a workbook of dozens of
runs keeps its tables and leaves the rest to `cost --xlsx`."""


def live_sheet_name(i: int, m: Messages = ENGLISH) -> str:
    return m("sheet.live", n=i)


def _live_sheets(book: Any, report: Report, m: Messages) -> None:
    """One live cost sheet (report.live_workbook) per run's reference result: one device-hour of
    it, its price, rate, caps and throughput as input cells, the costs as formulas."""
    from subsidybench.report.live_workbook import write_cost_sheet

    for i, (label, scenario, answer) in enumerate(report.live[:LIVE_SHEETS], start=1):
        ws = book.create_sheet(live_sheet_name(i, m))
        write_cost_sheet(ws, scenario, answer, m)
        ws["F1"] = label
