"""Jobs: what is to be done (train, serve, device-hours, a contract) and on how many devices.

Training FLOPs follow PaLM (Chowdhery et al. 2022, appendix B): 6N per token for N parameters,
plus 12·L·H·Q·T for attention (L layers, H heads of width Q, sequence length T). Inference costs
about 2N per token (Kaplan et al. 2020, section 2.1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from subsidybench.errors import UserError, named
from subsidybench.provenance import Assumption, Basis
from subsidybench.units import Array, require_finite


def training_flops_per_token(
    params: ArrayLike,
    layers: ArrayLike | None = None,
    attention_width: ArrayLike | None = None,
    seq_len: ArrayLike | None = None,
) -> Array:
    """6N, plus the attention term 12·L·(H·Q)·T of PaLM appendix B when all three are given
    (H·Q, the heads times their width, is the model's attention width, d_model in most models)."""
    dense = 6.0 * np.asarray(params, dtype=np.float64)
    if layers is None or attention_width is None or seq_len is None:
        return dense
    return dense + 12.0 * np.asarray(layers) * np.asarray(attention_width) * np.asarray(seq_len)


@dataclass(frozen=True, slots=True)
class TrainJob:
    """Train a transformer on `tokens` tokens; `params` are the parameters each token passes
    through (all of a dense model; the activated ones of a mixture of experts), which drive the
    FLOPs. `total_params` (a mixture's every expert) is kept for the record and for memory."""

    params: float
    tokens: float
    layers: int | None = None
    attention_width: float | None = None
    seq_len: int | None = None
    total_params: float | None = None

    def __post_init__(self) -> None:
        require_finite("parameters", self.params)
        require_finite("training tokens", self.tokens)
        if self.total_params is not None and not self.total_params >= self.params:
            raise UserError(
                f"{named('total_params')} ({self.total_params:.4g}) is below the activated"
                " parameters"
                f" ({self.params:.4g}) that {named('train')} takes"
            )
        given = [x is not None for x in (self.layers, self.attention_width, self.seq_len)]
        if any(given) and not all(given):
            raise UserError("the attention term needs layers, attention width and sequence length")

    @property
    def has_attention_term(self) -> bool:
        return self.layers is not None

    @property
    def flops_per_token(self) -> float:
        return float(
            training_flops_per_token(self.params, self.layers, self.attention_width, self.seq_len)
        )

    @property
    def flops(self) -> float:
        return self.flops_per_token * self.tokens

    def describe(self) -> str:
        if self.total_params is not None:
            return (
                f"train {self.params:.3g} activated of {self.total_params:.3g} parameters"
                f" on {self.tokens:.3g} tokens"
            )
        return f"train {self.params:.3g} parameters on {self.tokens:.3g} tokens"


@dataclass(frozen=True, slots=True)
class ServeJob:
    """Generate or process `tokens` inference tokens with a model of `params` parameters."""

    tokens: float
    params: float | None = None

    def __post_init__(self) -> None:
        require_finite("inference tokens", self.tokens)
        if self.params is not None:
            require_finite("parameters", self.params)

    @property
    def flops(self) -> float | None:
        # About 2N FLOPs per token (one multiply-add per parameter), Kaplan et al. 2020, sec 2.1.
        return None if self.params is None else 2.0 * self.params * self.tokens

    def describe(self) -> str:
        return f"serve {self.tokens:.3g} tokens"


@dataclass(frozen=True, slots=True)
class HoursJob:
    """Rent or run `device_hours` device-hours."""

    device_hours: float

    def __post_init__(self) -> None:
        require_finite("device-hours", self.device_hours)

    def describe(self) -> str:
        return f"{self.device_hours:,.6g} device-hours"


@dataclass(frozen=True, slots=True)
class ContractJob:
    """A compute contract of `value`, in the job's currency."""

    value: float

    def __post_init__(self) -> None:
        require_finite("contract value", self.value)

    def describe(self) -> str:
        return f"a contract of {self.value:,.0f}"


Job = TrainJob | ServeJob | HoursJob | ContractJob


@dataclass(frozen=True, slots=True)
class Cluster:
    """`devices` devices working together at `scaling_efficiency` of n x one device's rate."""

    devices: int = 1
    scaling_efficiency: float = 1.0
    efficiency_basis: Basis = Basis.GIVEN
    efficiency_source: str = "an assumption, not measured"
    """Where the efficiency comes from: a measured run names the file and world size."""
    devices_source: str = ""
    """Where the device count comes from, when it was not given (taken as 1)."""
    devices_basis: Basis = Basis.GIVEN

    def __post_init__(self) -> None:
        if self.devices < 1:
            raise UserError(f"devices must be >= 1, got {self.devices}")
        if not (0 < self.scaling_efficiency <= 1):
            raise UserError(
                f"scaling efficiency must be in (0, 1], got {self.scaling_efficiency:g}"
            )

    def assumptions(self, scaled: bool = True) -> list[Assumption]:
        """The devices, and the scaling efficiency where a per-device rate was scaled by it."""
        out = [Assumption("devices", str(self.devices), self.devices_basis, self.devices_source)]
        # A measured figure keeps a decimal: 83.5% and 84% differ by a device in 200.
        share = ".0%" if self.efficiency_basis is Basis.GIVEN else ".1%"
        if scaled and (self.devices > 1 or self.scaling_efficiency != 1.0):
            out.append(
                Assumption(
                    "scaling efficiency",
                    f"{self.scaling_efficiency:{share}} of {self.devices} x one device",
                    self.efficiency_basis,
                    self.efficiency_source,
                )
            )
        return out


def job_assumptions(job: Job) -> list[Assumption]:
    if isinstance(job, TrainJob):
        if job.total_params is None:
            out = [Assumption("parameters (drive the FLOPs)", f"{job.params:.4g}", Basis.GIVEN)]
        else:
            out = [
                Assumption(
                    "activated parameters (drive the FLOPs)", f"{job.params:.4g}", Basis.GIVEN
                ),
                Assumption(
                    "total parameters (memory, not FLOPs)", f"{job.total_params:.4g}", Basis.GIVEN
                ),
            ]
        out.append(Assumption("training tokens", f"{job.tokens:.4g}", Basis.GIVEN))
        if job.has_attention_term:
            formula = (
                f"6N + 12·L·W·T = 6 x {job.params:.3g} + 12 x {job.layers} x "
                f"{job.attention_width:g} x {job.seq_len}"
            )
        else:
            formula = f"6N = 6 x {job.params:.3g} (no attention term: give layers, width, seq)"
        out.append(
            Assumption(
                "training FLOPs per token",
                f"{job.flops_per_token:.4g} ({formula})",
                Basis.DERIVED,
                "PaLM, Chowdhery et al. 2022, appendix B",
            )
        )
        return out
    if isinstance(job, ServeJob):
        out = [Assumption("inference tokens", f"{job.tokens:.4g}", Basis.GIVEN)]
        if job.params is not None:
            out.append(
                Assumption(
                    "inference FLOPs per token",
                    f"{2 * job.params:.4g} (2N)",
                    Basis.ESTIMATE,
                    "Kaplan et al. 2020, section 2.1",
                )
            )
        return out
    if isinstance(job, HoursJob):
        return [Assumption("device-hours", f"{job.device_hours:,.6g}", Basis.GIVEN)]
    return [Assumption("contract value", f"{job.value:,.2f}", Basis.GIVEN)]
