"""Parity rents: the rent at which a device with no known rent matches a priced alternative.

Where the catalogue has no rent for a device (an Ascend 910B), refusing to cost it is honest but
answers nothing; the question a buyer has is "at what rent is it as good as the one I was
quoted?". `parity` costs the same job on the priced device (`--vs`) and on the unpriced one, each
through the one resolver (cost.scenario) with its own chip origin and so its own programme terms,
and solves for the rent at which both cost the same net for the same work. A training or serving
job is the same job on both (each side's rate from the same kind of evidence); hours and
contracts become the device-hours the priced side buys, converted by the two devices' published
rates for the model where given, else with a device-hour of each taken as the same work (said so).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from subsidybench.cost.answer import Estimate
from subsidybench.cost.request import Request
from subsidybench.errors import UserError, named

# The search brackets any rent: a millionth to a million of a currency unit per device-hour.
_LOW, _HIGH = 1e-6, 1e6
_GRID = 241  # 20 points a decade: neighbours differ by 12%
_STEPS = 40  # bisection in log space: 40 halvings of a 12% step leave ~1e-13 relative width

_RATE_FLAGS = ("run", "tflops", "hardware_tflops", "tokens_per_s")


@dataclass(frozen=True, slots=True)
class Parity:
    """The rents at which `device` costs the same as `vs` on one job, and the answers behind."""

    device: str
    vs: str
    currency: str
    crossings: tuple[float, ...]
    """Rents per device-hour of `device` at which both cost the same net, rising. More than one
    where a programme's subsidy does not grow steadily with the spend (a cap, a tier)."""
    cheaper_at_low: bool
    """Whether `device` is the cheaper one below the first crossing."""
    vs_rent: float
    vs_rent_source: str
    per_unit: str
    """What the two sides are compared per: the job, or a device-hour of equal work."""
    work_basis: str
    vs_answer: Estimate
    answer: Estimate | None
    """`device` costed at the first crossing."""

    @property
    def rent(self) -> float | None:
        return self.crossings[0] if self.crossings else None

    def line(self) -> str:
        span = f"from {_LOW:g} to {_HIGH:,.0f} {self.currency} per device-hour"
        if not self.crossings:
            verb = "costs no more than" if self.cheaper_at_low else "costs more than"
            return f"{self.device} {verb} {self.vs} at any rent {span} under these programmes"
        first, rest = self.crossings[0], self.crossings[1:]
        cheaper, dearer = (self.vs, self.device) if self.cheaper_at_low else (self.device, self.vs)
        text = (
            f"{self.device} matches {self.vs} at {first:,.4g} {self.currency} per device-hour"
            f" under these programmes; above that {cheaper} is cheaper"
        )
        for rent in rest:
            cheaper, dearer = dearer, cheaper
            text += f"; from {rent:,.4g} {self.currency} {cheaper} is cheaper again"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "vs": self.vs,
            "currency": self.currency,
            "parity_rent_per_device_hour": self.rent,
            "crossings": list(self.crossings),
            "vs_rent_per_device_hour": self.vs_rent,
            "vs_rent_source": self.vs_rent_source,
            "compared_per": self.per_unit,
            "work_basis": self.work_basis,
            "vs_net": self.vs_answer.net,
            "net_at_parity": None if self.answer is None else self.answer.net,
            "line": self.line(),
        }


def _answer(r: Request) -> tuple[Estimate, Any]:
    from subsidybench.cost import evaluate
    from subsidybench.cost.scenario import resolve

    s = resolve(r)
    if s.sweeping or s.kind == "reach":
        raise UserError(
            f"{named('vs')} answers one rent: give single values and a job, not a sweep"
        )
    e = evaluate.one(s)
    assert isinstance(e, Estimate)
    return e, s


def parity(r: Request) -> Parity:
    """The rent at which r.profile costs the same per unit of work as r.vs (UserError names
    what is missing)."""
    if r.vs is None or r.profile is None:
        raise UserError(
            f"{named('vs')} needs {named('profile')}: the device whose rent is solved for"
        )
    if r.price is not None or r.capex is not None:
        raise UserError(
            f"{named('vs')} solves for {named('profile')}'s rent: drop"
            f" {named('price')}/{named('capex')} (or rank both with {named('compare')})"
        )
    if r.vs == r.profile:
        raise UserError(f"{named('vs')} {r.vs} is the {named('profile')} itself")
    if r.estimate_on is not None:
        raise UserError(
            f"{named('vs')} and {named('estimate_on')}: give one device to cost, with"
            f" {named('profile')}"
        )
    kind = "train" if r.train is not None else "serve" if r.serve is not None else "money"
    vs_request, work_basis = _vs_request(r, kind)
    try:
        vs_answer, vs_scenario = _answer(vs_request)
    except UserError as e:
        # The priced side's question names --vs's device as its profile: say it as --vs.
        raise e.renamed({"profile": named("vs")}) from None
    if vs_scenario.rent is None or vs_answer.net is None:
        raise UserError(
            f"{named('vs')} {r.vs}: it has no rent in the catalogue (`subsidybench profiles show"
            f" {r.vs}`);"
            " parity needs a priced alternative"
        )
    currency = vs_scenario.currency
    assert currency is not None
    vs_rent = float(np.asarray(vs_scenario.rent).reshape(-1)[0])
    weight_a, weight_b = _weights(r, kind)
    base, unit = r, _unit(kind)
    if kind == "money":
        # The same work on each side: the device-hours the priced side's hours or contract buy,
        # in the unpriced device's hours (its published rate against the other's, else one to
        # one). A contract is money, not work: at a fixed value a dearer rent buys fewer hours.
        hours = vs_answer.device_hours * weight_b / weight_a
        base = dataclasses.replace(r, hours=np.array([hours]), contract=None)
        unit = (
            f"the same work: the {vs_answer.device_hours:,.6g} device-hours of {r.vs} the job"
            f" buys there, {hours:,.6g} of {r.profile}"
        )
    target = vs_answer.net

    def at(rent: float) -> Estimate:
        trial = dataclasses.replace(
            base,
            vs=None,
            price=np.array([rent]),
            currency=currency,
            price_source=f"the parity rent against {r.vs} (solved for)",
            model=None if kind == "money" else r.model,
            market=None,  # the question's market and rent_id choose the priced side's rent
            rent_id=None,
        )
        return _answer(trial)[0]

    def gap(rent: float) -> float:
        net = at(rent).net
        assert net is not None
        return net - target

    crossings, cheaper_at_low = _solve(gap)
    first = crossings[0] if crossings else None
    return Parity(
        r.profile,
        r.vs,
        currency,
        crossings,
        cheaper_at_low,
        vs_rent,
        vs_scenario.price_source,
        unit,
        work_basis,
        vs_answer,
        None if first is None else at(first),
    )


def parity_of_estimate(base: Request, target: str) -> Parity:
    """The rent at which `target`, at the rate of `base`'s run scaled to it by the roofline
    (an estimate), costs the same per FLOP as the run's own priced device (`base`, one question
    of `report`'s costs table). For a report's estimate target that has no rent."""
    vs_answer, vs_scenario = _answer(base)
    if vs_scenario.rent is None or vs_answer.net is None or not vs_answer.flops_per_s:
        raise UserError(f"{base.label}: no priced rate to match")
    currency = vs_scenario.currency
    assert currency is not None

    def per_flop(e: Estimate) -> float:
        assert e.net is not None and e.flops_per_s
        return e.net / (e.device_hours * e.flops_per_s)

    target_cost = per_flop(vs_answer)

    def at(rent: float) -> Estimate:
        trial = dataclasses.replace(
            base,
            profile=None,
            estimate_on=target,
            price=np.array([rent]),
            currency=currency,
            price_source=f"the parity rent against {base.label} (solved for)",
            uncertain={},
            market=None,
            rent_id=None,
        )
        return _answer(trial)[0]

    crossings, cheaper_at_low = _solve(lambda rent: per_flop(at(rent)) - target_cost)
    vs_rent = float(np.asarray(vs_scenario.rent).reshape(-1)[0])
    first = crossings[0] if crossings else None
    return Parity(
        target,
        vs_scenario.device.id if vs_scenario.device is not None else base.label,
        currency,
        crossings,
        cheaper_at_low,
        vs_rent,
        vs_scenario.price_source,
        "FLOP of the same workload",
        "the measured rate against its roofline estimate on the target (an estimate)",
        vs_answer,
        None if first is None else at(first),
    )


def _solve(gap: Any) -> tuple[tuple[float, ...], bool]:
    """The rents where `gap` changes sign, and whether it is at or below 0 at the lowest rent.

    A log grid is scanned for sign changes, then each is refined by bisection: a programme with
    a time window makes the cost per unit rise and fall with the rent, so one bisection could
    miss a crossing."""
    grid = np.geomspace(_LOW, _HIGH, _GRID)
    gaps = [gap(float(x)) for x in grid]
    crossings = []
    for i in range(len(grid) - 1):
        if (gaps[i] > 0) != (gaps[i + 1] > 0):
            crossings.append(_bisect(gap, float(grid[i]), float(grid[i + 1]), gaps[i] > 0))
    return tuple(crossings), gaps[0] <= 0


def _bisect(gap: Any, low: float, high: float, positive_low: bool) -> float:
    a, b = math.log(low), math.log(high)
    for _ in range(_STEPS):
        mid = (a + b) / 2
        if (gap(math.exp(mid)) > 0) == positive_low:
            a = mid
        else:
            b = mid
    return math.exp((a + b) / 2)


def _unit(kind: str) -> str:
    return "the same job" if kind != "money" else "the same device-hours"


def _vs_request(r: Request, kind: str) -> tuple[Request, str]:
    """The same question on the priced device: its own origin (so its own programme terms),
    its own rent, and a rate from the same kind of evidence as the costed side's."""
    common = dict(profile=r.vs, vs=None, domestic=None, price=None, published=None)
    if kind == "money":
        basis = (
            f"published rates for {r.model} on each device"
            if r.model is not None
            else "a device-hour of each taken as the same work (no rate compared: give"
            f" {r.name('model')} to weigh them by published rates)"
        )
        return dataclasses.replace(r, **common, model=None), basis
    if any(r.given(k) for k in _RATE_FLAGS):
        raise UserError(
            f"{named('vs')} needs the other device's rate from the same kind of evidence: give"
            f" {named('model')}"
            f" (published results on both) or {named('mfu')} (the same share of each peak)"
        )
    if r.mfu is not None:
        return dataclasses.replace(r, **common), f"the same {r.name('mfu')} of each device's peak"
    model = r.model
    if r.published is not None:
        from subsidybench.catalogue.published import load_published

        model = load_published(r.published, r.profiles_dirs, "published").model
    if model is None:
        raise UserError(
            f"{named('vs')} on a training or serving job needs a rate:"
            f" {named('published')}/{named('model')} or {named('mfu')}"
        )
    basis = f"published {model} results on each device"
    return dataclasses.replace(r, **common, model=model), basis


def _weights(r: Request, kind: str) -> tuple[float, float]:
    """Work per device-hour of each side, for hours and contracts (1 and 1: not compared)."""
    if kind != "money" or r.model is None:
        return 1.0, 1.0
    from subsidybench.cost.published import pick

    assert r.profile is not None and r.vs is not None
    a = pick(r.profile, r.model, "serve", r.tpot_ms, r.profiles_dirs)
    b = pick(r.vs, r.model, "serve", r.tpot_ms, r.profiles_dirs)
    return a.value, b.value
