"""The cost model: what a job takes and costs on a kind of device, before and after a subsidy.

Pure functions over numbers and numpy arrays; no torch, no files. The arithmetic lives in a few
vectorised functions (pricing.owned_hourly_cost, terms.subsidy_amount, terms.blended_rate,
`evaluate_work`, `evaluate_hours`) that the one-scenario answers (`estimate`, `compare`, and
reach.reach) and the sweeps (cost.sweep) share, so the two can never disagree. Inputs arrive
resolved (cost.scenario); this module does arithmetic only.

Every answer carries the assumptions it used, as (name, value, basis, source) records, so that a
reader can see which figures were measured, which given by hand and which estimated. Jobs,
prices, subsidy terms and reach live in their own modules and are re-exported here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from subsidybench.cost.answer import Estimate, Peak
from subsidybench.cost.jobs import (
    Cluster,
    ContractJob,
    HoursJob,
    Job,
    ServeJob,
    TrainJob,
    job_assumptions,
    training_flops_per_token,
)
from subsidybench.cost.pricing import (
    HourlyPrice,
    OwnedHardware,
    capital_recovery_factor,
    owned_hourly_cost,
)
from subsidybench.cost.reach import Reach, reach
from subsidybench.cost.terms import (
    BuildSubsidy,
    SubsidyOutcome,
    SubsidyTerms,
    apply_subsidy,
    blended_rate,
    build_subsidy,
    cap_binds_above,
    given_terms,
    present_value,
    subsidy_amount,
    terms_from_programme,
)
from subsidybench.cost.throughput import Throughput, WorkUnit
from subsidybench.cost.years import Calendar, subsidy_over_time
from subsidybench.errors import UserError, named
from subsidybench.provenance import Assumption, Basis
from subsidybench.units import (
    HOURS_PER_DAY,
    HOURS_PER_YEAR,
    MILLION,
    PFLOP,
    PFLOP_DAY,
    PFLOP_HOUR,
    SECONDS_PER_HOUR,
    Array,
)

__all__ = [
    "HOURS_PER_DAY",
    "HOURS_PER_YEAR",
    "MILLION",
    "PFLOP",
    "PFLOP_DAY",
    "PFLOP_HOUR",
    "SECONDS_PER_HOUR",
    "Array",
    "BuildSubsidy",
    "Cluster",
    "ContractJob",
    "Estimate",
    "HourlyPrice",
    "HoursJob",
    "Job",
    "Option",
    "OwnedHardware",
    "Peak",
    "Reach",
    "ServeJob",
    "SubsidyOutcome",
    "SubsidyTerms",
    "TrainJob",
    "apply_subsidy",
    "blended_rate",
    "build_subsidy",
    "cap_binds_above",
    "capital_recovery_factor",
    "compare",
    "device_hours_for",
    "estimate",
    "evaluate_hours",
    "evaluate_work",
    "given_terms",
    "job_assumptions",
    "owned_hourly_cost",
    "present_value",
    "reach",
    "subsidy_amount",
    "terms_from_programme",
    "training_flops_per_token",
]


# --------------------------------------------------------------------------------------------
# The vectorised core


def evaluate_hours(
    device_hours: ArrayLike,
    wall_hours: ArrayLike,
    price_per_hour: ArrayLike,
    rate: ArrayLike = 0.0,
    cap: ArrayLike = np.inf,
    window_hours: ArrayLike = np.inf,
    after_rate: ArrayLike = 0.0,
    cap_year: ArrayLike = np.inf,
    calendar: Calendar | None = None,
) -> dict[str, Array]:
    """Gross, subsidy and net cost of `device_hours` at `price_per_hour`; vectorised. `cap`
    limits the whole job's subsidy, `cap_year` each programme year's (cost.years); a wall time
    of 0 is not known (the whole spend at the start)."""
    hours = np.asarray(device_hours, dtype=np.float64)
    gross = hours * np.asarray(price_per_hour, dtype=np.float64)
    wall = np.broadcast_to(np.asarray(wall_hours, dtype=np.float64), np.shape(gross))
    before_caps, subsidy = subsidy_over_time(
        gross, wall, rate, after_rate, window_hours, cap, cap_year, calendar
    )
    net = gross - subsidy
    with np.errstate(divide="ignore", invalid="ignore"):
        effective = np.where(hours > 0, net / hours, np.asarray(price_per_hour) * (1 - before_caps))
        effective_rate = np.where(gross > 0, subsidy / gross, 0.0)
    return {
        "device_hours": hours,
        "wall_hours": np.asarray(wall_hours, dtype=np.float64),
        "gross": gross,
        "rate_before_caps": before_caps,
        "subsidy": subsidy,
        "effective_rate": effective_rate,
        "net": net,
        "effective_price": effective,
        "cap_binds": subsidy < gross * before_caps * (1 - 1e-12),
    }


def device_hours_for(
    work: ArrayLike, rate_per_device: ArrayLike, scaling_efficiency: ArrayLike = 1.0
) -> Array:
    """Device-hours to do `work` units (FLOPs or tokens) at `rate_per_device` units per second
    per device, when a cluster reaches `scaling_efficiency` of n x one device's rate."""
    return (
        np.asarray(work, dtype=np.float64)
        / (np.asarray(rate_per_device, dtype=np.float64) * np.asarray(scaling_efficiency))
        / SECONDS_PER_HOUR
    )


def evaluate_work(
    work: ArrayLike,
    rate_per_device: ArrayLike,
    price_per_hour: ArrayLike,
    devices: ArrayLike = 1,
    scaling_efficiency: ArrayLike = 1.0,
    rate: ArrayLike = 0.0,
    cap: ArrayLike = np.inf,
    window_hours: ArrayLike = np.inf,
    after_rate: ArrayLike = 0.0,
    cap_year: ArrayLike = np.inf,
    calendar: Calendar | None = None,
) -> dict[str, Array]:
    """Time and cost of `work` units (FLOPs or tokens) on devices doing `rate_per_device` units
    per second each; vectorised. n devices at efficiency e do n·e times one device's rate, and
    all n are paid for: device-hours = work / (rate x e) / 3600, wall time = device-hours / n."""
    device_hours = device_hours_for(work, rate_per_device, scaling_efficiency)
    wall_hours = device_hours / np.asarray(devices, dtype=np.float64)
    return evaluate_hours(
        device_hours,
        wall_hours,
        price_per_hour,
        rate,
        cap,
        window_hours,
        after_rate,
        cap_year,
        calendar,
    )


# --------------------------------------------------------------------------------------------
# One scenario, with its assumptions


def _flops_per_token(job: Job) -> float | None:
    if isinstance(job, TrainJob):
        return job.flops_per_token
    if isinstance(job, ServeJob) and job.params is not None:
        return 2.0 * job.params
    return None


def _rates(
    job: Job, throughput: Throughput | None, efficiency: float
) -> tuple[float | None, float | None]:
    """(model FLOP/s, tokens/s) one device sustains in the cluster, where the job says both."""
    if throughput is None:
        return None, None
    per_device = throughput.per_second * efficiency
    per_token = _flops_per_token(job)
    if throughput.unit is WorkUnit.FLOPS:
        return per_device, (per_device / per_token if per_token else None)
    return (per_device * per_token if per_token else None), per_device


def estimate(
    job: Job,
    price: HourlyPrice | None,
    throughput: Throughput | None = None,
    cluster: Cluster | None = None,
    terms: SubsidyTerms | None = None,
    cost_of_capital: float | None = None,
    label: str = "",
    extra_assumptions: Sequence[Assumption] = (),
    build: BuildSubsidy | None = None,
    peak: Peak | None = None,
    wall_hours: float | None = None,
    devices_known: bool = True,
    power_rate: float = 0.0,
    currency: str | None = None,
) -> Estimate:
    """Time and cost of one job on one kind of device, with and without a subsidy.

    `price`, `terms` and the job's money must be in the same currency (the caller converts).
    Without a price, the answer is time and device-hours only. `wall_hours` is the contract's
    duration when it was given rather than derived from the devices; `devices_known` is False
    when nobody said how many devices share a job given in hours or money. A contract with no
    price is money alone, in `currency`: its subsidy and net, and no device-hours.
    """
    cluster = cluster or Cluster()
    device_hours: float | None
    flops: float | None = None
    tokens: float | None = None
    if isinstance(job, TrainJob | ServeJob):
        flops, tokens = job.flops, job.tokens
    assumptions: list[Assumption] = [*job_assumptions(job)]
    if throughput is not None:
        assumptions.extend(throughput.assumptions())
    if devices_known:
        assumptions.extend(cluster.assumptions(scaled=throughput is not None))
    if price is not None:
        assumptions.extend(price.assumptions())

    if isinstance(job, TrainJob | ServeJob):
        if throughput is None:
            raise UserError(
                f"costing a job needs a throughput: give {named('run')}, {named('tflops')},"
                f" {named('hardware_tflops')},"
                f" {named('tokens_per_s')} or {named('mfu')}"
            )
        if throughput.unit is WorkUnit.TOKENS:
            work = job.tokens
        else:
            if flops is None:
                raise UserError(
                    f"serving at a FLOP rate needs the model size: give {named('params')}"
                )
            work = flops
        device_hours = float(
            device_hours_for(work, throughput.per_second, cluster.scaling_efficiency)
        )
    else:
        if isinstance(job, HoursJob):
            device_hours = job.device_hours
        elif price is None:
            device_hours = None  # a contract's value buys hours only at a price
        else:
            device_hours = job.value / price.amount
        if throughput is not None and device_hours is not None:
            done = device_hours * SECONDS_PER_HOUR * throughput.per_second
            done *= cluster.scaling_efficiency
            if throughput.unit is WorkUnit.TOKENS:
                tokens = done
            else:
                flops = done
    if wall_hours is None and devices_known and device_hours is not None:
        wall_hours = device_hours / cluster.devices

    gross = net = effective = None
    outcome = None
    if isinstance(job, ContractJob) and (price is not None or currency is not None):
        gross = net = job.value
    elif price is not None and device_hours is not None:
        gross = net = device_hours * price.amount
    if terms is not None and build is not None:
        raise UserError("give a subsidy on rent or on building compute, not both")
    if (terms is not None or build is not None) and gross is None:
        raise UserError(
            f"a subsidy is money: give a price ({named('price')} with {named('currency')}, or"
            f" {named('profile')})"
        )
    if terms is not None and gross is not None:
        outcome = apply_subsidy(gross, terms, wall_hours, cost_of_capital)
        net = outcome.net
        assumptions.extend(terms.assumptions)
        if math.isfinite(terms.window_hours) and wall_hours is not None:
            assumptions.append(
                Assumption(
                    "wall time",
                    f"{_days(wall_hours)}: the programme's rate window is "
                    f"{terms.window_hours:,.0f} h of it",
                    Basis.GIVEN if not devices_known else Basis.DERIVED,
                    named("duration_days") if not devices_known else "device-hours / devices",
                )
            )
    elif build is not None and gross is not None and price is not None:
        net = device_hours * build.price.amount
        spread = gross - net
        outcome = SubsidyOutcome(
            gross=gross,
            rate_before_caps=build.outcome.rate_before_caps,
            amount=spread,
            net=net,
            cap=build.outcome.cap,
            cap_rule=build.outcome.cap_rule + " (on the capex)",
            cap_binds=build.outcome.cap_binds,
            binds_above=build.outcome.binds_above,
        )
        assumptions.extend(build.terms.assumptions)
        assumptions.append(
            Assumption(
                "building subsidy",
                f"{build.outcome.amount:,.0f} {price.currency} off the capex of "
                f"{cluster.devices} devices; price {price.amount:,.4g} -> "
                f"{build.price.amount:,.4g} {price.currency} per device-hour",
                Basis.DERIVED,
            )
        )
    power = None
    if power_rate and price is not None and price.owned is not None and gross is not None:
        # The power programme pays its share of the energy bill: shown apart from the price.
        paid = device_hours * price.owned.hourly()["energy"] * power_rate
        power = SubsidyOutcome(
            gross=gross,
            rate_before_caps=paid / gross if gross > 0 else 0.0,
            amount=paid,
            net=gross - paid,
            cap=math.inf,
            cap_rule="no cap",
            cap_binds=False,
            binds_above=math.inf,
        )
        net = (net if net is not None else gross) - paid
    if net is not None and device_hours:
        effective = net / device_hours
    per_s, tok_s = _rates(job, throughput, cluster.scaling_efficiency)
    if peak is not None and per_s is not None:
        assumptions.append(Assumption("peak for MFU", peak.describe(), Basis.DATA, peak.source))
    assumptions.extend(extra_assumptions)
    return Estimate(
        job=job,
        currency=currency if price is None else price.currency,
        price=price,
        devices=cluster.devices if devices_known else None,
        device_hours=device_hours,
        wall_hours=wall_hours,
        gross=gross,
        net=net,
        effective_price=effective,
        flops=flops,
        tokens=tokens,
        subsidy=outcome,
        label=label,
        assumptions=tuple(assumptions),
        flops_per_s=per_s,
        tokens_per_s=tok_s,
        peak=peak,
        hardware_per_model=None if throughput is None else throughput.hardware_per_model,
        power_subsidy=power,
        scaling_efficiency=cluster.scaling_efficiency if throughput is not None else 1.0,
    )


def _days(hours: float) -> str:
    days = hours / HOURS_PER_DAY
    if days >= 2 * 365.25:
        return f"{days:,.0f} days ({days / 365.25:,.1f} years)"
    from subsidybench.digits import figure

    return f"{figure(days)} days"


# --------------------------------------------------------------------------------------------
# Device against device


@dataclass(frozen=True, slots=True)
class Option:
    """One way to do the job: a device at a price and throughput, under a programme."""

    label: str
    price: HourlyPrice
    throughput: Throughput
    terms: SubsidyTerms | None = None
    cluster: Cluster = field(default_factory=Cluster)
    assumptions: tuple[Assumption, ...] = ()
    """Inputs beside price, throughput and programme (the device, an exchange rate)."""
    peak: Peak | None = None


def compare(
    job: Job, options: Sequence[Option], cost_of_capital: float | None = None
) -> list[Estimate]:
    """The same job on each option, cheapest first by net cost per unit of useful work
    (per PFLOP-hour, or per million tokens when throughputs are in tokens), never by peak."""
    if not options:
        raise UserError("nothing to compare: give at least one option")
    currencies = {o.price.currency for o in options}
    if len(currencies) > 1:
        raise UserError(
            f"options are priced in several currencies ({', '.join(sorted(currencies))}); "
            "convert them to one first"
        )
    units = {o.throughput.unit for o in options}
    if len(units) > 1:
        raise UserError(
            "options mix FLOP/s and tokens/s throughputs; they cannot be ranked together"
        )
    estimates = [
        estimate(
            job,
            o.price,
            o.throughput,
            o.cluster,
            o.terms,
            cost_of_capital,
            label=o.label,
            extra_assumptions=o.assumptions,
            peak=o.peak,
        )
        for o in options
    ]

    def unit_cost(e: Estimate) -> float:
        value = e.net_per_million_tokens if units == {WorkUnit.TOKENS} else e.net_per_pflop_hour
        return math.inf if value is None else value

    return sorted(estimates, key=unit_cost)
