"""Run a suite on a device: one workload at a time, each isolated, the result file saved after each.

A workload that fails (out of memory, a backend error, outputs that are not finite) is recorded as
failed with the reason and the run goes on. The result file is rewritten atomically after every
workload, so a crash or Ctrl-C keeps everything finished before it.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import torch

from subsidybench.catalogue.profiles import DeviceProfile
from subsidybench.devices import Device, Support
from subsidybench.dtypes import DType
from subsidybench.errors import UserError
from subsidybench.measure import hostload
from subsidybench.measure.environment import capture
from subsidybench.results.record import (
    DeviceRecord,
    RunResult,
    RunState,
    Status,
    WorkloadResult,
    save_run,
)
from subsidybench.suites import Suite
from subsidybench.timing import TimingPolicy, TooSlow, judge, measure
from subsidybench.workloads import Workload, make_workload
from subsidybench.workloads.base import SanityError, SkipWorkload


class Observer(Protocol):
    """Told what the runner does, to show progress. The runner itself prints nothing."""

    def planned(self, ids: list[str]) -> None: ...

    def started(self, id: str) -> None: ...

    def finished(self, result: WorkloadResult) -> None: ...


class Silent:
    """An observer that reports nothing (library use, tests)."""

    def planned(self, ids: list[str]) -> None:
        pass

    def started(self, id: str) -> None:
        pass

    def finished(self, result: WorkloadResult) -> None:
        pass


@dataclass(frozen=True, slots=True)
class Task:
    """One workload at one dtype, with the time budget its suite gives it."""

    workload: Workload
    dtype: DType
    policy: TimingPolicy
    compiled: bool = False

    @property
    def id(self) -> str:
        suffix = "/compiled" if self.compiled else ""
        return f"{self.workload.label()}/{self.dtype}{suffix}"


def plan(
    suite: Suite,
    dtypes: Collection[DType] = (),
    compiled: bool = False,
    budget_s: float | None = None,
) -> list[Task]:
    """The tasks of a suite, in order.

    `dtypes`, if given, keeps only those dtypes. `compiled` adds, after each eager task of a
    workload that can be compiled, the same task under torch.compile: a separate result, never
    mixed with the eager one. `budget_s` replaces every workload's time budget.
    """
    tasks = []
    for i, entry in enumerate(suite.entries):
        where = f"{suite.source}: workloads[{i}]"
        workload = make_workload(entry.workload, entry.params, where)
        for dtype in entry.dtypes:
            if dtype not in workload.dtypes:
                offered = ", ".join(sorted(workload.dtypes))
                raise UserError(
                    f"{where}: {workload.name} does not run at {dtype} (runs at {offered})"
                )
            if dtypes and dtype not in dtypes:
                continue
            policy = TimingPolicy(budget_s=budget_s or entry.budget_s)
            tasks.append(Task(workload, dtype, policy))
            if compiled and workload.compilable:
                tasks.append(Task(workload, dtype, policy, compiled=True))
    if not tasks:
        wanted = ", ".join(sorted(dtypes))
        raise UserError(f"--dtype: suite {suite.name} has no workload at {wanted}")
    return tasks


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def run_suite(
    suite: Suite,
    device: Device,
    out: Path,
    *,
    dtypes: Collection[DType] = (),
    include_emulated: bool = False,
    compiled: bool = False,
    budget_s: float | None = None,
    profile: DeviceProfile | None = None,
    observer: Observer | None = None,
) -> RunResult:
    """Run every task of `suite` on `device`, saving to `out` after each; return the result."""
    observer = observer or Silent()
    tasks = plan(suite, dtypes, compiled, budget_s)
    if compiled:
        # Inductor compiles in a pool of worker processes that can outlive a compile and compete
        # with the timed blocks for cores; one in-process thread keeps the measurement alone.
        # Read when torch._inductor is first imported, which is at the first compile.
        os.environ.setdefault("TORCHINDUCTOR_COMPILE_THREADS", "1")
    run = RunResult(
        suite=suite.name,
        suite_version=suite.version,
        device=DeviceRecord(type=device.type, index=device.index, name=device.name),
        environment=capture(device),
        started=_now(),
        profile=profile.id if profile else None,
        peak_tflops=dict(profile.peak_tflops) if profile else {},
    )
    save_run(run, out)
    observer.planned([t.id for t in tasks])
    try:
        for task in tasks:
            observer.started(task.id)
            result = run_task(task, device, include_emulated)
            run = run.with_result(result)
            save_run(run, out)
            observer.finished(result)
    except KeyboardInterrupt:
        save_run(replace(run, state=RunState.INTERRUPTED, finished=_now()), out)
        raise
    run = replace(run, state=RunState.COMPLETE, finished=_now())
    save_run(run, out)
    return run


def run_task(task: Task, device: Device, include_emulated: bool = False) -> WorkloadResult:
    """Measure one task; any failure of the workload becomes a failed result, never a crash."""
    workload, dtype = task.workload, task.dtype
    base = WorkloadResult(
        id=task.id,
        workload=workload.name,
        family=workload.family.value,
        params=workload.params(),
        dtype=dtype,
        status=Status.SKIPPED,
        reason="not run",
        compiled=task.compiled,
    )
    support = device.dtype_support(dtype)
    if support.support is Support.UNSUPPORTED:
        return replace(base, reason=support.reason)
    if support.support is Support.EMULATED and not include_emulated:
        return replace(base, reason=f"{support.reason}; skipped (--include-emulated times it)")
    note = support.reason if support.support is not Support.NATIVE else ""
    if task.compiled and (why_not := device.compile_support()):
        return replace(base, reason=why_not)

    step = None
    try:
        device.reset_peak_memory()
        if task.compiled:
            step = workload.prepare(device, dtype, compiled=True)  # type: ignore[call-arg]
        else:
            step = workload.prepare(device, dtype)
        before = hostload.sample()
        measurement = measure(
            step.run, device.synchronizer(), task.policy, on_timed_start=step.timed_start
        )
        foreign = hostload.foreign_share(before, hostload.sample(), hostload.host_cpus())
        metrics = dict(step.check()) if step.check else {}
        return replace(
            base,
            status=Status.OK,
            reason=note,
            work=workload.work(dtype),
            measurement=measurement,
            # Other processes on the host compete with a CPU workload directly; an accelerator's
            # kernels do not wait on them, so there the share is recorded but not judged.
            verdict=judge(measurement, task.policy, foreign if device.type == "cpu" else None),
            foreign_cpu=foreign,
            policy=task.policy,
            peak_memory_bytes=device.peak_memory(),
            metrics=metrics,
        )
    except SkipWorkload as e:
        return replace(base, reason=e.reason)
    except TooSlow as e:
        return replace(base, reason=f"time-bounded: {e}" + (f" ({note})" if note else ""))
    except SanityError as e:
        return replace(base, status=Status.FAILED, reason=f"wrong output: {e}")
    except torch.OutOfMemoryError:
        return replace(base, status=Status.FAILED, reason=f"out of memory on {device}")
    except Exception as e:  # a backend error in one workload must not lose the rest of the run
        return replace(base, status=Status.FAILED, reason=f"{type(e).__name__}: {e}")
    finally:
        del step
        gc.collect()
        device.release_memory()
