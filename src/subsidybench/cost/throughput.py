"""Sustained throughput per device, the rate the cost model turns money into work with.

A throughput is measured (a workload of a run result), given by hand (model or hardware
TFLOP/s, tokens/s), estimated (an MFU times a peak, or a measured rate scaled by the roofline to
another device) or implied by a training job and the device-hours it took; `resolve_throughput`
reads it from a question once. Its basis and source travel with it and are printed beside every
answer. Results whose verdict is invalid are refused unless forced, and a
forced one says so in its source.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from subsidybench.errors import UserError
from subsidybench.provenance import Assumption, Basis
from subsidybench.units import SECONDS_PER_HOUR

if TYPE_CHECKING:
    from subsidybench.cost.answer import Peak
    from subsidybench.cost.jobs import TrainJob
    from subsidybench.cost.request import Request
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

    def __post_init__(self) -> None:
        if not (math.isfinite(self.per_second) and self.per_second > 0):
            raise UserError(f"a throughput must be a number > 0, got {self.per_second:g}")
        if not self.source:
            raise ValueError("a throughput must say where it comes from")

    def describe(self) -> str:
        if self.unit is WorkUnit.FLOPS:
            return f"{self.per_second / TERA:,.4g} TFLOP/s per device"
        return f"{self.per_second:,.4g} tokens/s per device"

    def assumptions(self) -> list[Assumption]:
        return [Assumption("throughput", self.describe(), self.basis, self.source)]


def given_tflops(tflops: float) -> Throughput:
    """A sustained FLOP rate the user states."""
    return Throughput(tflops * TERA, WorkUnit.FLOPS, Basis.GIVEN, "given by hand (--tflops)")


def given_tokens_per_s(tokens_per_s: float) -> Throughput:
    """A sustained token rate the user states (for the job's own model)."""
    return Throughput(tokens_per_s, WorkUnit.TOKENS, Basis.GIVEN, "given by hand (--tokens-per-s)")


def from_mfu(mfu: float, peak_tflops: float, peak_source: str) -> Throughput:
    """An estimate: a model-FLOPs utilisation times a peak (whose source is named)."""
    if not (0 < mfu <= 1):
        raise UserError(f"--mfu is a share of peak in (0, 1], got {mfu:g}")
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
            f" {profile}: cost a run of that device, or pass --force to price this one as if"
            " it were"
        )
    if result.verdict is not None and not result.verdict.valid and not force:
        raise UserError(
            f"{where}: {result.id}: {result.verdict}; a cost on it would not hold "
            "(pass --force to cost it anyway, marked as forced)"
        )
    device = f"{run.device.name} ({run.device})"
    source = f"measured: run {where} workload {result.id} on {device}"
    if result.verdict is not None and not result.verdict.valid:
        source += f"; FORCED despite verdict {result.verdict}"
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


# Full activation recomputation runs the forward pass twice: 8N FLOPs per token instead of 6N
# (Korthikanti et al. 2022, "Reducing Activation Recomputation in Large Transformer Models",
# section 5; the OPT-175B logbook quotes 147 TFLOP/s per A100 counted this way).
RECOMPUTATION = {"none": 6.0, "full": 8.0}


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

    def one(self) -> Throughput:
        """The single throughput (first value), for a single answer."""
        if self.mfu is not None:
            assert self.peak is not None
            mfu = float(self.mfu[0])
            source = f"MFU {mfu:.0%} (given) x {self.peak.describe()} ({self.peak.source})"
            return Throughput(mfu * self.peak.tflops * TERA, self.unit, self.basis, source)
        assert self.per_second is not None
        return Throughput(
            float(self.per_second[0]), self.unit, self.basis, self.source, self.hardware_per_model
        )


def resolve_throughput(
    r: Request, device: Any, peak: Peak | None, job: TrainJob | None
) -> ThroughputAxis | None:
    """The throughput per device a question gives (one source of it at most), resolved."""
    given = [
        k
        for k in ("run", "tflops", "hardware_tflops", "tokens_per_s", "mfu")
        if getattr(r, k) is not None
    ]
    if r.train is not None and r.hours is not None:
        given.append("hours")
    if len(given) > 1:
        raise UserError(f"give one throughput, not {' and '.join(r.name(k) for k in given)}")
    if r.estimate_on is not None and r.run is None:
        raise UserError(
            f"{r.name('estimate_on')} scales a measured rate: give --run and --workload"
        )
    if r.recomputation is not None and r.hardware_tflops is None:
        raise UserError("--recomputation says how --hardware-tflops were counted: give both")
    if not given:
        from subsidybench.cost.serving import check_flags

        check_flags(r, serving=False)
        return None
    what = given[0]
    if what == "run":
        if r.metric not in {u.value for u in WorkUnit}:
            raise UserError(f"{r.name('metric')}: expected flops or tokens, got {r.metric!r}")
        unit = WorkUnit(r.metric)
        serving = _serving(r, device)
        if serving is not None:
            one = serving.throughput()
            return ThroughputAxis(
                one.unit, one.basis, one.source, np.array([one.per_second]), serving=serving
            )
        if r.estimate_on is not None:
            from subsidybench.cost.device import estimated_throughput

            one = estimated_throughput(r, unit)
        else:
            one = measured(r.run, r.run_label, r.workload, unit, r.force, device)
        return ThroughputAxis(
            one.unit, one.basis, one.source, per_second=np.array([one.per_second])
        )
    from subsidybench.cost.serving import check_flags

    check_flags(r, serving=False)
    if what == "tflops":
        return ThroughputAxis(
            WorkUnit.FLOPS, Basis.GIVEN, f"given by hand ({r.name('tflops')})", r.tflops * TERA
        )
    if what == "hardware_tflops":
        if r.recomputation not in RECOMPUTATION:
            raise UserError(
                "--hardware-tflops counts the FLOPs the device ran, recomputation included:"
                " say which with --recomputation full (8N per token) or none (6N)"
            )
        ratio = 6.0 / RECOMPUTATION[r.recomputation]
        assert r.hardware_tflops is not None
        source = (
            f"{r.hardware_tflops:g} hardware TFLOP/s ({r.name('hardware_tflops')}), "
            f"{r.recomputation} recomputation ({RECOMPUTATION[r.recomputation]:g}N per token)"
            f" x 6/{RECOMPUTATION[r.recomputation]:g} = model FLOP/s (6N)"
        )
        per_second = np.array([r.hardware_tflops * ratio * TERA])
        return ThroughputAxis(
            WorkUnit.FLOPS, Basis.DERIVED, source, per_second, hardware_per_model=1 / ratio
        )
    if what == "tokens_per_s":
        source = f"given by hand ({r.name('tokens_per_s')})"
        return ThroughputAxis(WorkUnit.TOKENS, Basis.GIVEN, source, r.tokens_per_s)
    if what == "mfu":
        if peak is None:
            raise UserError(
                f"{r.name('mfu')} needs a peak: give --peak-tflops or a --profile with a"
                f" {r.dtype} peak"
            )
        return ThroughputAxis(WorkUnit.FLOPS, Basis.ESTIMATE, "MFU x peak", mfu=r.mfu, peak=peak)
    # A training job and the device-hours it took: the rate they imply, per device.
    assert r.train is not None and r.hours is not None
    hours = r.one("hours")
    assert hours is not None and job is not None
    per_second = job.flops / (hours * SECONDS_PER_HOUR)
    source = f"{job.flops:.4g} FLOPs / ({hours:,.6g} device-hours x 3,600 s)"
    return ThroughputAxis(
        WorkUnit.FLOPS, Basis.DERIVED, source, np.array([per_second]), implied=True
    )


def _serving(r: Request, device: Any) -> Any:
    """A serving job on a run with a serving curve: the curve's goodput point (cost.serving)."""
    from subsidybench.cost import serving

    if r.serve is None:
        serving.check_flags(r, serving=False)
        return None
    run, where = run_and_label(r.run, r.run_label)
    slo = serving.slo_of(r)
    profile = None if device is None else device.id
    picked = serving.pick(run, where, r.workload, slo, r.force, profile)
    serving.check_flags(r, serving=picked is not None)
    if picked is not None and r.estimate_on is not None:
        raise UserError(
            f"{r.name('estimate_on')} scales one rate by the roofline; a serving curve is"
            " costed on the device it was measured on"
        )
    return picked


def primitive_warning(r: Request) -> str:
    """A warning where a primitive's rate (a GEMM) stands for a job's: '' where it does not."""
    from subsidybench.results.query import pick_result

    run, where = run_and_label(r.run, r.run_label)
    result = pick_result(run, where, r.workload)
    if result.family != "primitive":
        return ""
    return (
        f"{result.id} is a primitive, not a training or serving step: its rate is used as the"
        " job's, though a real step adds attention, memory-bound layers, communication and"
        " the optimizer, and reaches less; measure a model workload for a figure to sign"
    )
