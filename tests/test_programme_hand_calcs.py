"""Hand calculations for every programme file in profiles/subsidies/: each rule a file states
(rate, domestic rate, small-firm rate and its window, a rate per kind of spend, cap per contract,
cap per firm-year, pool, validity window, electricity) worked out by hand from the file as a
reader finds it (the HAND table below, typed from the files, not read from them), for each job
kind (device-hours, a contract, a training job), in yuan and in dollars (price in dollars at
--fx 7.2), through `cost`'s printed answer, its `--json`, the live workbook recalculated by the
`formulas` engine, and `report` where it applies (one device-hour of a run, under each programme
valid today). Every case counts in N_CASES (printed by test_the_count)."""

from __future__ import annotations

import datetime
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from subsidybench.cli import app
from subsidybench.cost.pricing import capital_recovery_factor

ROOT = Path(__file__).resolve().parents[1]
FX = 7.2  # CNY per USD, given by hand in every dollar case
YEAR = 365.25 * 24  # the hours a small-firm window's "12 months" and an owned year take


@dataclass(frozen=True)
class Hand:
    """One programme as its file reads: rates, caps and pool in CNY, dates (None: unknown)."""

    rate: float | None  # rates.base for compute rent; None: "unknown", --rate needed
    eligible: tuple[str, ...] = ("compute-rent",)
    domestic: float | None = None
    small_firm: float | None = None
    small_firm_months: float | None = None
    by_spend: dict[str, float] = field(default_factory=dict)
    per_contract: float = math.inf
    per_firm_year: float = math.inf
    pool: float = math.inf
    pool_per_year: bool = False
    valid_from: datetime.date | None = None
    valid_until: datetime.date | None = None


D = datetime.date
HAND: dict[str, Hand] = {
    "beijing-2023": Hand(
        0.2, per_firm_year=2e6, valid_from=D(2023, 9, 1), valid_until=D(2025, 12, 31)
    ),
    "chengdu-2023": Hand(None, pool=1e7, pool_per_year=True),
    "chengdu-2025": Hand(0.6, per_firm_year=5e6, pool=1e8, pool_per_year=True),
    "gansu-2025-electricity": Hand(0.5, eligible=("electricity",)),
    "guizhou-2025-electricity": Hand(0.5, eligible=("electricity",)),
    "guizhou-2026": Hand(
        None, eligible=("compute-rent", "model-services", "datasets"),
        by_spend={"model-services": 0.3, "datasets": 0.3}, pool=1.4e8, pool_per_year=True,
    ),
    "haizhu-2024": Hand(None, per_firm_year=1.5e6, pool=3e7, pool_per_year=True),
    "hangzhou-2024": Hand(
        0.2, eligible=("compute-rent", "model-services"), domestic=0.3,
        by_spend={"model-services": 0.3}, per_firm_year=8e6, pool=2.5e8, pool_per_year=True,
    ),
    "henan-2025": Hand(0.2, per_firm_year=1e6, pool=5e7, pool_per_year=True),
    "huangpu-2025": Hand(None),
    "inner-mongolia-2025-electricity": Hand(0.5, eligible=("electricity",)),
    "longgang-2024": Hand(0.3, per_firm_year=6e6),
    "longhua-2024": Hand(0.3, per_contract=3e6),
    "nanning-2025": Hand(
        0.3, per_firm_year=2e6, pool=5e7, pool_per_year=True,
        valid_from=D(2025, 3, 1), valid_until=D(2025, 12, 31),
    ),
    "ningbo-ai-manufacturing": Hand(None),
    "qingyang-2024": Hand(0.3, per_firm_year=2e6, pool=1e8, pool_per_year=True),
    "shandong-2025": Hand(None, pool=3e7, valid_from=D(2025, 1, 1), valid_until=D(2026, 12, 31)),
    "shanghai-2025-compute": Hand(
        0.3, eligible=("compute-rent", "compute-build"), small_firm=1.0, small_firm_months=12,
        by_spend={"compute-build": 0.1}, pool=6e8,
    ),
    "shanghai-2025-corpus": Hand(0.3, eligible=("datasets",), per_contract=5e6, pool=1e8),
    "shanghai-2025-model": Hand(0.5, eligible=("model-services",), per_contract=5e6, pool=3e8),
    "shenzhen-2024": Hand(
        0.5, small_firm=0.6, per_firm_year=1e7, pool=5e8, pool_per_year=True,
        valid_from=D(2024, 12, 18), valid_until=D(2026, 12, 17),
    ),
    "xiamen-2023": Hand(0.5, per_firm_year=5e5, pool=1e7, pool_per_year=True),
    "zhangzhou-2025": Hand(
        0.5, eligible=("compute-rent", "model-services"), by_spend={"model-services": 0.3},
        per_contract=2e6,
    ),
}  # fmt: skip
GIVEN_RATE = 0.25  # --rate for a programme whose file leaves its rate unknown


@dataclass(frozen=True)
class Case:
    """One hand calculation: a job of `gross` CNY spread over `wall_hours`, and its subsidy."""

    programme: str
    rule: str
    gross: float
    wall_hours: float
    expected: float
    start: datetime.date
    flags: tuple[str, ...] = ()
    spend: str | None = None
    note: str = ""


def _start(h: Hand) -> datetime.date:
    """A start inside the programme's dates (any day where it gives none)."""
    return h.valid_from + datetime.timedelta(days=30) if h.valid_from else D(2027, 3, 1)


def _rate(h: Hand, spend: str = "compute-rent") -> tuple[float, tuple[str, ...]]:
    if spend in h.by_spend:
        return h.by_spend[spend], ()
    return (h.rate, ()) if h.rate is not None else (GIVEN_RATE, ("--rate", str(GIVEN_RATE)))


def cases() -> list[Case]:
    out: list[Case] = []
    for name, h in HAND.items():
        if h.eligible == ("electricity",):
            continue  # owned hardware's power bill: test_electricity
        start = _start(h)
        one_year = min(h.per_firm_year, h.pool if h.pool_per_year else math.inf)
        total = min(h.per_contract, h.pool if not h.pool_per_year else math.inf)
        spends = [s for s in h.eligible if s in ("compute-rent", "model-services", "datasets")]
        for spend in spends:
            rate, flags = _rate(h, spend)
            sp = None if spend == "compute-rent" else spend
            # The rate: 100,000 CNY over 100 hours, far under every cap.
            out.append(Case(name, f"rate ({spend})", 1e5, 100.0, rate * 1e5, start, flags, sp))
        rate, flags = _rate(h)
        if "compute-rent" not in h.eligible:
            rate, flags = _rate(h, spends[0])
        sp = None if "compute-rent" in h.eligible else spends[0]
        if h.domestic is not None:
            out.append(Case(name, "domestic rate", 1e5, 100.0, h.domestic * 1e5, start,
                            ("--domestic",), sp))  # fmt: skip
        if h.small_firm is not None and h.small_firm_months is None:
            out.append(Case(name, "small-firm rate", 1e5, 100.0, h.small_firm * 1e5, start,
                            ("--small-firm",), sp))  # fmt: skip
        if h.small_firm_months is not None:
            # 100% for 12 months then the base rate: a two-year job, half at each.
            wall = 2 * h.small_firm_months * YEAR / 12
            want = 1e6 * (0.5 * h.small_firm + 0.5 * rate)
            out.append(Case(name, "small-firm window", 1e6, wall, want, start,
                            ("--small-firm", "--assume-valid"), sp))  # fmt: skip
        if math.isfinite(h.per_contract):
            # Twice the contract the cap binds above: the cap per contract.
            gross = 2 * h.per_contract / rate
            out.append(Case(name, "cap per contract", gross, 100.0,
                            min(h.per_contract, one_year), start, flags, sp))  # fmt: skip
        if math.isfinite(one_year):
            # Inside one calendar year: the yearly limit once.
            gross = 2 * one_year / rate
            out.append(Case(name, "cap per firm-year, one year", gross, 100.0,
                            min(one_year, total), start, flags, sp))  # fmt: skip
            # 2027 and 2028 (365 days each of 730): half the spend in each, each half capped.
            gross = 4 * one_year / rate
            out.append(Case(name, "cap per firm-year, two years", gross, 730 * 24.0,
                            min(2 * one_year, total), D(2027, 1, 1),
                            (*flags, "--assume-valid"), sp))  # fmt: skip
        if math.isfinite(h.pool) and h.pool <= min(h.per_contract, h.per_firm_year):
            gross = 2 * h.pool / rate
            out.append(Case(name, "pool", gross, 100.0, h.pool, start, flags, sp))
        if h.valid_until is not None:
            # Ten days before the last valid day, a 40-day job: 10 of 40 days paid.
            begin = h.valid_until - datetime.timedelta(days=9)
            out.append(Case(name, "validity: ends inside the job", 1e5, 40 * 24.0,
                            rate * 1e5 * 10 / 40, begin, flags, sp))  # fmt: skip
            after = h.valid_until + datetime.timedelta(days=1)
            out.append(Case(name, "validity: expired", 1e5, 100.0, 0.0, after, flags, sp))
            out.append(Case(name, "validity: assumed valid", 1e5, 100.0, rate * 1e5, after,
                            (*flags, "--assume-valid"), sp))  # fmt: skip
        if h.valid_from is not None:
            before = h.valid_from - datetime.timedelta(days=1)
            out.append(Case(name, "validity: not yet valid", 1e5, 100.0, 0.0, before, flags, sp))
    return out


CASES = cases()
JOBS = ("hours", "contract", "train")
CURRENCIES = ("CNY", "USD")
PRICE = 100.0  # CNY per device-hour


def job_args(job: str, c: Case, currency: str) -> list[str]:
    """The same gross and wall time as a job of each kind, priced in `currency`."""
    hours = c.gross / PRICE
    price = PRICE if currency == "CNY" else PRICE / FX
    money = ["--price", repr(price), "--currency", currency]
    if currency == "USD":
        money += ["--fx", str(FX)]
    if job == "hours":
        devices = hours / c.wall_hours
        if devices != round(devices):
            return ["--hours", repr(hours), "--duration", repr(c.wall_hours / 24), *money]
        return ["--hours", repr(hours), "--devices", str(round(devices)), *money]
    if job == "contract":
        value = c.gross if currency == "CNY" else c.gross / FX
        return ["--contract", repr(value), "--duration", repr(c.wall_hours / 24), *money]
    # A training job: 6 x 1e9 x T FLOPs at 100 TFLOP/s on n devices takes `hours` device-hours.
    devices = hours / c.wall_hours
    if devices != round(devices):
        return []  # a training job's wall time follows from whole devices
    tokens = hours * 3600 * 100e12 / 6e9
    return ["--train", f"1e9:{tokens!r}", "--tflops", "100", "--devices", str(round(devices)),
            "--scaling-efficiency", "1", *money]  # fmt: skip


def run_cost(args: list[str], tmp: Path, sheet: bool) -> tuple[str, dict[str, Any]]:
    path = tmp / "a.json"
    xlsx = ["--xlsx", str(tmp / "a.xlsx")] if sheet else []
    result = CliRunner().invoke(
        app, ["cost", *args, "--json", str(path), *xlsx], env={"COLUMNS": "220"}
    )
    assert result.exit_code == 0, result.output
    return result.stdout, json.loads(path.read_text())


def printed_subsidy(out: str) -> float:
    for line in out.splitlines():
        cells = [x.strip() for x in line.split("│")]
        if len(cells) >= 3 and cells[1] == "subsidy":
            return float(cells[2].split()[0].replace(",", ""))
    raise AssertionError(f"no subsidy row in:\n{out}")


def workbook_subsidy(path: Path) -> float:
    from openpyxl import load_workbook

    formulas = pytest.importorskip("formulas")
    ws = load_workbook(path)["Cost"]
    where = next(f"B{c.row}" for c in ws["A"] if c.value == "subsidy")
    model = formulas.ExcelModel().loads(str(path)).finish()
    solution = model.calculate()
    return float(solution[f"'[{path.name}]COST'!{where}"].value[0, 0])


PARAMS = [
    pytest.param(c, job, cur, id=f"{c.programme}-{c.rule}-{job}-{cur}")
    for c in CASES
    for job in JOBS
    for cur in CURRENCIES
]


@pytest.mark.parametrize(("case", "job", "currency"), PARAMS)
def test_hand_calculation(case: Case, job: str, currency: str, tmp_path: Path) -> None:
    args = job_args(job, case, currency)
    if not args:
        pytest.skip("a training job's wall time follows from whole devices")
    spend = ["--spend", case.spend] if case.spend else []
    args += ["--subsidy", case.programme, "--start", case.start.isoformat(), *case.flags, *spend]
    out, doc = run_cost(args, tmp_path, job == "hours")
    want = case.expected if currency == "CNY" else case.expected / FX
    assert doc["subsidy"]["amount"] == pytest.approx(want, rel=1e-9, abs=0.005), "json"
    assert doc["gross"] == pytest.approx(case.gross / (1 if currency == "CNY" else FX), rel=1e-9)
    assert printed_subsidy(out) == pytest.approx(want, abs=0.0051), "printed"
    if job == "hours":  # the sheet's formulas are one per job kind; once per case keeps it quick
        assert workbook_subsidy(tmp_path / "a.xlsx") == pytest.approx(want, rel=1e-9, abs=0.005)


def test_a_rate_the_file_leaves_unknown_is_asked_for() -> None:
    for name, h in HAND.items():
        if h.rate is not None or "compute-rent" not in h.eligible:
            continue
        result = CliRunner().invoke(
            app, ["cost", "--hours", "10", "--price", "2", "--currency", "CNY", "--subsidy", name]
        )
        assert result.exit_code == 1 and "rates.base is unknown" in result.stderr, name


def test_spend_a_programme_does_not_cover_is_refused() -> None:
    for name, h in HAND.items():
        for spend in ("compute-rent", "model-services", "datasets"):
            if spend in h.eligible:
                continue
            result = CliRunner().invoke(
                app,
                [
                    "cost",
                    "--hours",
                    "10",
                    "--price",
                    "2",
                    "--currency",
                    "CNY",
                    "--subsidy",
                    name,
                    "--spend",
                    spend,
                    "--rate",
                    "0.1",
                ],
            )
            assert result.exit_code == 1 and "does not pay towards" in result.stderr, (name, spend)


# Electricity: owned hardware, 8 devices for a year at 400 W, PUE 1.5, 0.8 CNY/kWh (0.48 CNY an
# hour each); the programme pays half the energy of domestic chips and nothing for others.
ELECTRIC = [n for n, h in HAND.items() if h.eligible == ("electricity",)]


@pytest.mark.parametrize("currency", CURRENCIES)
@pytest.mark.parametrize("domestic", [True, False])
@pytest.mark.parametrize("name", ELECTRIC)
def test_electricity(name: str, domestic: bool, currency: str, tmp_path: Path) -> None:
    k = 1 if currency == "CNY" else FX
    hours = 8 * 8766.0
    args = [
        "--hours", repr(hours), "--devices", "8", "--power-w", "400", "--capex", repr(120_000 / k),
        "--currency", currency, "--lifetime", "5", "--cost-of-capital", "0.08", "--pue", "1.5",
        "--tariff", repr(0.8 / k), "--power-subsidy", name,
        "--domestic" if domestic else "--not-domestic", *(["--fx", str(FX)] if k != 1 else []),
    ]  # fmt: skip
    result = CliRunner().invoke(app, ["cost", *args, "--json", str(tmp_path / "a.json")])
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "a.json").read_text())
    energy = hours * 0.4 * 1.5 * 0.8 / k
    capital = hours * 120_000 / k * float(capital_recovery_factor(0.08, 5)) / 8766
    assert doc["gross"] == pytest.approx(capital + energy, rel=1e-9)
    paid = energy * HAND[name].rate if domestic else 0.0  # type: ignore[operator]
    got = doc["power_subsidy"]["amount"] if doc["power_subsidy"] else 0.0
    assert got == pytest.approx(paid, rel=1e-9, abs=1e-9)
    assert doc["net"] == pytest.approx(capital + energy - paid, rel=1e-9)


@pytest.mark.parametrize("currency", CURRENCIES)
def test_shanghai_building_subsidy(currency: str, tmp_path: Path) -> None:
    # Shanghai pays 10% of building self-controlled (domestic) compute: 8 devices at 120,000 CNY,
    # the capex falls 10%, and with it the capital part of each hour.
    k = 1 if currency == "CNY" else FX
    hours = 8 * 8766.0
    args = [
        "--hours", repr(hours), "--devices", "8", "--power-w", "400", "--capex", repr(120_000 / k),
        "--currency", currency, "--lifetime", "5", "--cost-of-capital", "0.08", "--pue", "1.5",
        "--tariff", repr(0.8 / k), "--subsidy", "shanghai-2025-compute", "--domestic",
        *(["--fx", str(FX)] if k != 1 else []),
    ]  # fmt: skip
    result = CliRunner().invoke(app, ["cost", *args, "--json", str(tmp_path / "a.json")])
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "a.json").read_text())
    capital = hours * 120_000 / k * float(capital_recovery_factor(0.08, 5)) / 8766
    assert doc["subsidy"]["amount"] == pytest.approx(0.1 * capital, rel=1e-9)
    foreign = CliRunner().invoke(app, ["cost", *args[: -1 if k == 1 else -3], "--not-domestic"])
    assert foreign.exit_code == 1 and "only for domestic chips" in foreign.stderr


# report: one device-hour of each result of a run, under each programme it can apply today.
REPORTED = [n for n, h in HAND.items() if h.rate is not None and "compute-rent" in h.eligible]


@pytest.mark.parametrize("name", REPORTED)
def test_report_applies_the_hand_rate(name: str) -> None:
    from subsidybench.catalogue.subsidies import load_programme
    from subsidybench.report import ReportOptions, build_report, label_runs, parse_price

    h = HAND[name]
    today = datetime.date.today()
    valid = (h.valid_from is None or h.valid_from <= today) and (
        h.valid_until is None or h.valid_until >= today
    )
    report = build_report(
        label_runs([ROOT / "tests" / "data" / "run-v1.json"]),
        ReportOptions(prices=(parse_price("2", "CNY"),), programme=load_programme(name)),
        generated="x",
    )
    assert not report.costs.empty
    want = h.rate if valid else 0.0
    assert list(report.costs["subsidy_rate"]) == pytest.approx([want] * len(report.costs))
    if h.small_firm_months is None or h.small_firm is None or not valid:
        return
    # A small firm's window (100% for 12 months, then the base rate): a job of twice the
    # window (report --duration) is half at each.
    days = 2 * h.small_firm_months * YEAR / 12 / 24
    report = build_report(
        label_runs([ROOT / "tests" / "data" / "run-v1.json"]),
        ReportOptions(
            prices=(parse_price("2", "CNY"),),
            programme=load_programme(name),
            small_firm=True,
            duration_days=days,
        ),
        generated="x",
    )
    want = 0.5 * h.small_firm + 0.5 * h.rate
    assert list(report.costs["subsidy_rate"]) == pytest.approx([want] * len(report.costs))


def test_the_count() -> None:
    """How many hand calculations these tests hold (each checked on every surface it names)."""
    runnable = [p for p in PARAMS if job_args(p.values[1], p.values[0], p.values[2])]  # type: ignore[arg-type]
    n = len(runnable) + 2 * 2 * len(ELECTRIC) + 2 + len(REPORTED)
    print(f"hand-calculation cases: {n} ({len(CASES)} rule cases x job kinds x currencies)")
    assert len({c.programme for c in CASES} | set(ELECTRIC)) >= len(HAND) - 1
