"""How far subsidy money goes: the contract a firm's cap or a pool supports, what that buys, and
how many firms a pool covers at a contract size."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from subsidybench.cost.jobs import Cluster, TrainJob, job_assumptions
from subsidybench.cost.pricing import HourlyPrice
from subsidybench.cost.throughput import Throughput, WorkUnit
from subsidybench.errors import UserError, named
from subsidybench.provenance import Assumption, Basis
from subsidybench.units import PFLOP_DAY, SECONDS_PER_HOUR, Array, require_finite


@dataclass(frozen=True, slots=True)
class Reach:
    """What an amount of subsidy money supports at a rate and a price."""

    amount: float
    """The subsidy money: one firm's cap, a whole pool, or a figure given."""
    amount_label: str
    rate: float
    currency: str
    contract_value: float
    """The eligible spend the amount covers: amount / effective rate."""
    firm_pays: float
    device_hours: float
    pflop_days: float | None
    tokens: float | None
    training_runs: float | None
    """How many runs of the given training job the contract value pays for."""
    contract_size: float | None
    firms_covered: float | None
    """How many firms the amount covers at `contract_size` each (a pool's reach)."""
    assumptions: tuple[Assumption, ...] = ()
    effective_rate: float | None = None
    """Subsidy per firm / contract size, where a size was given and a cap per firm lowers it."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "amount": self.amount,
            "amount_label": self.amount_label,
            "rate": self.rate,
            "effective_rate": self.effective_rate,
            "currency": self.currency,
            "contract_value": self.contract_value,
            "firm_pays": self.firm_pays,
            "device_hours": self.device_hours,
            "pflop_days": self.pflop_days,
            "tokens": self.tokens,
            "training_runs": self.training_runs,
            "contract_size": self.contract_size,
            "firms_covered": self.firms_covered,
            "assumptions": [a.to_dict() for a in self.assumptions],
        }


def reach_figures(
    amount: ArrayLike,
    rate: ArrayLike,
    price_per_hour: ArrayLike,
    per_second: ArrayLike | None = None,
    scaling_efficiency: ArrayLike = 1.0,
    work_per_run: float | None = None,
    contract_size: float | None = None,
    cap_per_firm: ArrayLike = math.inf,
) -> dict[str, Array]:
    """How far `amount` goes, vectorised (a single answer and a range share it): the contract
    it supports, what the firm pays, the device-hours at the price, the work done (`done`, in
    the throughput's unit) and the runs of `work_per_run` it pays for, and the firms covered at
    `contract_size` each. Every figure follows from one subsidy per firm: at a contract size each
    firm receives min(size x rate, cap per firm), so the money supports amount / that x size of
    contracts (the effective rate, not the programme's, divides the amount); without a size the
    contract is amount / rate, the smallest that the amount pays for in full."""
    amount_ = np.asarray(amount, dtype=np.float64)
    rate_ = np.asarray(rate, dtype=np.float64)
    effective = rate_
    if contract_size is not None:
        effective = np.minimum(contract_size * rate_, cap_per_firm) / contract_size
    contract = amount_ / effective
    hours = contract / np.asarray(price_per_hour, dtype=np.float64)
    out = {"contract_value": contract, "firm_pays": contract - amount_, "device_hours": hours}
    if per_second is not None:
        done = hours * SECONDS_PER_HOUR * np.asarray(per_second) * np.asarray(scaling_efficiency)
        out["done"] = done
        if work_per_run is not None:
            out["training_runs"] = done / work_per_run
    if contract_size is not None:
        out["firms_covered"] = amount_ / np.minimum(contract_size * rate_, cap_per_firm)
        out["effective_rate"] = np.broadcast_to(effective, np.shape(contract))
    return out


def reach(
    amount: float,
    amount_label: str,
    rate: float,
    price: HourlyPrice,
    throughput: Throughput | None = None,
    cluster: Cluster | None = None,
    train: TrainJob | None = None,
    contract_size: float | None = None,
    cap_per_firm: float = math.inf,
    extra_assumptions: Sequence[Assumption] = (),
    amount_basis: Basis = Basis.GIVEN,
) -> Reach:
    """How far `amount` of subsidy goes at `rate`: the contract it supports, the device-hours,
    PFLOP-days and training runs that contract buys, and (given a contract size) how many firms
    it covers, each firm receiving min(size x rate, cap per firm)."""
    require_finite("subsidy amount", amount)
    if not (0 < rate <= 1):
        raise UserError(f"a subsidy rate must be in (0, 1] to say how far it goes, got {rate:g}")
    cluster = cluster or Cluster()
    if throughput is None and train is not None:
        raise UserError(
            f"counting training runs needs a throughput: give {named('run')}, {named('tflops')} or"
            f" {named('mfu')}"
        )
    if contract_size is not None:
        require_finite("contract size", contract_size)
    tokens_unit = throughput is not None and throughput.unit is WorkUnit.TOKENS
    work_per_run = None if train is None else (train.tokens if tokens_unit else train.flops)
    figures = reach_figures(
        amount,
        rate,
        price.amount,
        None if throughput is None else throughput.per_second,
        cluster.scaling_efficiency,
        work_per_run,
        contract_size,
        cap_per_firm,
    )

    def get(key: str) -> float | None:
        return float(figures[key]) if key in figures else None

    done = get("done")
    flops = None if tokens_unit else done
    tokens = done if tokens_unit else None
    contract, device_hours = float(figures["contract_value"]), float(figures["device_hours"])
    runs, firms = get("training_runs"), get("firms_covered")
    assumptions = [
        Assumption(
            "subsidy amount", f"{amount:,.0f} {price.currency} ({amount_label})", amount_basis
        )
    ]
    if throughput is not None:
        assumptions.extend(throughput.assumptions())
    assumptions.extend(cluster.assumptions())
    assumptions.extend(price.assumptions())
    if train is not None:
        assumptions.extend(job_assumptions(train))
    effective = get("effective_rate")
    if contract_size is not None:
        assumptions.append(
            Assumption(
                "contract size per firm", f"{contract_size:,.0f} {price.currency}", Basis.GIVEN
            )
        )
        per_firm = min(contract_size * rate, cap_per_firm)
        capped = " (the cap per firm binds)" if per_firm < contract_size * rate else ""
        assumptions.append(
            Assumption(
                "subsidy per firm",
                f"{per_firm:,.2f} {price.currency} = {effective:.1%} of each contract{capped};"
                " every figure follows from it",
                Basis.DERIVED,
            )
        )
    assumptions.extend(extra_assumptions)
    return Reach(
        amount=amount,
        amount_label=amount_label,
        rate=rate,
        currency=price.currency,
        contract_value=contract,
        firm_pays=contract - amount,
        device_hours=device_hours,
        pflop_days=None if flops is None else flops / PFLOP_DAY,
        tokens=tokens,
        training_runs=runs,
        contract_size=contract_size,
        firms_covered=firms,
        assumptions=tuple(assumptions),
        effective_rate=effective,
    )
