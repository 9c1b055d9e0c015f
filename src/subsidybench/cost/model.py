"""The cost model: what a subsidy takes off, what a job costs, and what the money buys.

Pure functions over numbers and numpy arrays; no torch, no files. The arithmetic lives in a few
vectorised functions (pricing.owned_hourly_cost, `subsidy_amount`, `blended_rate`,
`evaluate_work`, `evaluate_hours`) that the one-scenario answers (`estimate`, `reach`,
`compare`) and the sweeps (subsidybench.cost.sweep) share, so the two can never disagree.

Every answer carries the assumptions it used, as (name, value, basis, source) records, so that a
reader can see which figures were measured, which given by hand and which estimated. Prices live
in subsidybench.cost.pricing and jobs in subsidybench.cost.jobs; both are re-exported here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from subsidybench.catalogue.subsidies import Programme, Spend, Term, TermState
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
from subsidybench.cost.throughput import Throughput, WorkUnit
from subsidybench.errors import UserError
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
    require_finite,
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
# Subsidies


def subsidy_amount(gross: ArrayLike, rate: ArrayLike, cap: ArrayLike = np.inf) -> Array:
    """What a programme pays on `gross` eligible spend: rate x gross, never above the cap."""
    return np.minimum(np.asarray(gross, dtype=np.float64) * np.asarray(rate), np.asarray(cap))


def cap_binds_above(rate: ArrayLike, cap: ArrayLike) -> Array:
    """The contract value above which the cap, not the rate, decides the subsidy: cap / rate."""
    r = np.asarray(rate, dtype=np.float64)
    # 0/0 and cap/tiny are computed and then discarded by the where: silence them.
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.where(r > 0, np.asarray(cap, dtype=np.float64) / r, np.inf)


def blended_rate(
    rate: ArrayLike, after_rate: ArrayLike, window_hours: ArrayLike, wall_hours: ArrayLike
) -> Array:
    """The average rate over a contract when `rate` lasts `window_hours` of it and `after_rate`
    the rest (Shanghai: 100% for at most a year, then the base rate). Spend is taken as even over
    the contract's wall-clock time."""
    wall = np.asarray(wall_hours, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(wall > 0, np.minimum(1.0, np.asarray(window_hours) / wall), 1.0)
    return share * np.asarray(rate) + (1.0 - share) * np.asarray(after_rate)


def present_value(amount: ArrayLike, yearly_rate: ArrayLike, months: ArrayLike) -> Array:
    """What money paid `months` from now is worth today at `yearly_rate`."""
    years = np.asarray(months, dtype=np.float64) / 12.0
    return np.asarray(amount, dtype=np.float64) / np.power(1.0 + np.asarray(yearly_rate), years)


@dataclass(frozen=True, slots=True)
class SubsidyTerms:
    """The numbers a subsidy comes down to for one firm and one contract, in the job's currency."""

    rate: float
    programme: str
    rule: str
    cap_per_contract: float = math.inf
    cap_per_firm_year: float = math.inf
    pool: float = math.inf
    window_hours: float = math.inf
    """`rate` lasts this many hours of the contract; then `after_rate` applies."""
    after_rate: float = 0.0
    lag_months: float | None = None
    """Months between paying the supplier and receiving the subsidy, when known."""
    assumptions: tuple[Assumption, ...] = ()

    def __post_init__(self) -> None:
        for name in ("rate", "after_rate"):
            value = getattr(self, name)
            if not (0.0 <= value <= 1.0):
                raise UserError(f"a subsidy {name.replace('_', ' ')} is in [0, 1], got {value:g}")
        for name in ("cap_per_contract", "cap_per_firm_year", "pool", "window_hours"):
            value = getattr(self, name)
            if math.isnan(value) or value < 0:
                raise UserError(f"subsidy {name.replace('_', ' ')} must be >= 0, got {value:g}")

    @property
    def cap(self) -> float:
        """The tightest limit on one firm's subsidy for one contract in one programme year."""
        return min(self.cap_per_contract, self.cap_per_firm_year, self.pool)

    @property
    def cap_rule(self) -> str:
        named = {
            "cap per contract": self.cap_per_contract,
            "cap per firm per year": self.cap_per_firm_year,
            "pool": self.pool,
        }
        name = min(named, key=lambda k: named[k])
        return name if math.isfinite(named[name]) else "no cap"


@dataclass(frozen=True, slots=True)
class SubsidyOutcome:
    """A subsidy applied to one contract."""

    gross: float
    rate: float
    """The average rate over the contract (before the cap)."""
    amount: float
    net: float
    cap: float
    cap_rule: str
    cap_binds: bool
    binds_above: float
    """Contract value above which the cap decides: cap / rate."""
    present_value: float | None = None
    """The subsidy's worth today, if paid after a known lag and a cost of capital is given."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "gross": self.gross,
            "rate": self.rate,
            "amount": self.amount,
            "net": self.net,
            "cap": _json_number(self.cap),
            "cap_rule": self.cap_rule,
            "cap_binds": self.cap_binds,
            "binds_above": _json_number(self.binds_above),
            "present_value": self.present_value,
        }


def apply_subsidy(
    gross: float,
    terms: SubsidyTerms,
    wall_hours: float | None = None,
    cost_of_capital: float | None = None,
) -> SubsidyOutcome:
    """Apply a programme to a contract of `gross` value lasting `wall_hours`."""
    if math.isfinite(terms.window_hours) and wall_hours is None:
        # A contract value with no duration: the higher rate's window cannot be placed.
        raise UserError("the programme's rate lasts a limited time: give the job's duration")
    rate = float(blended_rate(terms.rate, terms.after_rate, terms.window_hours, wall_hours or 0.0))
    amount = float(subsidy_amount(gross, rate, terms.cap))
    pv = None
    if terms.lag_months is not None and cost_of_capital is not None:
        pv = float(present_value(amount, cost_of_capital, terms.lag_months))
    return SubsidyOutcome(
        gross=gross,
        rate=rate,
        amount=amount,
        net=gross - amount,
        cap=terms.cap,
        cap_rule=terms.cap_rule,
        cap_binds=gross * rate > terms.cap,
        binds_above=float(cap_binds_above(rate, terms.cap)),
        present_value=pv,
    )


@dataclass(frozen=True, slots=True)
class BuildSubsidy:
    """A subsidy on buying or building compute, felt per hour through a lower capex."""

    price: HourlyPrice
    """The hourly price of the owned device after the subsidy."""
    outcome: SubsidyOutcome
    """The subsidy on the capex of all the devices."""
    terms: SubsidyTerms


def build_subsidy(hardware: OwnedHardware, terms: SubsidyTerms, devices: int) -> BuildSubsidy:
    """Apply a building subsidy to the purchase of `devices` devices: each device's capex falls
    by its share of min(rate x total capex, cap), and the hourly price follows."""
    if math.isfinite(terms.window_hours):
        raise UserError("a rate limited in time applies to rent, not to building compute")
    outcome = apply_subsidy(hardware.capex * devices, terms)
    net = replace(hardware, capex=hardware.capex - outcome.amount / devices)
    return BuildSubsidy(
        HourlyPrice.from_owned(net, "capex after the building subsidy"), outcome, terms
    )


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
) -> dict[str, Array]:
    """Gross, subsidy and net cost of `device_hours` at `price_per_hour`; vectorised."""
    hours = np.asarray(device_hours, dtype=np.float64)
    gross = hours * np.asarray(price_per_hour, dtype=np.float64)
    avg_rate = blended_rate(rate, after_rate, window_hours, wall_hours)
    subsidy = subsidy_amount(gross, avg_rate, cap)
    net = gross - subsidy
    with np.errstate(divide="ignore", invalid="ignore"):
        effective = np.where(hours > 0, net / hours, np.asarray(price_per_hour) * (1 - avg_rate))
    return {
        "device_hours": hours,
        "wall_hours": np.asarray(wall_hours, dtype=np.float64),
        "gross": gross,
        "average_rate": avg_rate,
        "subsidy": subsidy,
        "net": net,
        "effective_price": effective,
        "cap_binds": gross * avg_rate > np.asarray(cap),
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
) -> dict[str, Array]:
    """Time and cost of `work` units (FLOPs or tokens) on devices doing `rate_per_device` units
    per second each; vectorised. n devices at efficiency e do n·e times one device's rate, and
    all n are paid for: device-hours = work / (rate x e) / 3600, wall time = device-hours / n."""
    device_hours = device_hours_for(work, rate_per_device, scaling_efficiency)
    wall_hours = device_hours / np.asarray(devices, dtype=np.float64)
    return evaluate_hours(
        device_hours, wall_hours, price_per_hour, rate, cap, window_hours, after_rate
    )


# --------------------------------------------------------------------------------------------
# One scenario, with its assumptions


@dataclass(frozen=True, slots=True)
class Estimate:
    """What a job takes and costs on one kind of device, before and after a subsidy."""

    job: Job
    currency: str
    price: HourlyPrice
    devices: int
    device_hours: float
    wall_hours: float
    gross: float
    net: float
    effective_price: float
    """Net cost per device-hour."""
    flops: float | None
    """Useful work done (the job's FLOPs, or what the hours buy at the measured rate)."""
    tokens: float | None
    subsidy: SubsidyOutcome | None = None
    label: str = ""
    assumptions: tuple[Assumption, ...] = ()

    @property
    def pflop_days(self) -> float | None:
        return None if self.flops is None else self.flops / PFLOP_DAY

    @property
    def net_per_pflop_hour(self) -> float | None:
        """Net cost per PFLOP-hour of useful work (measured or stated rate, never peak)."""
        return None if not self.flops else self.net / (self.flops / PFLOP_HOUR)

    @property
    def net_per_million_tokens(self) -> float | None:
        return None if not self.tokens else self.net / (self.tokens / MILLION)

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "job": self.job.describe(),
            "currency": self.currency,
            "price_per_device_hour": self.price.amount,
            "price_basis": self.price.basis.value,
            "devices": self.devices,
            "device_hours": self.device_hours,
            "wall_hours": self.wall_hours,
            "wall_days": self.wall_hours / HOURS_PER_DAY,
            "flops": self.flops,
            "pflop_days": self.pflop_days,
            "tokens": self.tokens,
            "gross": self.gross,
            "subsidy": self.subsidy.to_dict() if self.subsidy else None,
            "net": self.net,
            "effective_price_per_device_hour": self.effective_price,
            "net_per_pflop_hour": self.net_per_pflop_hour,
            "net_per_million_tokens": self.net_per_million_tokens,
            "assumptions": [a.to_dict() for a in self.assumptions],
        }


def _job_work(job: Job) -> tuple[float | None, float | None]:
    """(FLOPs, tokens) the job stands for, before any device is chosen."""
    if isinstance(job, TrainJob | ServeJob):
        return job.flops, job.tokens
    return None, None


def estimate(
    job: Job,
    price: HourlyPrice,
    throughput: Throughput | None = None,
    cluster: Cluster | None = None,
    terms: SubsidyTerms | None = None,
    cost_of_capital: float | None = None,
    label: str = "",
    extra_assumptions: Sequence[Assumption] = (),
    build: BuildSubsidy | None = None,
) -> Estimate:
    """Time and cost of one job on one kind of device, with and without a subsidy.

    `price`, `terms` and the job's money must be in the same currency (the caller converts).
    """
    cluster = cluster or Cluster()
    flops, tokens = _job_work(job)
    assumptions: list[Assumption] = [*job_assumptions(job)]
    if throughput is not None:
        assumptions.extend(throughput.assumptions())
    assumptions.extend(cluster.assumptions())
    assumptions.extend(price.assumptions())

    if isinstance(job, TrainJob | ServeJob):
        if throughput is None:
            raise UserError(
                "costing a job needs a throughput: give --run, --tflops, --tokens-per-s or --mfu"
            )
        if throughput.unit is WorkUnit.TOKENS:
            work = job.tokens
        else:
            if flops is None:
                raise UserError("serving at a FLOP rate needs the model size: give --params")
            work = flops
        device_hours = float(
            device_hours_for(work, throughput.per_second, cluster.scaling_efficiency)
        )
    else:
        device_hours = job.device_hours if isinstance(job, HoursJob) else job.value / price.amount
        if throughput is not None:
            done = device_hours * SECONDS_PER_HOUR * throughput.per_second
            done *= cluster.scaling_efficiency
            if throughput.unit is WorkUnit.TOKENS:
                tokens = done
            else:
                flops = done
    wall_hours = device_hours / cluster.devices

    gross = job.value if isinstance(job, ContractJob) else device_hours * price.amount
    outcome = None
    net = gross
    if terms is not None and build is not None:
        raise UserError("give a subsidy on rent or on building compute, not both")
    if terms is not None:
        outcome = apply_subsidy(gross, terms, wall_hours, cost_of_capital)
        net = outcome.net
        assumptions.extend(terms.assumptions)
    elif build is not None:
        net = device_hours * build.price.amount
        spread = gross - net
        outcome = SubsidyOutcome(
            gross=gross,
            rate=spread / gross,
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
    assumptions.extend(extra_assumptions)
    return Estimate(
        job=job,
        currency=price.currency,
        price=price,
        devices=cluster.devices,
        device_hours=device_hours,
        wall_hours=wall_hours,
        gross=gross,
        net=net,
        effective_price=net / device_hours,
        flops=flops,
        tokens=tokens,
        subsidy=outcome,
        label=label,
        assumptions=tuple(assumptions),
    )


# --------------------------------------------------------------------------------------------
# How far a subsidy goes


@dataclass(frozen=True, slots=True)
class Reach:
    """What an amount of subsidy money supports at a rate and a price."""

    amount: float
    """The subsidy money: one firm's cap, a whole pool, or a figure given."""
    amount_label: str
    rate: float
    currency: str
    contract_value: float
    """The eligible spend the amount covers at `rate`: amount / rate."""
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

    def to_dict(self) -> dict[str, Any]:
        return {
            "amount": self.amount,
            "amount_label": self.amount_label,
            "rate": self.rate,
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
    contract = amount / rate
    device_hours = contract / price.amount
    flops = tokens = runs = None
    if throughput is not None:
        done = device_hours * SECONDS_PER_HOUR * throughput.per_second * cluster.scaling_efficiency
        if throughput.unit is WorkUnit.TOKENS:
            tokens = done
            if train is not None:
                runs = done / train.tokens
        else:
            flops = done
            if train is not None:
                runs = done / train.flops
    elif train is not None:
        raise UserError("counting training runs needs a throughput: give --run, --tflops or --mfu")
    firms = None
    if contract_size is not None:
        require_finite("contract size", contract_size)
        per_firm = min(contract_size * rate, cap_per_firm)
        firms = amount / per_firm
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
    if contract_size is not None:
        assumptions.append(
            Assumption(
                "contract size per firm", f"{contract_size:,.0f} {price.currency}", Basis.GIVEN
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
    )


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
        )
        for o in options
    ]

    def unit_cost(e: Estimate) -> float:
        value = e.net_per_million_tokens if units == {WorkUnit.TOKENS} else e.net_per_pflop_hour
        return math.inf if value is None else value

    return sorted(estimates, key=unit_cost)


def _json_number(value: float) -> float | None:
    """JSON has no infinity: an unlimited cap is written as null."""
    return value if math.isfinite(value) else None


# --------------------------------------------------------------------------------------------
# From a programme's data to the numbers above


def terms_from_programme(
    programme: Programme,
    *,
    spend: Spend = Spend.COMPUTE_RENT,
    domestic: bool = False,
    small_firm: bool = False,
    to_job_currency: float = 1.0,
    job_currency: str | None = None,
    rate: float | None = None,
) -> SubsidyTerms:
    """The rate, caps and pool one firm gets from `programme`, in the job's currency
    (`to_job_currency` is what one unit of the programme's currency is worth in it). `rate`
    replaces the programme's rate; its caps and pool still apply. Unknown limits are not
    applied and say so among the assumptions."""
    cur = job_currency or programme.currency
    source = programme.id
    out: list[Assumption] = []
    window, after = math.inf, 0.0
    if rate is None:
        rule = programme.rate_for(spend, domestic=domestic, small_firm=small_firm)
        rate_used, rule_name = rule.rate, rule.rule
        if rule.window_hours is not None:
            window, after = rule.window_hours, rule.after_rate or 0.0
        out.append(
            Assumption(
                "subsidy rate",
                f"{rate_used:.0%} of {spend} ({rule_name}; the programme's maximum)",
                Basis.PROGRAMME,
                source,
            )
        )
        if math.isfinite(window):
            out.append(
                Assumption(
                    "after the window",
                    f"{after:.0%} once {window:,.0f} hours of the contract have run",
                    Basis.PROGRAMME,
                    source,
                )
            )
    else:
        rate_used = rate
        out.append(Assumption("subsidy rate", f"{rate:.0%} of {spend}", Basis.GIVEN, "--rate"))

    def limit(term: Term, name: str) -> float:
        if term.value is None:
            why = "not in the sources" if term.state is TermState.UNKNOWN else "none"
            out.append(
                Assumption(name, f"{term.state}: not applied ({why})", Basis.NOT_APPLIED, source)
            )
            return math.inf
        converted = term.value * to_job_currency
        shown = f"{term.value:,.0f} {programme.currency}"
        if cur != programme.currency:
            shown += f" = {converted:,.0f} {cur}"
        out.append(Assumption(name, shown, Basis.PROGRAMME, source))
        return converted

    per_contract = limit(programme.caps.per_contract, "cap per contract")
    per_firm_year = limit(programme.caps.per_firm_year, "cap per firm per year")
    pool = limit(programme.pool, f"pool ({programme.pool_period})")
    if math.isfinite(per_firm_year):
        out.append(
            Assumption(
                "programme year",
                "the whole job's spend falls in one programme year",
                Basis.DERIVED,
                "the yearly cap is applied once",
            )
        )
    lag = programme.payment_lag_months
    out.append(
        Assumption(
            "payment",
            f"{programme.payment}; lag {lag} months"
            if lag.stated
            else f"{programme.payment}; lag {lag} (the subsidy is counted at face value)",
            Basis.PROGRAMME if lag.stated else Basis.NOT_APPLIED,
            source,
        )
    )
    out.append(
        Assumption("stacking with other programmes", programme.stacking, Basis.PROGRAMME, source)
    )
    return SubsidyTerms(
        rate=rate_used,
        programme=programme.id,
        rule="given rate" if rate is not None else "programme rate",
        cap_per_contract=per_contract,
        cap_per_firm_year=per_firm_year,
        pool=pool,
        window_hours=window,
        after_rate=after,
        lag_months=lag.value,
        assumptions=tuple(out),
    )


def given_terms(rate: float, cap: float = math.inf) -> SubsidyTerms:
    """A subsidy stated by hand: a rate and, optionally, a cap (no programme)."""
    out = [Assumption("subsidy rate", f"{rate:.0%}", Basis.GIVEN, "--rate")]
    if math.isfinite(cap):
        out.append(Assumption("subsidy cap", f"{cap:,.0f}", Basis.GIVEN, "--cap"))
    return SubsidyTerms(
        rate=rate, programme="", rule="given rate", cap_per_contract=cap, assumptions=tuple(out)
    )
