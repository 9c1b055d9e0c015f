"""What the runner runs: a Task (a workload on one device, or a collective or DDP step of a
group) and its prepared step; a suite planned into tasks.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import Protocol

from subsidybench.devices import Device
from subsidybench.dtypes import DType
from subsidybench.errors import UserError
from subsidybench.measure.distributed import CollectiveStep, Members
from subsidybench.results.record import Status, WorkloadResult
from subsidybench.suites import Suite
from subsidybench.timing import TimingPolicy
from subsidybench.work import Work
from subsidybench.workloads import Workload, make_workload
from subsidybench.workloads.base import Step


@dataclass(frozen=True, slots=True)
class Prepared:
    """A task ready to time: the step, and for a collective the checks around it."""

    run: Step
    verify: CollectiveStep | None = None


class Task(Protocol):
    """What the loop runs: a workload on one device, a collective, a training step under DDP."""

    @property
    def id(self) -> str: ...

    @property
    def world_size(self) -> int:
        """How many ranks measure the task together (1 on a single device)."""
        ...

    @property
    def dtype(self) -> DType: ...

    @property
    def policy(self) -> TimingPolicy: ...

    def skeleton(self) -> WorkloadResult:
        """The result before measuring: skipped, 'not run'."""
        ...

    def work(self) -> Work: ...

    def prepare(self, device: Device, members: Members) -> Prepared: ...


@dataclass(frozen=True, slots=True)
class WorkloadTask:
    """One workload at one dtype on one device, with the time budget its suite gives it."""

    workload: Workload
    dtype: DType
    policy: TimingPolicy
    compiled: bool = False
    world_size: int = 1

    @property
    def id(self) -> str:
        suffix = "/compiled" if self.compiled else ""
        return f"{self.workload.label()}/{self.dtype}{suffix}"

    def skeleton(self) -> WorkloadResult:
        return WorkloadResult(
            id=self.id,
            workload=self.workload.name,
            family=self.workload.family.value,
            params=self.workload.params(),
            dtype=self.dtype,
            status=Status.SKIPPED,
            reason="not run",
            compiled=self.compiled,
        )

    def work(self) -> Work:
        return self.workload.work(self.dtype)

    def prepare(self, device: Device, members: Members) -> Prepared:
        if self.compiled:
            step = self.workload.prepare(device, self.dtype, compiled=True)  # type: ignore[call-arg]
            return Prepared(step)
        return Prepared(self.workload.prepare(device, self.dtype))


def plan(
    suite: Suite,
    dtypes: Collection[DType] = (),
    compiled: bool = False,
    budget_s: float | None = None,
    min_block_s: float | None = None,
) -> list[WorkloadTask]:
    """The tasks of a suite on one device, in order.

    `dtypes`, if given, keeps only those dtypes. `compiled` adds, after each eager task of a
    workload that can be compiled, the same task under torch.compile: a separate result, never
    mixed with the eager one. `budget_s` and `min_block_s` replace the suite's and the default.
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
            policy = TimingPolicy(
                budget_s=budget_s or entry.budget_s, min_block_s=min_block_s or 0.02
            )
            tasks.append(WorkloadTask(workload, dtype, policy))
            if compiled and workload.compilable:
                compiling = replace(policy, slow_first_call=True)
                tasks.append(WorkloadTask(workload, dtype, compiling, compiled=True))
    if not tasks:
        wanted = ", ".join(sorted(dtypes))
        raise UserError(f"--dtype: suite {suite.name} has no workload at {wanted}")
    return tasks
