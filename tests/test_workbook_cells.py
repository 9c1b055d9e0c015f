"""Every input cell of the live cost sheet moves its outputs exactly as the flag of the same name
moves `cost` (DESIGN.md 20), with the price and the programme in different currencies: the cell
is edited, the sheet recalculated by the `formulas` engine, and `cost` asked again with the flag
(or, for a programme's own terms, with an edited copy of its file)."""

from __future__ import annotations

import datetime
import math
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from subsidybench.catalogue.subsidies import HOURS_PER_MONTH
from subsidybench.cost.evaluate import one
from subsidybench.cost.request import Request
from subsidybench.cost.scenario import resolve
from subsidybench.report.live_workbook import SHEET, write_answer_xlsx

formulas = pytest.importorskip("formulas")

ROOT = Path(__file__).resolve().parents[1] / "profiles" / "subsidies"
FIGURES = ("gross", "subsidy", "net", "effective_price")


def a(x: float) -> np.ndarray:
    return np.array([x])


def sheet(request: Request, tmp: Path, changes: dict[str, Any]) -> dict[str, float]:
    s = resolve(request)
    path = tmp / "live.xlsx"
    where = write_answer_xlsx(s, one(s), path)
    model = formulas.ExcelModel().loads(str(path)).finish()
    ref = f"'[{path.name}]{SHEET.upper()}'!"
    missing = set(changes) - set(where)
    assert not missing, f"no cell {missing}"
    solution = model.calculate(inputs={ref + where[k]: v for k, v in changes.items()})
    return {k: float(solution[ref + where[k]].value[0, 0]) for k in FIGURES}


def model(request: Request) -> dict[str, float]:
    e: Any = one(resolve(request))
    return {
        "gross": e.gross,
        "subsidy": e.subsidy.amount if e.subsidy else 0.0,
        "net": e.net,
        "effective_price": e.effective_price,
    }


def edited(tmp: Path, programme: str, old: str, new: str) -> tuple[Path, ...]:
    """A profiles dir holding `programme` with one line of its file changed."""
    target = tmp / "profiles" / "subsidies"
    target.mkdir(parents=True, exist_ok=True)
    text = (ROOT / f"{programme}.toml").read_text(encoding="utf-8")
    assert old in text, old
    (target / f"{programme}.toml").write_text(text.replace(old, new, 1), encoding="utf-8")
    return (tmp / "profiles",)


def serial(day: datetime.date) -> int:
    return (day - datetime.date(1899, 12, 30)).days


# Price in dollars, programmes in yuan, answers in dollars: every cell's currency is exercised.
HANGZHOU = Request(
    train=(7e9, 1e12),
    tflops=a(300.0),
    price=a(2.5),
    currency="USD",
    subsidy="hangzhou-2024",
    domestic=False,
    devices=a(64.0),
    scaling_efficiency=a(0.9),
    fx=7.2,
    start=datetime.date(2026, 3, 1),
)
XIAMEN = Request(  # 500,000 CNY per firm a year; a yearly pool; the job spans two years
    hours=a(3e6),
    price=a(2.0),
    currency="USD",
    subsidy="xiamen-2023",
    devices=a(250.0),
    fx=7.2,
    start=datetime.date(2026, 11, 1),
)
SHENZHEN = Request(  # ends 2026-12-17, inside the job; price in yuan, answer in dollars
    contract=a(3e6),
    price=a(15.0),
    currency="CNY",
    report_currency="USD",
    subsidy="shenzhen-2024",
    duration_days=60.0,
    fx=7.2,
    start=datetime.date(2026, 12, 1),
)
SHANGHAI = Request(  # the small-firm window: 100% for 12 months, then 30%
    hours=a(2e6),
    price=a(2.0),
    currency="USD",
    subsidy="shanghai-2025-compute",
    small_firm=True,
    devices=a(128.0),
    fx=7.2,
    start=datetime.date(2026, 1, 1),
)
LONGHUA = Request(  # a cap per contract
    hours=a(5e5),
    price=a(2.0),
    currency="USD",
    subsidy="longhua-2024",
    fx=7.2,
    start=datetime.date(2026, 1, 1),
)

# (case, cell, new value, the same change as a flag)
FLAG_CELLS = [
    ("hangzhou", HANGZHOU, "price", 3.1, {"price": a(3.1)}),
    ("hangzhou", HANGZHOU, "fx", 6.5, {"fx": 6.5}),
    ("hangzhou", HANGZHOU, "rate", 0.45, {"rate": a(0.45)}),
    ("hangzhou", HANGZHOU, "devices", 32, {"devices": a(32.0)}),
    ("hangzhou", HANGZHOU, "tflops", 250.0, {"tflops": a(250.0)}),
    ("hangzhou", HANGZHOU, "scaling_efficiency", 0.8, {"scaling_efficiency": a(0.8)}),
    ("xiamen", XIAMEN, "hours", 6e6, {"hours": a(6e6)}),
    ("xiamen", XIAMEN, "devices", 100, {"devices": a(100.0)}),
    (
        "xiamen",
        XIAMEN,
        "start",
        serial(datetime.date(2026, 2, 1)),
        {"start": datetime.date(2026, 2, 1)},
    ),
    ("xiamen", XIAMEN, "fx", 7.0, {"fx": 7.0}),
    ("shenzhen", SHENZHEN, "contract", 5e6, {"contract": a(5e6)}),
    ("shenzhen", SHENZHEN, "duration_days", 30.0, {"duration_days": 30.0}),
    (
        "shenzhen",
        SHENZHEN,
        "start",
        serial(datetime.date(2026, 12, 20)),
        {"start": datetime.date(2026, 12, 20)},
    ),
    (
        "shenzhen",
        SHENZHEN,
        "start",
        serial(datetime.date(2024, 12, 1)),
        {"start": datetime.date(2024, 12, 1)},
    ),
    ("shenzhen", SHENZHEN, "assume_valid", 1, {"assume_valid": True}),
    ("shenzhen", SHENZHEN, "price", 12.0, {"price": a(12.0)}),
    ("shenzhen", SHENZHEN, "fx", 7.5, {"fx": 7.5}),
    ("shanghai", SHANGHAI, "devices", 64, {"devices": a(64.0)}),
    (
        "shanghai",
        SHANGHAI,
        "start",
        serial(datetime.date(2026, 7, 1)),
        {"start": datetime.date(2026, 7, 1)},
    ),
    ("longhua", LONGHUA, "price", 4.0, {"price": a(4.0)}),
]


@pytest.mark.parametrize(
    ("request_", "cell", "value", "flags"),
    [x[1:] for x in FLAG_CELLS],
    ids=[f"{x[0]}-{x[2]}" for x in FLAG_CELLS],
)
def test_a_cell_moves_the_answer_as_its_flag_does(
    request_: Request, cell: str, value: Any, flags: dict[str, Any], tmp_path: Path
) -> None:
    before = sheet(request_, tmp_path, {})
    for key, want in model(request_).items():
        assert before[key] == pytest.approx(want, rel=1e-9, abs=0.005), key
    after = sheet(request_, tmp_path, {cell: value})
    for key, want in model(replace(request_, **flags)).items():
        assert after[key] == pytest.approx(want, rel=1e-9, abs=0.005), key


# A programme's own terms: the cell edited, and the file edited the same way.
FILE_CELLS = [
    (
        "hangzhou",
        HANGZHOU,
        "cap_firm_year",
        1e5,
        "hangzhou-2024",
        "per_firm_year = 8_000_000",
        "per_firm_year = 100_000",
    ),
    ("xiamen", XIAMEN, "pool", 2e5, "xiamen-2023", "pool = 10_000_000", "pool = 200_000"),
    (
        "xiamen",
        XIAMEN,
        "cap_firm_year",
        3e6,
        "xiamen-2023",
        "per_firm_year = 500_000",
        "per_firm_year = 3_000_000",
    ),
    (
        "longhua",
        LONGHUA,
        "cap_contract",
        1e5,
        "longhua-2024",
        "per_contract = 3_000_000",
        "per_contract = 100_000",
    ),
    (
        "shanghai",
        SHANGHAI,
        "window_hours",
        6 * HOURS_PER_MONTH,
        "shanghai-2025-compute",
        "small_firm_months = 12",
        "small_firm_months = 6",
    ),
    (
        "shenzhen",
        SHENZHEN,
        "valid_until",
        serial(datetime.date(2027, 1, 10)),
        "shenzhen-2024",
        'valid_until = "2026-12-17"',
        'valid_until = "2027-01-10"',
    ),
]


@pytest.mark.parametrize(
    ("request_", "cell", "value", "programme", "old", "new"),
    [x[1:] for x in FILE_CELLS],
    ids=[f"{x[0]}-{x[2]}" for x in FILE_CELLS],
)
def test_a_programme_cell_moves_the_answer_as_its_file_does(
    request_: Request, cell: str, value: float, programme: str, old: str, new: str, tmp_path: Path
) -> None:
    after = sheet(request_, tmp_path, {cell: value})
    dirs = edited(tmp_path, programme, old, new)
    want = model(replace(request_, profiles_dirs=dirs))
    for key, figure in want.items():
        assert after[key] == pytest.approx(figure, rel=1e-9, abs=0.005), key
    assert want["subsidy"] != pytest.approx(model(request_)["subsidy"]), "the edit moved nothing"


def test_the_issue_case_the_exchange_rate_cell_is_the_dated_rate_and_moves_like_fx(
    tmp_path: Path,
) -> None:
    # Price in dollars, Hangzhou's caps in yuan: the cell holds the rate, not 1, and the caps
    # stay in yuan; 7.2 in the cell gives what `cost --fx 7.2` gives: 6,388,888.89 net.
    request = Request(
        hours=a(3e6), price=a(2.5), currency="USD", subsidy="hangzhou-2024", domestic=False
    )
    s = resolve(request)
    assert s.fx_rate is not None and s.fx_rate > 5
    after = sheet(request, tmp_path, {"fx": 7.2})
    assert after["net"] == pytest.approx(6_388_888.89, abs=0.005)
    assert after["net"] == pytest.approx(model(replace(request, fx=7.2))["net"], abs=0.005)
    assert not math.isclose(sheet(request, tmp_path, {})["net"], after["net"])
    shutil.rmtree(tmp_path, ignore_errors=True)
