"""The live cost sheet (report.live_workbook): its Excel formulas, evaluated by a formula engine
(the `formulas` package), agree with the cost model to the cent, before and after an analyst
changes an input cell; inputs carry the Input style, a basis and a source."""

from __future__ import annotations

import datetime
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from subsidybench.cost.evaluate import one
from subsidybench.cost.request import Request
from subsidybench.cost.scenario import resolve
from subsidybench.report.live_workbook import INPUT_STYLE, SHEET, write_answer_xlsx

formulas = pytest.importorskip("formulas")

DATA = Path(__file__).parent / "data" / "run-v1.json"
FIGURES = ("gross", "subsidy", "net", "effective_price", "net_per_pflop_hour")


def a(x: float) -> np.ndarray:
    return np.array([x])


def evaluate(path: Path, where: dict[str, str], changes: dict[str, float]) -> dict[str, float]:
    """Every output cell as the formula engine computes it, with `changes` made to inputs."""
    model = formulas.ExcelModel().loads(str(path)).finish()
    ref = f"'[{path.name}]{SHEET.upper()}'!"
    solution = model.calculate(inputs={ref + where[k]: v for k, v in changes.items()})

    def value(key: str) -> Any:
        cell = solution[ref + where[key]]
        return cell.value[0, 0]

    return {k: float(value(k)) for k in where if k in (*FIGURES, "effective_rate")}


def expected(request: Request) -> dict[str, float]:
    e: Any = one(resolve(request))
    out = {
        "gross": e.gross,
        "subsidy": e.subsidy.amount if e.subsidy else 0.0,
        "net": e.net,
        "effective_price": e.effective_price,
        "effective_rate": e.subsidy.effective_rate if e.subsidy else 0.0,
    }
    if e.net_per_pflop_hour is not None:
        out["net_per_pflop_hour"] = e.net_per_pflop_hour
    return out


CASES = {
    "programme in yuan, price in dollars": Request(
        train=(7e9, 1e12),
        tflops=a(300.0),
        price=a(2.5),
        currency="USD",
        subsidy="beijing-2023",
        start=datetime.date(2024, 6, 1),  # inside Beijing's 2023-09-01 to 2025-12-31
        devices=a(256.0),
        scaling_efficiency=a(0.9),
        report_currency="CNY",
    ),
    "a rate window (Shanghai, small firm)": Request(
        train=(70e9, 2e12),
        tflops=a(300.0),
        price=a(15.0),
        currency="CNY",
        subsidy="shanghai-2025-compute",
        small_firm=True,
        devices=a(64.0),
        scaling_efficiency=a(0.9),
    ),
    "device-hours on a measured run, a cap by hand": Request(
        hours=a(2e5),
        run=DATA,
        workload="matmul[n=1024,m=1024,k=1024]/bf16",
        price=a(3.0),
        currency="USD",
        rate=a(0.3),
        cap=500_000.0,
        devices=a(8.0),
        scaling_efficiency=a(0.95),
    ),
}


@pytest.mark.parametrize("name", CASES)
def test_formulas_agree_with_the_model_before_and_after_an_edit(name: str, tmp_path: Path) -> None:
    request = CASES[name]
    s = resolve(request)
    path = tmp_path / "live.xlsx"
    where = write_answer_xlsx(s, one(s), path)
    before = evaluate(path, where, {})
    want = expected(request)
    for key, value in want.items():
        assert before[key] == pytest.approx(value, abs=0.005), key
    # The analyst sets the rate to 45%: the programme's caps still apply, as with --rate, which
    # replaces a windowed rate for the whole contract: the rate after the window follows it.
    after = evaluate(path, where, {"rate": 0.45, "after_rate": 0.45})
    want = expected(replace(request, rate=a(0.45)))
    for key, value in want.items():
        assert after[key] == pytest.approx(value, abs=0.005), key
    assert after["net"] != pytest.approx(before["net"], abs=0.005)


def test_price_edit_follows_and_inputs_are_marked(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    request = CASES["programme in yuan, price in dollars"]
    s = resolve(request)
    path = tmp_path / "live.xlsx"
    where = write_answer_xlsx(s, one(s), path)
    after = evaluate(path, where, {"price": 3.1})
    want = expected(replace(request, price=a(3.1)))
    assert after["net"] == pytest.approx(want["net"], abs=0.005)
    ws = load_workbook(path)[SHEET]
    for key in ("price", "fx", "rate", "cap_firm_year", "pool", "devices", "tflops"):
        row = int(where[key][1:])
        assert ws[where[key]].style == INPUT_STYLE, key
        assert ws.cell(row, 3).value, f"{key} has no basis"
    assert ws[where["net"]].value.startswith("=")  # a formula, not a pasted value
    assert "beijing-2023" in ws.cell(int(where["cap_firm_year"][1:]) - 1, 4).value


def test_report_workbook_has_live_sheets(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    from subsidybench.report import ReportOptions, build_report, label_runs, parse_price
    from subsidybench.report.render_xlsx import live_sheet_name, write_xlsx

    report = build_report(
        label_runs([DATA]), ReportOptions(prices=(parse_price("2.5", "USD"),)), generated="x"
    )
    path = tmp_path / "report.xlsx"
    write_xlsx(report, path)
    ws = load_workbook(path)[live_sheet_name(1)]
    formulas_in_b = [c.value for c in ws["B"] if isinstance(c.value, str) and c.value[:1] == "="]
    assert len(formulas_in_b) >= 8
