"""Run results: the versioned JSON document a run writes, and the loader that checks it.

A run result is what a finance user costs and what an engineer compares, so it keeps everything
needed to check it later: raw samples, how they were taken, the verdict on them, and the machine.
Torch-free: `subsidybench cost` and `show` load results where torch cannot run.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from subsidybench import bounds
from subsidybench.datafile import Fields, checked, read_json, write_atomic
from subsidybench.dtypes import DType
from subsidybench.errors import UserError
from subsidybench.provenance import Basis, Figure
from subsidybench.results.context import DeviceRecord, Distributed, Environment
from subsidybench.results.energy import Energy, EnergySetup
from subsidybench.results.schema import MIGRATIONS, SCHEMA_VERSION
from subsidybench.timing import METHOD_VERSION, Measurement, TimingPolicy, Verdict
from subsidybench.work import Work

ParamValue = int | float | str | bool


class Status(StrEnum):
    OK = "ok"
    SKIPPED = "skipped"
    FAILED = "failed"


class RunState(StrEnum):
    RUNNING = "running"  # still being written; or the process died without a word
    COMPLETE = "complete"
    INTERRUPTED = "interrupted"  # Ctrl-C, SIGTERM, a save that failed: what finished is kept


@dataclass(frozen=True, slots=True)
class WorkloadResult:
    """One workload at one dtype: measured (ok), or skipped/failed with the reason."""

    id: str
    workload: str
    family: str
    params: Mapping[str, ParamValue]
    dtype: DType
    status: Status
    reason: str = ""
    work: Work | None = None
    measurement: Measurement | None = None
    verdict: Verdict | None = None
    policy: TimingPolicy | None = None
    """The rules the measurement was taken and judged under."""
    peak_memory_bytes: int | None = None
    metrics: Mapping[str, float] = field(default_factory=dict)
    """Workload-specific figures beside the timing (loss before and after, latency percentiles)."""
    compiled: bool = False
    """Measured under torch.compile: a separate figure from the eager one, never mixed."""
    foreign_cpu: float | None = None
    """Share of the host's CPU other processes used while this was timed (None: not known)."""
    energy: Energy | None = None
    """What the device drew over the timed blocks (None: energy was not read)."""
    host_load_judged: bool | None = None
    """Whether `foreign_cpu` counts in the verdict (one process on a CPU); None: a file from
    before this was stored, judged by the run's device and group (results.trust)."""
    not_device: tuple[str, ...] = ()
    """Why the figure is not the device's own (a test hook, an emulated dtype): costs,
    acceptance and evidence refuse it unless forced."""

    def __post_init__(self) -> None:
        measured = (self.work, self.measurement, self.verdict, self.policy)
        if self.status is Status.OK:
            if any(x is None for x in measured):
                raise ValueError(
                    f"{self.id}: an ok result needs work, measurement, verdict, policy"
                )
        else:
            if not self.reason:
                raise ValueError(f"{self.id}: a {self.status} result must say why")
        for name, value in self.metrics.items():
            if not math.isfinite(value):
                raise ValueError(f"{self.id}: metric {name} is not finite")

    @property
    def ok(self) -> bool:
        return self.status is Status.OK

    @property
    def seconds_per_step(self) -> float | None:
        """The result's figure (Measurement.centre), the one `show` and `compare` print."""
        return self.measurement.centre if self.measurement else None

    def _rate(self, amount: float) -> float | None:
        if self.measurement is None or self.work is None:
            return None
        return amount / self.measurement.centre

    @property
    def flops_per_s(self) -> float | None:
        return self._rate(self.work.flops) if self.work else None

    @property
    def bytes_per_s(self) -> float | None:
        return self._rate(self.work.bytes) if self.work else None

    @property
    def items_per_s(self) -> float | None:
        return self._rate(self.work.items) if self.work else None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "id": self.id,
            "workload": self.workload,
            "family": self.family,
            "params": dict(self.params),
            "dtype": self.dtype.value,
            "status": self.status.value,
            "reason": self.reason,
            "compiled": self.compiled,
        }
        if self.work is not None:
            d["work"] = self.work.to_dict()
        if self.measurement is not None:
            d["measurement"] = measurement_dict(self.measurement)
        if self.verdict is not None:
            d["verdict"] = {"valid": self.verdict.valid, "reasons": list(self.verdict.reasons)}
        if self.policy is not None:
            d["policy"] = self.policy.to_dict()
        if self.ok:
            d["throughput"] = {
                "flops_per_s": self.flops_per_s,
                "bytes_per_s": self.bytes_per_s,
                "items_per_s": self.items_per_s,
            }
        if self.peak_memory_bytes is not None:
            d["peak_memory_bytes"] = self.peak_memory_bytes
        if self.foreign_cpu is not None:
            d["foreign_cpu"] = self.foreign_cpu
        if self.metrics:
            d["metrics"] = dict(self.metrics)
        if self.energy is not None:
            d["energy"] = self.energy.to_dict()
        if self.host_load_judged is not None:
            d["host_load_judged"] = self.host_load_judged
        if self.not_device:
            d["not_device_figure"] = list(self.not_device)
        return d

    @classmethod
    def from_fields(cls, f: Fields) -> WorkloadResult:
        from subsidybench.results.trust import not_device_reasons, recheck

        params = f.table("params", {})
        work = measurement = verdict = None
        if f.has("work"):
            w = f.table("work")
            work = checked(
                w,
                lambda: Work(
                    w.float("flops", within=bounds.WORK_PER_STEP),
                    w.float("bytes", within=bounds.WORK_PER_STEP),
                    w.float("items", within=bounds.WORK_PER_STEP),
                    w.str("item_unit"),
                ),
            )
        if f.has("measurement"):
            measurement = read_measurement(f.table("measurement"))
        if f.has("verdict"):
            v = f.table("verdict")
            reasons = tuple(v.list("reasons", []))
            verdict = checked(v, lambda: Verdict(valid=v.bool("valid"), reasons=reasons))
        policy = read_policy(f.table("policy")) if f.has("policy") else None
        metrics = f.table("metrics", {})
        result = checked(
            f,
            lambda: cls(
                id=f.str("id"),
                workload=f.str("workload"),
                family=f.str("family"),
                params={k: params.data[k] for k in params.data},
                dtype=f.choice("dtype", {d.value: d for d in DType}),
                status=f.choice("status", {s.value: s for s in Status}),
                reason=f.str("reason", ""),
                work=work,
                measurement=measurement,
                verdict=verdict,
                policy=policy,
                peak_memory_bytes=f.int("peak_memory_bytes", None),
                metrics={k: metrics.float(k) for k in metrics.data},
                compiled=f.bool("compiled", False),
                foreign_cpu=f.float("foreign_cpu", None, within=bounds.SHARE),
                energy=Energy.from_fields(f.table("energy")) if f.has("energy") else None,
                host_load_judged=f.bool("host_load_judged", None),
                not_device=not_device_reasons(f),
            ),
        )
        return recheck(result, f)


def measurement_dict(m: Measurement) -> dict[str, Any]:
    return {
        "samples_s": list(m.samples_s),
        "iterations_per_block": m.iterations_per_block,
        "warmup_iterations": m.warmup_iterations,
        "warmup_s": m.warmup_s,
        "synchronized": m.synchronized,
        "first_call_s": m.first_call_s,
        "sample_rounds": list(m.rounds),
        # Written for readers of the file; the loader recomputes them from the samples.
        "statistics": m.statistics(),
    }


def read_measurement(m: Fields) -> Measurement:
    return checked(
        m,
        lambda: Measurement(
            samples_s=m.floats("samples_s", within=bounds.SAMPLE_S),
            iterations_per_block=m.int("iterations_per_block"),
            warmup_iterations=m.int("warmup_iterations"),
            warmup_s=m.float("warmup_s"),
            synchronized=m.bool("synchronized"),
            first_call_s=m.float("first_call_s", 0.0),
            rounds=_sample_rounds(m),
        ),
    )


@dataclass(frozen=True, slots=True)
class Reference:
    """One fixed step (measure/reference.py) timed at the start of every round of a run.

    It is the same in every run on every version of the code, so its spread is the machine's own
    noise floor over the run, and its speed against another run's says whether the machine
    itself changed speed between them: what a workload's spread or change cannot tell apart.
    """

    step: str
    """What was timed, in words: "fp32 matmul 512x512x512"."""
    measurement: Measurement | None
    """The rounds timed; None if the first failed."""
    error: str = ""
    """Why it could not be timed (a device error) from some round on; the run went on."""

    def __post_init__(self) -> None:
        if not self.step.strip():
            raise ValueError("a reference names the step it timed")
        if self.measurement is None and not self.error:
            raise ValueError("a reference without a measurement says why")

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"step": self.step}
        if self.measurement is not None:
            d["measurement"] = measurement_dict(self.measurement)
        if self.error:
            d["error"] = self.error
        return d

    @classmethod
    def from_fields(cls, f: Fields) -> Reference:
        m = read_measurement(f.table("measurement")) if f.has("measurement") else None
        return checked(f, lambda: cls(f.str("step"), m, f.str("error", "")))


@dataclass(frozen=True, slots=True)
class RunResult:
    """A whole run: which suite, on what, how it was timed, and one result per workload."""

    suite: str
    suite_version: int
    device: DeviceRecord
    environment: Environment
    started: str
    state: RunState = RunState.RUNNING
    finished: str | None = None
    profile: str | None = None
    """The device profile matched to the device, if any (its id under profiles/devices)."""
    peak_tflops: Mapping[DType, Figure] = field(default_factory=dict)
    """The profile's dense peaks when the run was taken: what "% of peak" divides by."""
    results: tuple[WorkloadResult, ...] = ()
    method_version: int = METHOD_VERSION
    distributed: Distributed | None = None
    """Set when a group of ranks took the run; None for a single process."""
    energy: EnergySetup | None = None
    """How energy was read, or why not, and the idle power; None: the run did not try."""
    rounds: int = 1
    """Interleaved rounds every workload was measured in (results/rounds.py)."""

    processes: int = 1
    """Processes the rounds were measured in: 1, all in the run's own; `rounds`, each round in
    a worker process of its own (measure/worker.py), so that its spread is between processes."""

    def __post_init__(self) -> None:
        if self.rounds < 1:
            raise ValueError(f"rounds must be >= 1, got {self.rounds}")
        # One result per id: a run measures each task once (its rounds merge into it), and a
        # repeat would be counted twice wherever results are pooled or stored.
        ids = [r.id for r in self.results]
        if len(set(ids)) < len(ids):
            twice = next(i for i in ids if ids.count(i) > 1)
            raise ValueError(f"results: {twice} appears twice")
        if not 1 <= self.processes <= self.rounds:
            raise ValueError(f"processes must be 1..rounds ({self.rounds}), got {self.processes}")

    stopped: str | None = None
    """Why an interrupted run stopped (a signal, a save that failed); None otherwise."""
    reference: Reference | None = None
    """The host's reference step, timed every round (single-process runs); None: not taken."""

    def with_result(self, result: WorkloadResult) -> RunResult:
        return replace(self, results=(*self.results, result))

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "method_version": self.method_version,
            "toolkit_version": self.environment.toolkit_version,
            "suite": {"name": self.suite, "version": self.suite_version},
            "state": self.state.value,
            "started": self.started,
            "finished": self.finished,
            "device": {
                "type": self.device.type,
                "index": self.device.index,
                "name": self.device.name,
            },
            "rounds": self.rounds,
            "processes": self.processes,
            "profile": self.profile,
            "peak_tflops": {d.value: fig.to_dict() for d, fig in self.peak_tflops.items()},
            "environment": self.environment.to_dict(),
            "results": [r.to_dict() for r in self.results],
        }
        if self.distributed is not None:
            d["distributed"] = self.distributed.to_dict()
        if self.energy is not None:
            d["energy"] = self.energy.to_dict()
        if self.stopped is not None:
            d["stopped"] = self.stopped
        if self.reference is not None:
            d["reference"] = self.reference.to_dict()
        return d

    @classmethod
    def from_dict(cls, data: object, source: str) -> RunResult:
        f = Fields(data, source)
        version = f.int("schema_version")
        if version > SCHEMA_VERSION:
            raise f.error(
                "schema_version",
                f"{version} is newer than this subsidybench reads ({SCHEMA_VERSION}); upgrade it",
            )
        if version < 1:
            raise f.error("schema_version", f"{version} is not a known version")
        doc = dict(f.data)
        while version < SCHEMA_VERSION:
            doc = MIGRATIONS[version](doc)
            version += 1
        f = Fields(doc, source)
        method = f.int("method_version")
        from subsidybench.results.trust import JUDGES

        if method not in JUDGES:
            raise f.error(
                "method_version",
                f"{method} is not a measuring method this subsidybench knows"
                f" ({', '.join(map(str, sorted(JUDGES)))}); upgrade it",
            )
        suite = f.table("suite")
        dev = f.table("device")
        run = checked(
            f,
            lambda: cls(
                suite=suite.str("name"),
                suite_version=suite.int("version"),
                device=DeviceRecord(
                    type=dev.str("type"), index=dev.int("index", None), name=dev.str("name")
                ),
                environment=Environment.from_fields(f.table("environment")),
                started=f.str("started"),
                state=f.choice("state", {s.value: s for s in RunState}),
                finished=f.str("finished", None),
                profile=f.str("profile", None),
                peak_tflops=_peaks(f.table("peak_tflops", {})),
                results=tuple(WorkloadResult.from_fields(r) for r in f.tables("results")),
                method_version=f.int("method_version"),
                rounds=f.int("rounds"),
                processes=f.int("processes"),
                distributed=(
                    Distributed.from_fields(f.table("distributed"))
                    if f.has("distributed")
                    else None
                ),
                energy=EnergySetup.from_fields(f.table("energy")) if f.has("energy") else None,
                stopped=f.str("stopped", None),
                reference=(
                    Reference.from_fields(f.table("reference")) if f.has("reference") else None
                ),
            ),
        )
        from subsidybench.results.trust import rejudge

        return rejudge(run)


def _sample_rounds(m: Fields) -> tuple[int, ...]:
    values = m.list("sample_rounds")
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, int):
            raise m.error(f"sample_rounds[{i}]", f"expected a round number, got {v!r}")
    return tuple(values)


def _peaks(p: Fields) -> dict[DType, Figure]:
    dtypes = {d.value: d for d in DType}
    peaks = {}
    for key in p.data:
        if key not in dtypes:
            raise p.error(key, f"not a dtype (known: {', '.join(dtypes)})")
        t = p.table(key)
        basis = t.choice("basis", {b.value: b for b in Basis})
        value = t.float("value", None, within=bounds.PEAK_TFLOPS)
        peaks[dtypes[key]] = checked(
            t, lambda b=basis, v=value, t=t: Figure(v, b, t.str("source", ""), t.str("note", ""))
        )
    return peaks


def read_policy(p: Fields) -> TimingPolicy:
    """A result's timing policy, as a run file and a pytest-benchmark ingest store it."""
    fields = TimingPolicy.__dataclass_fields__
    p.reject_unknown(set(fields))
    # Annotations are strings here (postponed evaluation): "int" or "float".
    values = {
        k: p.bool(k)
        if fields[k].type == "bool"
        else p.int(k)
        if fields[k].type in ("int", "int | None")
        else p.float(k)
        for k in p.data
    }
    return checked(p, lambda: TimingPolicy(**values))


def save_run(run: RunResult, path: Path, *, exclusive: bool = False, what: str = "") -> None:
    """Write atomically (datafile.write_atomic): a crash mid-write leaves the previous complete
    file, never half of one; a missing folder is refused. `exclusive` refuses a path that
    exists, atomically: the first save of a run claims its file, so two runs given one --out
    cannot both write it. `what` names the flag in errors, when the path came from one."""
    text = json.dumps(run.to_dict(), indent=2, allow_nan=False) + "\n"
    write_atomic(path, text, what, exclusive=exclusive)


def load_run(path: Path) -> RunResult:
    """Load and validate a run result; errors name the file and the field.

    Verdicts are judged again from the raw samples: a file whose stored figures its samples do
    not support (edited by hand, or written by a bug) loads with those results flagged invalid.
    """
    doc = read_json(path)
    if isinstance(doc, dict) and "benchmarks" in doc and "schema_version" not in doc:
        raise UserError(
            f"{path}: this is pytest-benchmark output: run `subsidybench ingest {path}` first"
        )
    return RunResult.from_dict(doc, str(path))
