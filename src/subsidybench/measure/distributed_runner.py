"""Run the distributed part of a suite on every rank of a torchrun launch.

Two kinds of task: a collective (all-reduce, all-gather, reduce-scatter, broadcast) at one message
size on the whole group, and a training workload under DistributedDataParallel on the first n
ranks for each world size n. World sizes are subgroups of one launch rather than one torchrun per
size: the one-device baseline that scaling efficiency divides by is then taken in the same run,
on the same machines, minutes apart, and lands in the same file as the figures it divides.

Every rank measures; a sample is the slowest rank's time for its block (timing.measure's
`agree`), because a step of a group is done only when its last rank is done. Rank 0 writes the
result after every task, as the single-device runner does, so a rank that dies or hangs costs only
the task under way: the collective waiting on it fails after the group's timeout, and rank 0 saves
what finished, says why it stopped, and exits with a one-line error.
"""

from __future__ import annotations

import gc
import re
import signal
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Protocol

import torch

from subsidybench.catalogue.profiles import DeviceProfile
from subsidybench.devices import Device, Support
from subsidybench.dtypes import DType
from subsidybench.errors import UserError
from subsidybench.measure.distributed import (
    CollectiveStep,
    Group,
    GroupBroken,
    Members,
    collective,
    data_parallel,
    one_line,
)
from subsidybench.measure.environment import capture
from subsidybench.measure.runner import Observer, Silent
from subsidybench.results.record import (
    DeviceRecord,
    Distributed,
    RunResult,
    RunState,
    Status,
    WorkloadResult,
    save_run,
)
from subsidybench.results.scaling import (
    BUS_BANDWIDTH_METRIC,
    BYTES,
    COLLECTIVE_FAMILY,
    EFFICIENCY_METRIC,
    TOTAL_RATE_METRIC,
    WORLD_SIZE,
    Collective,
    bus_bandwidth,
    scaling_efficiency,
    series_key,
)
from subsidybench.suites import Suite
from subsidybench.timing import TimingPolicy, TooSlow, judge, measure
from subsidybench.work import Work
from subsidybench.workloads import make_workload
from subsidybench.workloads.base import SanityError, Step
from subsidybench.workloads.gpt import GptTrain

_KIB = 1 << 10
_MIB = 1 << 20
_GIB = 1 << 30

# Message sizes swept by default, by device type. nccl-tests sweeps 8 B to 8 GiB by doubling; a
# factor of 4 from 1 KiB covers latency-bound to bandwidth-bound in 12 sizes. On the cpu (gloo
# over TCP loopback, ~1 GB/s) 4 GiB would take seconds a call: stop at 256 MiB, by 8s.
_ACCELERATOR_SIZES = tuple(_KIB * 4**i for i in range(12))  # 1 KiB .. 4 GiB
_CPU_SIZES = tuple(_KIB * 8**i for i in range(7))  # 1 KiB .. 256 MiB

# A collective's time budget: at least five 250 ms samples of a 256 MiB gloo all-reduce fit in
# twice this, the most timing.measure spends.
COLLECTIVE_BUDGET_S = 1.0

# The training workloads that run under DistributedDataParallel (their prepare takes `wrap`).
SCALED_WORKLOADS = frozenset({GptTrain.name})

_SIZE = re.compile(r"^\s*(\d+)\s*(B|KiB|MiB|GiB|)\s*$")
_UNITS = {"": 1, "B": 1, "KiB": _KIB, "MiB": _MIB, "GiB": _GIB}


def parse_size(text: str) -> int:
    """ "64MiB" -> 67108864; bytes or binary units (B, KiB, MiB, GiB)."""
    match = _SIZE.match(text)
    if not match or int(match.group(1)) < 1:
        raise UserError(f"--sizes: {text!r} is not a size (like 4096, 64KiB, 256MiB, 1GiB)")
    return int(match.group(1)) * _UNITS[match.group(2)]


def default_sizes(device_type: str) -> tuple[int, ...]:
    return _CPU_SIZES if device_type == "cpu" else _ACCELERATOR_SIZES


def default_world_sizes(world_size: int) -> tuple[int, ...]:
    """1, 2, 4, ... below the world size, and the world size itself."""
    sizes, n = [], 1
    while n < world_size:
        sizes.append(n)
        n *= 2
    return (*sizes, world_size)


@dataclass(frozen=True, slots=True)
class Prepared:
    """A task ready to time on this rank: the step, and the checks around it."""

    run: Step
    verify: CollectiveStep | None = None


class DistTask(Protocol):
    """A task every member of a group measures together."""

    @property
    def id(self) -> str: ...

    @property
    def world_size(self) -> int: ...

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
class CollectiveTask:
    """One collective at one message size over all ranks."""

    op: Collective
    nbytes: int
    world_size: int
    policy: TimingPolicy
    dtype: DType = DType.FP32

    def params(self) -> dict[str, int]:
        # The size is S rounded down to whole fp32 elements per rank, as prepare allocates it.
        whole = self.nbytes // 4 // self.world_size * 4 * self.world_size
        return {BYTES: whole, WORLD_SIZE: self.world_size}

    @property
    def id(self) -> str:
        p = self.params()
        return f"{self.op}[bytes={p[BYTES]},world_size={self.world_size}]/{self.dtype}"

    def skeleton(self) -> WorkloadResult:
        return WorkloadResult(
            id=self.id,
            workload=self.op.value,
            family=COLLECTIVE_FAMILY,
            params=self.params(),
            dtype=self.dtype,
            status=Status.SKIPPED,
            reason="not run",
        )

    def work(self) -> Work:
        # Bytes are S, so the result's bytes/s is the algorithm bandwidth; no FLOPs are counted
        # (an all-reduce's additions are not what it is timed for).
        return Work(flops=0.0, bytes=float(self.params()[BYTES]), items=1.0, item_unit="op")

    def prepare(self, device: Device, members: Members) -> Prepared:
        step = collective(self.op, members, self.nbytes)
        return Prepared(Step(run=step.run), verify=step)


@dataclass(frozen=True, slots=True)
class ScalingTask:
    """A training workload on the first `world_size` ranks, under DDP when more than one."""

    workload: GptTrain
    dtype: DType
    world_size: int
    policy: TimingPolicy

    def params(self) -> dict[str, int | float | str | bool]:
        return {**self.workload.params(), WORLD_SIZE: self.world_size}

    @property
    def id(self) -> str:
        inner = ",".join(f"{k}={v}" for k, v in self.params().items())
        return f"{self.workload.name}[{inner}]/{self.dtype}"

    def skeleton(self) -> WorkloadResult:
        return WorkloadResult(
            id=self.id,
            workload=self.workload.name,
            family=self.workload.family.value,
            params=self.params(),
            dtype=self.dtype,
            status=Status.SKIPPED,
            reason="not run",
        )

    def work(self) -> Work:
        # One rank's step: the result's rates are per device, as the cost model reads them.
        return self.workload.work(self.dtype)

    def prepare(self, device: Device, members: Members) -> Prepared:
        if self.world_size == 1:
            # The baseline is the plain step, not DDP on one rank: what one device alone does.
            return Prepared(self.workload.prepare(device, self.dtype))
        step = self.workload.prepare(
            device, self.dtype, wrap=lambda model: data_parallel(model, members)
        )
        return Prepared(step)


def plan_distributed(
    suite: Suite,
    world_size: int,
    device_type: str,
    *,
    only: Collection[str] = (),
    sizes: Sequence[int] = (),
    world_sizes: Sequence[int] = (),
    dtypes: Collection[DType] = (),
    budget_s: float | None = None,
) -> list[DistTask]:
    """The collectives at every size, then each scaled workload of `suite` at every world size.

    `only` keeps the named collectives and workloads; `sizes` and `world_sizes` replace the
    defaults; `dtypes` keeps those dtypes of the workloads; `budget_s` replaces every budget.
    """
    known = {c.value for c in Collective} | set(SCALED_WORKLOADS)
    unknown = sorted(set(only) - known)
    if unknown:
        names = ", ".join(sorted(known))
        raise UserError(f"--only: {', '.join(unknown)} cannot run distributed (known: {names})")
    for n in world_sizes:
        if not (1 <= n <= world_size):
            raise UserError(f"--world-sizes: {n} is outside 1..{world_size} (the ranks launched)")
    tasks: list[DistTask] = []
    policy = TimingPolicy(budget_s=budget_s or COLLECTIVE_BUDGET_S)
    for op in Collective:
        if only and op.value not in only:
            continue
        for nbytes in sizes or default_sizes(device_type):
            if nbytes < 4 * world_size:
                raise UserError(
                    f"--sizes: {nbytes} B is less than one fp32 element for each of "
                    f"{world_size} ranks"
                )
            tasks.append(CollectiveTask(op, nbytes, world_size, policy))
    for i, entry in enumerate(suite.entries):
        if entry.workload not in SCALED_WORKLOADS or (only and entry.workload not in only):
            continue
        workload = make_workload(entry.workload, entry.params, f"{suite.source}: workloads[{i}]")
        assert isinstance(workload, GptTrain)
        for dtype in entry.dtypes:
            if dtypes and dtype not in dtypes:
                continue
            scaled_policy = TimingPolicy(budget_s=budget_s or entry.budget_s)
            for n in sorted(set(world_sizes or default_world_sizes(world_size))):
                tasks.append(ScalingTask(workload, dtype, n, scaled_policy))
    if not tasks:
        raise UserError("nothing to run distributed: check --only and --dtype")
    return tasks


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Terminated(BaseException):
    """SIGTERM, which torchrun sends to every rank when one of them fails."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    # Once is enough: the save that follows must not be cut short by a second signal.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Terminated(f"stopped by signal {signum} (torchrun stops every rank when one fails)")


def run_distributed(
    tasks: Sequence[DistTask],
    group: Group,
    out: Path,
    *,
    suite: Suite,
    include_emulated: bool = False,
    profile: DeviceProfile | None = None,
    observer: Observer | None = None,
) -> RunResult:
    """Run `tasks` on every rank of a started `group`; rank 0 saves to `out` after each task.

    Returns the run on rank 0 (the other ranks return it without results). A broken group
    (a rank died or hung past the timeout) saves what finished and raises a UserError.
    """
    observer = observer or Silent()
    leader = group.rank == 0
    device = group.device
    group.make_members([t.world_size for t in tasks])
    per_node = group.topology()
    run = RunResult(
        suite=suite.name,
        suite_version=suite.version,
        device=DeviceRecord(type=device.type, index=device.index, name=device.name),
        environment=capture(device),
        started=_now(),
        profile=profile.id if profile else None,
        peak_tflops=dict(profile.peak_tflops) if profile else {},
        distributed=Distributed(
            world_size=group.world_size,
            backend=group.backend,
            backend_version=group.backend_version,
            node_count=len(per_node),
            ranks_per_node=per_node,
            timeout_s=group.timeout_s,
        ),
    )

    def save(r: RunResult) -> None:
        if leader:
            save_run(r, out)

    save(run)
    observer.planned([t.id for t in tasks])
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    current = ""
    try:
        for task in tasks:
            current = task.id
            observer.started(task.id)
            members = group.members(task.world_size)
            result = None
            if members.includes_me:
                result = _run_task(task, device, members, include_emulated)
            group.barrier()  # ranks left out of a world size wait here for those measuring
            if leader and result is not None:
                result = _with_scaling(run, result)
                run = run.with_result(result)
                save(run)
                observer.finished(result)
    except (KeyboardInterrupt, Terminated) as e:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        save(_stopped(run, f"{current}: {e or 'interrupted (Ctrl-C)'}"))
        raise
    except GroupBroken as e:
        # torchrun's SIGTERM follows a dead rank closely: let it not cut this save short.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        why = f"{current}: a collective failed: {e}"
        save(_stopped(run, why))
        kept = f"; finished tasks are saved in {out}" if leader else ""
        raise UserError(
            f"rank {group.rank}: {why} (a rank died, or hung past the {group.timeout_s:g} s "
            f"--timeout){kept}"
        ) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
    run = replace(run, state=RunState.COMPLETE, finished=_now())
    save(run)
    return run


def _stopped(run: RunResult, why: str) -> RunResult:
    assert run.distributed is not None
    return replace(
        run,
        state=RunState.INTERRUPTED,
        finished=_now(),
        distributed=replace(run.distributed, stopped=why),
    )


def _run_task(
    task: DistTask, device: Device, members: Members, include_emulated: bool
) -> WorkloadResult:
    """Measure one task on this rank with the other members. Raises GroupBroken if the group
    cannot go on; any other failure becomes a failed result on every member alike."""
    base = task.skeleton()
    support = device.dtype_support(task.dtype)
    if support.support is Support.UNSUPPORTED:
        return replace(base, reason=support.reason)
    if support.support is Support.EMULATED and not include_emulated:
        return replace(base, reason=f"{support.reason}; skipped (--include-emulated times it)")
    note = support.reason if support.support is not Support.NATIVE else ""

    prepared: Prepared | None = None
    try:
        device.reset_peak_memory()
        failure = None
        try:
            prepared = task.prepare(device, members)
        except GroupBroken:
            raise
        except torch.OutOfMemoryError:
            failure = f"out of memory on {device}"
        except Exception as e:  # local: the members agree on it below and all record it
            failure = f"{type(e).__name__}: {e}"
        if failure := members.first_failure(failure):
            return replace(base, status=Status.FAILED, reason=failure)
        assert prepared is not None
        checked = prepared.verify.verify() if prepared.verify is not None else None
        if prepared.verify is not None and (failure := members.first_failure(checked)):
            return replace(base, status=Status.FAILED, reason=f"wrong output: {failure}")
        try:
            measurement = measure(
                prepared.run.run,
                device.synchronizer(),
                task.policy,
                on_timed_start=prepared.run.timed_start,
                agree=members.agree,
            )
        except TooSlow as e:  # judged on agreed times: every member raises it alike
            return replace(base, reason=f"time-bounded: {e}" + (f" ({note})" if note else ""))
        except GroupBroken:
            raise
        except Exception as e:  # a collective that failed mid-measurement leaves ranks out of step
            raise GroupBroken(one_line(e)) from e
        metrics: dict[str, float] = {}
        failure = None
        try:
            if prepared.verify is not None:
                failure = prepared.verify.check()
            elif prepared.run.check is not None:
                metrics = dict(prepared.run.check())
        except SanityError as e:
            failure = str(e)
        if failure := members.first_failure(failure):
            return replace(base, status=Status.FAILED, reason=f"wrong output: {failure}")
        work = task.work()
        if isinstance(task, CollectiveTask):
            metrics[BUS_BANDWIDTH_METRIC] = bus_bandwidth(
                task.op, work.bytes, measurement.median, task.world_size
            )
        return replace(
            base,
            status=Status.OK,
            reason=note,
            work=work,
            measurement=measurement,
            # No busy-machine rule here: the other ranks on this host are the run itself, and
            # the host counters cannot tell them from strangers.
            verdict=judge(measurement, task.policy),
            policy=task.policy,
            peak_memory_bytes=device.peak_memory(),
            metrics=metrics,
        )
    finally:
        del prepared
        gc.collect()
        device.release_memory()


def _with_scaling(run: RunResult, result: WorkloadResult) -> WorkloadResult:
    """Add the group's total rate and, with a one-rank figure in the run, the efficiency."""
    if result.family == COLLECTIVE_FAMILY or not result.ok or WORLD_SIZE not in result.params:
        return result
    n = int(result.params[WORLD_SIZE])
    rate = result.items_per_s
    assert rate is not None
    metrics = {**result.metrics, TOTAL_RATE_METRIC: n * rate}
    key = series_key(result)
    one = next(
        (r for r in run.results if r.ok and r.params.get(WORLD_SIZE) == 1 and series_key(r) == key),
        None,
    )
    if n == 1:
        metrics[EFFICIENCY_METRIC] = 1.0
    elif one is not None and one.items_per_s:
        metrics[EFFICIENCY_METRIC] = scaling_efficiency(n * rate, one.items_per_s, n)
    return replace(result, metrics=metrics)
