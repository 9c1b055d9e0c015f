"""Estimate a workload's throughput on device B from a measurement on device A, by roofline.

A finance user may need a figure for a device nobody could run on. This module gives one, and
says loudly that it is an estimate and what it rests on. The model is the roofline: one step of
the workload takes max(flops / peak, bytes / bandwidth) on an ideal device, so a workload is
compute-bound on a device when its arithmetic intensity (FLOPs per byte) is at or above the
device's ridge point (peak / bandwidth), bandwidth-bound below it. Real devices reach a fraction
of either roof; the profiles state that fraction ("efficiency", compute and bandwidth) with its
source. The estimate scales the measured time per step by

    time on B / time on A = (work / (roof_B x efficiency_B)) / (work / (roof_A x efficiency_A))

where work and roof are FLOPs and peak FLOP/s in the compute-bound regime, bytes and bandwidth in
the bandwidth-bound one, each device in its own regime. Every rate (FLOP/s, bytes/s, items/s)
scales by the inverse. A figure the estimate needs that a profile lists as unknown is refused,
never assumed. Torch-free.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from subsidybench.catalogue.profiles import DeviceProfile
from subsidybench.dtypes import DType
from subsidybench.errors import UserError
from subsidybench.provenance import Basis, Figure
from subsidybench.results.record import WorkloadResult


class Regime(StrEnum):
    COMPUTE = "compute"  # arithmetic intensity at or above the ridge point
    BANDWIDTH = "bandwidth"  # below it


@dataclass(frozen=True, slots=True)
class UsedFigure:
    """A profile figure the estimate rests on."""

    profile: str
    field: str
    figure: Figure

    def __str__(self) -> str:
        text = f"{self.profile} {self.field} = {self.figure}"
        return f"{text} [{self.figure.source}]" if self.figure.source else text


@dataclass(frozen=True, slots=True)
class Side:
    """How one device was modelled: its roofs, ridge point, regime and efficiency."""

    profile: str
    regime: Regime
    ridge_flops_per_byte: float | None
    """Peak / bandwidth; None when one of them was not needed (no FLOPs, or no bytes)."""
    effective_roof: float
    """Peak FLOP/s x compute efficiency, or bandwidth bytes/s x bandwidth efficiency."""


@dataclass(frozen=True, slots=True)
class Estimate:
    """Throughput on a device nobody measured, scaled from one that was. Always an estimate."""

    workload_id: str
    dtype: DType
    source_profile: str
    target_profile: str
    arithmetic_intensity: float
    source: Side
    target: Side
    scale: float
    """Estimated rate / measured rate (= measured time per step / estimated time per step)."""
    measured_seconds_per_step: float
    seconds_per_step: float
    flops_per_s: float
    bytes_per_s: float
    items_per_s: float
    item_unit: str
    figures: tuple[UsedFigure, ...]
    measured: str
    """What was measured: workload, dtype, device, median and samples, verdict."""
    method: str
    """The arithmetic, written out."""
    basis: Basis = Basis.ESTIMATE

    def __post_init__(self) -> None:
        if self.basis is not Basis.ESTIMATE:
            raise ValueError("an Estimate is an estimate: its basis is always 'estimate'")
        if not (math.isfinite(self.scale) and self.scale > 0):
            raise ValueError(f"scale must be a finite number > 0, got {self.scale!r}")
        if not self.figures:
            raise ValueError("an estimate must list the figures it rests on")

    def to_dict(self) -> dict[str, Any]:
        return {
            "basis": self.basis.value,
            "workload_id": self.workload_id,
            "dtype": self.dtype.value,
            "source_profile": self.source_profile,
            "target_profile": self.target_profile,
            "arithmetic_intensity": self.arithmetic_intensity,
            "source_regime": self.source.regime.value,
            "target_regime": self.target.regime.value,
            "scale": self.scale,
            "seconds_per_step": self.seconds_per_step,
            "flops_per_s": self.flops_per_s,
            "bytes_per_s": self.bytes_per_s,
            "items_per_s": self.items_per_s,
            "item_unit": self.item_unit,
            "measured": self.measured,
            "method": self.method,
            "figures": [
                {"profile": u.profile, "field": u.field, **u.figure.to_dict()} for u in self.figures
            ],
        }


def _needed(
    profile: DeviceProfile, field: str, fig: Figure | None, why: str, used: list[UsedFigure]
) -> float:
    """The figure's value, recorded as used; UserError naming profile and field if unknown."""
    if fig is None:
        raise UserError(f"cannot estimate: profile {profile.id} lists no {field} ({why})")
    if fig.value is None:
        note = f" ({fig.note})" if fig.note else ""
        raise UserError(f"cannot estimate: profile {profile.id}: {field} is unknown{note}; {why}")
    used.append(UsedFigure(profile.id, field, fig))
    return fig.value


def _side(
    profile: DeviceProfile, dtype: DType, flops: float, bytes_: float, used: list[UsedFigure]
) -> tuple[Side, float]:
    """Model one device; returns the side and the modelled seconds per step."""
    intensity = flops / bytes_ if bytes_ else math.inf
    peak = bw = None
    if flops > 0:
        field = f"peak_tflops.{dtype}"
        peak = _needed(profile, field, profile.peak(dtype), "the step does FLOPs", used) * 1e12
    if bytes_ > 0:
        fig = profile.memory_bandwidth_gbs
        bw = _needed(profile, "memory_bandwidth_gbs", fig, "the step moves bytes", used) * 1e9
    ridge = peak / bw if peak is not None and bw is not None else None
    if bw is None or (peak is not None and ridge is not None and intensity >= ridge):
        regime, work, roof = Regime.COMPUTE, flops, peak
    else:
        regime, work, roof = Regime.BANDWIDTH, bytes_, bw
    efficiency = _needed(
        profile,
        f"efficiency.{regime}",
        profile.efficiency.get(regime.value),
        f"without it the estimate would assume both devices reach the same fraction of their"
        f" {regime} roof",
        used,
    )
    if roof is None:  # unreachable: a step with neither FLOPs nor bytes is refused earlier
        raise UserError(f"cannot estimate: the step on {profile.id} has no work to scale")
    effective = roof * efficiency
    return Side(profile.id, regime, ridge, effective), work / effective


def estimate(
    result: WorkloadResult,
    source: DeviceProfile,
    target: DeviceProfile,
    measured_on: str = "",
) -> Estimate:
    """Estimate `result` (measured on the device `source` describes) on the `target` device.

    `measured_on` names the device as the run reported it, for the record. Refuses (UserError)
    when nothing valid was measured, or a figure the estimate needs is unknown.
    """
    if not result.ok or result.work is None or result.measurement is None:
        raise UserError(f"cannot estimate {result.id}: it was {result.status}, nothing measured")
    if result.verdict is not None and not result.verdict.valid:
        raise UserError(
            f"cannot estimate {result.id}: its measurement was judged {result.verdict};"
            " an estimate would inherit the fault"
        )
    work, m = result.work, result.measurement
    if work.flops == 0 and work.bytes == 0:
        raise UserError(f"cannot estimate {result.id}: its step counts neither FLOPs nor bytes")
    used: list[UsedFigure] = []
    src, t_src = _side(source, result.dtype, work.flops, work.bytes, used)
    tgt, t_tgt = _side(target, result.dtype, work.flops, work.bytes, used)
    scale = t_src / t_tgt
    measured_s = m.median
    seconds = measured_s / scale
    intensity = work.arithmetic_intensity

    where = f" on {measured_on}" if measured_on else ""
    verdict = str(result.verdict) if result.verdict else "no verdict"
    measured = (
        f"{result.workload} ({result.id}) {result.dtype}{where} (profile {source.id}):"
        f" median {_si(measured_s)}s per step over {m.n} samples, {verdict}"
    )
    method = (
        f"roofline: arithmetic intensity {_num(intensity)} FLOP/byte;"
        f" {_describe(src)}; {_describe(tgt)};"
        f" time on {target.id} = measured time x {_si(t_tgt)}s / {_si(t_src)}s (modelled step"
        f" times) = {_si(measured_s)}s / {scale:.4g} = {_si(seconds)}s per step"
    )
    return Estimate(
        workload_id=result.id,
        dtype=result.dtype,
        source_profile=source.id,
        target_profile=target.id,
        arithmetic_intensity=intensity,
        source=src,
        target=tgt,
        scale=scale,
        measured_seconds_per_step=measured_s,
        seconds_per_step=seconds,
        flops_per_s=work.flops / seconds,
        bytes_per_s=work.bytes / seconds,
        items_per_s=work.items / seconds,
        item_unit=work.item_unit,
        figures=tuple(used),
        measured=measured,
        method=method,
    )


def _describe(side: Side) -> str:
    ridge = side.ridge_flops_per_byte
    ridge_text = f"ridge {_num(ridge)} FLOP/byte, " if ridge else ""
    unit = "FLOP/s" if side.regime is Regime.COMPUTE else "B/s"
    roof = _si(side.effective_roof)
    return f"{side.profile}: {ridge_text}{side.regime}-bound, effective roof {roof}{unit}"


def _num(x: float | None) -> str:
    return "inf" if x is None or math.isinf(x) else f"{x:.4g}"


def _si(x: float) -> str:
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1, "")):
        if abs(x) >= factor:
            return f"{x / factor:.4g} {prefix}"
    for factor, prefix in ((1e-3, "m"), (1e-6, "u"), (1e-9, "n")):
        if abs(x) >= factor:
            return f"{x / factor:.4g} {prefix}"
    return f"{x:.4g} "
