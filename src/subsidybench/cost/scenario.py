"""One resolver: a costing question (cost.request.Request) into one resolved Scenario.

`subsidybench cost`, each [[option]] of `cost --compare` and each run of a report build a
Request and call `resolve`; nothing else turns flags, profiles, prices, exchange rates, chip
origin or programme terms into the cost model's inputs, so the three can never drift apart.
A Scenario carries its numbers (sweepable inputs as arrays, already in the answer's currency)
and the Assumptions they rest on, each with its basis; cost.evaluate turns it into an answer
(one estimate, a sweep grid, a ranking, or how far a subsidy goes).
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from subsidybench.catalogue.freshness import staleness_warnings
from subsidybench.cost.device import Device, RentChoice, check_rent_choice, load_device, rent_notes
from subsidybench.cost.inputs import written
from subsidybench.cost.job_inputs import cluster_inputs, job_kind, job_of, train_job
from subsidybench.cost.jobs import Job
from subsidybench.cost.model import Peak
from subsidybench.cost.owned import OwnedAsk, owned_inputs
from subsidybench.cost.published import needs_throughput, published_device
from subsidybench.cost.request import Request, check
from subsidybench.cost.terms import SubsidyTerms, given_terms, terms_from_programme
from subsidybench.cost.throughput import RunEvidence, ThroughputAxis, primitive_warning
from subsidybench.cost.throughput_inputs import resolve_throughput, run_evidence
from subsidybench.errors import UserError, named, said
from subsidybench.provenance import Assumption, Basis


@dataclass(frozen=True, slots=True)
class Scenario:
    """Everything one costing question resolves to. Money is in `currency` (None: no price)."""

    request: Request
    kind: str
    """Which job: train, serve, hours, contract, or reach (how far a subsidy goes)."""
    job: Job | None
    currency: str | None
    rent: np.ndarray | None = None
    price_basis: Basis = Basis.GIVEN
    price_source: str = ""
    owned: dict[str, np.ndarray] | None = None
    owned_source: str = ""
    throughput: ThroughputAxis | None = None
    peak: Peak | None = None
    devices: np.ndarray | None = None
    """None: nobody said how many devices share the device-hours (the wall time is unknown)."""
    devices_given: bool = False
    system: str | None = None
    """The system profile rented whole, whose device count `devices` is (when not given)."""
    efficiency: np.ndarray | None = None
    efficiency_basis: Basis = Basis.GIVEN
    efficiency_source: str = "an assumption, not measured"
    wall_hours: float | None = None
    """The contract's duration, when given (duration_days) rather than derived from devices."""
    terms: SubsidyTerms | None = None
    subsidy_rates: np.ndarray | None = None
    """Subsidy rates given by hand (rate), for a sweep."""
    programme: Any = None
    domestic: bool = False
    spend: Any = None
    device: Device | None = None
    assumptions: tuple[Assumption, ...] = field(default_factory=tuple)
    warnings: tuple[str, ...] = ()
    """One line each: what the answer rests on that may be out of date (catalogue.freshness)."""
    price_currency: str | None = None
    """The currency the price was stated in, before any exchange into `currency`."""
    fx_pair: tuple[str, str] | None = None
    """(base, quote) of the exchange rate used, if any: ranges move money by it."""
    fx_rate: float | None = None
    """That rate: quote per base."""
    power_rate: float = 0.0
    """Owned: the share of the power bill a power_subsidy pays, shown apart from the price."""
    # What the answer's arithmetic takes from the question besides (cost.evaluate and
    # cost.uncertainty read these, never the Request).
    label: str = ""
    names: Mapping[str, str] = field(default_factory=dict)
    """How the user wrote each input (cost.inputs.written), for the sources an answer prints."""
    swept: tuple[str, ...] = ()
    """The inputs given several values: the axes of a sweep."""
    evidence: RunEvidence | None = None
    """The run (and further runs of its workload) the rate was measured by."""
    estimated: bool = False
    """The measured rate was scaled by the roofline to the device costed (cost.device)."""
    hours: np.ndarray | None = None
    contract: np.ndarray | None = None
    contract_size: float | None = None
    reach_amount: str | None = None
    """How far a subsidy goes: of `cap`, `pool` or an amount (text as given)."""
    cost_of_capital: np.ndarray | None = None
    uncertain: Mapping[str, Any] = field(default_factory=dict)
    """Inputs given as ranges a~b (their Spreads, by input name)."""
    seed: int | None = None
    draws: float | None = None

    @property
    def sweeping(self) -> list[str]:
        return list(self.swept)

    def name(self, key: str) -> str:
        """How the user wrote input `key` (a flag, a comparison file's key), for a source."""
        return written(key, self.names)


class Money:
    """Money into the answer's currency, at a dated (or given) rate said among the assumptions."""

    def __init__(
        self, target: str | None, dirs: tuple[Path, ...], fx: float | None, fx_name: str
    ) -> None:
        self.target = target
        self.dirs = dirs
        self.fx = fx
        self.fx_name = fx_name
        """How the question wrote its exchange rate (Request.name), the source of a rate given."""
        self.used: dict[tuple[str, str], Assumption] = {}
        self.rates: list[Any] = []
        """The FxRate records used (their dates are judged for staleness)."""
        self.rate: float | None = None

    def factor(self, source: str) -> float:
        from subsidybench.catalogue.fx import load_fx

        if self.target is None or source == self.target:
            return 1.0
        rate = load_fx(source, self.target, self.dirs, self.fx)
        key = (rate.base, rate.quote)
        self.rate = rate.rate
        if key not in self.used:
            if self.used:
                raise UserError("more than two currencies in one answer: price them in one")
            given = self.fx is not None
            if not given:
                self.rates.append(rate)
            self.used[key] = Assumption(
                "exchange rate",
                f"{rate.describe()} ({rate.date})",
                Basis.GIVEN if given else Basis.DATA,
                self.fx_name if given else rate.source,
            )
        return rate.factor(source, self.target)


def resolve(request: Request) -> Scenario:
    """The one way from a question to the cost model's inputs; UserError names the input."""
    check(request)
    r = request
    kind = job_kind(r)
    notes: list[Assumption] = []
    device = _device(r)
    if device is not None:
        where = r.name("estimate_on" if r.estimate_on else "profile" if r.profile else "published")
        notes.append(Assumption("device", f"{device.label} [{device.id}]", Basis.DATA, where))

    # Chip origin.
    if r.domestic is not None:
        domestic, origin = (
            r.domestic,
            Assumption("chip origin", _origin(r.domestic), Basis.GIVEN, r.name("domestic")),
        )
    elif device is not None:
        domestic = device.domestic
        origin = Assumption("chip origin", _origin(domestic), Basis.DATA, f"profile {device.id}")
    else:
        domestic = False
        origin = Assumption("chip origin", "not domestic", Basis.GIVEN, "not given: taken so")

    # Price and the answer's currency.
    owned = r.capex is not None
    owned_flags = ("lifetime", "tariff", "pue", "hosting", "utilisation")
    if not owned and any(r.given(k) for k in owned_flags):
        raise UserError(f"owned-hardware inputs need {named('capex')}")
    if owned and r.price is not None:
        raise UserError(f"give {named('price')} (rent) or {named('capex')} (owned), not both")
    rent = None
    price_ccy = None
    basis, source = r.price_basis, r.price_source
    rent_choice = RentChoice(r.market, r.rent_id)
    check_rent_choice(rent_choice, device, r.price is not None, owned)
    if r.currency is not None and r.price is None and not owned and kind != "contract":
        raise UserError(
            f"{named('currency')} is the currency of {named('price')}, {named('capex')} or"
            f" {named('contract')}, and none"
            f" is given: give {named('price')} with it, or {named('report_currency')}"
            f" {r.currency.upper()} to answer"
            f" in {r.currency.upper()} at a profile's rent"
        )
    if r.price is not None or owned:
        if r.currency is None:
            raise UserError(f"give the currency of {named('price')} (e.g. {named('currency')} USD)")
        price_ccy = r.currency.upper()
        source = source or r.name("capex" if owned else "price")
        rent = r.price
    programme = _programme(r)
    # One rent per device-hour, whatever currency the answer or the programme is in: the market
    # is said (market, rent_id) or the default rule picks among all, and the answer says which.
    point = None
    if device is not None and rent is None and not owned:
        point = device.rent(r.market, r.rent_id)
    if point is not None:
        assert device is not None
        rent, price_ccy, basis = np.array([point.amount]), point.currency, point.basis
        source, others = rent_notes(rent_choice, device, point)
        source = said(source, r.name)  # the inputs it names, as the question's user wrote them
        if others is not None:
            notes.append(others.said(r.name))
    currency = r.report_currency.upper() if r.report_currency else price_ccy
    if kind == "contract" and rent is None and not owned:
        currency = _contract_currency(r)
    if currency is None and programme is not None and kind == "reach":
        currency = programme.currency
    money = Money(currency, r.profiles_dirs, r.fx, r.name("fx"))
    if rent is not None and price_ccy is not None and price_ccy != currency:
        converted = rent * money.factor(price_ccy)
        source = f"{source}: {float(rent[0]):,.4g} {price_ccy}"
        rent = converted
    if r.power_subsidy is not None and not owned:
        raise UserError(
            f"{named('power_subsidy')} pays part of an owned device's power bill: give"
            f" {named('capex')}"
        )
    owned_hw, power_rate = (
        owned_inputs(
            _owned_ask(r), run_evidence(r), device, money.factor, price_ccy, notes, domestic
        )
        if owned
        else (None, 0.0)
    )
    if currency is None or (rent is None and owned_hw is None):
        needs = _needs_price(r, kind, programme)
        if needs and device is not None:
            # The profile was asked for its price and has none: say so, not "give a profile".
            raise UserError(
                f"{needs} needs a price, and {device.id} has no rent in the catalogue"
                f" (`subsidybench profiles show {device.id}` says what is known): give"
                f" {named('price')}"
                f" with {named('currency')}, or {named('capex')} (owned)"
            )
        if needs:
            raise UserError(
                f"{needs} needs a price: {named('price')} with {named('currency')},"
                f" {named('capex')} (owned), or a {named('profile')}"
                " with a rent"
            )
        if kind != "contract":
            currency = None

    # Throughput, peak and cluster.
    peak = _peak(r, device)
    rate = resolve_throughput(r, device, peak, train_job(r) if r.train is not None else None)
    if rate is None and kind in ("train", "serve"):
        raise needs_throughput(device, r.profiles_dirs)
    job = job_of(r, kind, rate)
    if rate is not None and rate.implied:
        kind = "train"
    scaled = rate is not None and not rate.implied
    # A published rate is per device inside the cluster it was published on: its scaling is
    # already in it, so it is not scaled again unless the user says how (cost.published).
    at_scale = scaled and rate is not None and rate.basis is Basis.PUBLISHED
    at_scale = at_scale and r.scaling_efficiency is None and r.scaling_from is None
    asked = replace(r, scaling_efficiency=np.array([1.0])) if at_scale else r
    devices, devices_given, efficiency, eff_basis, eff_source = cluster_inputs(
        asked, kind, scaled, notes, device
    )
    if at_scale:
        eff_basis = Basis.PUBLISHED
        eff_source = "1: the published rate is per device at its own scale (its conditions)"
    wall = None
    if r.duration_days is not None:
        if kind in ("train", "serve") and not (rate is not None and rate.implied):
            raise UserError(
                f"{named('duration_days')}: a training or serving job's wall time follows from"
                f" its throughput and devices; give {named('devices')} instead"
            )
        if devices_given:
            raise UserError(f"give {named('devices')} or {named('duration_days')}, not both")
        wall = r.duration_days * 24.0

    # Subsidy terms.
    spend = _spend(r, owned)
    terms = None
    start = r.start or datetime.date.today()
    if programme is not None or r.power_subsidy is not None:
        notes.append(
            Assumption(
                "job start",
                str(start),
                Basis.GIVEN if r.start else Basis.DEFAULT,
                r.name("start") if r.start else f"not given: today ({r.name('start')} DATE)",
            )
        )
    elif r.assume_valid:
        raise UserError(f"{named('assume_valid')} needs a programme ({named('subsidy')})")
    if programme is not None:
        terms = terms_from_programme(
            programme,
            spend=spend,
            domestic=domestic,
            small_firm=r.small_firm,
            to_job_currency=money.factor(programme.currency),
            job_currency=currency,
            rate=None if r.rate is None else float(r.rate[0]),
            start=start,
            assume_valid=r.assume_valid,
            origin_given=r.domestic is not None or device is not None,
        )
        if r.cap is not None:
            raise UserError(
                f"{named('cap')} is for a {named('rate')} given by hand; a programme states its own"
                " caps"
            )
    elif r.rate is not None:
        terms = given_terms(float(r.rate[0]), math.inf if r.cap is None else r.cap)
    elif r.cap is not None:
        raise UserError(f"{named('cap')} needs {named('rate')} (or give a {named('subsidy')})")
    elif r.small_firm:
        raise UserError(f"{named('small_firm')} needs {named('subsidy')}")
    timed = terms is not None and math.isfinite(terms.window_hours) and kind != "reach"
    hours_known = rent is not None or owned_hw is not None or kind != "contract"
    if timed and wall is None and not (devices_given and hours_known):
        assert terms is not None
        where = f"{terms.programme}'s {terms.rule} lasts {terms.window_hours:,.0f} hours of a"
        if not hours_known:
            raise UserError(
                f"{where} contract, so the answer depends on how long the contract runs: give"
                f" {named('duration_days')} DAYS (with no price, {named('devices')} cannot tell it)"
            )
        share = f", or {named('devices')} (how many devices share the device-hours)"
        raise UserError(
            f"{where} contract, so the answer depends on how long the job runs: give"
            f" {named('duration_days')} DAYS{share if r.devices_asked else ''}"
        )

    notes.append(origin)
    notes.extend(money.used.values())
    stale = [point, programme, *money.rates]
    warned = [w for item in stale if item is not None for w in staleness_warnings(item)]
    if (
        r.run is not None
        and kind in ("train", "serve", "reach")
        and job is not None
        and (
            rate is None or rate.serving is None  # a serving curve is a model, not a primitive
        )
    ):
        evidence = run_evidence(r)
        assert evidence is not None
        primitive = primitive_warning(evidence)
        if primitive:
            notes.append(Assumption("workload", primitive, Basis.NOT_APPLIED, r.name("run")))
            warned.append(primitive)
    return Scenario(
        warnings=tuple(warned),
        request=r,
        kind=kind,
        job=job,
        currency=currency,
        rent=rent,
        price_basis=basis,
        price_source=source,
        owned=owned_hw,
        owned_source=source,
        throughput=rate,
        peak=peak,
        devices=devices,
        devices_given=devices_given,
        system=device.id
        if device is not None and device.system_devices and not r.devices
        else None,
        efficiency=efficiency,
        efficiency_basis=eff_basis,
        efficiency_source=eff_source,
        wall_hours=wall,
        terms=None if terms is None else terms.said(r.name),
        subsidy_rates=r.rate if r.rate is not None and r.rate.size > 1 else None,
        programme=programme,
        domestic=domestic,
        spend=spend,
        device=device,
        assumptions=tuple(notes),
        price_currency=price_ccy,
        fx_pair=next(iter(money.used), None),
        fx_rate=money.rate,
        power_rate=power_rate,
        label=r.label,
        names=r.names,
        swept=tuple(r.sweeping()),
        evidence=run_evidence(r),
        estimated=r.estimate_on is not None,
        hours=r.hours,
        contract=r.contract,
        contract_size=r.contract_size,
        reach_amount=r.reach,
        cost_of_capital=r.cost_of_capital,
        uncertain=r.uncertain,
        seed=r.seed,
        draws=r.draws,
    )


def _contract_currency(r: Request) -> str:
    """A contract priced by nobody is money in the currency the user states."""
    given = {c.upper() for c in (r.currency, r.report_currency) if c is not None}
    if not given:
        raise UserError(
            f"{named('contract')}: give the contract's currency ({named('currency')} CNY)"
        )
    if len(given) > 1:
        raise UserError(
            f"{named('contract')} is in {named('currency')} {r.currency}, the answer in"
            f" {named('report_currency')}"
            f" {r.report_currency}: with no price, state the contract in the answer's currency"
        )
    return given.pop()


def _origin(domestic: bool) -> str:
    return "domestic" if domestic else "not domestic"


def _device(r: Request) -> Device | None:
    name = r.estimate_on or r.profile or published_device(r.published, r.profiles_dirs)
    if r.estimate_on and r.profile and r.profile != r.estimate_on:
        raise UserError(
            f"{named('estimate_on')} names the device costed; {named('profile')} {r.profile} is"
            " another"
        )
    said = "estimate_on" if r.estimate_on else "profile" if r.profile else "published"
    return None if name is None else load_device(name, r.profiles_dirs, r.dtype, said)


def _programme(r: Request) -> Any:
    if r.subsidy is None or not isinstance(r.subsidy, str):
        return r.subsidy
    from subsidybench.catalogue.subsidies import load_programme

    return load_programme(r.subsidy, r.profiles_dirs, "subsidy")


def _needs_price(r: Request, kind: str, programme: Any) -> str:
    """Which part of the question is about money ('' when none is: time and hours only)."""
    if kind == "reach":
        return named("reach")
    if kind == "contract":
        return ""  # a contract is money: its subsidy and net need no price (device-hours do)
    if programme is not None or r.rate is not None:
        return "a subsidy"
    if r.report_currency is not None:
        return named("report_currency")
    return ""


def _peak(r: Request, device: Device | None) -> Peak | None:
    """The dense peak MFU is measured against: peak_tflops, else the profile's, of the dtype
    (bf16 by default, as papers quote MFU)."""
    if r.peak_tflops is not None:
        return Peak(r.peak_tflops, r.dtype, f"given by hand ({r.name('peak_tflops')})")
    if device is not None and device.peak is not None:
        return device.peak
    return None


def _spend(r: Request, owned: bool) -> Any:
    from subsidybench.catalogue.subsidies import Spend

    if r.spend is None:
        return Spend.COMPUTE_BUILD if owned else Spend.COMPUTE_RENT
    kinds = {s.value: s for s in Spend}
    if r.spend not in kinds:
        raise UserError(f"{named('spend')}: {r.spend!r} is not one of {', '.join(kinds)}")
    return kinds[r.spend]


def _owned_ask(r: Request) -> OwnedAsk:
    assert r.capex is not None
    return OwnedAsk(
        capex=r.capex,
        lifetime=r.lifetime,
        cost_of_capital=r.cost_of_capital,
        power_w=r.power_w,
        pue=r.pue,
        tariff=r.tariff,
        hosting=r.hosting,
        utilisation=r.utilisation,
        power_subsidy=r.power_subsidy,
        dirs=r.profiles_dirs,
    )
