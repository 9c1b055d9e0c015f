"""The defects of issue 12 ("One costing core"), each as a finance analyst met it; every test
here fails on the code before the costing core. Plus the one place inputs are checked."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from subsidybench.cli import app
from subsidybench.report.cost_answer import print_estimate


def invoke(*args: str, columns: int = 200) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": str(columns)})
    return result.exit_code, result.stdout, result.stderr


def row(out: str, label: str) -> str:
    for line in out.splitlines():
        cells = [c.strip() for c in line.split("│")]
        if len(cells) >= 3 and cells[1] == label:
            return cells[2]
    raise AssertionError(f"no row {label!r} in:\n{out}")


SHANGHAI = ["--price", "14", "--currency", "CNY", "--subsidy", "shanghai-2025-compute"]


def test_1_time_limited_rate_asks_for_the_wall_time() -> None:
    # 2.788M device-hours on one invented device last 318 years, and the small firm's 100%
    # for a year became a 30.2% average. Now: ask; with 2,048 devices, 56.7 days, all paid.
    args = ["cost", "--hours", "2788000", *SHANGHAI, "--small-firm"]
    code, _, err = invoke(*args)
    assert code == 1 and "--devices" in err and "--duration" in err and "8,766 hours" in err
    code, out, _ = invoke(*args, "--devices", "2048")
    assert code == 0, out
    assert "39,032,000.00 CNY (100.0% of gross)" in row(out, "subsidy")
    assert "wall time" in out and "56.72 days" in out
    code, out, _ = invoke(*args, "--duration", "730.5")  # two years: half at 100%, half at 30%
    assert code == 0, out
    assert row(out, "rate before caps and pool") == "65.0%"
    assert re.search(
        r"wall time\s*│\s*730 days \(2\.0 years\): the programme.*│ given by hand", out
    )


def test_2_effective_rate_and_rate_before_caps_are_printed_apart() -> None:
    # Shenzhen: 60% for start-ups, at most 10M per firm a year. On 30M the subsidy is 10M: 33.3%.
    code, out, _ = invoke(
        "cost", "--contract", "3e7", "--price", "20", "--currency", "CNY",
        "--subsidy", "shenzhen-2024", "--small-firm",
    )  # fmt: skip
    assert code == 0, out
    assert row(out, "subsidy") == "10,000,000.00 CNY (33.3% of gross)"
    assert row(out, "rate before caps and pool") == "60.0%"
    # The binds-above figure is the cap over the rate printed beside it: 10M / 60%.
    assert row(out, "cap per firm per year binds above a contract of").startswith(
        "16,666,666.67 CNY (= cap per firm per year / 60.0%)"
    )


def test_3_time_questions_need_no_price() -> None:
    code, out, err = invoke(
        "cost", "--train", "65e9:1.4e12", "--tokens-per-s", "380", "--devices", "2048",
        "--scaling-efficiency", "1",
    )  # fmt: skip
    assert code == 0, err
    assert "20.8" in row(out, "wall time") and row(out, "device-hours") == "1,023,392"
    assert row(out, "money") == "not asked (no price given)"


def test_3_scaling_efficiency_only_where_a_rate_is_scaled() -> None:
    # Device-hours with no throughput: nothing to scale, so no efficiency is asked for ...
    code, out, _ = invoke("cost", "--hours", "1000", "--devices", "64", *SHANGHAI)
    assert code == 0, out
    assert "scaling efficiency" not in out
    # ... and one given is refused rather than silently ignored.
    code, _, err = invoke(
        "cost", "--hours", "1000", "--devices", "64", "--scaling-efficiency", "0.9", *SHANGHAI
    )
    assert code == 1 and "per-device rate" in err


def test_4_moe_flops_follow_the_activated_parameters() -> None:
    code, out, _ = invoke(
        "cost", "--train", "37e9:14.8e12", "--total-params", "671e9", "--tflops", "400",
    )  # fmt: skip
    assert code == 0, out
    # 6 x 37e9 x 14.8e12 = 3.286e24, not 6 x 671e9 x 14.8e12.
    assert "3.286e+24 FLOPs" in row(out, "useful work")
    assert "activated parameters (drive the FLOPs)" in out
    assert "total parameters (memory, not FLOPs)" in out
    code, _, err = invoke("cost", "--train", "37e9:1e12", "--total-params", "1e9", "--tflops", "1")
    assert code == 1 and "--total-params" in err
    code, out, _ = invoke("cost", "--help")
    assert "activated" in out


def test_5_hardware_flops_with_recomputation_convert_to_model_flops() -> None:
    code, out, _ = invoke(
        "cost", "--train", "175e9:300e9", "--hardware-tflops", "147", "--recomputation", "full",
    )  # fmt: skip
    assert code == 0, out
    assert "110.2 TFLOP/s per device (derived)" in row(out, "throughput")
    assert "x 6/8 = model FLOP/s" in out
    code, _, err = invoke("cost", "--train", "7e9:1e12", "--hardware-tflops", "147")
    assert code == 1 and "--recomputation" in err


def test_6_mfu_names_the_dtype_of_its_peak() -> None:
    base = ["cost", "--hours", "100", "--mfu", "0.4", "--profile", "h100-sxm"]
    code, bf16, _ = invoke(*base)
    assert code == 0 and "dense bf16 peak 989.4 TFLOP/s" in bf16
    code, fp8, _ = invoke(*base, "--dtype", "fp8")
    assert code == 0
    # An fp8 MFU doubles the rate: the answer says so instead of halving the cost in silence.
    assert "dense fp8 peak" in fp8 and "MFU convention" in fp8


def test_7_lines_papers_publish() -> None:
    code, out, _ = invoke(
        "cost", "--train", "405e9:15.6e12", "--hours", "30.84e6", "--profile", "h100-sxm",
        "--devices", "16384",
    )  # fmt: skip
    assert code == 0, out
    assert row(out, "implied MFU").startswith("34.5% of the dense bf16 peak")
    assert "PFLOP/s of model FLOPs" in row(out, "cluster")
    assert row(out, "device-hours per trillion tokens") == "1,976,923"
    assert row(out, "tokens/s per device") == "140.5"
    code, out, _ = invoke(
        "cost", "--serve", "1e9", "--tokens-per-s", "2500", "--price", "10", "--currency", "CNY"
    )
    assert code == 0 and row(out, "net cost per million tokens") == "1.11 CNY"


def test_8_output_reads_well_at_80_columns(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = invoke(
        "cost", "--hours", "1000", "--profile", "h800", "--subsidy", "beijing-2023",
        "--price", "2", "--currency", "USD", "--in", "CNY", columns=80,
    )  # fmt: skip
    assert code == 0, out
    assert "NVIDIA NVIDIA" not in out and "NVIDIA H800" in out
    assert max(len(line) for line in out.splitlines()) <= 80
    # Sources are notes under the table, each in one piece, not folded into a column.
    assert any(line.startswith("[1] ") for line in out.splitlines())
    assert "1 x" not in out  # no "1 x 116,166 days"
    code, out, _ = invoke("cost", "--train", "7e9:2e12", "--tflops", "1")
    assert code == 0 and "on 1 device" in row(out, "wall time") and "years" in row(out, "wall time")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scaling-efficiency", "1.5", "--devices", "8"], "--scaling-efficiency: must be"),
        (["--scaling-efficiency", "0", "--devices", "8"], "--scaling-efficiency: must be"),
        (["--fx", "nan", "--in", "CNY"], "--fx: must be in (0, 1e+06]"),
        (["--fx", "inf", "--in", "CNY"], "--fx: must be in (0, 1e+06]"),
        (["--layers", "-2", "--attention-width", "4096", "--seq-len", "2048"], "--layers"),
        (["--seq-len", "-1", "--layers", "2", "--attention-width", "4096"], "--seq-len"),
        (["--attention-width", "-4096", "--layers", "2", "--seq-len", "2"], "--attention-width"),
        (["--peak-tflops", "nan"], "--peak-tflops"),
        (
            ["--devices", "2.5", "--scaling-efficiency", "1"],
            "--devices: must be in [1, 1e+08] (devices)",
        ),
        (["--rate", "1.2"], "--rate: must be"),
        (["--price", "-3"], "--price: must be"),
    ],
)
def test_inputs_are_checked_in_one_place(args: list[str], message: str) -> None:
    base = ["cost", "--train", "7e9:2e12", "--tflops", "400", "--price", "2", "--currency", "USD"]
    if "--price" in args:
        base = [*base[:-4], "--currency", "USD"]
    code, _, err = invoke(*base, *args)
    assert code == 1, err
    assert err.strip().count("\n") == 0 and message in err


def test_utilisation_and_nan_in_files_are_refused(tmp_path: Path) -> None:
    owned = ["cost", "--hours", "10", "--capex", "1e5", "--lifetime", "4", "--pue", "1.2"]
    owned += ["--cost-of-capital", "0.05", "--power-w", "700", "--tariff", "0.6"]
    code, _, err = invoke(*owned, "--currency", "CNY", "--utilisation", "1.5")
    assert code == 1 and "--utilisation: must be" in err
    options = tmp_path / "o.toml"
    options.write_text('[[option]]\nlabel = "a"\nprice = nan\ncurrency = "USD"\ntflops = 100\n')
    code, _, err = invoke("cost", "--train", "7e9:1e12", "--compare", str(options))
    assert code == 1 and "option[0].price: expected a finite number" in err


def test_a_cap_of_zero_means_no_subsidy() -> None:
    code, out, _ = invoke(
        "cost", "--hours", "1000", "--price", "2", "--currency", "USD", "--rate", "0.3",
        "--cap", "0",
    )  # fmt: skip
    assert code == 0, out
    assert row(out, "subsidy") == "none: the cap per contract is 0"
    assert "average rate" not in out and row(out, "net cost") == "2,000.00 USD"


def test_the_sweep_grid_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    args = ["cost", "--hours", "1:1000:1", "--price", "1:2000:1", "--currency", "USD"]
    code, _, err = invoke(*args)
    assert code == 1 and "2,000,000 scenarios" in err
    assert "--max-scenarios" in err and "SUBSIDYBENCH_MAX_SCENARIOS" in err
    code, _, err = invoke("cost", "--hours", "1:10:1", "--price", "1,2", "--currency", "USD",
                          "--max-scenarios", "5")  # fmt: skip
    assert code == 1 and "20 scenarios, more than 5" in err


def test_estimate_path_costs_a_device_nobody_measured(run_file: Path, tmp_path: Path) -> None:
    from subsidybench.results.record import load_run, save_run

    path = tmp_path / "h100.json"
    save_run(dataclasses.replace(load_run(run_file), profile="h100-sxm"), path)
    code, out, err = invoke(
        "cost", "--hours", "1000", "--run", str(path), "--workload", "gemm-bf16",
        "--estimate-on", "h800", "--price", "2", "--currency", "USD",
    )  # fmt: skip
    assert code == 0, err
    throughput = row(out, "throughput")
    assert "(estimate)" in throughput and "measured" not in throughput.split("(")[-1]
    assert "ESTIMATE, not measured" in out and "roofline" in out and "-bound" in out
    assert "NVIDIA H800" in out


def test_report_estimate_on(run_file: Path, tmp_path: Path) -> None:
    import pandas as pd

    from subsidybench.results.record import load_run, save_run

    path = tmp_path / "h100.json"
    save_run(dataclasses.replace(load_run(run_file), profile="h100-sxm"), path)
    result = CliRunner().invoke(
        app,
        [
            "report",
            str(path),
            "--estimate-on",
            "h800",
            "--price",
            "2",
            "--currency",
            "USD",
            "--out",
            str(tmp_path / "rep"),
        ],
    )
    assert result.exit_code == 0, result.output
    costs = pd.read_csv(tmp_path / "rep" / "costs.csv")
    estimated = costs[costs["run"] == "h100 on h800 (estimate)"]
    assert len(estimated) and set(estimated["throughput_basis"]) == {"estimate"}
    assert estimated["basis"].str.contains("roofline").all()
    assert set(costs[costs["run"] == "h100"]["throughput_basis"]) == {"measured"}


def test_no_money_estimate_renders(capsys: pytest.CaptureFixture[str]) -> None:
    from subsidybench.cost.jobs import HoursJob
    from subsidybench.cost.model import estimate

    print_estimate(estimate(HoursJob(10), None, devices_known=False))
    out = capsys.readouterr().out
    assert "not known: give --devices or --duration" in out and "not asked" in out
