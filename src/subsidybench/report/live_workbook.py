"""A live cost sheet: Excel formulas from input cells, so an analyst edits the rate or the price in
Excel and the net cost, the effective rate and the cost per unit of work follow.

Inputs sit in column B in the "Input" cell style, each with its basis in C and its source in D:
first the job's work, then the question's inputs (the job's hours or contract, throughput,
devices, scaling efficiency, price, exchange rate, subsidy rate, start), which are the inputs
table's sheet inputs (cost.inputs, `sheet=True`: their labels and number formats from their
rows), then the programme's terms (caps, pool, rate window, dates), which its file states.
Outputs are formulas over them, the same arithmetic as cost.model.evaluate_work and cost.terms
(subsidy = min(gross x rate before caps, the tightest of the caps and the pool); the
rate before caps blends the programme's rate over its window). A blank cap means none, as Excel's
MIN ignores blank cells. tests/test_live_workbook.py evaluates the formulas with the `formulas`
package and checks them against the model to the cent, before and after an input changes.

Written for one answer (`cost --xlsx`) and, in a report's workbook, for each costed result.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from subsidybench.cost.inputs import INPUTS, Input, Kind, flags_said, param_of, sheet_inputs
from subsidybench.cost.model import ContractJob, Estimate, HoursJob, ServeJob, TrainJob
from subsidybench.cost.scenario import Scenario
from subsidybench.cost.throughput import WorkUnit
from subsidybench.errors import UserError
from subsidybench.report.core_words import core_text
from subsidybench.report.i18n import ENGLISH, Messages

SHEET = "Cost"
INPUT_STYLE = "Input"
"""Excel's built-in style for cells a reader is meant to change (the pale orange fill)."""


@dataclass(frozen=True, slots=True)
class Cell:
    """One row of the sheet: a label key, a value or a formula, its basis and source."""

    key: str
    value: Any
    basis: str = ""
    source: str = ""
    number_format: str = "#,##0.00"
    label: str = ""
    """The label's message key when several rows share one (programme years); default the key."""
    n: int = 0
    """The programme year a shared label names."""
    text: str = ""
    """The label in words (an input's, from the inputs table), instead of a message key."""


# Excel's number format of an input row, by the input's unit in the inputs table (cost.inputs);
# a unit not listed shows as Excel's General.
FORMATS = {
    "money": "#,##0.00",
    "money/device-hour": "#,##0.0000",
    "CNY/USD": "0.0000",
    "share": "0.0%",
    "devices": "#,##0",
    "device-hours": "#,##0",
    "days": "#,##0.0",
    "date": "yyyy-mm-dd",
    "TFLOP/s": "#,##0.0000",
    "tokens/s": "#,##0.0000",
}


def number_format(i: Input) -> str:
    """An input row's number format, from its unit (a switch: 1 = yes, 0 = no)."""
    if i.kind in (Kind.SWITCH, Kind.TRISTATE):
        return "0"
    return FORMATS.get(i.unit, "General")


def input_label(i: Input, m: Messages, table: Sequence[Input] = INPUTS) -> str:
    """An input row's label: the sheet's own words where the catalogue has them (they say which
    currency the cell is in), else the input's help in the reader's language with its unit."""
    if m.has(f"xlsx.{i.name}"):
        return m(f"xlsx.{i.name}")
    text = flags_said(i.text(m.lang), lambda key: param_of(key, table), table)
    return f"{text} ({i.unit})" if i.unit else text


def _as_given(i: Input, s: Scenario) -> Cell | None:
    """A sheet input `_asked` does not know, as the question gave it (a single number, a
    switch or a date; else no row)."""
    value = getattr(s.request, i.name, None)
    if isinstance(value, np.ndarray):
        if value.size != 1:
            return None
        value = float(value.reshape(-1)[0])
    if isinstance(value, bool):
        value = int(value)
    elif isinstance(value, datetime.date):
        value = _serial(value)
    elif not isinstance(value, int | float):
        return None
    return Cell(i.name, value, "given by hand", s.request.name(i.name))


def _rows(
    s: Scenario, e: Estimate, m: Messages, table: Sequence[Input] = INPUTS
) -> tuple[list[Cell], list[Cell]]:
    """The input rows and the formula rows (formulas name inputs by key, resolved to cells).

    The question's inputs are the table's sheet inputs (cost.inputs.sheet_inputs), in its
    order, each as this answer took it (`_asked`, else `_as_given`); the job's work (derived)
    comes before them and the programme's terms (its file's) after: no flag states those."""
    if s.kind == "reach":
        raise UserError("--xlsx writes the sheet of one job's cost; --reach has none yet")
    if s.owned is not None and s.terms is not None:
        raise UserError("--xlsx: a building subsidy's sheet is not written yet; drop --xlsx")
    if e.price is None:
        raise UserError("--xlsx writes money: give a price")
    exponent = 0
    if s.fx_pair is not None and s.price_currency != s.currency:
        exponent = 1 if (s.price_currency, s.currency) == s.fx_pair else -1
    # The rate as --fx states it (quote per base), whichever money it converts: the price, the
    # programme's caps, or both; 1 where the answer has one currency.
    fx_rate = s.fx_rate if s.fx_pair is not None and s.fx_rate is not None else 1.0
    terms = s.terms
    from subsidybench.cost.evaluate import cluster_of

    tp = s.throughput.one() if s.throughput is not None else None
    asked = _asked(s, e, fx_rate, exponent, tp, cluster_of(s).scaling_efficiency)
    inputs = _work_cells(s, tp)
    for i in sheet_inputs(table):
        cell = asked[i.name] if i.name in asked else _as_given(i, s)
        if cell is not None:
            inputs.append(
                replace(cell, number_format=number_format(i), text=input_label(i, m, table))
            )
    programme = s.programme.id if s.programme is not None else ""
    cap_exp = 0
    if s.programme is not None and s.fx_pair is not None and s.programme.currency != s.currency:
        cap_exp = 1 if (s.programme.currency, s.currency) == s.fx_pair else -1

    def raw(value: float) -> Any:
        return value / fx_rate**cap_exp if math.isfinite(value) else None

    inputs += [
        Cell(
            "cap_contract", raw(terms.cap_per_contract) if terms else None, "programme", programme
        ),
        Cell("cap_firm_year", raw(terms.cap_per_firm_year) if terms else None, "programme", ""),
        Cell("pool", raw(terms.pool) if terms else None, "programme", programme),
        Cell(
            "window_hours",
            terms.window_hours if terms and math.isfinite(terms.window_hours) else None,
            "programme",
            programme,
            "#,##0",
        ),
        Cell("after_rate", terms.after_rate if terms else 0.0, "programme", programme, "0.0%"),
    ]
    calendar = terms.calendar if terms is not None else None
    years = 1
    if calendar is not None:
        p = s.programme
        begins, ends = (p.begins(), p.ends()) if p is not None else (None, None)
        inputs += [
            Cell("valid_from", begins and _serial(begins), "programme", programme, "yyyy-mm-dd"),
            Cell("valid_until", ends and _serial(ends), "programme", programme, "yyyy-mm-dd"),
        ]
        wall_now = e.wall_hours or 0.0
        if math.isfinite(terms.cap_year):  # type: ignore[union-attr]
            # Rows for four times the job's length, so that fewer devices still find their years.
            years = min(len(calendar.year_ends(4 * wall_now + 8766.0)) + 1, 60)

    keys = {c.key for c in inputs}
    out: list[Cell] = [Cell("price_ans", "={price}" + ("*{fx}" if exponent > 0 else "/{fx}"))]
    if exponent == 0:
        out[0] = Cell("price_ans", "={price}")
    if "work" in keys:
        rate = "{tflops}*10^12" if "tflops" in keys else "{tokens_per_s}"
        out.append(
            Cell(
                "device_hours",
                f"={{work}}/({rate}*{{scaling_efficiency}})/3600",
                number_format="#,##0",
            )
        )
    elif "hours" in keys:
        out.append(Cell("device_hours", "={hours}", number_format="#,##0"))
    else:
        out.append(Cell("device_hours", "={contract}/{price_ans}", number_format="#,##0"))
    # No devices and no duration: no wall time, the whole spend at the start (as the model).
    wall = (
        "={duration_days}*24"
        if "duration_days" in keys
        else ("={device_hours}/{devices}" if "devices" in keys else "=0")
    )
    out.append(Cell("wall_hours", wall, number_format="#,##0.0"))
    gross = "={contract}" if "contract" in keys else "={device_hours}*{price_ans}"
    out.append(Cell("gross", gross))
    fx_cap = "" if cap_exp == 0 else ("*{fx}" if cap_exp > 0 else "/{fx}")
    pool_yearly = terms is not None and terms.pool_per_year
    total = "{cap_contract}" + ("" if pool_yearly else ",{pool}")
    yearly = "{cap_firm_year}" + (",{pool}" if pool_yearly else "")
    for key, cells in (("cap_total", total), ("cap_year", yearly)):
        out.append(Cell(key, f'=IF(COUNT({cells})=0,"",MIN({cells}){fx_cap})'))
    out += _year_rows(years, "start" in keys)
    parts = [f"{{before_{k}}}" for k in range(years)]
    capped = [f"{{subsidy_{k}}}" for k in range(years)]
    out.append(
        Cell(
            "rate_before_caps",
            f"=IF({{gross}}>0,({'+'.join(parts)})/{{gross}},{{rate}})",
            number_format="0.0%",
        )
    )
    summed = "+".join(capped)
    out.append(Cell("subsidy", f'=IF({{cap_total}}="",{summed},MIN({summed},{{cap_total}}))'))
    out.append(Cell("net", "={gross}-{subsidy}"))
    out.append(Cell("effective_rate", "=IF({gross}>0,{subsidy}/{gross},0)", number_format="0.0%"))
    out.append(Cell("effective_price", "={net}/{device_hours}", number_format="#,##0.0000"))
    if "flops" in keys or ("tflops" in keys and "work" not in keys):
        done = (
            "{flops}"
            if "flops" in keys
            else "{device_hours}*3600*{tflops}*10^12*{scaling_efficiency}"
        )
        out.append(Cell("net_per_pflop_hour", f"={{net}}/({done}/(3.6*10^18))"))
    if "tokens" in keys or "tokens_per_s" in keys:
        done = (
            "{tokens}"
            if "tokens" in keys
            else "{device_hours}*3600*{tokens_per_s}*{scaling_efficiency}"
        )
        out.append(Cell("net_per_million_tokens", f"={{net}}/({done}/10^6)"))
    return inputs, out


def _serial(day: datetime.date) -> int:
    """A day as Excel's serial number (days since 1899-12-30), which its date formulas take."""
    return (day - datetime.date(1899, 12, 30)).days


def _asked(
    s: Scenario, e: Estimate, fx_rate: float, exponent: int, tp: Any, efficiency: float
) -> dict[str, Cell | None]:
    """The sheet inputs the formulas read, as this answer took them (None: not in this answer):
    the price in its own currency, the programme's rate, the devices, the rate the throughput
    gives (whichever input gave it), the job's hours or contract, its start."""
    fx_note = next((a for a in s.assumptions if a.name == "exchange rate"), None)
    pair = f"{s.fx_pair[1]} per {s.fx_pair[0]}" if s.fx_pair else "none"
    assert e.price is not None
    terms, job, r = s.terms, s.job, s.request
    programme = s.programme.id if s.programme is not None else ""
    rate_basis = "programme" if s.programme is not None and r.rate is None else "given by hand"
    flops = tp is not None and tp.unit is WorkUnit.FLOPS
    calendar = terms.calendar if terms is not None else None
    cells: dict[str, Cell | None] = {
        "price": Cell(
            "price", e.price.amount / fx_rate**exponent, e.price.basis.value, e.price.source or ""
        ),
        "fx": Cell(
            "fx",
            fx_rate,
            fx_note.basis.value if fx_note is not None else "none",
            f"{pair}; {fx_note.source if fx_note is not None else ''}",
        ),
        "rate": Cell("rate", terms.rate if terms else 0.0, rate_basis, programme or r.name("rate")),
        "devices": None
        if e.devices is None
        else Cell("devices", e.devices, "given by hand", r.name("devices")),
        "tflops": Cell("tflops", tp.per_second / 1e12, tp.basis.value, tp.source)
        if flops
        else None,
        "tokens_per_s": Cell("tokens_per_s", tp.per_second, tp.basis.value, tp.source)
        if tp is not None and not flops
        else None,
        "scaling_efficiency": None
        if tp is None
        else Cell("scaling_efficiency", efficiency, s.efficiency_basis.value, s.efficiency_source),
        "hours": Cell("hours", job.device_hours, "given by hand", r.name("hours"))
        if isinstance(job, HoursJob)
        else None,
        "contract": Cell("contract", job.value, "given by hand", r.name("contract"))
        if isinstance(job, ContractJob)
        else None,
        "duration_days": None
        if s.wall_hours is None
        else Cell("duration_days", s.wall_hours / 24.0, "given by hand", r.name("duration_days")),
        # The job's start and --assume-valid: the years and the hour the programme stops paying
        # follow from them by formula, as `cost --start` moves them.
        "start": None
        if calendar is None
        else Cell(
            "start",
            _serial(calendar.start),
            "given by hand",
            r.name("start") if r.start else "today",
        ),
        "assume_valid": None
        if calendar is None
        else Cell("assume_valid", int(r.assume_valid), "given by hand", r.name("assume_valid")),
    }
    return cells


def _work_cells(s: Scenario, tp: Any) -> list[Cell]:
    """The job's work, in the unit the throughput counts: derived from the job, no flag's."""
    job = s.job
    if not isinstance(job, TrainJob | ServeJob):
        return []
    work = job.tokens if tp and tp.unit is WorkUnit.TOKENS else job.flops
    cells = [Cell("work", work, "given by hand", job.describe(), "0.000E+00")]
    if job.flops is not None:
        cells.append(Cell("flops", job.flops, "derived", "FLOPs of the job", "0.000E+00"))
    cells.append(Cell("tokens", job.tokens, "given by hand", job.describe(), "0.000E+00"))
    return cells


def _year_rows(years: int, dated: bool) -> list[Cell]:
    """Per programme year: where it ends, the share of the spend paid in it, the share at the
    windowed rate, the subsidy before and after the yearly cap (cost.years, as formulas)."""
    big = "1E+300"
    out: list[Cell] = []
    if dated:
        out.append(
            Cell(
                "paid_until",
                '=IF({assume_valid}=1,"",IF(AND({valid_from}<>"",{start}<{valid_from}),0,'
                'IF({valid_until}="","",IF({start}>{valid_until},0,'
                "({valid_until}+1-{start})*24))))",
                number_format="#,##0.0",
            )
        )
        paid_end = f'IF({{paid_until}}="",{big},{{paid_until}})'
    else:
        paid_end = big
    out.append(Cell("paid_end", f"={paid_end}", number_format="0.00E+00"))
    out.append(
        Cell(
            "high_end",
            f'=MIN({{paid_end}},IF({{window_hours}}="",{big},{{window_hours}}))',
            number_format="0.00E+00",
        )
    )

    def until(x: str) -> str:
        return f"IF({{wall_hours}}>0,MIN(MAX({x},0),{{wall_hours}})/{{wall_hours}},IF({x}>0,1,0))"

    for k in range(years):
        a = "0" if k == 0 else f"{{year_end_{k - 1}}}"
        if k < years - 1:
            out.append(
                Cell(
                    f"year_end_{k}",
                    f"=(DATE(YEAR({{start}})+{k + 1},1,1)-{{start}})*24",
                    number_format="#,##0",
                    label="year_end",
                    n=k + 1,
                )
            )
            b = f"{{year_end_{k}}}"
        else:
            b = big
        out.append(
            Cell(
                f"paid_{k}",
                f"=MAX(0,{until(f'MIN({b},{{paid_end}})')}-{until(a)})",
                number_format="0.0000",
                label="paid_share",
                n=k + 1,
            )
        )
        out.append(
            Cell(
                f"high_{k}",
                f"=MIN({{paid_{k}}},MAX(0,{until(f'MIN({b},{{high_end}})')}-{until(a)}))",
                number_format="0.0000",
                label="high_share",
                n=k + 1,
            )
        )
        out.append(
            Cell(
                f"before_{k}",
                f"={{gross}}*({{high_{k}}}*{{rate}}+({{paid_{k}}}-{{high_{k}}})*{{after_rate}})",
                label="before_cap",
                n=k + 1,
            )
        )
        out.append(
            Cell(
                f"subsidy_{k}",
                f'=IF({{cap_year}}="",{{before_{k}}},MIN({{before_{k}}},{{cap_year}}))',
                label="year_subsidy",
                n=k + 1,
            )
        )
    return out


def write_cost_sheet(
    ws: Any, s: Scenario, e: Estimate, m: Messages = ENGLISH, table: Sequence[Input] = INPUTS
) -> dict[str, str]:
    """Fill `ws` with the live cost sheet (its input rows: `table`'s sheet inputs); returns
    key -> cell address (B3...)."""
    from openpyxl.styles import Font

    inputs, outputs = _rows(s, e, m, table)
    c = s.currency or ""
    ws["A1"] = m("xlsx.title", job=core_text(e.job.describe(), m), currency=m.currency(c))
    ws["A1"].font = Font(bold=True, size=13)
    ws["A2"] = m("xlsx.inputs_note")
    for col, key in zip(
        "ABCD", ("col.value_name", "col.value", "col.basis", "col.source"), strict=True
    ):
        ws[f"{col}3"] = m(key)
        ws[f"{col}3"].font = Font(bold=True)
    where: dict[str, str] = {}
    row = 4
    for cell in inputs:
        where[cell.key] = f"B{row}"
        row += 1
    row += 1
    heading_row = row - 1
    for cell in outputs:
        where[cell.key] = f"B{row}"
        row += 1
    row = 4
    for cell in inputs:
        ws[f"A{row}"] = _label(cell, m)
        target = ws[f"B{row}"]
        target.value = cell.value
        target.style = INPUT_STYLE
        target.number_format = cell.number_format
        ws[f"C{row}"] = m.basis(cell.basis) if cell.basis else ""
        ws[f"D{row}"] = cell.source
        row += 1
    ws[f"A{heading_row}"] = m("xlsx.outputs")
    ws[f"A{heading_row}"].font = Font(bold=True)
    row = heading_row + 1
    for cell in outputs:
        ws[f"A{row}"] = _label(cell, m)
        ws[f"B{row}"] = cell.value.format(**where)
        # Outputs are in the answer's currency: money shows it (inputs keep their own).
        money = cell.number_format == "#,##0.00" and c
        ws[f"B{row}"].number_format = f'#,##0.00 "{m.currency(c)}"' if money else cell.number_format
        ws[f"C{row}"] = m("xlsx.formula")
        row += 1
    ws.freeze_panes = "B4"  # the labels and the header row stay in view as the sheet scrolls
    ws.column_dimensions["A"].width = 38
    ws.column_dimensions["B"].width = 20
    ws.column_dimensions["C"].width = 16
    ws.column_dimensions["D"].width = 70
    return where


def _label(cell: Cell, m: Messages) -> str:
    if cell.text:
        return cell.text
    return m(f"xlsx.{cell.label}", n=cell.n) if cell.label else m(f"xlsx.{cell.key}")


def write_answer_xlsx(
    s: Scenario, e: Any, path: Path, m: Messages = ENGLISH, table: Sequence[Input] = INPUTS
) -> dict[str, str]:
    """`cost --xlsx FILE`: a workbook of one live cost sheet."""
    from openpyxl import Workbook

    book = Workbook()
    ws = book.active
    ws.title = SHEET
    where = write_cost_sheet(ws, s, e, m, table)
    try:
        book.save(path)
    except OSError as err:
        raise UserError(f"--xlsx: cannot write {path}: {err.strerror}") from None
    return where
