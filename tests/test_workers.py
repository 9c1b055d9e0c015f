"""Rounds in worker processes (measure/worker.py) and the interleaved A/B (measure/ab.py,
results/ab.py, `subsidybench ab`)."""

from __future__ import annotations

import json
import math
import stat
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from factories import environment
from typer.testing import CliRunner

from subsidybench.cli import app
from subsidybench.devices import resolve_device
from subsidybench.dtypes import DType
from subsidybench.errors import UserError
from subsidybench.measure.ab import order, parse_env
from subsidybench.measure.worker import run_suite_in_workers
from subsidybench.results.ab import compare_ab, paired_interval
from subsidybench.results.compare import Change
from subsidybench.results.context import DeviceRecord
from subsidybench.results.record import (
    RunResult,
    RunState,
    Status,
    WorkloadResult,
    load_run,
    save_run,
)
from subsidybench.suites import load_suite
from subsidybench.timing import Measurement, TimingPolicy, Verdict
from subsidybench.work import Work

CPU = resolve_device("cpu")


def sample_run() -> RunResult:
    """Two measured workloads and one skipped, three rounds of samples each."""

    def result(id_: str, median: float) -> WorkloadResult:
        samples = tuple(median * (1 + 0.01 * (i % 3 - 1)) for i in range(9))
        return WorkloadResult(
            id=id_,
            workload=id_.split("[")[0],
            family="primitive",
            params={"n": 4},
            dtype=DType.FP32,
            status=Status.OK,
            work=Work(flops=128.0, bytes=192.0, items=1.0, item_unit="matmul"),
            measurement=Measurement(samples, 100, 5, 0.2, True, rounds=(0, 0, 0, 1, 1, 1, 2, 2, 2)),
            verdict=Verdict(True),
            policy=TimingPolicy(budget_s=0.5),
        )

    skipped = WorkloadResult(
        "matmul[n=4]/bf16", "matmul", "primitive", {"n": 4}, DType.BF16, Status.SKIPPED, "emulated"
    )
    return RunResult(
        suite="ci",
        suite_version=1,
        device=DeviceRecord("cpu", None, "Test CPU"),
        environment=environment(),
        started="2026-01-01T00:00:00+00:00",
        state=RunState.COMPLETE,
        results=(result("matmul[n=4]/fp32", 2e-3), result("softmax[n=4]/fp32", 1e-3), skipped),
        rounds=3,
    )


def test_each_round_runs_in_a_worker_process_of_its_own(tiny_suite: Path, tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    seen: list[str] = []

    class Watch:
        def planned(self, ids: list[str]) -> None:
            pass

        def started(self, id: str) -> None:
            seen.append(id)

        def finished(self, result: object) -> None:
            pass

    run = run_suite_in_workers(
        load_suite(str(tiny_suite)), CPU, out, threads=1, rounds=3, observer=Watch()
    )
    assert run.state is RunState.COMPLETE and load_run(out) == run
    assert run.rounds == 3 and run.processes == 3
    assert run.environment.torch_threads >= 1
    ok = [r for r in run.results if r.ok]
    assert ok, run.results
    for r in ok:
        assert r.measurement is not None
        # Every round's samples, one block size for all of them (round 1's).
        assert set(r.measurement.rounds) == {0, 1, 2}
    assert run.reference is not None and run.reference.measurement is not None
    assert run.reference.measurement.round_count == 3
    assert seen[0].endswith("(round 1 of 3)") and seen[-1].endswith("(round 3 of 3)")
    # A dtype skipped in round 1 is not tried again.
    skipped = [r.id for r in run.results if not r.ok]
    assert not any(s.startswith(i) for i in skipped for s in seen[len(run.results) :])


def test_a_version_2_file_was_measured_in_one_process(tmp_path: Path) -> None:
    run = sample_run()
    doc = run.to_dict()
    doc["schema_version"] = 2
    doc.pop("processes")
    path = tmp_path / "v2.json"
    path.write_text(json.dumps(doc))
    assert load_run(path).processes == 1


def test_paired_interval_cancels_a_drift_both_sides_share() -> None:
    # Both sides drift together by 20% over five pairs; B is 3% slower in every pair.
    drift = np.log(np.linspace(1.0, 1.2, 5))
    a = list(drift + np.log(0.010))
    b = list(drift + np.log(0.0103) + np.array([0.001, -0.001, 0.0005, 0.0, -0.0005]))
    i = paired_interval(a, b, 0.05)
    assert i.ratio == pytest.approx(1.03, rel=1e-3)
    assert i.ratio == pytest.approx(i.other_centre / i.base_centre, rel=1e-12)
    assert 1.0 < i.low < 1.03 < i.high < 1.04 and i.detectable < 0.01
    with pytest.raises(ValueError, match="two or more pairs"):
        paired_interval([1.0], [1.0], 0.05)


def test_ab_order_alternates_and_env_flags_parse() -> None:
    assert order(3) == [(0, "A"), (0, "B"), (1, "B"), (1, "A"), (2, "A"), (2, "B")]
    assert parse_env("--b-env", ["X=softmax=0.10", "Y="]) == {"X": "softmax=0.10", "Y": ""}
    for bad in ("X", "=1", "A B=1"):
        with pytest.raises(UserError, match=r"--b-env: .* is not NAME=VALUE"):
            parse_env("--b-env", [bad])


_FAKE = """#!{python}
# Stands in for `python -m subsidybench run`: copies a template run to --out, its samples
# scaled by FAKE_SCALE for the workloads named in FAKE_ONLY, with a little noise per round.
import json, os, sys
args = sys.argv[1:]
out = args[args.index("--out") + 1]
doc = json.load(open({template!r}))
scale = float(os.environ.get("FAKE_SCALE", "1"))
jitter = 1 + 0.002 * ((int(os.path.basename(out).split(".")[0]) * 7) % 5 - 2)
for r in doc["results"]:
    m = r.get("measurement")
    if m:
        f = jitter * (scale if r["id"].startswith(os.environ.get("FAKE_ONLY", "-")) else 1)
        m["samples_s"] = [s * f for s in m["samples_s"]]
        m.pop("statistics", None)
        r.pop("throughput", None)
json.dump(doc, open(out, "w"))
"""


def _fake_python(tmp_path: Path) -> Path:
    template = tmp_path / "template.json"
    save_run(sample_run(), template)
    fake = tmp_path / "fake-python"
    fake.write_text(_FAKE.format(python=sys.executable, template=str(template)))
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    return fake


def test_ab_writes_both_sides_and_the_comparison_and_exits_3_on_a_slowdown(
    tmp_path: Path,
) -> None:
    fake = _fake_python(tmp_path)
    first = load_run(tmp_path / "template.json").results[0].id
    out = tmp_path / "ab"
    args = ["ab", "--a-python", str(fake), "--b-python", str(fake), "--rounds", "3"]
    args += ["--b-env", "FAKE_SCALE=1.2", "--b-env", f"FAKE_ONLY={first}", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 3, result.output
    assert sorted(p.name for p in (out / "A").glob("*.json")) == ["1.json", "2.json", "3.json"]
    assert sorted(p.name for p in (out / "B").glob("*.json")) == ["1.json", "2.json", "3.json"]
    doc = json.loads((out / "comparison.json").read_text())
    assert doc["order"] == ["A1", "B1", "B2", "A2", "A3", "B3"]
    assert doc["sides"]["B"]["env"] == {"FAKE_SCALE": "1.2", "FAKE_ONLY": first}
    rows = {r["id"]: r for r in doc["comparison"]["rows"]}
    assert rows[first]["change"] == "slower" and rows[first]["ratio"] == pytest.approx(1.2, 1e-3)
    assert all(r["change"] != "slower" for i, r in rows.items() if i != first)
    assert "paired t" in doc["comparison"]["test"]
    # Unchanged: exit 0.
    again = CliRunner().invoke(
        app, ["ab", "--a-python", str(fake), "--b-python", str(fake), "--out", str(tmp_path / "aa")]
    )
    assert again.exit_code == 0, again.output


def test_ab_refuses_a_python_that_is_not_one(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["ab", "--b-python", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert "--b-python" in result.output and "not an executable" in result.output


def test_compare_ab_calls_what_a_pair_can_see() -> None:
    base = sample_run()

    def scaled(f: float, jitter: float) -> RunResult:
        results = []
        for r in base.results:
            m = r.measurement
            if m is None:
                results.append(r)
                continue
            samples = tuple(s * f * jitter for s in m.samples_s)
            results.append(replace(r, measurement=replace(m, samples_s=samples)))
        return replace(base, results=tuple(results))

    jit = [1.0, 1.004, 0.997, 1.002]
    a = [scaled(1.0, j) for j in jit]
    b = [scaled(1.0, j) for j in (1.002, 0.999, 1.003, 0.998)]
    comparison = compare_ab(a, b)
    measured = [r for r in comparison.rows if r.change is not Change.NOT_COMPARABLE]
    assert measured and all(r.change is Change.NOT_SIGNIFICANT for r in measured)
    assert all(r.detectable is not None and r.detectable < 0.05 for r in measured)
    assert all(math.isclose(r.ratio, r.other_median_s / r.baseline_median_s) for r in measured)
    with pytest.raises(ValueError, match="in pairs"):
        compare_ab(a, b[:2])


def test_the_progress_line_shows_the_time_left() -> None:
    from rich.progress import TimeRemainingColumn

    from subsidybench.cli.run import _progress

    assert any(isinstance(c, TimeRemainingColumn) for c in _progress(disable=True).columns)


def test_what_a_run_alone_can_see() -> None:
    from subsidybench.results.detectable import detectable_alone

    # Round medians 1.00, 1.02 and 0.98 (log spread ~0.02): two runs like this, 3 rounds each,
    # have a Welch interval of half-width t(0.975, 4) * s * sqrt(2/3).
    m = Measurement((1.0, 1.0, 1.02, 1.02, 0.98, 0.98), 1, 1, 0.0, True, rounds=(0, 0, 1, 1, 2, 2))
    logs = np.log([1.0, 1.02, 0.98])
    expected = math.expm1(2.7764451 * logs.std(ddof=1) * math.sqrt(2 / 3))
    assert detectable_alone(m) == pytest.approx(expected, rel=1e-6)
    assert 0.04 < expected < 0.05
    assert detectable_alone(Measurement((1.0, 1.1), 1, 1, 0.0, True)) is None  # one round


def test_an_ab_call_on_rounds_the_machine_shared_cannot_tell() -> None:
    base = sample_run()

    def side(scale: float, jitters: tuple[float, ...], busy_round: int | None) -> list[RunResult]:
        runs = []
        for i, j in enumerate(jitters):
            results = []
            for r in base.results:
                if r.measurement is None:
                    results.append(r)
                    continue
                m = replace(
                    r.measurement, samples_s=tuple(x * scale * j for x in r.measurement.samples_s)
                )
                foreign = 0.6 if i == busy_round else 0.0
                results.append(replace(r, measurement=m, foreign_cpu=foreign))
            runs.append(replace(base, results=tuple(results)))
        return runs

    a = side(1.0, (1.0, 1.004, 0.997, 1.002), None)
    slower = side(1.2, (1.002, 0.999, 1.003, 0.998), None)
    rows = [r for r in compare_ab(a, slower).rows if r.change is not Change.NOT_COMPARABLE]
    assert rows and all(r.change is Change.SLOWER for r in rows)
    shared = side(1.2, (1.002, 0.999, 1.003, 0.998), 2)
    rows = [r for r in compare_ab(a, shared).rows if r.change is not Change.NOT_COMPARABLE]
    assert rows and all(r.change is Change.CANNOT_TELL for r in rows)
    assert all(
        r.describe() == "cannot tell (machine busy)" and "1 of 8 rounds" in r.note for r in rows
    )
