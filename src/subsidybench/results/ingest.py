"""Run results from pytest-benchmark JSON, so CI's reference benchmarks are costed like any run.

bench/test_ci_suite.py times the ci suite's workloads through pytest-benchmark. Its conftest adds
a "subsidybench" section to the file's machine_info (`machine_info_section`: the suite, device,
environment and profile peaks, in the shape of a run-result file) and every benchmark's
extra_info says which workload it timed and the work one call does (`extra_info`). This module
writes those two sections and reads a whole file back as a RunResult.

The file, as pytest-benchmark (3.x to 5.x) writes it (plugin.pytest_benchmark_generate_json):

    {"machine_info": {...}, "commit_info": {...}, "datetime": "...", "version": "5.2.3",
     "benchmarks": [{"name", "fullname", "params", "extra_info", "options",
                     "stats": {"min", "max", "mean", "stddev", "rounds", "median", "iqr",
                               "q1", "q3", "iterations", "data": [...] , ...}}]}

`stats.data` holds one value per round: the round's time divided by its iterations, which is
exactly a subsidybench sample (seconds per step, one per timed block). --benchmark-json always
writes it; --benchmark-save only with --benchmark-save-data. A benchmark saved without it keeps
only summary statistics, from which no sample can be honestly rebuilt: it is read as a skipped
result that says so, its pytest-benchmark statistics kept among its metrics. Torch-free.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from subsidybench import bounds
from subsidybench.datafile import Fields, checked, read_json
from subsidybench.dtypes import DType
from subsidybench.errors import UserError
from subsidybench.provenance import Figure
from subsidybench.results import rounds
from subsidybench.results.context import DeviceRecord, Environment
from subsidybench.results.record import (
    SCHEMA_VERSION,
    ParamValue,
    Reference,
    RunResult,
    RunState,
    Status,
    WorkloadResult,
    read_policy,
)
from subsidybench.results.trust import verdict_of
from subsidybench.timing import Measurement, TimingPolicy
from subsidybench.work import Work

SECTION = "subsidybench"
"""The key of subsidybench's section in machine_info."""

_EXTRA_KEYS = {
    "id",
    "workload",
    "family",
    "params",
    "dtype",
    "compiled",
    "flops",
    "bytes",
    "items",
    "item_unit",
    "first_call_s",
    "warmup_iterations",
    "warmup_s",
    "synchronized",
    "foreign_cpu",
    "policy",
    "metrics",
    "round",
}
# pytest-benchmark's summary statistics, kept as metrics when a file has no raw samples.
_STAT_KEYS = ("rounds", "iterations", "min", "q1", "median", "q3", "max", "mean", "stddev")


def machine_info_section(
    *,
    suite: str,
    suite_version: int,
    device: DeviceRecord,
    environment: Environment,
    profile: str | None,
    peak_tflops: Mapping[DType, Figure],
    method_version: int,
    rounds: int = 1,
) -> dict[str, Any]:
    """What the bench's conftest adds to machine_info: the run-level fields of a result file."""
    return {
        "schema_version": SCHEMA_VERSION,
        "method_version": method_version,
        "rounds": rounds,
        # pytest-benchmark times every round in the one pytest process.
        "processes": 1,
        "suite": {"name": suite, "version": suite_version},
        "device": {"type": device.type, "index": device.index, "name": device.name},
        "profile": profile,
        "peak_tflops": {d.value: fig.to_dict() for d, fig in peak_tflops.items()},
        "environment": environment.to_dict(),
    }


def extra_info(
    *,
    result_id: str,
    workload: str,
    family: str,
    params: Mapping[str, ParamValue],
    dtype: DType,
    compiled: bool,
    work: Work,
    policy: TimingPolicy,
    first_call_s: float,
    warmup_iterations: int,
    warmup_s: float,
    synchronized: bool,
    foreign_cpu: float | None,
    metrics: Mapping[str, float],
    round_: int = 0,
) -> dict[str, Any]:
    """A benchmark's extra_info: the workload, its work per call (FLOPs, bytes, items: what
    pytest-benchmark users read beside the times), how the calls were warmed up, and the
    workload's own figures from its sanity check (loss before and after, latencies), and the
    round (0, 1, ...) of the run it was timed in: one result's rounds are separate benchmarks."""
    return {
        "id": result_id,
        "round": round_,
        "workload": workload,
        "family": family,
        "params": dict(params),
        "dtype": dtype.value,
        "compiled": compiled,
        "flops": work.flops,
        "bytes": work.bytes,
        "items": work.items,
        "item_unit": work.item_unit,
        "first_call_s": first_call_s,
        "warmup_iterations": warmup_iterations,
        "warmup_s": warmup_s,
        "synchronized": synchronized,
        "foreign_cpu": foreign_cpu,
        "policy": policy.to_dict(),
        "metrics": dict(metrics),
    }


def reference_extra_info(
    *, step: str, round_: int, warmup_iterations: int, warmup_s: float, synchronized: bool
) -> dict[str, Any]:
    """The extra_info of a benchmark of the reference step (measure/reference.py) in a round."""
    return {
        "reference": step,
        "round": round_,
        "warmup_iterations": warmup_iterations,
        "warmup_s": warmup_s,
        "synchronized": synchronized,
    }


_REFERENCE_KEYS = {"reference", "round", "warmup_iterations", "warmup_s", "synchronized"}


def _samples(b: Fields, x: Fields) -> Measurement | None:
    """A benchmark's raw samples as a measurement; None where it was saved without them."""
    stats = b.table("stats")
    if not stats.has("data"):
        return None
    rounds = stats.int("rounds")
    measurement = checked(
        stats,
        lambda: Measurement(
            samples_s=stats.floats("data", within=bounds.SAMPLE_S),
            iterations_per_block=stats.int("iterations"),
            warmup_iterations=x.int("warmup_iterations"),
            warmup_s=x.float("warmup_s"),
            synchronized=x.bool("synchronized"),
            first_call_s=x.float("first_call_s", 0.0),
        ),
    )
    if measurement.n != rounds:
        raise stats.error("data", f"has {measurement.n} values for {rounds} rounds")
    return measurement


def _reference(references: list[tuple[int, Fields]]) -> Reference | None:
    """The reference step's rounds, each a benchmark, as the run's one reference."""
    joined: Reference | None = None
    seen: set[int] = set()
    for round_, b in sorted(references, key=lambda x: x[0]):
        x = b.table("extra_info")
        x.reject_unknown(_REFERENCE_KEYS)
        if round_ in seen or round_ < 0:
            raise x.error("round", f"the reference step twice in round {round_}, or a round < 0")
        seen.add(round_)
        m = _samples(b, x)
        if m is None:
            raise b.error("stats", "the reference step was saved without its raw data")
        if joined is None or joined.measurement is None:
            m = replace(m, rounds=(round_,) * m.n)  # the first one read need not be round 0
            joined = checked(x, lambda m=m, x=x: Reference(x.str("reference"), m))
        else:
            try:
                joined = Reference(joined.step, joined.measurement.then(m, round_))
            except ValueError as e:
                raise b.error("stats", str(e)) from None
    return joined


def _benchmark(b: Fields, tool: str) -> tuple[int, WorkloadResult]:
    """One benchmark: the round it was timed in, and its result for that round alone."""
    round_ = b.table("extra_info").int("round", 0) if b.has("extra_info") else 0
    if round_ < 0:
        raise b.table("extra_info").error("round", f"must be >= 0, got {round_}")
    return round_, _round_result(b, tool)


def _round_result(b: Fields, tool: str) -> WorkloadResult:
    where = f"{b.source}: {b.prefix.rstrip('.')}"
    if not b.has("extra_info") or not b.table("extra_info").has("id"):
        raise b.error(
            "extra_info",
            "no subsidybench workload in extra_info: only benchmarks of bench/test_ci_suite.py"
            " say what work a call does",
        )
    x = b.table("extra_info")
    x.reject_unknown(_EXTRA_KEYS)
    stats = b.table("stats")
    rid = x.str("id")
    params_t = x.table("params")
    for key, value in params_t.data.items():
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise params_t.error(key, f"expected a number or string, got {value!r}")
    metrics_t = x.table("metrics", {})
    foreign = x.float("foreign_cpu", None, within=bounds.SHARE)
    try:
        # The same ranges as a run result's (bounds): a figure past them would only come back
        # as an infinite rate.
        work = Work(
            x.float("flops", within=bounds.WORK_PER_STEP),
            x.float("bytes", within=bounds.WORK_PER_STEP),
            x.float("items", within=bounds.WORK_PER_STEP),
            x.str("item_unit"),
        )
        policy = read_policy(x.table("policy"))
        base: dict[str, Any] = {
            "id": rid,
            "workload": x.str("workload"),
            "family": x.str("family"),
            "params": dict(params_t.data),
            "dtype": x.choice("dtype", {d.value: d for d in DType}),
            "compiled": x.bool("compiled"),
            "work": work,
            "policy": policy,
            "metrics": {k: metrics_t.float(k) for k in metrics_t.data},
            "foreign_cpu": foreign,
        }
        measurement = _samples(b, x)
        if measurement is None:
            base["metrics"] = {
                **base["metrics"],
                **{f"pytest_benchmark.{k}": stats.float(k) for k in _STAT_KEYS if stats.has(k)},
            }
            return WorkloadResult(
                status=Status.SKIPPED,
                reason=f"{tool} ({b.str('fullname')}) saved it without raw data"
                " (--benchmark-save-data), so there are no samples to judge, compare or cost:"
                " summary statistics are kept as metrics",
                **base,
            )
        # No per-result note: the run's environment names pytest-benchmark, and the rounds
        # (samples) and calls per round (iterations per block) are in the measurement.
        return WorkloadResult(
            status=Status.OK,
            measurement=measurement,
            # bench/ runs on the CPU only, where other processes compete with the workload.
            verdict=verdict_of(measurement, policy, foreign, host_load_judged=True),
            host_load_judged=True,
            **base,
        )
    except ValueError as e:
        raise UserError(f"{where}: {e}") from None


def from_pytest_benchmark(data: object, source: str) -> RunResult:
    """A run result from a parsed pytest-benchmark JSON document; `source` names it in errors."""
    f = Fields(data, source)
    if f.has("schema_version") and not f.has("machine_info"):
        raise UserError(f"{source}: already a subsidybench run result: show, cost or report it")
    machine = f.table("machine_info")
    if not machine.has(SECTION):
        raise machine.error(
            SECTION,
            "missing: this file was not written by subsidybench's bench/"
            " (run 'pytest bench/ --benchmark-json=FILE')",
        )
    section = machine.table(SECTION)
    tool = f"pytest-benchmark {f.str('version')}"
    doc = dict(section.data)
    env = dict(section.table("environment").data)
    plugins = dict(env.get("plugins") or {})
    plugins["pytest-benchmark"] = f.str("version")
    env["plugins"] = plugins
    when = f.str("datetime")
    doc.update(
        environment=env,
        state=RunState.COMPLETE.value,
        started=when,
        finished=when,
        results=[],
    )
    run = RunResult.from_dict(doc, f"{source}: machine_info.{SECTION}")
    benchmarks = f.tables("benchmarks")
    if not benchmarks:
        raise f.error("benchmarks", "no benchmarks in the file")
    references = [
        (b.table("extra_info").int("round", 0), b)
        for b in benchmarks
        if b.has("extra_info") and b.table("extra_info").has("reference")
    ]
    timed = [_benchmark(b, tool) for b in benchmarks if all(b is not r for _, r in references)]
    keys = [(r.id, round_) for round_, r in timed]
    twice = sorted({k for k in keys if keys.count(k) > 1})
    if twice:
        rid, round_ = twice[0]
        raise f.error("benchmarks", f"workload {rid} appears twice in round {round_}")
    merged: dict[str, WorkloadResult] = {}
    for round_, r in sorted(timed, key=lambda x: x[0]):  # stable: the file's order per round
        try:
            # bench/ runs on the CPU only, where other processes compete with the workload.
            merged[r.id] = rounds.merged(merged.get(r.id), r, round_, run.rounds, True)
        except ValueError as e:
            raise f.error("benchmarks", f"{r.id}: {e}") from None
    return replace(run, results=tuple(merged.values()), reference=_reference(references))


def load_pytest_benchmark(path: Path) -> RunResult:
    """Read a pytest-benchmark JSON file (--benchmark-json, or --benchmark-save) as a run."""
    return from_pytest_benchmark(read_json(path), str(path))
