"""The tasks of a distributed run: collectives at each message size, and data-parallel scaling.

Two kinds of task: a collective (all-reduce, all-gather, reduce-scatter, broadcast) at one message
size on the whole group, and a training workload under DistributedDataParallel on the first n
ranks for each world size n. World sizes are subgroups of one launch rather than one torchrun per
size: the one-device baseline that scaling efficiency divides by is then taken in the same run,
on the same machines, minutes apart, and lands in the same file as the figures it divides.

Every rank measures; a sample is the slowest rank's time for its block (timing.measure's
`agree`), because a step of a group is done only when its last rank is done. The tasks run in
measure.runner's one loop, as a single device's do.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from subsidybench.catalogue.profiles import DeviceProfile
from subsidybench.devices import Device
from subsidybench.dtypes import DType
from subsidybench.errors import UserError
from subsidybench.measure.distributed import Group, Members, collective, data_parallel
from subsidybench.measure.runner import Observer, new_run, run_tasks
from subsidybench.measure.tasks import Prepared, Task
from subsidybench.results.context import Distributed
from subsidybench.results.record import RunResult, Status, WorkloadResult
from subsidybench.results.scaling import BYTES, COLLECTIVE_FAMILY, WORLD_SIZE, Collective
from subsidybench.suites import Suite
from subsidybench.timing import TimingPolicy
from subsidybench.work import Work
from subsidybench.workloads import WORKLOADS, Workload, make_workload
from subsidybench.workloads.base import Step

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

    workload: Workload
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
        step = self.workload.prepare(  # type: ignore[call-arg]
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
) -> list[Task]:
    """The collectives at every size, then each scaled workload of `suite` at every world size.

    `only` keeps the named collectives and workloads; `sizes` and `world_sizes` replace the
    defaults; `dtypes` keeps those dtypes of the workloads; `budget_s` replaces every budget.
    """
    scaled = {name for name, cls in WORKLOADS.items() if cls.data_parallel}
    known = {c.value for c in Collective} | scaled
    unknown = sorted(set(only) - known)
    if unknown:
        names = ", ".join(sorted(known))
        raise UserError(f"--only: {', '.join(unknown)} cannot run distributed (known: {names})")
    for n in world_sizes:
        if not (1 <= n <= world_size):
            raise UserError(f"--world-sizes: {n} is outside 1..{world_size} (the ranks launched)")
    tasks: list[Task] = []
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
        if entry.workload not in scaled or (only and entry.workload not in only):
            continue
        workload = make_workload(entry.workload, entry.params, f"{suite.source}: workloads[{i}]")
        for dtype in entry.dtypes:
            if dtypes and dtype not in dtypes:
                continue
            scaled_policy = TimingPolicy(budget_s=budget_s or entry.budget_s)
            for n in sorted(set(world_sizes or default_world_sizes(world_size))):
                tasks.append(ScalingTask(workload, dtype, n, scaled_policy))
    if not tasks:
        raise UserError("nothing to run distributed: check --only and --dtype")
    return tasks


def run_distributed(
    tasks: Sequence[Task],
    group: Group,
    out: Path,
    *,
    suite: Suite,
    include_emulated: bool = False,
    profile: DeviceProfile | None = None,
    observer: Observer | None = None,
) -> RunResult:
    """Run `tasks` on every rank of a started `group`; rank 0 saves to `out` after each task."""
    per_node = group.topology()
    record = Distributed(
        world_size=group.world_size,
        backend=group.backend,
        backend_version=group.backend_version,
        node_count=len(per_node),
        ranks_per_node=per_node,
        timeout_s=group.timeout_s,
    )
    run = new_run(suite, group.device, profile, record)
    return run_tasks(tasks, group, run, out, include_emulated, observer)
