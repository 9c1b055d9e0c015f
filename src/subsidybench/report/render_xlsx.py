"""A report as an Excel workbook for finance users: one sheet per table, numbers as numbers.

"About" comes first (what the report is, the currency, the exchange rate and its source, the
basis legend, the notes), then "Answer" (the report's first section as numbers), then one sheet
per table. Cells keep full precision; only their display format is set: money in the report's
currency, shares as percentages, seconds with digits that suit their size, rates with thousands
separators. Headers are words, not column names; every table has an autofilter and frozen
headers; an invalid row is greyed with its verdict in red, as in the HTML page.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from subsidybench.report.core_words import core_text
from subsidybench.report.display import basis_legend, programme_name
from subsidybench.report.i18n import ENGLISH, Messages
from subsidybench.report.tables import Report

_PERCENT = {
    "spread",
    "of_peak",
    "of_best_matmul",
    "subsidy_rate",
    "rate",
    "prefill_share",
    "machine_spread",
    "machine_round_spread",
}
_MONEY = {
    "price_per_hour",
    "price_low",
    "price_high",
    "net_price_per_hour",
    "gross_per_pflop_hour",
    "net_per_pflop_hour",
    "net_per_million_tokens",
    "p10",
    "p90",
    *(
        f"{k}_per_million_{w}"
        for k in ("gross", "net")
        for w in ("output_all_in", "input", "output")
    ),
}
# Seconds: microseconds to hours in one column, each with the digits its size deserves.
SECONDS_FORMAT = '[<0.001]0.000000" s";[<1]0.0000" s";#,##0.000" s"'
# Excel shows at most about 255 characters of a column comfortably; wider text wraps.
_MAX_WIDTH = 60
_GREY = "FF6B6B6B"
_GREY_FILL = "FFF1F1F1"
_RED = "FFB42318"


def money_format(currency: str | None, m: Messages = ENGLISH) -> str:
    """Two decimals from 1 up, four below (a price per million tokens can be 0.0013), with the
    currency after the figure."""
    unit = m.currency(currency).replace('"', "")
    tail = f' "{unit}"' if unit else ""
    return f"[<1]0.0000{tail};#,##0.00{tail}"


def header(column: str, m: Messages = ENGLISH) -> str:
    """A column's name as a reader writes it (the catalogue's words; else spaces for _)."""
    key = f"xcol.{column}"
    return m(key) if m.has(key) else column.replace("_", " ")


def _number_format(column: str, currency: str | None, m: Messages) -> str | None:
    if column in _PERCENT:
        return "0.0%"
    if column in _MONEY:
        return money_format(currency, m)
    if column.endswith("_per_s"):
        return "#,##0"
    if column.endswith("_s"):
        return SECONDS_FORMAT
    return None


def _format_sheet(
    ws: Any, frame: Any, m: Messages = ENGLISH, currency: str | None = None, live: bool = True
) -> None:
    """Headers in bold on a frozen row, formats by column, greyed invalid rows, an autofilter."""
    from openpyxl.styles import Alignment, Font, PatternFill

    ws.freeze_panes = "B2" if live and frame.shape[1] > 2 else "A2"
    # One style object of each kind, shared by the cells (openpyxl keeps one entry per distinct
    # style in the file either way): 2,700 Alignments were built for a 40-run report's cells.
    bold, wrap = Font(bold=True), Alignment(wrap_text=True, vertical="top")
    red_font, grey_font = Font(color=_RED, bold=True), Font(color=_GREY, bold=False)
    grey_fill = PatternFill("solid", fgColor=_GREY_FILL)
    for cell in ws[1]:
        cell.font = bold
        cell.alignment = wrap
    invalid = set()
    if "valid" in frame.columns:
        invalid = {i for i, v in enumerate(frame["valid"], start=2) if _false(v)}
    for i, column in enumerate(frame.columns, start=1):
        letter = ws.cell(row=1, column=i).column_letter
        values = [str(v) for v in frame[column].head(200)]
        width = max([min(len(header(column, m)), 24), *(len(v) for v in values)], default=10)
        ws.column_dimensions[letter].width = min(_MAX_WIDTH, max(width, 8) + 2)
        number_format = _number_format(str(column), currency, m)
        for cell in ws[letter][1:]:
            if number_format and not isinstance(cell.value, str):
                cell.number_format = number_format
            if isinstance(cell.value, str) and len(cell.value) > _MAX_WIDTH:
                cell.alignment = wrap
            if cell.row in invalid:
                cell.font = red_font if column in ("valid", "verdict") else grey_font
                cell.fill = grey_fill
        ws.cell(row=1, column=i).value = header(str(column), m)
    if live and len(frame):
        ws.auto_filter.ref = ws.dimensions


def _false(value: Any) -> bool:
    """A verdict cell that says invalid (None: no verdict, as for a skipped workload)."""
    import numpy as np

    return isinstance(value, bool | np.bool_) and not value


def _exchange_rate(report: Report, m: Messages) -> tuple[str, str] | None:
    """The exchange rate the report's money went through and its source, if any did."""
    fx = report.assumptions[report.assumptions["name"] == "exchange rate"]
    if fx.empty:
        return None
    row = fx.iloc[0]
    value = f"{core_text(row['value'], m)} ({m.basis(row['basis'])})"
    return value, core_text(str(row["source"]), m)


def write_xlsx(report: Report, path: Path, m: Messages = ENGLISH) -> None:
    """Write the workbook: About, Answer, then one sheet per table, then the live cost sheets."""
    import pandas as pd

    from subsidybench.report.answer_view import answer_frame, answer_section

    programme = "none"
    if report.programme:
        programme = f"{programme_name(report, m)} [{report.programme}]"
    fx = _exchange_rate(report, m)
    about = [
        (m("about.report"), report.title),
        (m("about.answer"), answer_section(report, m).intro),
        (m("about.generated"), report.generated),
        (m("about.toolkit"), f"subsidybench {report.toolkit_version}"),
        (m("about.currency"), m.currency(report.currency) or m("about.no_currency")),
        (m("about.fx"), fx[0] if fx else m("about.no_fx")),
        *([(m("about.fx_source"), fx[1])] if fx else []),
        (m("about.programme"), programme),
        ("", ""),
        (m("about.basis"), m("about.meaning")),
        *basis_legend(m),
        ("", ""),
        *((m("about.note"), core_text(n, m)) for n in report.notes),
    ]
    nothing = m("about.nothing", why=answer_section(report, m).intro)
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        frame = pd.DataFrame(about, columns=[m("about.field"), m("about.value")])
        about_sheet = m("sheet.about")
        frame.to_excel(writer, sheet_name=about_sheet, index=False)
        _format_sheet(writer.sheets[about_sheet], frame, m, live=False)
        tables = {"answer": answer_frame(report, m), **report.tables()}
        for name, table in tables.items():
            raw = table
            if table.empty:
                table = pd.DataFrame({"note": [nothing]})
            elif name == "ranges":
                table = table.assign(figure=[header(f, m) for f in table["figure"]])
            elif name == "assumptions":
                table = _assumption_words(table, m)
            sheet = m(f"sheet.{name}")
            table.to_excel(writer, sheet_name=sheet, index=False)
            _format_sheet(writer.sheets[sheet], table, m, report.currency)
            if name == "ranges" and not raw.empty:
                _range_rows(writer.sheets[sheet], raw, m)
        _live_sheets(writer.book, report, m)


def _range_rows(ws: Any, frame: Any, m: Messages) -> None:
    """The Ranges sheet holds money, shares and counts in one column: format by the row's
    figure (the currency column says which are money)."""
    pairs = zip(frame["figure"], frame["currency"], strict=True)
    for row, (figure, currency) in enumerate(pairs, start=2):
        if currency:
            fmt = money_format(currency, m)
        elif figure.endswith("rate") or figure == "mfu":
            fmt = "0.0%"
        else:
            fmt = "#,##0.00"
        for col in range(3, 7):  # point, P10, P50, P90
            ws.cell(row=row, column=col).number_format = fmt


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


def _assumption_words(frame: Any, m: Messages) -> Any:
    """The assumptions sheet in the reader's language, as the page shows it (the csv keeps the
    core's own words: it is data for programs)."""
    from subsidybench.report.display import assumption_text

    if m.lang == "en":
        return frame
    pairs = [assumption_text(n, v, m) for n, v in zip(frame["name"], frame["value"], strict=True)]
    return frame.assign(
        name=[p[0] for p in pairs],
        value=[p[1] for p in pairs],
        basis=[m.basis(b) for b in frame["basis"]],
        source=[core_text(s, m) for s in frame["source"]],
    )
