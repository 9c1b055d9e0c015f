"""Subsidy terms: what a programme's rules come to for one firm and one contract, and applying them.

A programme's data (catalogue.subsidies) becomes `SubsidyTerms` in the job's currency: a rate, an
optional window after which a lower rate applies, caps and a pool. `apply_subsidy` applies them
to one contract; the vectorised helpers (`subsidy_amount`, `blended_rate`, `cap_binds_above`) are
the same arithmetic for sweeps. Two rates are kept apart: the rate before caps (the programme's
rate, blended over a window) and the effective rate (subsidy / gross, after caps and the pool).
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from subsidybench.catalogue.subsidies import Programme, Spend, Term, TermState
from subsidybench.cost.pricing import HourlyPrice, OwnedHardware
from subsidybench.cost.years import Calendar, programme_calendar, subsidy_over_time, yearly_rates
from subsidybench.errors import UserError, named, said
from subsidybench.provenance import Assumption, Basis
from subsidybench.units import Array


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
    pool_per_year: bool = False
    """The pool is a yearly budget: it limits each programme year, as the yearly cap does."""
    calendar: Calendar | None = None
    """When the job runs against the programme's validity (None: a rate given by hand)."""

    def __post_init__(self) -> None:
        for name in ("rate", "after_rate"):
            value = getattr(self, name)
            if not (0.0 <= value <= 1.0):
                raise UserError(f"a subsidy {name.replace('_', ' ')} is in [0, 1], got {value:g}")
        for name in ("cap_per_contract", "cap_per_firm_year", "pool", "window_hours"):
            value = getattr(self, name)
            if math.isnan(value) or value < 0:
                raise UserError(f"subsidy {name.replace('_', ' ')} must be >= 0, got {value:g}")

    def said(self, name: Callable[[str], str]) -> SubsidyTerms:
        """The terms with the inputs their rule and notes name (errors.named) called
        `name(input)`: as the question's user wrote them (cost.scenario says them)."""
        notes = tuple(a.said(name) for a in self.assumptions)
        return replace(self, rule=said(self.rule, name), assumptions=notes)

    @property
    def cap(self) -> float:
        """The tightest limit on one firm's subsidy for one contract in one programme year."""
        return min(self.cap_per_contract, self.cap_per_firm_year, self.pool)

    @property
    def cap_total(self) -> float:
        """The limit on the whole job's subsidy: the cap per contract and a pool over all years."""
        return min(self.cap_per_contract, math.inf if self.pool_per_year else self.pool)

    @property
    def cap_year(self) -> float:
        """The limit on each programme year's subsidy: the yearly cap and a yearly pool."""
        return min(self.cap_per_firm_year, self.pool if self.pool_per_year else math.inf)

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
    rate_before_caps: float
    """The programme's rate, averaged over the contract when part of it runs at another rate,
    before any cap or pool."""
    amount: float
    net: float
    cap: float
    cap_rule: str
    cap_binds: bool
    binds_above: float
    """Contract value above which the cap decides: cap / rate before caps."""
    present_value: float | None = None
    """The subsidy's worth today, if paid after a known lag and a cost of capital is given."""
    calendar: Calendar | None = None
    paid_share: float = 1.0
    """The share of the spend made while the programme pays (inside its validity)."""
    years: tuple[tuple[str, float, float, float], ...] = ()
    """Per programme year, where a yearly cap splits the job: (year, share of the spend,
    subsidy before the yearly cap, subsidy after it)."""

    @property
    def effective_rate(self) -> float:
        """What the subsidy comes to as a share of the contract: amount / gross."""
        return self.amount / self.gross if self.gross > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "gross": self.gross,
            "rate_before_caps": self.rate_before_caps,
            "effective_rate": self.effective_rate,
            "amount": self.amount,
            "net": self.net,
            "cap": _json_number(self.cap),
            "cap_rule": self.cap_rule,
            "cap_binds": self.cap_binds,
            "binds_above": _json_number(self.binds_above),
            "present_value": self.present_value,
            "start": None if self.calendar is None else self.calendar.start.isoformat(),
            "validity": None if self.calendar is None else self.calendar.status,
            "validity_detail": None if self.calendar is None else self.calendar.detail,
            "paid_share": self.paid_share,
            "by_year": [
                {"year": y, "spend_share": share, "before_cap": before, "subsidy": after}
                for y, share, before, after in self.years
            ],
        }


def apply_subsidy(
    gross: float,
    terms: SubsidyTerms,
    wall_hours: float | None = None,
    cost_of_capital: float | None = None,
) -> SubsidyOutcome:
    """Apply a programme to a contract of `gross` value lasting `wall_hours` (None: not known,
    the whole spend is taken at the start), from the calendar's start date."""
    if math.isfinite(terms.window_hours) and wall_hours is None:
        # A contract value with no duration: the higher rate's window cannot be placed.
        raise UserError(
            f"the programme's rate lasts {terms.window_hours:,.0f} hours of a contract: give"
            f" {named('devices')} (how many share the device-hours) or {named('duration_days')}"
            " DAYS"
        )
    wall = np.asarray(wall_hours or 0.0, dtype=np.float64)
    cal = terms.calendar
    paid_until = math.inf if cal is None else cal.paid_until_hours
    ends: Any = ()
    if cal is not None and math.isfinite(terms.cap_year):
        ends = cal.year_ends(min(float(wall), paid_until))
    parts = yearly_rates(wall, terms.rate, terms.after_rate, terms.window_hours, paid_until, ends)
    before_rate, amount_ = subsidy_over_time(
        gross,
        wall,
        terms.rate,
        terms.after_rate,
        terms.window_hours,
        terms.cap_total,
        terms.cap_year,
        cal,
    )
    rate, amount = float(before_rate), float(amount_)
    years = tuple(
        (
            cal.year_label(i) if cal is not None else str(i + 1),
            float(share),
            gross * float(u),
            min(gross * float(u), terms.cap_year),
        )
        for i, (share, u) in enumerate(parts)
    )
    pv = None
    if terms.lag_months is not None and cost_of_capital is not None:
        pv = float(present_value(amount, cost_of_capital, terms.lag_months))
    # "Binds above" is one contract value only when one programme year holds the whole job.
    one_year = len(years) == 1
    return SubsidyOutcome(
        gross=gross,
        rate_before_caps=rate,
        amount=amount,
        net=gross - amount,
        cap=terms.cap,
        cap_rule=terms.cap_rule,
        cap_binds=amount < gross * rate * (1 - 1e-12),
        binds_above=float(cap_binds_above(rate, terms.cap)) if one_year else math.inf,
        present_value=pv,
        calendar=cal,
        paid_share=float(sum(share for _, share, _, _ in years)),
        years=years if math.isfinite(terms.cap_year) and len(years) > 1 else (),
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
    start: datetime.date | None = None,
    assume_valid: bool = False,
    origin_given: bool = True,
) -> SubsidyTerms:
    """The rate, caps and pool one firm gets from `programme`, in the job's currency
    (`to_job_currency` is what one unit of the programme's currency is worth in it), for a job
    starting on `start` (default today). `rate` replaces the programme's rate; its caps, pool
    and validity still apply. Unknown limits are not applied and say so among the assumptions."""
    cur = job_currency or programme.currency
    source = programme.id
    out: list[Assumption] = []
    calendar = programme_calendar(programme, start or datetime.date.today(), assume_valid)
    out.append(
        Assumption(
            "programme validity",
            f"{calendar.status}: {calendar.detail}",
            Basis.GIVEN if assume_valid else Basis.PROGRAMME,
            named("assume_valid") if assume_valid else source,
        )
    )
    window, after = math.inf, 0.0
    if rate is None:
        rule = programme.rate_for(spend, domestic=domestic, small_firm=small_firm)
        rate_used, rule_name = rule.rate, rule.rule
        other = programme.rates.domestic.value
        if not origin_given and not domestic and other is not None and other != rate_used:
            # The origin decides the rate here: a default must not pass for a choice.
            rule_name += (
                "; chip origin not given, taken as not domestic:"
                f" {named('domestic')} gives {other:.0%}"
            )
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
        # A rate by hand replaces the programme's rate, not what it pays towards.
        programme.covers(spend, domestic=domestic)
        rate_used = rate
        out.append(Assumption("subsidy rate", f"{rate:.0%} of {spend}", Basis.GIVEN, named("rate")))

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
    pool_per_year = programme.pool_period.value == "per-year"
    if math.isfinite(per_firm_year) or (pool_per_year and math.isfinite(pool)):
        out.append(
            Assumption(
                "programme year",
                f"calendar years from the job's start ({calendar.start}): spend is split"
                " between them evenly over the job's duration, and the yearly limits apply in each",
                Basis.DERIVED,
                "the texts grant yearly sums by budget year",
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
        pool_per_year=pool_per_year,
        calendar=calendar,
    )


def given_terms(rate: float, cap: float = math.inf) -> SubsidyTerms:
    """A subsidy stated by hand: a rate and, optionally, a cap (no programme)."""
    out = [Assumption("subsidy rate", f"{rate:.0%}", Basis.GIVEN, named("rate"))]
    if math.isfinite(cap):
        out.append(Assumption("subsidy cap", f"{cap:,.0f}", Basis.GIVEN, named("cap")))
    return SubsidyTerms(
        rate=rate, programme="", rule="given rate", cap_per_contract=cap, assumptions=tuple(out)
    )
