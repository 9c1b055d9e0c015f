"""Comparing runs: the U test, pairing by id, refusals and warnings, and the compare command."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from factories import environment
from typer.testing import CliRunner

from subsidybench.cli import app
from subsidybench.dtypes import DType
from subsidybench.errors import UserError
from subsidybench.results.compare import Change, compare_runs, u_test_p_value
from subsidybench.results.context import DeviceRecord
from subsidybench.results.record import RunResult, RunState, Status, WorkloadResult, save_run
from subsidybench.timing import Measurement, TimingPolicy, judge
from subsidybench.work import Work

ENV = environment()


def _result(rid: str, samples: np.ndarray) -> WorkloadResult:
    m = Measurement(
        samples_s=tuple(float(s) for s in samples),
        iterations_per_block=4,
        warmup_iterations=3,
        warmup_s=0.2,
        synchronized=True,
    )
    policy = TimingPolicy(max_spread=1.0)
    return WorkloadResult(
        id=rid,
        workload=rid.split("[")[0],
        family="primitive",
        params={},
        dtype=DType.FP32,
        status=Status.OK,
        work=Work(2e9, 1e6, 1.0, "matmul"),
        measurement=m,
        verdict=judge(m, policy),
        policy=policy,
    )


def _run(*results: WorkloadResult, version: int = 2, suite: str = "ci") -> RunResult:
    return RunResult(
        suite=suite,
        suite_version=version,
        device=DeviceRecord("cpu", None, "test cpu"),
        environment=ENV,
        started="2026-01-01T00:00:00Z",
        state=RunState.COMPLETE,
        results=results,
    )


def _samples(seed: int, median: float, n: int = 30, spread: float = 0.03) -> np.ndarray:
    # Lognormal noise: skewed to the right like real block times.
    rng = np.random.default_rng(seed)
    return median * rng.lognormal(0.0, spread, n)


def test_u_test_known_values() -> None:
    # Complete separation of 5 and 5: U = 0, exact two-sided p = 2 / C(10, 5) = 2 / 252.
    assert u_test_p_value([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]) == pytest.approx(2 / 252)
    # Identical values: nothing tells the samples apart.
    assert u_test_p_value([1.0] * 10, [1.0] * 10) == 1.0


def test_same_distribution_is_not_significant() -> None:
    base = _run(_result("matmul[n=1]/fp32", _samples(1, 0.010)))
    other = _run(_result("matmul[n=1]/fp32", _samples(2, 0.010)))
    (row,) = compare_runs(base, other).rows
    assert row.change is Change.NOT_SIGNIFICANT
    assert row.describe() == "not significant"
    assert row.ratio == pytest.approx(1.0, abs=0.03)


def test_clear_shifts_are_significant_both_ways() -> None:
    base = _run(_result("a", _samples(1, 0.010)), _result("b", _samples(3, 0.010)))
    other = _run(_result("a", _samples(2, 0.012)), _result("b", _samples(4, 0.008)))
    slower, faster = compare_runs(base, other).rows
    assert slower.change is Change.SLOWER and slower.p_value is not None
    assert slower.p_value < 1e-6
    assert slower.describe() == f"{slower.ratio:.2f}x slower"
    assert slower.ratio == pytest.approx(1.2, rel=0.03)
    assert faster.change is Change.FASTER
    assert faster.describe() == f"{1 / faster.ratio:.2f}x faster"


def test_unpaired_and_unmeasured_workloads_say_why() -> None:
    skipped = WorkloadResult(
        id="b",
        workload="b",
        family="primitive",
        params={},
        dtype=DType.FP32,
        status=Status.SKIPPED,
        reason="emulated",
    )
    base = _run(_result("a", _samples(1, 0.01)), skipped)
    other = _run(_result("b", _samples(1, 0.01)), _result("c", _samples(1, 0.01)))
    rows = {r.id: r for r in compare_runs(base, other, other_label="new").rows}
    assert rows["a"].note == "not in new"
    assert rows["b"].note == "skipped in baseline: emulated"
    assert rows["c"].note == "not in baseline"
    assert {r.change for r in rows.values()} == {Change.NOT_COMPARABLE}


def test_suite_versions_refused_unless_forced_devices_warned() -> None:
    base = _run(_result("a", _samples(1, 0.01)), version=1)
    other = _run(_result("a", _samples(2, 0.01)), version=2)
    with pytest.raises(UserError, match=r"suite ci v2 against v1.*--force"):
        compare_runs(base, other)
    forced = compare_runs(base, other, force=True)
    assert any("compared anyway" in w for w in forced.warnings)
    gpu = replace(other, suite_version=1, device=DeviceRecord("cuda", 0, "H100"))
    (warning,) = compare_runs(base, gpu).warnings
    assert "comparing devices" in warning


def _files(tmp_path: Path, slow: float) -> tuple[Path, Path]:
    a, b = tmp_path / "base.json", tmp_path / "new.json"
    save_run(_run(_result("matmul[n=1]/fp32", _samples(1, 0.010))), a)
    save_run(_run(_result("matmul[n=1]/fp32", _samples(2, 0.010 * slow))), b)
    return a, b


def test_cli_exit_codes_on_regression(tmp_path: Path) -> None:
    a, b = _files(tmp_path, 1.3)
    runner = CliRunner()
    # A 30% slowdown: significant; fails at 20%, passes at 50%.
    result = runner.invoke(app, ["compare", str(a), str(b), "--fail-on-regression", "20"])
    assert result.exit_code == 3, result.output
    assert "1.30x slower" in result.stdout or "1.29x slower" in result.stdout
    assert result.stderr.startswith("regression: new: matmul[n=1]/fp32 1.")
    result = runner.invoke(app, ["compare", str(a), str(b), "--fail-on-regression", "50"])
    assert result.exit_code == 0, result.output
    out = tmp_path / "cmp.json"
    result = runner.invoke(app, ["compare", str(a), str(b), "--json", str(out)])
    assert result.exit_code == 0
    (row,) = json.loads(out.read_text())["comparisons"][0]["rows"]
    assert row["change"] == "slower" and row["p_value"] < 0.001


def test_cli_noise_is_not_a_regression(tmp_path: Path) -> None:
    a, b = _files(tmp_path, 1.0)
    result = CliRunner().invoke(app, ["compare", str(a), str(b), "--fail-on-regression", "0"])
    assert result.exit_code == 0, result.output
    assert "not significant" in result.stdout


def test_cli_refuses_one_file_and_other_suite_versions(tmp_path: Path) -> None:
    a, _ = _files(tmp_path, 1.0)
    result = CliRunner().invoke(app, ["compare", str(a)])
    assert result.exit_code == 1 and "at least two run files" in result.stderr
    old = tmp_path / "old.json"
    save_run(_run(_result("matmul[n=1]/fp32", _samples(1, 0.01)), version=1), old)
    result = CliRunner().invoke(app, ["compare", str(old), str(a)])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "error: base: suite ci v2 against v1 in the baseline: its workloads may differ;"
        " pass --force to compare anyway"
    ]


def test_cli_warns_below_the_failing_threshold(tmp_path: Path) -> None:
    a, b = _files(tmp_path, 1.3)
    result = CliRunner().invoke(
        app, ["compare", str(a), str(b), "--warn-on-regression", "10", "--fail-on-regression", "50"]
    )
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("warning: new: matmul[n=1]/fp32 1.")
    assert "more than 10%" in result.stderr
