"""Issue 25 (money answers right in every corner) and the programme pay rules beside it: reach
follows the capped subsidy per firm, power subsidies shown apart, years and windows, labels that
match what was used; a programme not yet valid pays nothing (issue 31 item 4); ranges contain
their point (issue 30 item 3). Each figure is worked out by hand in the comment beside it."""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from subsidybench.cli import app
from subsidybench.cost.pricing import capital_recovery_factor
from subsidybench.cost.uncertainty import DEFAULT_SPREAD, Source, _default

ROOT = Path(__file__).resolve().parents[1]
RUN = ROOT / "tests" / "data" / "run-v1.json"
MATMUL = "matmul[n=1024,m=1024,k=1024]/bf16"


def cost(*args: str, tmp: Path | None = None) -> tuple[str, dict[str, Any] | None]:
    """`cost ARGS --json`: the printed answer and the JSON document."""
    extra: list[str] = []
    path = None
    if tmp is not None:
        path = tmp / "answer.json"
        extra = ["--json", str(path)]
    result = CliRunner().invoke(app, ["cost", *args, *extra], env={"COLUMNS": "220"})
    assert result.exit_code == 0, result.output
    doc = json.loads(path.read_text()) if path is not None else None
    return result.stdout, doc


def row(out: str, label: str) -> str:
    for line in out.splitlines():
        cells = [c.strip() for c in line.split("│")]
        if len(cells) >= 3 and cells[1].startswith(label):
            return cells[2]
    raise AssertionError(f"no row {label!r} in:\n{out}")


def money(text: str) -> float:
    return float(text.split()[0].replace(",", ""))


# 1. Reach


def test_reach_of_a_pool_follows_the_capped_subsidy_per_firm(tmp_path: Path) -> None:
    # Xiamen: 50% up to 500,000 CNY a firm a year; a 2M contract gets 500,000 (25%). The 10M
    # pool covers 20 firms, supporting 40M of contracts; the firms pay 30M; 40M / 50 = 800,000 h.
    out, doc = cost(
        "--reach", "pool", "--subsidy", "xiamen-2023", "--contract-size", "2e6",
        "--price", "50", "--currency", "CNY", tmp=tmp_path,
    )  # fmt: skip
    assert doc is not None
    assert doc["firms_covered"] == pytest.approx(20)
    assert doc["contract_value"] == pytest.approx(40e6)
    assert doc["firm_pays"] == pytest.approx(30e6)
    assert doc["device_hours"] == pytest.approx(800_000)
    assert doc["effective_rate"] == pytest.approx(0.25)
    assert money(row(out, "contract value it supports")) == pytest.approx(40e6)
    assert money(row(out, "subsidy per firm")) == pytest.approx(500_000)


def test_reach_below_the_cap_is_the_programme_rate(tmp_path: Path) -> None:
    # A 600,000 contract gets 300,000 (under the cap): 10M covers 33.3 firms and 20M of contracts.
    _, doc = cost(
        "--reach", "pool", "--subsidy", "xiamen-2023", "--contract-size", "6e5",
        "--price", "50", "--currency", "CNY", tmp=tmp_path,
    )  # fmt: skip
    assert doc is not None
    assert doc["firms_covered"] == pytest.approx(10e6 / 300_000)
    assert doc["contract_value"] == pytest.approx(20e6)
    assert doc["device_hours"] == pytest.approx(400_000)


# 3. Power subsidies


def test_a_power_subsidy_is_shown_apart_with_the_tariff_as_given(tmp_path: Path) -> None:
    # 8 devices for a year (70,080 device-hours) at 400 W, PUE 1.5, tariff 0.8 CNY/kWh:
    # energy 0.4 x 1.5 x 0.8 = 0.48 CNY an hour; Gansu pays half of it: 70,080 x 0.24 = 16,819.20.
    out, doc = cost(
        "--hours", "70080", "--devices", "8", "--profile", "ascend-910b", "--power-w", "400",
        "--capex", "120000", "--currency", "CNY", "--lifetime", "5", "--cost-of-capital", "0.08",
        "--pue", "1.5", "--tariff", "0.8", "--power-subsidy", "gansu-2025-electricity",
        tmp=tmp_path,
    )  # fmt: skip
    assert doc is not None
    capital = 120_000 * float(capital_recovery_factor(0.08, 5)) / (365.25 * 24)  # a mean year
    gross = 70_080 * (capital + 0.48)
    assert doc["gross"] == pytest.approx(gross)
    assert doc["power_subsidy"]["amount"] == pytest.approx(16_819.20)
    assert doc["subsidy"]["amount"] == pytest.approx(16_819.20)
    assert doc["net"] == pytest.approx(gross - 16_819.20)
    assert money(row(out, "power subsidy")) == pytest.approx(16_819.20)
    assert "0.8 CNY/kWh" in out and "0.4 CNY/kWh" not in out


# 4. Years and windows


def test_a_yearly_cap_applies_in_each_programme_year(tmp_path: Path) -> None:
    # Xiamen, 12,504 h on one device at 200 CNY from 2027-01-01: 521 days, 365 in 2027 and 156 in
    # 2028. 2027: 8,760 h x 200 x 50% = 876,000 -> cap 500,000; 2028: 3,744 h x 200 x 50% =
    # 374,400. Subsidy 874,400 (one cap for the whole job would have given 500,000).
    out, doc = cost(
        "--hours", "12504", "--devices", "1", "--price", "200", "--currency", "CNY",
        "--subsidy", "xiamen-2023", "--start", "2027-01-01", tmp=tmp_path,
    )  # fmt: skip
    assert doc is not None
    s = doc["subsidy"]
    assert s["amount"] == pytest.approx(874_400)
    assert [y["year"] for y in s["by_year"]] == ["2027", "2028"]
    assert [y["subsidy"] for y in s["by_year"]] == pytest.approx([500_000, 374_400])
    assert s["start"] == "2027-01-01"
    assert "programme year 2027" in out and "programme year 2028" in out


def test_a_programme_ending_inside_the_job_pays_until_its_last_day(tmp_path: Path) -> None:
    # Shenzhen ends 2026-12-17. 1e6 device-hours on 1,000 devices from 2026-12-05: 1,000 h
    # (41.7 days), of which 13 days (312 h, 31.2%) inside: 2M x 50% x 31.2% = 312,000.
    out, doc = cost(
        "--hours", "1e6", "--devices", "1000", "--price", "2", "--currency", "CNY",
        "--subsidy", "shenzhen-2024", "--start", "2026-12-05", tmp=tmp_path,
    )  # fmt: skip
    assert doc is not None
    s = doc["subsidy"]
    assert s["amount"] == pytest.approx(312_000)
    assert s["paid_share"] == pytest.approx(0.312)
    assert s["validity"] == "valid" and "2026-12-17" in s["validity_detail"]
    assert "31.2% of the spend inside it" in row(out, "programme validity")


@pytest.mark.parametrize(
    ("programme", "start", "status"),
    [
        ("beijing-2023", "2026-12-05", "expired"),  # ended 2025-12-31
        ("shenzhen-2024", "2024-12-01", "not yet valid"),  # begins 2024-12-18
        ("nanning-2025", "2026-01-01", "expired"),
        ("shandong-2025 --rate 0.3", "2024-06-01", "not yet valid"),  # begins 2025-01
    ],
)
def test_a_programme_outside_its_dates_pays_nothing_unless_assumed_valid(
    programme: str, start: str, status: str, tmp_path: Path
) -> None:
    # Shandong states no rate: a --rate replaces it, and the programme's dates still hold.
    args = ["--hours", "1e4", "--price", "2", "--currency", "CNY", "--subsidy", *programme.split()]
    out, doc = cost(*args, "--start", start, tmp=tmp_path)
    assert doc is not None
    assert doc["subsidy"]["amount"] == 0 and doc["net"] == doc["gross"] == 20_000
    assert doc["subsidy"]["validity"] == status
    assert row(out, "programme validity").startswith(status)
    out, doc = cost(*args, "--start", start, "--assume-valid", tmp=tmp_path)
    assert doc is not None
    assert doc["subsidy"]["amount"] > 0 and doc["subsidy"]["validity"] == "assumed valid"


def test_a_programme_dated_in_the_future_pays_nothing(tmp_path: Path) -> None:
    # Issue 31 item 4: valid_from 2099-01-01 paid 30% today; it pays nothing until it begins.
    source = (ROOT / "profiles" / "subsidies" / "longhua-2024.toml").read_text()
    folder = tmp_path / "p" / "subsidies"
    folder.mkdir(parents=True)
    (folder / "future.toml").write_text(
        source.replace('valid_from = "unknown"', 'valid_from = "2099-01-01"', 1)
    )
    args = ["--hours", "1e4", "--price", "2", "--currency", "CNY", "--subsidy", "future"]
    _, doc = cost(*args, "--profiles-dir", str(tmp_path / "p"), tmp=tmp_path)
    assert doc is not None
    assert doc["subsidy"]["amount"] == 0 and doc["subsidy"]["validity"] == "not yet valid"


def test_the_start_defaults_to_today_and_is_printed(tmp_path: Path) -> None:
    out, doc = cost(
        "--hours", "10", "--price", "2", "--currency", "CNY", "--subsidy", "hangzhou-2024",
        tmp=tmp_path,
    )  # fmt: skip
    today = datetime.date.today().isoformat()
    assert doc is not None and doc["subsidy"]["start"] == today
    assert any(a["name"] == "job start" and a["value"] == today for a in doc["assumptions"])
    assert "job start" in out


def test_a_bad_start_is_one_line() -> None:
    result = CliRunner().invoke(
        app, ["cost", "--hours", "10", "--price", "2", "--currency", "CNY", "--start", "5 Dec"]
    )
    assert result.exit_code == 1
    assert "--start: expected a day as YYYY-MM-DD" in result.stderr
    assert "Traceback" not in result.output


# 5. Labels


def test_a_defaulted_chip_origin_is_said_beside_the_rate() -> None:
    out, _ = cost(
        "--hours", "10", "--price", "2", "--currency", "CNY", "--subsidy", "hangzhou-2024"
    )
    assert "chip origin not given, taken as not domestic: --domestic gives 30%" in out
    out, _ = cost(
        "--hours", "10", "--price", "2", "--currency", "CNY", "--subsidy", "hangzhou-2024",
        "--not-domestic",
    )  # fmt: skip
    assert "chip origin not given" not in out


def test_the_range_line_does_not_call_a_profile_price_given_by_hand() -> None:
    out, _ = cost("--hours", "10", "--profile", "h100-sxm", "--in", "USD")
    assert "given by hand (give" not in out
    assert "each with its basis" in out


def test_an_implied_mfu_says_it_folds_in_the_scaling_efficiency() -> None:
    out, _ = cost(
        "--train", "7e9:1e12", "--tflops", "400", "--devices", "64", "--scaling-efficiency",
        "0.9", "--profile", "h100-sxm", "--price", "2", "--currency", "USD",
    )  # fmt: skip
    assert "after a 90% scaling efficiency" in row(out, "implied MFU")


def test_a_primitive_rate_costed_as_a_training_step_is_warned() -> None:
    result = CliRunner().invoke(
        app,
        [
            "cost",
            "--train",
            "1e6:1e9",
            "--run",
            str(RUN),
            "--workload",
            MATMUL,
            "--price",
            "2",
            "--currency",
            "USD",
        ],
        env={"COLUMNS": "220"},
    )
    assert result.exit_code == 0, result.output
    assert "is a primitive, not a training or serving step" in result.stderr
    assert "is a primitive" in result.stdout  # among the assumptions too


def test_an_estimate_shows_the_efficiencies_it_scaled_by(run_file: Path, tmp_path: Path) -> None:
    from subsidybench.results.record import load_run, save_run

    path = tmp_path / "h100.json"
    save_run(dataclasses.replace(load_run(run_file), profile="h100-sxm"), path)
    out, _ = cost(
        "--hours", "1000", "--run", str(path), "--workload", "gemm-bf16", "--estimate-on",
        "h800", "--price", "2", "--currency", "USD",
    )  # fmt: skip
    flat = " ".join(out.split())
    assert "efficiencies:" in flat and "efficiency.compute" in flat
    assert "h800.toml" in flat.replace(" ", "")


# Issue 30 item 3: ranges contain their point


def test_a_value_given_as_one_number_gets_no_default_spread() -> None:
    out, _ = cost("--train", "65e9:1.4e12", "--tokens-per-s", "380", "--devices", "2048",
                  "--scaling-efficiency", "1")  # fmt: skip
    assert "Range: none" in out


@pytest.mark.parametrize("key", sorted(DEFAULT_SPREAD))
@pytest.mark.parametrize(
    ("value", "limit"), [(1.0, math.inf), (5.0, 5.5), (5.0, 5.0), (0.3, 1.0), (1e14, 9.89e14)]
)
def test_every_default_spread_holds_its_point_or_says_why(
    key: str, value: float, limit: float
) -> None:
    out: list[Source] = []
    _default(out, key, key, value, limit, 1.0)
    draws = out[0].draw(np.random.default_rng(1), 100_000)
    p10, p90 = np.percentile(draws, (10, 90))
    assert draws.max() <= limit
    assert p10 <= value <= p90 or "one-sided" in out[0].describe
