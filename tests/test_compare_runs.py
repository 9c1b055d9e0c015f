"""Comparing runs: the bootstrap, the minimum effect, pairing by id, pooling, and the command."""

from __future__ import annotations

import json
import math
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from factories import environment
from typer.testing import CliRunner

from subsidybench.cli import app
from subsidybench.dtypes import DType
from subsidybench.errors import UserError
from subsidybench.results.compare import Change, compare_runs
from subsidybench.results.context import DeviceRecord
from subsidybench.results.interval import bootstrap_ratio, side_centre
from subsidybench.results.record import (
    Reference,
    RunResult,
    RunState,
    Status,
    WorkloadResult,
    save_run,
)
from subsidybench.timing import Measurement, TimingPolicy, judge
from subsidybench.work import Work

ENV = environment()


def _result(rid: str, samples: np.ndarray, rounds: int = 1) -> WorkloadResult:
    m = Measurement(
        samples_s=tuple(float(s) for s in samples),
        iterations_per_block=4,
        warmup_iterations=3,
        warmup_s=0.2,
        synchronized=True,
        rounds=tuple(i * rounds // len(samples) for i in range(len(samples))),
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


def _run(
    *results: WorkloadResult, version: int = 2, suite: str = "ci", rounds: int = 1
) -> RunResult:
    return RunResult(
        rounds=rounds,
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


def _drifting(seed: int, median: float, rounds: int = 3, drift: float = 0.08) -> np.ndarray:
    """Rounds at different levels (a shared machine over minutes), tight within each round."""
    rng = np.random.default_rng(seed)
    levels = median * np.exp(rng.normal(0.0, drift, rounds))
    return np.concatenate([lvl * rng.lognormal(0.0, 0.01, 15) for lvl in levels])


def test_side_centre_weighs_runs_and_rounds_alike() -> None:
    one = [np.array([1.0, 1.0, 1.0])]
    many = [np.array([4.0] * 99)]
    # Pooled, 99 samples of 4.0 would outvote 3 of 1.0; here each run counts alike: sqrt(1 * 4).
    assert side_centre([one, many]) == pytest.approx(2.0)
    # One run of two rounds: the geometric mean of the rounds' medians.
    assert side_centre([[np.array([1.0, 2.0, 3.0]), np.array([8.0])]]) == pytest.approx(4.0)


def test_bootstrap_interval_covers_one_for_noise_and_excludes_it_for_a_shift() -> None:
    rng = np.random.default_rng(5)
    a = [[rng.lognormal(0, 0.03, 20) for _ in range(3)]]
    b = [[rng.lognormal(0, 0.03, 20) for _ in range(3)]]
    low, high, p = bootstrap_ratio(a, b, 0.05, seed=1)
    assert low < 1 < high and p > 0.05
    shifted = [[g * 1.2 for g in b[0]]]
    low, high, p = bootstrap_ratio(a, shifted, 0.05, seed=1)
    assert 1.1 < low < 1.2 < high < 1.3 and p < 0.01
    # Seeded: the same answer every time.
    assert bootstrap_ratio(a, shifted, 0.05, seed=1) == (low, high, p)


def test_drift_between_rounds_is_not_called_a_change() -> None:
    # Each run's rounds sit up to ~15% apart and are tight within: a test on the samples alone
    # (the U test used before) calls this significant; the rounds widen the interval instead.
    base = _run(_result("a", _drifting(1, 0.010), rounds=3), rounds=3)
    other = _run(_result("a", _drifting(2, 0.010), rounds=3), rounds=3)
    (row,) = compare_runs(base, other).rows
    assert row.change in (Change.CANNOT_TELL, Change.SMALL), row
    assert row.ci is not None and row.ci[1] - row.ci[0] > 0.05
    # The interval is wider than the minimum effect: silence here is not "no change".
    assert row.detectable is not None and row.detectable > 0.05
    assert row.baseline_groups == row.other_groups == 3


def test_a_significant_difference_under_the_minimum_effect_is_small() -> None:
    base = _run(_result("a", _samples(1, 0.010, n=200, spread=0.005)))
    other = _run(_result("a", _samples(2, 0.0102, n=200, spread=0.005)))
    (row,) = compare_runs(base, other).rows
    assert row.change is Change.SMALL and row.describe().startswith("small (+")
    (row,) = compare_runs(base, other, min_effect=0.01).rows
    assert row.change is Change.SLOWER
    with pytest.raises(UserError, match="--min-effect"):
        compare_runs(base, other, min_effect=float("nan"))


def test_several_runs_a_side_pool() -> None:
    bases = [_run(_result("a", _drifting(i, 0.010), rounds=3), rounds=3) for i in range(3)]
    same = [_run(_result("a", _drifting(10 + i, 0.010), rounds=3), rounds=3) for i in range(3)]
    slow = [_run(_result("a", _drifting(20 + i, 0.014), rounds=3), rounds=3) for i in range(3)]
    (row,) = compare_runs(bases, same).rows
    assert row.change is not Change.SLOWER and row.baseline_groups == 9
    (row,) = compare_runs(bases, slow).rows
    # Units are the runs (each the mean of its 3 rounds): 3 against 3, a wide interval.
    assert row.units == "runs" and row.change is Change.SLOWER
    assert row.ratio == pytest.approx(1.4, rel=0.1)


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
    assert slower.p_value < 0.01 and slower.ci is not None and slower.ci[0] > 1.1
    assert slower.describe() == f"{slower.ratio:.2f}x slower"
    assert slower.ratio == pytest.approx(1.2, rel=0.03)
    assert faster.change is Change.FASTER
    assert faster.describe() == f"{1 / faster.ratio:.2f}x faster"


def _unchanged_suite(seed: int, workloads: int, slow: str = "", by: float = 1.0) -> RunResult:
    """A run of `workloads` workloads of 3 rounds each, every round at a level of its own (the
    drift between processes), `slow` made `by` slower."""
    return _run(
        *(
            _result(
                f"w{i}",
                _drifting(seed * 1000 + i, 0.010 * (by if f"w{i}" == slow else 1.0), drift=0.03),
                rounds=3,
            )
            for i in range(workloads)
        ),
        rounds=3,
    )


def test_a_comparison_of_many_workloads_is_wrong_together_at_most_alpha() -> None:
    # 30 unchanged workloads, 40 pairs of runs: at 5% a workload, most comparisons would call
    # something (1 - 0.95**30 = 79%); each interval at 0.05 / 30 keeps "anything changed" to 5%.
    pairs = [(_unchanged_suite(2 * k, 30), _unchanged_suite(2 * k + 1, 30)) for k in range(40)]
    comparisons = [compare_runs(a, b) for a, b in pairs]
    called = (Change.SLOWER, Change.FASTER)
    wrong = sum(any(r.change in called for r in c.rows) for c in comparisons)
    assert wrong <= 4, wrong
    assert comparisons[0].family == 30
    assert comparisons[0].to_dict()["alpha_each"] == pytest.approx(0.05 / 30)


def test_a_clear_slowdown_among_many_workloads_is_still_called() -> None:
    base = _unchanged_suite(1, 30)
    slow = _unchanged_suite(2, 30, slow="w7", by=1.3)
    rows = {r.id: r for r in compare_runs(base, slow).rows}
    assert rows["w7"].change is Change.SLOWER
    assert sum(r.change is Change.SLOWER for r in rows.values()) == 1


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
    warning, one_round = compare_runs(base, gpu).warnings
    assert "comparing devices" in warning and "one run of one round" in one_round


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
    assert "\nregression: new: matmul[n=1]/fp32 1." in result.stderr
    result = runner.invoke(app, ["compare", str(a), str(b), "--fail-on-regression", "50"])
    assert result.exit_code == 0, result.output
    out = tmp_path / "cmp.json"
    result = runner.invoke(app, ["compare", str(a), str(b), "--json", str(out)])
    assert result.exit_code == 0
    (row,) = json.loads(out.read_text())["comparisons"][0]["rows"]
    assert row["change"] == "slower" and row["p_value"] < 0.01 and row["ci"][0] > 1.2


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
    assert "warning: new: matmul[n=1]/fp32 1." in result.stderr
    assert "more than 10%" in result.stderr


def test_cli_pools_sides_and_expands_globs(tmp_path: Path) -> None:
    for i in range(2):
        save_run(_run(_result("a", _samples(i, 0.010))), tmp_path / f"before-{i}.json")
        save_run(_run(_result("a", _samples(10 + i, 0.013))), tmp_path / f"after-{i}.json")
    before, after = str(tmp_path / "before-*.json"), str(tmp_path / "after-*.json")
    result = CliRunner().invoke(app, ["compare", before, "--", after, "--fail-on-regression", "20"])
    assert result.exit_code == 3, result.output
    assert "after-0 +1 against before-0 +1" in result.stdout
    assert "(n=60/2)" in result.stdout
    result = CliRunner().invoke(app, ["compare", before, "--", str(tmp_path / "none-*.json")])
    assert result.exit_code == 1 and "matches no file" in result.stderr


@pytest.mark.parametrize("flag", ["--fail-on-regression", "--warn-on-regression", "--min-effect"])
def test_cli_refuses_nan_percentages(tmp_path: Path, flag: str) -> None:
    a, b = _files(tmp_path, 1.0)
    result = CliRunner().invoke(app, ["compare", str(a), str(b), flag, "nan"])
    assert result.exit_code in (1, 2), result.output
    assert result.stderr.startswith("error: ") and flag in result.stderr
    assert "nan" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def _with_reference(run: RunResult, samples: np.ndarray, rounds: int = 3) -> RunResult:
    m = _result("ref", samples, rounds=rounds).measurement
    return replace(run, reference=Reference("fp32 matmul 512x512x512", m))


def test_a_machine_that_changed_speed_is_said_so_once() -> None:
    # The same workload shift on both sides, and the reference step shifted with it: the
    # comparison names the machine's own change, so a reader does not blame the code.
    base = _run(_result("a", _drifting(1, 0.010, drift=0.01), rounds=3), rounds=3)
    slow = _run(_result("a", _drifting(2, 0.013, drift=0.01), rounds=3), rounds=3)
    base = _with_reference(base, _drifting(3, 0.002, drift=0.01))
    slow = _with_reference(slow, _drifting(4, 0.0026, drift=0.01))
    comparison = compare_runs(base, slow, other_label="B")
    assert comparison.reference is not None
    assert comparison.reference.change is Change.SLOWER
    (warning,) = [w for w in comparison.warnings if "machine itself" in w]
    assert warning.startswith("the machine itself ran 1.3") and "in B" in warning
    assert comparison.to_dict()["reference"]["change"] == "slower"
    # The same machine speed: the reference is compared, and nothing is said of it.
    same = _with_reference(slow, _drifting(5, 0.002, drift=0.01))
    comparison = compare_runs(base, same)
    assert comparison.reference is not None
    assert comparison.reference.change is not Change.SLOWER
    assert not [w for w in comparison.warnings if "machine itself" in w]


def test_a_side_without_a_reference_compares_none() -> None:
    base = _with_reference(_run(_result("a", _samples(1, 0.01))), _drifting(3, 0.002))
    other = _run(_result("a", _samples(2, 0.01)))
    assert compare_runs(base, other).reference is None
    assert compare_runs([base, base], [base, other]).reference is None


def test_the_reference_row_is_shown_last_and_apart(tmp_path: Path) -> None:
    base = _with_reference(_run(_result("a", _samples(1, 0.01))), _drifting(3, 0.002, drift=0.01))
    other = _with_reference(_run(_result("a", _samples(2, 0.01))), _drifting(4, 0.0026, drift=0.01))
    save_run(base, tmp_path / "a.json")
    save_run(other, tmp_path / "b.json")
    result = CliRunner().invoke(
        app, ["compare", str(tmp_path / "a.json"), str(tmp_path / "b.json")], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    rows = [line for line in result.output.splitlines() if line.startswith("│")]
    assert "machine reference (fp32 matmul 512x512x512)" in rows[-1]
    assert "the machine itself ran" in result.output


def test_a_pair_too_noisy_for_the_minimum_effect_cannot_tell() -> None:
    # Rounds 8% apart: three against three cannot see a 5% change, and says so.
    base = _run(_result("a", _drifting(1, 0.010, drift=0.08), rounds=3), rounds=3)
    other = _run(_result("a", _drifting(2, 0.010, drift=0.08), rounds=3), rounds=3)
    (row,) = compare_runs(base, other).rows
    assert row.change is Change.CANNOT_TELL and row.describe().startswith("cannot tell (sees >")
    assert row.detectable is not None and row.ci is not None
    assert math.exp(math.log(row.ci[1] / row.ci[0]) / 2) - 1 == pytest.approx(row.detectable)
    # Rounds 0.5% apart see far under 5%: not significant is then an answer.
    quiet = [
        _run(_result("a", _drifting(i, 0.010, drift=0.005), rounds=3), rounds=3) for i in (3, 4)
    ]
    (row,) = compare_runs(*quiet).rows
    assert row.change is Change.NOT_SIGNIFICANT and row.detectable is not None
    assert row.detectable < 0.05
    # The minimum effect is the line: past the detectable effect, "not significant" again.
    (row,) = compare_runs(base, other, min_effect=5.0).rows
    assert row.change is Change.NOT_SIGNIFICANT


def test_the_figures_beside_a_ratio_give_it() -> None:
    base = _run(_result("a", _drifting(1, 0.010), rounds=3), rounds=3)
    other = _run(_result("a", _drifting(2, 0.013), rounds=3), rounds=3)
    (row,) = compare_runs(base, other).rows
    assert row.ratio == pytest.approx(row.other_median_s / row.baseline_median_s, rel=1e-12)
    # ... and they are the figure a result is read by (Measurement.centre, what `show` prints).
    for run, figure in ((base, row.baseline_median_s), (other, row.other_median_s)):
        assert run.results[0].measurement.centre == pytest.approx(figure, rel=1e-12)


_FIGURE = re.compile(r"([0-9.]+) (s|ms|µs|ns)\b")
_UNITS = {"s": 1.0, "ms": 1e-3, "µs": 1e-6, "ns": 1e-9}


def _figure(text: str) -> tuple[float, float]:
    """A printed time and half a unit of its last printed digit, in seconds."""
    match = _FIGURE.search(text)
    assert match, text
    digits, unit = match.groups()
    decimals = len(digits.split(".")[1]) if "." in digits else 0
    return float(digits) * _UNITS[unit], 0.5 * 10.0**-decimals * _UNITS[unit]


def test_printed_ratio_is_the_printed_figures_ratio_and_show_prints_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Rounds far apart and uneven sample counts: where the pooled median, the median of all
    # samples weighted and the rounds' geometric mean differ, as on a busy machine (issue 28).
    monkeypatch.setenv("COLUMNS", "250")
    rng = np.random.default_rng(3)

    def uneven(median: float, levels: tuple[float, ...]) -> np.ndarray:
        counts = (4, 20, 9)
        spread = [
            median * lvl * rng.lognormal(0, 0.01, n) for lvl, n in zip(levels, counts, strict=True)
        ]
        return np.concatenate(spread)

    names = ["a[x=1]/fp32", "b[x=2]/fp32", "c[x=3]/fp32"]
    for side, levels in (("a", (1.0, 1.9, 0.7)), ("b", (0.7, 1.9, 1.9))):
        results = []
        for i, name in enumerate(names):
            samples = uneven(0.01 * (i + 1), levels)
            m = Measurement(tuple(samples), 4, 3, 0.2, True, rounds=(0,) * 4 + (1,) * 20 + (2,) * 9)
            results.append(replace(_result(name, samples), measurement=m))
        save_run(_run(*results, rounds=3), tmp_path / f"{side}.json")
    paths = [str(tmp_path / "a.json"), str(tmp_path / "b.json")]
    compared = CliRunner().invoke(app, ["compare", *paths])
    assert compared.exit_code == 0, compared.output
    shown = CliRunner().invoke(app, ["show", str(tmp_path / "a.json")])
    assert shown.exit_code == 0, shown.output
    rows = [line for line in compared.output.splitlines() if line.startswith("│ ")]
    assert len(rows) == len(names)
    for name, line in zip(names, rows, strict=True):
        cells = [c.strip() for c in line.strip("│").split("│")]
        assert cells[0] == name
        (a, ha), (b, hb) = _figure(cells[1]), _figure(cells[2])
        ratio = float(cells[3])
        # The printed ratio lies within what the printed figures allow, to its own 3 decimals.
        assert (b - hb) / (a + ha) - 0.0005 <= ratio <= (b + hb) / (a - ha) + 0.0005, line
        # `show` prints the very figure `compare` printed for the baseline's result.
        show_line = next(
            s for s in shown.output.splitlines() if s.startswith(f"│ {name.split('[')[0]} ")
        )
        assert _figure(show_line)[0] == pytest.approx(a, abs=ha), (show_line, line)
