"""`cost --serve` on a serving curve: cost per million tokens worked by hand on a synthetic
curve, the goodput point picked through the CLI, the input/output split, the one-line errors,
derived curves labelled so, and no torch on the way."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from factories import SERVING_SWEEP, point_result, serving_run
from typer.testing import CliRunner

from subsidybench.cli import app
from subsidybench.cost.serving import all_in_per_million, prefill_share, split_per_million
from subsidybench.results.record import save_run

SRC = str(Path(__file__).resolve().parents[1] / "src")
# 3.6 USD a device-hour is 0.001 USD a device-second: a point's all-in cost per million output
# tokens is 1,000 / (its output tokens/s per device).
PRICE = ["--price", "3.6", "--currency", "USD"]


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "250"})
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def serve_file(tmp_path: Path) -> Path:
    path = tmp_path / "serve.json"
    save_run(serving_run(*SERVING_SWEEP), path)
    return path


def serve(path: Path, *args: str) -> tuple[int, str, str]:
    return invoke("cost", "--serve", "1e6", "--run", str(path), *PRICE, *args)


def test_cost_per_million_tokens_by_hand() -> None:
    # c=4 of the sweep: TTFT p50 0.2 s, TPOT p50 0.125 s, 10 output tokens: the batch spends
    # 0.2 s in prefill and 9 x 0.125 = 1.125 s decoding: f = 0.2 / 1.325.
    f = prefill_share([0.05, 0.2], [0.1, 0.125], [10, 10])
    assert f == pytest.approx([0.05 / 0.95, 0.2 / 1.325])
    # 25 output tokens/s per device at 3.6 USD/h: 90,000 tokens an hour, 40 USD per million.
    all_in = all_in_per_million(3.6, [10.0, 25.0])
    assert all_in == pytest.approx([100.0, 40.0])
    inputs, outputs = split_per_million(all_in, f, 100, 10)
    # Input pays f of the batch over 10x as many tokens: 40 x 0.15094 x 10 / 100 = 0.6038.
    assert inputs[1] == pytest.approx(40 * 0.2 / 1.325 * 0.1)
    assert outputs[1] == pytest.approx(40 * (1 - 0.2 / 1.325))
    # At the curve's own 100 in : 10 out the two prices bill exactly the all-in total.
    bills = inputs * 100 + outputs * 10
    assert bills == pytest.approx(all_in * 10)
    assert np.all(inputs < outputs)


def test_goodput_point_is_costed_before_and_after_the_subsidy(
    serve_file: Path, tmp_path: Path
) -> None:
    out_json = tmp_path / "a.json"
    code, out, err = serve(serve_file, "--tpot-ms", "250", "--rate", "0.5", "--json", str(out_json))
    assert code == 0, out + err
    # TPOT p99 is 2 x p50: 200, 200, 250, 500 ms; c=8 misses, c=4 has the most tokens/s.
    assert "concurrency 4 (measured)" in out
    assert "the goodput point: meets TPOT p99 <= 250 ms" in out
    assert "40.00 -> 20.00 USD" in out  # all-in per million output tokens, 50% off
    assert "0.6038 -> 0.3019 USD" in out  # per million input tokens
    assert "33.96 -> 16.98 USD" in out  # per million output tokens, priced apart
    assert "prefill share f = TTFT p50" in out  # the split rule, stated
    doc = json.loads(out_json.read_text())
    assert doc["kind"] == "serving" and doc["basis"] == "measured"
    assert doc["point"]["concurrency"] == 4
    assert doc["point"]["net_per_million_output_all_in"] == pytest.approx(20.0)
    assert doc["net_per_million_tokens"] == pytest.approx(20.0)
    assert [p["concurrency"] for p in doc["points"]] == [1, 2, 4, 8]
    assert [p["pareto_front"] for p in doc["points"]] == [False, True, True, False]
    assert [p["meets_slo"] for p in doc["points"]] == [True, True, True, False]
    # Every point costed as the headline is: 1,000 / (10, 20, 25, 20) USD before the subsidy.
    gross = [p["gross_per_million_output_all_in"] for p in doc["points"]]
    assert gross == pytest.approx([100.0, 50.0, 40.0, 50.0])


@pytest.mark.parametrize(
    ("flags", "concurrency"),
    [
        ((), 4),  # no SLO: the most output tokens/s per device
        (("--tokens-per-user", "9"), 2),  # c=1 and c=2 give 10 a user; c=2 twice the device
        (("--ttft-ms", "200", "--slo-percentile", "50"), 4),  # TTFT p50: 50, 80, 200, 500 ms
        (("--ttft-ms", "200"), 2),  # TTFT p99 is twice p50: c=4's 400 ms misses
    ],
)
def test_the_slo_picks_the_point(
    serve_file: Path, flags: tuple[str, ...], concurrency: int
) -> None:
    code, out, err = serve(serve_file, *flags)
    assert code == 0, out + err
    assert f"concurrency {concurrency} (measured)" in out


def test_no_point_meets_the_slo_is_one_line_naming_the_nearest(serve_file: Path) -> None:
    code, out, err = serve(serve_file, "--tpot-ms", "100")
    assert code == 1
    assert "Traceback" not in out + err
    line = err.strip()
    assert len(line.splitlines()) == 1
    assert "no point of gpt_serve bf16 100 in / 10 out meets the SLO (TPOT p99 <= 100 ms)" in line
    assert "concurrency 1: 10 tokens/s per user, 10 output tokens/s per device" in line
    assert "TPOT p99 200 ms, misses: TPOT p99 0.2 s > 0.1 s" in line


def test_curve_goes_to_csv(serve_file: Path, tmp_path: Path) -> None:
    csv = tmp_path / "curve.csv"
    code, out, err = serve(serve_file, "--tpot-ms", "250", "--csv", str(csv))
    assert code == 0, out + err
    frame = pd.read_csv(csv)
    assert list(frame["concurrency"]) == [1, 2, 4, 8]
    assert list(frame["costed_point"]) == [False, False, True, False]
    assert frame["net_per_million_input"].iloc[2] == pytest.approx(40 * 0.2 / 1.325 * 0.1)
    assert set(frame["currency"]) == {"USD"} and set(frame["basis"]) == {"measured"}


def test_invalid_points_are_left_out_unless_forced(tmp_path: Path) -> None:
    path = tmp_path / "noisy.json"
    points = list(SERVING_SWEEP)
    points[2] = point_result(4, 1.6, 0.125, 0.2, valid=False)
    save_run(serving_run(*points), path)
    code, out, err = serve(path)
    assert code == 0, out + err
    # c=2 and c=8 both give 20 tokens/s per device once c=4 is out: the lower concurrency.
    assert "concurrency 2 (measured)" in out and "points left out" in out
    code, out, err = serve(path, "--force")
    assert code == 0, out + err
    assert "concurrency 4 (measured, FORCED despite an invalid verdict)" in out


def test_every_point_invalid_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "all-noisy.json"
    save_run(serving_run(point_result(1, 1.0, 0.1, 0.05, valid=False)), path)
    code, _, err = serve(path)
    assert code == 1 and "invalid verdict" in err and "--force" in err


def test_derived_curve_is_labelled_derived(tmp_path: Path) -> None:
    # One layer of a 32-layer model measured: times x 32, rates / 32.
    path = tmp_path / "block.json"
    save_run(serving_run(point_result(1, 1.0, 0.1, 0.05, derived=(1, 32))), path)
    code, out, err = serve(path)
    assert code == 0, out + err
    assert "(derived)" in out and "whole 32-layer model derived from 1" in out
    assert "measured:" not in out
    # 10 / 32 output tokens/s: 3,200 USD per million all-in.
    assert "3,200.00 -> 3,200.00 USD" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("cost", "--hours", "10", *PRICE, "--ttft-ms", "5"), "--ttft-ms set a serving SLO"),
        (("cost", "--serve", "1e6", "--tokens-per-s", "5", "--tpot-ms", "5"), "serving SLO"),
    ],
)
def test_slo_flags_need_a_serving_curve(args: tuple[str, ...], message: str) -> None:
    code, _, err = invoke(*args)
    assert code == 1 and message in err


def test_slo_flags_are_checked_in_one_place(serve_file: Path) -> None:
    code, _, err = serve(serve_file, "--ttft-ms", "-1")
    assert code == 1 and "--ttft-ms: must be in (0, 1e+09] (milliseconds)" in err
    code, _, err = serve(serve_file, "--ttft-ms", "9", "--slo-percentile", "95")
    assert code == 1 and "--slo-percentile: must be one of 50, 90, 99, got 95" in err
    code, _, err = serve(serve_file, "--slo-percentile", "90")
    assert code == 1 and "--slo-percentile says at which percentile" in err


def test_serving_cost_never_imports_torch(serve_file: Path) -> None:
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from subsidybench.cli import app\n"
        f"r = CliRunner().invoke(app, ['cost', '--serve', '1e6', '--run', {str(serve_file)!r},"
        " '--price', '3.6', '--currency', 'USD', '--tpot-ms', '250'])\n"
        "assert r.exit_code == 0, r.output\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONPATH": SRC, "PATH": ""},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


def test_report_draws_the_curve_and_its_table(serve_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "rep"
    result = CliRunner().invoke(
        app,
        ["report", str(serve_file), *PRICE, "--tpot-ms", "250", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    page = (out / "report.html").read_text()
    assert '<h2 id="serving">Serving curve</h2>' in page
    chart = page[page.index('<figure id="chart-serving-1">') :]
    chart = chart[: chart.index("</figure>")]
    assert "<svg" in chart and "Pareto front" in chart
    md = (out / "report.md").read_text()
    assert "## Serving curve" in md
    # c=4 is the SLO point, on the front: 40 USD per million output tokens all-in, no subsidy.
    assert "| *> | 4 | 8 | 25 |" in md and "40.00 -> 40.00" in md
    table = pd.read_csv(out / "serving.csv")
    assert list(table["concurrency"]) == [1, 2, 4, 8]
    assert list(table["costed_point"]) == [False, False, True, False]
    assert table["net_per_million_output_all_in"].tolist() == pytest.approx([100, 50, 40, 50])
    sheets = pd.read_excel(out / "report.xlsx", sheet_name=None)
    assert "Serving" in sheets and len(sheets["Serving"]) == 4


def test_report_leaves_invalid_points_uncosted(tmp_path: Path) -> None:
    from subsidybench.report import ReportOptions, build_report, label_runs

    path = tmp_path / "noisy.json"
    points = list(SERVING_SWEEP)
    points[3] = point_result(8, 4.0, 0.25, 0.5, valid=False)
    save_run(serving_run(*points), path)
    from subsidybench.report.tables import PriceSpec

    options = ReportOptions(prices=(PriceSpec(3.6, "USD"),))
    report = build_report(label_runs([path]), options)
    assert report.serving is not None
    costs = report.serving["net_per_million_output_all_in"].tolist()
    assert costs[:3] == pytest.approx([100, 50, 40]) and np.isnan(costs[3])
    assert not report.serving["costed_point"].any()  # no SLO given: no point marked
