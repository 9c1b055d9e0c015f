"""`subsidybench cost` and `subsidybench subsidies` through the CLI: exit codes, answers,
assumptions, files written, one-line errors, and no torch on the way."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from subsidybench.catalogue.fx import load_fx
from subsidybench.cli import app

runner = CliRunner()
# The shipped default rate (profiles/fx/usd-cny.toml): read, not copied, so that updating the
# data file does not break these tests.
FX = load_fx("USD", "CNY")
SRC = str(Path(__file__).resolve().parents[1] / "src")


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


TRAIN = ["cost", "--train", "7e9:2e12", "--tflops", "400", "--price", "2.5", "--currency", "USD"]


def test_train_answer_and_assumptions() -> None:
    code, out, _ = invoke(*TRAIN, "--devices", "64", "--scaling-efficiency", "0.9", "--rate", "0.3")
    assert code == 0, out
    # Worked by hand in test_cost.test_train_job_by_hand_with_subsidy.
    assert "64,815" in out  # device-hours
    assert "162,037.04 USD" in out  # gross
    assert "113,425.93 USD" in out  # net
    assert "1.75 USD" in out  # effective price per device-hour
    assert "Assumptions" in out
    assert "scaling efficiency" in out and "an assumption, not measured" in out
    assert "given by hand (--tflops)" in out


def test_programme_in_another_currency_uses_the_dated_rate() -> None:
    code, out, _ = invoke(*TRAIN, "--subsidy", "beijing-2023", "--in", "CNY")
    assert code == 0, out
    assert f"{FX.rate:g} CNY per USD ({FX.date})" in out
    assert FX.source.split("://")[-1].split("/")[0] in out  # the rate's source is shown
    assert "2,000,000 CNY" in out  # Beijing's yearly cap
    # 2.5 USD at the dated rate, per device-hour.
    assert f"{2.5 * FX.rate:,.2f} CNY" in out


def test_fx_override_is_used_and_labelled() -> None:
    code, out, _ = invoke(*TRAIN, "--subsidy", "beijing-2023", "--fx", "7.2")
    assert code == 0, out
    assert "7.2 CNY per USD" in out
    # Beijing's 2M yuan cap at 7.2: 277,778 USD.
    assert "277,778 USD" in out


def test_missing_inputs_name_the_flag() -> None:
    code, _, err = invoke("cost", "--train", "7e9:2e12", "--price", "2", "--currency", "USD")
    assert code == 1
    assert err.strip().count("\n") == 0
    assert "--run, --tflops, --hardware-tflops, --tokens-per-s or --mfu" in err
    code, _, err = invoke("cost", "--contract", "1e6", "--tflops", "400")
    assert code == 1 and "--contract: give the contract's currency (--currency CNY)" in err
    code, _, err = invoke("cost", "--tflops", "400", "--price", "2", "--currency", "USD")
    assert code == 1 and "give a job" in err
    code, _, err = invoke("cost", "--train", "7e9:2e12", "--tflops", "400", "--price", "2")
    assert code == 1 and "--currency" in err
    code, _, err = invoke(*TRAIN, "--devices", "8")
    assert code == 1 and "--scaling-efficiency" in err
    code, _, err = invoke(*TRAIN, "--subsidy", "chengdu-2023", "--in", "CNY")
    assert code == 1 and "give --rate" in err
    code, _, err = invoke(
        "cost", "--train", "7e9", "--tflops", "1", "--price", "1", "--currency", "X"
    )
    assert code == 1 and "PARAMS:TOKENS" in err


def test_run_result_throughput_and_verdict(run_file: Path) -> None:
    args = ["cost", "--hours", "1000", "--price", "20", "--currency", "CNY", "--run", str(run_file)]
    code, out, _ = invoke(*args, "--workload", "gemm-bf16")
    assert code == 0, out
    # 1,000 h x 3,600 s x 4e14 FLOP/s = 1.44e21 FLOPs = 16.67 PFLOP-days.
    assert "16.67 PFLOP-days" in out
    assert "measured: run" in out
    code, _, err = invoke(*args, "--workload", "noisy-bf16")
    assert code == 1 and "invalid" in err and "--force" in err
    code, out, _ = invoke(*args, "--workload", "noisy-bf16", "--force")
    assert code == 0 and "FORCED" in out


def test_rate_sweep_writes_every_row(tmp_path: Path) -> None:
    csv = tmp_path / "sweep.csv"
    code, out, _ = invoke(
        "cost",
        "--hours",
        "10000",
        "--price",
        "2.5",
        "--currency",
        "USD",
        "--rate",
        "0.1:1.0:0.1",
        "--cap",
        "10000",
        "--csv",
        str(csv),
    )
    assert code == 0, out
    assert "10 scenarios" in out
    frame = pd.read_csv(csv)
    assert len(frame) == 10
    assert frame["rate"].tolist() == pytest.approx([0.1 * i for i in range(1, 11)])
    # 25,000 gross: the 10,000 cap binds from a 40% rate on.
    assert frame["subsidy"].max() == pytest.approx(10_000)
    assert frame.loc[frame["rate"] > 0.4, "cap_binds"].all()


def test_grid_sweep_over_two_inputs(tmp_path: Path) -> None:
    out_json = tmp_path / "sweep.json"
    code, out, _ = invoke(
        "cost",
        "--train",
        "7e9:2e12",
        "--mfu",
        "0.3,0.4,0.5",
        "--peak-tflops",
        "989",
        "--price",
        "2,2.5,3",
        "--currency",
        "USD",
        "--subsidy",
        "hangzhou-2024",
        "--domestic",
        "--json",
        str(out_json),
    )
    assert code == 0, out
    doc = json.loads(out_json.read_text())
    assert doc["kind"] == "sweep" and len(doc["rows"]) == 9
    assert {a["name"] for a in doc["assumptions"]} >= {"subsidy rate", "exchange rate"}
    row = doc["rows"][0]
    assert row["rate_before_caps"] == pytest.approx(0.3)  # Hangzhou, domestic chips


def test_owned_hardware_and_tariff_sweep() -> None:
    owned = "cost --hours 1000 --capex 250000 --lifetime 5 --cost-of-capital 0.08 --power-w 1000"
    owned += " --pue 1.3 --currency CNY"
    code, out, _ = invoke(*owned.split(), "--tariff", "0.6", "--hosting", "10000")
    assert code == 0, out
    # 9.0636 CNY per working hour, worked in test_cost.test_owned_hourly_cost_by_hand.
    assert "9.06 CNY" in out and "9,063.6" in out
    code, out, _ = invoke(*owned.split(), "--tariff", "0.3,0.6,0.9")
    assert code == 0 and "3 scenarios" in out


def test_owned_domestic_build_subsidy() -> None:
    owned = "cost --hours 1000 --capex 200000 --lifetime 4 --cost-of-capital 0 --power-w 0"
    owned += " --pue 1 --tariff 0 --currency CNY --subsidy shanghai-2025-compute"
    code, out, _ = invoke(*owned.split(), "--domestic")
    assert code == 0, out
    assert "compute-build rate" in out and "10.0% of gross" in out
    code, _, err = invoke(*owned.split())
    assert code == 1 and "only for domestic chips" in err


def test_reach_of_a_pool_and_a_cap() -> None:
    code, out, _ = invoke(
        "cost",
        "--reach",
        "cap",
        "--subsidy",
        "beijing-2023",
        "--price",
        "20",
        "--currency",
        "CNY",
        "--tflops",
        "300",
        "--train",
        "7e9:2e12",
    )
    assert code == 0, out
    # Worked in test_cost.test_reach_of_a_cap_and_of_a_pool.
    assert "10,000,000.00 CNY" in out and "500,000" in out and "6,250" in out
    code, out, _ = invoke(
        "cost",
        "--reach",
        "pool",
        "--subsidy",
        "hangzhou-2024",
        "--domestic",
        "--price",
        "20",
        "--currency",
        "CNY",
        "--contract-size",
        "1e7",
    )
    assert code == 0, out
    assert "83.3" in out  # 250M / (10M x 30%), worked in test_cost
    code, _, err = invoke(
        "cost", "--reach", "pool", "--subsidy", "beijing-2023", "--price", "20", "--currency", "CNY"
    )
    assert code == 1 and "pool is stated" in err


def test_json_output_of_an_estimate(tmp_path: Path) -> None:
    path = tmp_path / "answer.json"
    code, _, _ = invoke(*TRAIN, "--subsidy", "shanghai-2025-compute", "--json", str(path))
    assert code == 0
    doc = json.loads(path.read_text())
    assert doc["kind"] == "estimate"
    assert doc["subsidy"]["rate_before_caps"] == pytest.approx(0.3)
    assert doc["subsidy"]["cap"] == pytest.approx(6e8 / FX.rate)  # only the pool is stated
    names = {a["name"] for a in doc["assumptions"]}
    assert {"throughput", "price", "cap per contract", "exchange rate"} <= names


def test_subsidies_list_and_show() -> None:
    code, out, _ = invoke("subsidies", "list")
    assert code == 0 and "hangzhou-2024" in out and "shanghai-2025-compute" in out
    beijing = next(line for line in out.splitlines() if "beijing-2023" in line)
    cells = [c.strip() for c in beijing.split("│")[1:-1]]
    # id, region, issued, pays towards, rate: each value under its own heading.
    assert cells[:5] == ["beijing-2023", "Beijing", "2023-10", "compute-rent", "20%"]
    code, out, _ = invoke("subsidies", "show", "beijing-2023")
    assert code == 0
    assert "2,000,000 CNY" in out and "after-settlement" in out and "https://" in out
    code, _, err = invoke("subsidies", "show", "atlantis")
    assert code == 1 and "no subsidies entry named 'atlantis'" in err


def test_cost_path_never_imports_torch(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "import subsidybench.cost.model, subsidybench.cost.sweep, subsidybench.cli\n"
        "from typer.testing import CliRunner\n"
        "from subsidybench.cli import app\n"
        "r = CliRunner().invoke(app, ['cost', '--train', '7e9:2e12', '--tflops', '400',"
        " '--price', '2.5', '--currency', 'USD', '--subsidy', 'shanghai-2025-compute'])\n"
        "assert r.exit_code == 0, r.output\n"
        "r = CliRunner().invoke(app, ['subsidies', 'list'])\n"
        "assert r.exit_code == 0, r.output\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONPATH": SRC, "PATH": ""},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_serve_job_cost_per_million_tokens() -> None:
    code, out, _ = invoke(
        "cost",
        "--serve",
        "1e9",
        "--params",
        "7e9",
        "--tflops",
        "100",
        "--price",
        "10",
        "--currency",
        "CNY",
    )
    assert code == 0, out
    # Worked in test_cost.test_serve_job_by_flops_and_by_tokens: 388.89 CNY, 0.3889 per M tokens.
    assert "388.89 CNY" in out and "0.3889 CNY" in out
    assert "100 TFLOP/s per device (given by hand)" in out


def test_small_firm_rate_lasts_a_year() -> None:
    # 64 devices for 2 x 8,766 h: 1,121,920 device-hours at 10 CNY; half at 100%, half at 30%.
    code, out, _ = invoke(
        "cost",
        "--hours",
        str(64 * 2 * 8766),
        "--devices",
        "64",
        "--price",
        "10",
        "--currency",
        "CNY",
        "--subsidy",
        "shanghai-2025-compute",
        "--small-firm",
    )
    assert code == 0, out
    assert "rate before caps and pool" in out and "65.0%" in out
    assert "small-firm rate for 12 months" in out
