"""Collective bandwidth and data-parallel scaling: the arithmetic, and reading it from a run.

Bandwidths follow nccl-tests (NVIDIA/nccl-tests, doc/PERFORMANCE.md): the algorithm bandwidth of
a collective of S bytes taking t seconds is S / t, and the bus bandwidth multiplies it by a factor
that makes the figure comparable with the hardware's link speed whatever the number of ranks n:
2(n-1)/n for all-reduce, (n-1)/n for all-gather and reduce-scatter (S being the whole gathered or
scattered array, n times one rank's part), 1 for broadcast.

Scaling efficiency is throughput(n) / (n x throughput(1)): the share of n devices' worth of a
single device's rate that n devices together reach.

Torch-free: the cost model takes a measured efficiency from a run result without importing torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from subsidybench.errors import UserError
from subsidybench.provenance import Assumption, Basis
from subsidybench.results.query import pick_one
from subsidybench.results.record import RunResult, WorkloadResult

WORLD_SIZE = "world_size"
"""The parameter that says how many ranks a distributed result was measured on."""
BYTES = "bytes"
"""The parameter that gives a collective's message size S, in bytes."""
COLLECTIVE_FAMILY = "collective"
BUS_BANDWIDTH_METRIC = "bus_bandwidth_bytes_per_s"


class Collective(StrEnum):
    ALL_REDUCE = "all_reduce"
    ALL_GATHER = "all_gather"
    REDUCE_SCATTER = "reduce_scatter"
    BROADCAST = "broadcast"


def bus_factor(op: Collective, ranks: int) -> float:
    """busbw / algbw for `op` on `ranks` ranks (nccl-tests, doc/PERFORMANCE.md, "Summary")."""
    if ranks < 1:
        raise ValueError(f"ranks must be >= 1, got {ranks}")
    if op is Collective.ALL_REDUCE:
        return 2 * (ranks - 1) / ranks
    if op in (Collective.ALL_GATHER, Collective.REDUCE_SCATTER):
        return (ranks - 1) / ranks
    return 1.0  # broadcast: every byte leaves the root once, whatever n


def algorithm_bandwidth(nbytes: float, seconds: float) -> float:
    """algbw = S / t, bytes per second."""
    if not (seconds > 0 and math.isfinite(seconds)):
        raise ValueError(f"seconds must be > 0, got {seconds}")
    return nbytes / seconds


def bus_bandwidth(op: Collective, nbytes: float, seconds: float, ranks: int) -> float:
    """busbw = algbw x the collective's factor, bytes per second."""
    return algorithm_bandwidth(nbytes, seconds) * bus_factor(op, ranks)


def scaling_efficiency(throughput_n: float, throughput_1: float, n: int) -> float:
    """throughput(n) / (n x throughput(1)), both the whole group's rate."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if not (throughput_1 > 0 and throughput_n > 0):
        raise ValueError("throughputs must be > 0")
    return throughput_n / (n * throughput_1)


@dataclass(frozen=True, slots=True)
class CollectivePoint:
    """One measured collective at one size, with both bandwidths."""

    op: Collective
    nbytes: int
    world_size: int
    result: WorkloadResult
    seconds: float
    algbw: float
    busbw: float


def collective_points(run: RunResult) -> list[CollectivePoint]:
    """The measured collectives of a run, in the order they were run."""
    ops = {c.value: c for c in Collective}
    points = []
    for r in run.results:
        if r.family != COLLECTIVE_FAMILY or not r.ok or r.workload not in ops:
            continue
        assert r.measurement is not None
        op, n, size = ops[r.workload], int(r.params[WORLD_SIZE]), int(r.params[BYTES])
        t = r.measurement.median
        points.append(
            CollectivePoint(
                op, size, n, r, t, algorithm_bandwidth(size, t), bus_bandwidth(op, size, t, n)
            )
        )
    return points


@dataclass(frozen=True, slots=True)
class ScalingPoint:
    """A training workload measured on `world_size` ranks under data parallelism."""

    world_size: int
    result: WorkloadResult
    per_device: float
    """Items (tokens) per second per device: one rank's work over the slowest rank's time."""
    efficiency: float | None
    """throughput(n) / (n x throughput(1)); None when the run has no 1-rank figure to divide by."""

    @property
    def total(self) -> float:
        return self.per_device * self.world_size

    @property
    def valid(self) -> bool:
        return self.result.verdict is not None and self.result.verdict.valid


@dataclass(frozen=True, slots=True)
class ScalingSeries:
    """One workload at one dtype measured at several world sizes, smallest first."""

    key: str
    """The result id with the world size left out: gpt_train[batch=8,...]/fp32."""
    item_unit: str
    points: tuple[ScalingPoint, ...]

    def at(self, world_size: int) -> ScalingPoint | None:
        return next((p for p in self.points if p.world_size == world_size), None)


def series_key(result: WorkloadResult) -> str:
    params = ",".join(f"{k}={v}" for k, v in result.params.items() if k != WORLD_SIZE)
    suffix = "/compiled" if result.compiled else ""
    return f"{result.workload}[{params}]/{result.dtype}{suffix}"


def scaling_series(run: RunResult) -> list[ScalingSeries]:
    """Every training workload of the run measured at world sizes, grouped into series."""
    grouped: dict[str, list[WorkloadResult]] = {}
    for r in run.results:
        if r.family == COLLECTIVE_FAMILY or WORLD_SIZE not in r.params or not r.ok:
            continue
        grouped.setdefault(series_key(r), []).append(r)
    out = []
    for key, results in grouped.items():
        results.sort(key=lambda r: int(r.params[WORLD_SIZE]))
        one = next((r for r in results if int(r.params[WORLD_SIZE]) == 1), None)
        base = one.items_per_s if one is not None else None
        points = []
        for r in results:
            n = int(r.params[WORLD_SIZE])
            rate = r.items_per_s
            assert rate is not None and r.work is not None  # an ok result has both
            eff = scaling_efficiency(n * rate, base, n) if base else None
            points.append(ScalingPoint(n, r, rate, eff))
        unit = results[0].work.item_unit if results[0].work else "item"
        out.append(ScalingSeries(key, unit, tuple(points)))
    return out


@dataclass(frozen=True, slots=True)
class MeasuredEfficiency:
    """The scaling efficiency a run measured, taken for a cluster of `devices` devices."""

    value: float
    devices: int
    world_size: int
    """The world size it was measured at: `devices`, or the nearest measured size."""
    source: str

    @property
    def exact(self) -> bool:
        return self.world_size == self.devices

    @property
    def basis(self) -> Basis:
        # Measured at another size, it is an estimate for this one, and says so.
        return Basis.MEASURED if self.exact else Basis.ESTIMATE

    def assumption(self) -> Assumption:
        value = f"{self.value:.1%} of {self.devices} x one device"
        return Assumption("scaling efficiency", value, self.basis, self.source)


def efficiency_for(
    run: RunResult, where: str, devices: int, workload: str | None = None, force: bool = False
) -> MeasuredEfficiency:
    """The efficiency `run` measured at `devices` ranks, or at the nearest size it measured.

    `workload` picks a series (its key, a result id or a workload name) when the run has several.
    Nearest means closest in ranks, the larger on a tie (efficiency tends to fall with size); it
    is labelled as such, never passed off as measured at `devices`. Invalid verdicts are refused
    unless `force`.
    """
    if devices < 1:
        raise UserError(f"devices must be >= 1, got {devices}")
    series = _pick_series(run, where, workload)
    candidates = [p for p in series.points if p.efficiency is not None]
    if devices > 1:
        # One rank's efficiency is 1 by definition: it says nothing about a cluster.
        candidates = [p for p in candidates if p.world_size > 1]
    if not candidates:
        raise UserError(
            f"{where}: {series.key} has no scaling measured beyond one rank "
            "(run it under torchrun with more than one process)"
        )
    point = min(candidates, key=lambda p: (abs(p.world_size - devices), -p.world_size))
    one = series.at(1)
    assert one is not None and point.efficiency is not None  # an efficiency needs the 1-rank point
    invalid = [p for p in (one, point) if not p.valid]
    if invalid and not force:
        bad = "; ".join(f"{p.result.id}: {p.result.verdict}" for p in invalid)
        raise UserError(
            f"{where}: {bad}; a cost on it would not hold "
            "(pass --force to cost it anyway, marked as forced)"
        )
    source = f"measured: run {where}, world size {point.world_size} ({series.key})"
    if point.world_size != devices:
        largest = max(p.world_size for p in candidates)
        why = (
            "the largest measured; efficiency usually falls further with more devices"
            if devices > largest
            else "the nearest measured size"
        )
        source += f"; taken for {devices} devices: not measured at {devices}, {why}"
    if invalid:
        source += "; FORCED despite an invalid verdict"
    return MeasuredEfficiency(point.efficiency, devices, point.world_size, source)


def _pick_series(run: RunResult, where: str, workload: str | None) -> ScalingSeries:
    series = scaling_series(run)
    if not series:
        raise UserError(
            f"{where} has no data-parallel scaling results "
            "(take them with `torchrun ... subsidybench run --distributed`)"
        )

    def names(s: ScalingSeries) -> list[str]:
        first = s.points[0].result
        return [*(p.result.id for p in s.points), first.workload, f"{first.workload}/{first.dtype}"]

    return pick_one(
        series,
        workload,
        names,
        lambda s: s.key,
        where=where,
        what="scaling series",
        one="scaling series",
        flag="--scaling-workload",
    )
