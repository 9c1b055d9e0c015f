"""Sustained throughput per device, the rate the cost model turns money into work with.

A throughput is measured (a workload of a run result), given by hand (model or hardware
TFLOP/s, tokens/s), estimated (an MFU times a peak, or a measured rate scaled by the roofline to
another device) or implied by a training job and the device-hours it took;
cost.throughput_inputs reads it from a question once. Its basis and source travel with it and
are printed beside every answer. Results whose verdict is invalid are refused unless forced,
and a forced one says so in its source.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from subsidybench.errors import UserError, named
from subsidybench.provenance import Assumption, Basis

if TYPE_CHECKING:
    from subsidybench.cost.answer import Peak
    from subsidybench.results.record import RunResult

TERA = 1e12
TOKEN_UNITS = frozenset({"token", "tokens"})


class WorkUnit(StrEnum):
    FLOPS = "flops"
    TOKENS = "tokens"


@dataclass(frozen=True, slots=True)
class Throughput:
    """`per_second` units of work (FLOPs or tokens) one device sustains."""

    per_second: float
    unit: WorkUnit
    basis: Basis
    source: str
    hardware_per_model: float | None = None
    """Hardware FLOPs per model FLOP, where the rate was given in hardware FLOPs (8/6 for full
    recomputation): the cluster's hardware rate is printed beside its model rate."""
    conditions: str = ""
    """What the rate holds under (a published decode rate at TPOT <= 50 ms), printed beside it."""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.per_second) and self.per_second > 0):
            raise UserError(f"a throughput must be a number > 0, got {self.per_second:g}")
        if not self.source:
            raise ValueError("a throughput must say where it comes from")

    def describe(self) -> str:
        at = f" at {self.conditions}" if self.conditions else ""
        if self.unit is WorkUnit.FLOPS:
            return f"{self.per_second / TERA:,.4g} TFLOP/s per device{at}"
        return f"{self.per_second:,.4g} tokens/s per device{at}"

    def assumptions(self) -> list[Assumption]:
        return [Assumption("throughput", self.describe(), self.basis, self.source)]


def given_tflops(tflops: float) -> Throughput:
    """A sustained FLOP rate the user states."""
    return Throughput(tflops * TERA, WorkUnit.FLOPS, Basis.GIVEN, "given by hand")


def given_tokens_per_s(tokens_per_s: float) -> Throughput:
    """A sustained token rate the user states (for the job's own model)."""
    return Throughput(tokens_per_s, WorkUnit.TOKENS, Basis.GIVEN, "given by hand")


def from_mfu(mfu: float, peak_tflops: float, peak_source: str) -> Throughput:
    """An estimate: a model-FLOPs utilisation times a peak (whose source is named)."""
    if not (0 < mfu <= 1):
        raise UserError(f"{named('mfu')} is a share of peak in (0, 1], got {mfu:g}")
    if not (math.isfinite(peak_tflops) and peak_tflops > 0):
        raise UserError(f"a peak must be a number > 0 TFLOP/s, got {peak_tflops:g}")
    source = f"MFU {mfu:.0%} (given) x peak {peak_tflops:,.4g} TFLOP/s ({peak_source})"
    return Throughput(mfu * peak_tflops * TERA, WorkUnit.FLOPS, Basis.ESTIMATE, source)


def from_run_file(
    path: Path,
    workload: str | None = None,
    unit: WorkUnit = WorkUnit.FLOPS,
    force: bool = False,
    profile: str | None = None,
) -> Throughput:
    """The measured throughput of one workload of a run result file."""
    from subsidybench.results.record import load_run  # the run record: only for a run file

    return from_run(load_run(path), str(path), workload, unit, force, profile)


def from_run(
    run: RunResult,
    where: str,
    workload: str | None = None,
    unit: WorkUnit = WorkUnit.FLOPS,
    force: bool = False,
    profile: str | None = None,
) -> Throughput:
    """The measured throughput of one workload of `run`; `where` names the file in messages.

    `workload` matches a result's id, or its workload name when that is unambiguous; with one
    measured result it may be left out. An invalid verdict is refused unless `force`, and so is
    a run whose matched device profile is not `profile`, the device being costed: a CPU's rate
    priced at an H100's rent answers nothing.
    """
    from subsidybench.results.query import pick_result

    result = pick_result(run, where, workload)
    if profile is not None and run.profile is not None and run.profile != profile and not force:
        raise UserError(
            f"{where} was measured on {run.device.name} (profile {run.profile}), not on"
            f" {profile}: cost a run of that device, or pass {named('force')} to price this"
            " one as if it were"
        )
    if result.verdict is not None and not result.verdict.valid and not force:
        raise UserError(
            f"{where}: {result.id}: {result.verdict}; a cost on it would not hold "
            f"(pass {named('force')} to cost it anyway, marked as forced)"
        )
    if result.not_device and not force:
        raise UserError(
            f"{where}: {result.id}: not a device figure ({'; '.join(result.not_device)}); "
            f"pass {named('force')} to cost it anyway, marked as forced"
        )
    device = f"{run.device.name} ({run.device})"
    source = f"measured: run {where} workload {result.id} on {device}"
    if result.verdict is not None and not result.verdict.valid:
        source += f"; FORCED despite verdict {result.verdict}"
    if result.not_device:
        source += f"; FORCED: not a device figure ({'; '.join(result.not_device)})"
    if unit is WorkUnit.FLOPS:
        rate = result.flops_per_s
        if not rate:
            raise UserError(f"{where}: {result.id} does no counted FLOPs; use tokens instead")
    else:
        item_unit = result.work.item_unit if result.work else ""
        if item_unit not in TOKEN_UNITS:
            raise UserError(
                f"{where}: {result.id} counts {item_unit or 'no'} items, not tokens; "
                "cost it by FLOPs instead"
            )
        rate = result.items_per_s
        if not rate:
            raise UserError(f"{where}: {result.id} has no token rate")
    return Throughput(rate, unit, Basis.MEASURED, source)


def run_and_label(run: RunResult | Path, label: str = "") -> tuple[RunResult, str]:
    """A run given as a file or already loaded, and the name messages call it by."""
    if not isinstance(run, Path):
        return run, label or "the run"
    from subsidybench.results.record import load_run

    return load_run(run), label or str(run)


def measured(
    run: RunResult | Path,
    label: str,
    workload: str | None,
    unit: WorkUnit,
    force: bool,
    device: Any = None,
) -> Throughput:
    """The measured rate of a run's workload, for the device being costed (`device`, if any)."""
    loaded, where = run_and_label(run, label)
    return from_run(loaded, where, workload, unit, force, None if device is None else device.id)


@dataclass(frozen=True, slots=True)
class RunEvidence:
    """The run a rate is measured by, as a question names it: the file (or the loaded run), the
    name messages call it by, the workload costed, whether an invalid figure is costed anyway,
    and further runs of the same workload (their spread goes into a range, cost.uncertainty)."""

    run: Any
    label: str = ""
    workload: str | None = None
    force: bool = False
    also: tuple[Any, ...] = ()

    def __post_init__(self) -> None:
        if self.run is None:
            raise ValueError("run evidence needs a run")


def primitive_warning(evidence: RunEvidence) -> str:
    """A warning where a primitive's rate (a GEMM) stands for a job's: '' where it does not."""
    from subsidybench.results.query import pick_result

    run, where = run_and_label(evidence.run, evidence.label)
    result = pick_result(run, where, evidence.workload)
    if result.family != "primitive":
        return ""
    return (
        f"{result.id} is a primitive, not a training or serving step: its rate is used as the"
        " job's, though a real step adds attention, memory-bound layers, communication and"
        " the optimizer, and reaches less; measure a model workload for a figure to sign"
    )


@dataclass(frozen=True, slots=True)
class ThroughputAxis:
    """Throughput per device as a question resolves it: one or several rates (or MFUs of a
    peak), with their basis and source."""

    unit: WorkUnit
    basis: Basis
    source: str
    per_second: np.ndarray | None = None
    mfu: np.ndarray | None = None
    peak: Peak | None = None
    implied: bool = False
    """Derived from a job and its device-hours: the cluster's rate already, never scaled."""
    hardware_per_model: float | None = None
    serving: Any = None
    """The serving curve and point (cost.serving.ServingPick) when the rate is a curve's."""
    conditions: str = ""
    """A published rate's conditions (cost.published), printed beside the rate."""

    def one(self) -> Throughput:
        """The single throughput (first value), for a single answer."""
        if self.mfu is not None:
            assert self.peak is not None
            mfu = float(self.mfu[0])
            published = self.basis is Basis.PUBLISHED
            share = f"{mfu:.1%} (published)" if published else f"{mfu:.0%} (given)"
            source = f"MFU {share} x {self.peak.describe()} ({self.peak.source})"
            if published:
                source = f"{source}; {self.source}"
            per_second = mfu * self.peak.tflops * TERA
            return Throughput(per_second, self.unit, self.basis, source, None, self.conditions)
        assert self.per_second is not None
        return Throughput(
            float(self.per_second[0]),
            self.unit,
            self.basis,
            self.source,
            self.hardware_per_model,
            self.conditions,
        )
