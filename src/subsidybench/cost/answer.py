"""What one costing question comes to: an Estimate (time, work and money of a job on a kind of
device, before and after a subsidy) and the Peak an implied MFU is measured against."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from subsidybench.cost.jobs import Job
from subsidybench.cost.pricing import HourlyPrice
from subsidybench.cost.terms import SubsidyOutcome
from subsidybench.provenance import Assumption
from subsidybench.units import HOURS_PER_DAY, MILLION, PFLOP, PFLOP_DAY, PFLOP_HOUR


@dataclass(frozen=True, slots=True)
class Peak:
    """The peak an implied MFU is measured against: dense, of one dtype, with its source."""

    tflops: float
    dtype: str
    source: str

    def describe(self) -> str:
        return f"dense {self.dtype} peak {self.tflops:,.4g} TFLOP/s"


@dataclass(frozen=True, slots=True)
class Estimate:
    """What a job takes and costs on one kind of device, before and after a subsidy.

    Money is None where no price was asked for; the wall time is None where the devices that
    share the device-hours are not known (a job given in hours or money, with no devices).
    """

    job: Job
    currency: str | None
    price: HourlyPrice | None
    devices: int | None
    device_hours: float | None
    """None for a contract with no price: money buys hours only at a price."""
    wall_hours: float | None
    gross: float | None
    net: float | None
    effective_price: float | None
    """Net cost per device-hour."""
    flops: float | None
    """Useful work done (the job's FLOPs, or what the hours buy at the measured rate)."""
    tokens: float | None
    subsidy: SubsidyOutcome | None = None
    label: str = ""
    assumptions: tuple[Assumption, ...] = ()
    flops_per_s: float | None = None
    """Model FLOP/s one device sustains inside the cluster (scaling efficiency applied)."""
    tokens_per_s: float | None = None
    """Tokens per second one device sustains inside the cluster."""
    peak: Peak | None = None
    hardware_per_model: float | None = None
    """Hardware FLOPs per model FLOP, where the rate was given in hardware FLOPs."""
    scaling_efficiency: float = 1.0
    """The cluster's scaling efficiency, folded into the per-device rates and the implied MFU."""
    power_subsidy: SubsidyOutcome | None = None
    """Owned: what a power programme pays of the energy bill (net = gross - both subsidies)."""

    @property
    def pflop_days(self) -> float | None:
        return None if self.flops is None else self.flops / PFLOP_DAY

    @property
    def net_per_pflop_hour(self) -> float | None:
        """Net cost per PFLOP-hour of useful work (measured or stated rate, never peak)."""
        return None if not self.flops or self.net is None else self.net / (self.flops / PFLOP_HOUR)

    @property
    def net_per_million_tokens(self) -> float | None:
        return None if not self.tokens or self.net is None else self.net / (self.tokens / MILLION)

    @property
    def implied_mfu(self) -> float | None:
        """Model FLOP/s per device over the dense peak: the MFU papers quote."""
        if self.flops_per_s is None or self.peak is None:
            return None
        return self.flops_per_s / (self.peak.tflops * 1e12)

    @property
    def cluster_pflops(self) -> float | None:
        if self.flops_per_s is None or self.devices is None:
            return None
        return self.flops_per_s * self.devices / PFLOP

    @property
    def device_hours_per_trillion_tokens(self) -> float | None:
        if not self.tokens or self.device_hours is None:
            return None
        return self.device_hours / (self.tokens / 1e12)

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "job": self.job.describe(),
            "currency": self.currency,
            "price_per_device_hour": None if self.price is None else self.price.amount,
            "price_basis": None if self.price is None else self.price.basis.value,
            "devices": self.devices,
            "device_hours": self.device_hours,
            "wall_hours": self.wall_hours,
            "wall_days": None if self.wall_hours is None else self.wall_hours / HOURS_PER_DAY,
            "flops": self.flops,
            "pflop_days": self.pflop_days,
            "tokens": self.tokens,
            "flops_per_s_per_device": self.flops_per_s,
            "tokens_per_s_per_device": self.tokens_per_s,
            "implied_mfu": self.implied_mfu,
            "scaling_efficiency": self.scaling_efficiency,
            "peak_dtype": None if self.peak is None else self.peak.dtype,
            "cluster_pflops": self.cluster_pflops,
            "device_hours_per_trillion_tokens": self.device_hours_per_trillion_tokens,
            "gross": self.gross,
            # A power subsidy alone is the answer's subsidy; beside a building subsidy it is
            # its own entry, and net = gross - subsidy - power subsidy.
            "subsidy": (self.subsidy or self.power_subsidy).to_dict()  # type: ignore[union-attr]
            if self.subsidy or self.power_subsidy
            else None,
            "power_subsidy": self.power_subsidy.to_dict() if self.power_subsidy else None,
            "net": self.net,
            "effective_price_per_device_hour": self.effective_price,
            "net_per_pflop_hour": self.net_per_pflop_hour,
            "net_per_million_tokens": self.net_per_million_tokens,
            "assumptions": [a.to_dict() for a in self.assumptions],
        }
