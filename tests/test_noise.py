"""Noise: interleaved rounds, the planted slowdown, the spread's digits, and narrow run tables."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from rich.console import Console

from subsidybench.devices import resolve_device
from subsidybench.errors import UserError
from subsidybench.measure import planted
from subsidybench.measure.runner import run_suite
from subsidybench.report.terminal import run_table
from subsidybench.results.record import load_run
from subsidybench.suites import load_suite, select
from subsidybench.timing import Measurement, TimingPolicy, beyond, judge
from subsidybench.workloads.base import Step

DATA = Path(__file__).parent / "data"


def _m(samples: list[float], rounds: tuple[int, ...] = ()) -> Measurement:
    return Measurement(tuple(samples), 2, 3, 0.2, True, rounds=rounds)


def test_samples_keep_their_round() -> None:
    first = _m([1.0, 1.1])
    assert first.rounds == (0, 0) and first.round_count == 1 and first.round_spread == 0
    both = first.then(_m([2.0, 2.2, 2.1]), 1)
    assert both.rounds == (0, 0, 1, 1, 1) and both.round_count == 2
    assert [list(r) for r in both.by_round()] == [[1.0, 1.1], [2.0, 2.2, 2.1]]
    assert both.statistics()["rounds"] == 2
    with pytest.raises(ValueError, match="same length"):
        first.then(Measurement((1.0,), 3, 3, 0.2, True), 1)
    with pytest.raises(ValueError, match="round indices"):
        _m([1.0, 1.0], rounds=(0,))


def test_a_round_times_its_share_with_the_first_rounds_blocks() -> None:
    policy = TimingPolicy(budget_s=3.0, min_samples=5, max_samples=200)
    third = policy.for_round(3, 16)
    assert (third.budget_s, third.min_samples, third.max_samples) == (1.0, 2, 67)
    assert third.iterations_per_block == 16 and third.step_limit_s == 3.0
    assert policy.for_round(1, None) is policy
    assert "iterations_per_block" not in policy.to_dict()  # a round's detail, not the task's


def test_a_failing_spread_reads_as_failing() -> None:
    assert beyond(0.1004, 0.10) == "10.04%"
    assert beyond(0.33, 0.10) == "33%"
    assert beyond(0.105, 0.10) == "10.5%"
    # 8 samples whose IQR/median is just past 10%.
    m = _m([1.0] * 4 + [1.1055] * 4)
    assert 0.10 < m.spread < 0.1005
    (reason,) = judge(m, TimingPolicy()).reasons
    assert "IQR/median 10.0" in reason and "% > 10%" in reason
    assert "10% > 10%" not in reason


def test_a_run_in_rounds_interleaves_and_records_them(tiny_suite: Path, tmp_path: Path) -> None:
    suite = select(load_suite(str(tiny_suite)), ["matmul", "copy"])
    seen: list[str] = []

    class Watch:
        def planned(self, ids: list[str]) -> None:
            seen.append(f"planned {len(ids)}")

        def started(self, id: str) -> None:
            seen.append(id)

        def finished(self, result: object) -> None:
            pass

    out = tmp_path / "run.json"
    run = run_suite(suite, resolve_device("cpu"), out, observer=Watch(), rounds=2)
    assert run.rounds == 2 and load_run(out) == run
    assert seen[0] == "planned 6"
    # Round 1 of every task before round 2 of any (bf16 may be skipped as emulated).
    assert seen[1].endswith("(round 1 of 2)") and seen[-1].endswith("(round 2 of 2)")
    for r in run.results:
        if r.ok:
            assert r.measurement is not None and set(r.measurement.rounds) == {0, 1}
            assert r.policy is not None and r.policy.budget_s == 0.2  # the task's, whole


def test_version_1_files_were_one_round() -> None:
    run = load_run(DATA / "run-v1.json")
    assert run.rounds == 1
    assert all(set(r.measurement.rounds) == {0} for r in run.results if r.measurement)


def test_planted_slowdown_parses_and_slows() -> None:
    env = {planted.ENV: "softmax=0.10,layernorm=0.5"}
    assert planted.fraction("softmax[rows=1]/fp32", env) == 0.10
    assert planted.fraction("layernorm[rows=1]/fp32", env) == 0.5
    assert planted.fraction("matmul[n=1]/fp32", env) is None
    assert planted.fraction("x", {}) is None
    for bad in ("softmax", "softmax=nan", "=0.1", "softmax=-1"):
        with pytest.raises(UserError, match=planted.ENV):
            planted.fraction("softmax", {planted.ENV: bad})

    def spin() -> None:
        end = time.perf_counter() + 0.005
        while time.perf_counter() < end:
            pass

    step = planted.slowed(Step(run=spin), 1.0)
    start = time.perf_counter()
    step.run()
    assert time.perf_counter() - start >= 0.0099


def _rendered(width: int) -> str:
    run = load_run(DATA / "run-v1.json")
    table, _ = run_table(run, width=width)
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(table)
    return console.export_text()


@pytest.mark.parametrize("width", [80, 120])
def test_the_verdict_and_its_footnote_always_show(width: int) -> None:
    run = load_run(DATA / "run-v1.json")
    text = _rendered(width)
    assert max(len(line) for line in text.splitlines()) <= width
    assert text.count("valid") >= sum(1 for r in run.results if r.verdict is not None)
    for r in run.results:
        if r.verdict is not None and not r.verdict.valid:
            assert "invalid [" in text
    assert "invalid [\n" not in text and "invalid │" not in text
    if width == 120:
        assert "throughput" in text
    assert "verdict" in text


def _reference(samples: tuple[float, ...], rounds: tuple[int, ...]) -> Measurement:
    return Measurement(samples, 4, 3, 0.02, True, rounds=rounds)


def test_the_machines_noise_floor_is_printed_under_the_table() -> None:
    from dataclasses import replace

    from subsidybench.report.terminal import reference_lines
    from subsidybench.results.record import Reference

    run = load_run(DATA / "ci-v3-quiet-run.json")
    assert run.reference is None and reference_lines(run) == []  # an older file took none
    steady = _reference((1.0, 1.01, 0.99, 1.0, 1.02, 0.98), (0, 0, 1, 1, 2, 2))
    (line,) = reference_lines(replace(run, reference=Reference("fp32 matmul 512", steady)))
    assert "spread 1.5% IQR/median" in line and "3 round(s)" in line
    assert "machine's" not in line
    noisy = _reference((1.0, 1.3, 1.0, 1.4, 0.9, 1.0), (0, 0, 1, 1, 2, 2))
    (line,) = reference_lines(replace(run, reference=Reference("fp32 matmul 512", noisy)))
    assert "past the 10% a valid figure may spread" in line and "the machine's" in line
    failed = Reference("fp32 matmul 512", steady, error="round 3: device lost")
    lines = reference_lines(replace(run, reference=failed))
    assert lines[-1] == "machine: the reference step could not be timed (round 3: device lost)"


def test_a_reference_without_samples_or_a_reason_is_refused(tmp_path: Path) -> None:
    import json
    from dataclasses import replace

    from subsidybench.results.record import Reference, save_run

    run = load_run(DATA / "ci-v3-quiet-run.json")
    steady = _reference((1.0, 1.01, 0.99), (0, 1, 2))
    path = tmp_path / "r.json"
    save_run(replace(run, reference=Reference("fp32 matmul 512", steady)), path)
    assert load_run(path).reference == Reference("fp32 matmul 512", steady)
    doc = json.loads(path.read_text())
    del doc["reference"]["measurement"]
    path.write_text(json.dumps(doc))
    with pytest.raises(UserError, match=r"r\.json.*reference.*says why"):
        load_run(path)
