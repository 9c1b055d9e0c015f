"""Answers from resolved Scenarios (cost.scenario): one estimate, a sweep grid, a ranking of
options, or how far a subsidy goes. The arithmetic is the model's (cost.model, cost.sweep);
this module only picks the single values or the axes out of a Scenario and hands them over."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from subsidybench.cost import model
from subsidybench.cost.model import Cluster, Estimate, HourlyPrice, Option, OwnedHardware
from subsidybench.cost.reach import Reach, reach
from subsidybench.cost.scenario import Scenario
from subsidybench.cost.throughput import TERA, WorkUnit
from subsidybench.errors import UserError, named
from subsidybench.provenance import Assumption, Basis


def _first(values: np.ndarray | None, default: float | None = None) -> float | None:
    return default if values is None else float(np.asarray(values).reshape(-1)[0])


def price_of(s: Scenario) -> HourlyPrice | None:
    """The single price per device-hour (None where no money was asked for)."""
    if s.currency is None or (s.rent is None and s.owned is None):
        return None  # no money asked for, or a contract that is money without a price
    if s.owned is not None:
        hw = OwnedHardware(**{k: float(v[0]) for k, v in s.owned.items()}, currency=s.currency)
        return HourlyPrice.from_owned(hw, s.owned_source)
    assert s.rent is not None
    return HourlyPrice.rent(float(s.rent[0]), s.currency, s.price_basis, s.price_source)


def cluster_of(s: Scenario) -> Cluster:
    devices = int(_first(s.devices, 1.0) or 1)
    return Cluster(
        devices,
        _first(s.efficiency, 1.0) or 1.0,
        s.efficiency_basis,
        s.efficiency_source,
        *(
            (f"one {s.system} system, rented whole", Basis.DATA)
            if s.system
            else ("" if s.devices_given else "not given: taken as 1", Basis.GIVEN)
        ),
    )


def _peak_notes(s: Scenario) -> list[Assumption]:
    if s.peak is None or s.peak.dtype == "bf16":
        return []
    return [
        Assumption(
            "MFU convention",
            f"against the dense {s.peak.dtype} peak; papers quote MFU against the dense bf16"
            " peak, so compare with care",
            Basis.GIVEN,
            s.name("dtype"),
        )
    ]


def one(s: Scenario) -> Estimate | Reach:
    """The answer to a scenario whose every input has one value; the inputs its assumptions name
    (errors.named), said as the question's user wrote them."""
    result = _one(s)
    return replace(result, assumptions=tuple(a.said(s.name) for a in result.assumptions))


def _one(s: Scenario) -> Estimate | Reach:
    price = price_of(s)
    tp = None if s.throughput is None else s.throughput.one()
    cluster = cluster_of(s)
    terms, build = s.terms, None
    if terms is not None and s.owned is not None and price is not None:
        assert price.owned is not None
        build = model.build_subsidy(price.owned, terms, cluster.devices)
        terms = None
    extra = [*s.assumptions, *_peak_notes(s)]
    if s.kind == "reach":
        return _reach(s, price, tp, cluster, extra)
    assert s.job is not None
    return model.estimate(
        s.job,
        price,
        tp,
        cluster,
        terms,
        _first(s.cost_of_capital),
        label=s.label,
        extra_assumptions=extra,
        build=build,
        peak=s.peak,
        wall_hours=s.wall_hours,
        devices_known=s.devices is not None,
        power_rate=s.power_rate,
        currency=s.currency,
    )


def rank(scenarios: Sequence[Scenario]) -> list[Estimate]:
    """The same job under each scenario, cheapest per unit of useful work first."""
    options = []
    for s in scenarios:
        price = price_of(s)
        if price is None or s.throughput is None:
            raise UserError(f"option {s.label!r}: a ranking needs a price and a throughput")
        options.append(
            Option(
                s.label,
                price,
                s.throughput.one(),
                s.terms,
                cluster_of(s),
                (*s.assumptions, *_peak_notes(s)),
                s.peak,
            )
        )
    job = scenarios[0].job
    assert job is not None
    return model.compare(job, options, _first(scenarios[0].cost_of_capital))


def _reach(
    s: Scenario, price: HourlyPrice | None, tp: Any, cluster: Cluster, extra: list[Assumption]
) -> Reach:
    terms = s.terms
    if terms is None:
        raise UserError(
            f"{named('reach')} needs a rate: give {named('subsidy')} or {named('rate')}"
        )
    if price is None:
        raise UserError(
            f"{named('reach')} needs a price: {named('price')} with {named('currency')}, or"
            f" {named('capex')}"
        )
    firm_cap = terms.cap_per_firm_year
    if not math.isfinite(firm_cap):
        firm_cap = terms.cap_per_contract
    text = s.reach_amount or ""
    if text == "cap":
        if not math.isfinite(firm_cap):
            who = terms.programme or "the subsidy"
            raise UserError(f"{who} states no cap per firm: give {named('reach')} AMOUNT")
        amount, label, basis = firm_cap, "a firm's cap", Basis.PROGRAMME
    elif text == "pool":
        programme = s.programme
        if programme is None or programme.pool.value is None:
            raise UserError(
                f"{named('reach')} pool needs a {named('subsidy')} whose pool is stated"
            )
        amount = terms.pool
        label, basis = f"the pool, period: {programme.pool_period}", Basis.PROGRAMME
    else:
        try:
            amount = float(text)
        except ValueError:
            raise UserError(
                f"{named('reach')}: expected cap, pool or an amount, got {text!r}"
            ) from None
        label, basis = "given by hand", Basis.GIVEN
    if not (math.isfinite(amount) and amount > 0):
        raise UserError(
            f"{named('reach')}: {label} is {amount:,.0f} {s.currency}: no money to go anywhere"
        )
    if math.isfinite(terms.window_hours):
        # How far money goes at a rate that lapses depends on how fast it is spent: say so.
        extra = [
            *extra,
            Assumption(
                "rate window",
                f"{terms.rate:.0%} taken for all spend; the programme limits it to "
                f"{terms.window_hours:,.0f} hours of a contract",
                Basis.NOT_APPLIED,
            ),
        ]
    job = s.job if isinstance(s.job, model.TrainJob) else None
    return reach(
        amount,
        label,
        terms.rate,
        price,
        tp,
        cluster,
        job,
        s.contract_size,
        cap_per_firm=firm_cap,
        extra_assumptions=[*terms.assumptions, *extra],
        amount_basis=basis,
    )


def grid(s: Scenario) -> tuple[Any, list[Assumption]]:
    """Every combination of the inputs given several values (cost.sweep), and the assumptions."""
    from subsidybench.cost.sweep import sweep

    if s.kind == "reach":
        raise UserError(f"{named('reach')} takes single values; drop the lists to use it")
    if s.currency is None:
        raise UserError(
            f"a sweep compares money: give a price ({named('price')} with {named('currency')})"
        )
    if s.power_rate:
        raise UserError(f"{named('power_subsidy')} takes single answers; drop the lists to use it")
    if s.wall_hours is not None:
        raise UserError(
            f"{named('duration_days')} takes single answers; give {named('devices')} to sweep"
        )
    notes: list[Assumption] = []
    unit, per_second, mfu = WorkUnit.FLOPS, None, None
    if s.throughput is not None:
        unit, per_second, mfu = s.throughput.unit, s.throughput.per_second, s.throughput.mfu
        if mfu is not None:
            assert s.peak is not None
            notes.append(
                Assumption(
                    "throughput", f"MFU x {s.peak.describe()}", Basis.ESTIMATE, s.peak.source
                )
            )
        else:
            label = "TFLOP/s per device" if unit is WorkUnit.FLOPS else "tokens/s per device"
            if per_second is not None and per_second.size == 1:
                label = s.throughput.one().describe()
            notes.append(Assumption("throughput", label, s.throughput.basis, s.throughput.source))
    work = hours = contract = None
    if isinstance(s.job, model.TrainJob | model.ServeJob):
        notes.extend(model.job_assumptions(s.job))
        if s.throughput is None:
            raise UserError("a sweep of a job needs a throughput")
        if s.throughput.implied:
            raise UserError(
                f"a sweep cannot vary a rate implied by {named('hours')}: give it by hand"
            )
        if unit is WorkUnit.TOKENS:
            work = s.job.tokens
        else:
            work = s.job.flops
            if work is None:
                raise UserError(
                    f"serving at a FLOP rate needs the model size: give {named('params')}"
                )
    elif s.kind == "hours":
        hours = s.hours
    else:
        contract = s.contract
    rates: Any = 0.0
    cap, window, after, cap_year, calendar = math.inf, math.inf, 0.0, math.inf, None
    terms = s.terms
    if terms is not None:
        if s.owned is not None:
            raise UserError(
                f"a sweep of owned hardware cannot take a building subsidy; sweep {named('rate')}"
                f" without {named('subsidy')}, or drop the lists"
            )
        swept_rate = s.subsidy_rates is not None
        notes.extend(a for a in terms.assumptions if not (swept_rate and a.name == "subsidy rate"))
        if swept_rate:
            notes.append(Assumption("subsidy rate", "swept", Basis.GIVEN, s.name("rate")))
        rates = s.subsidy_rates if swept_rate else terms.rate
        cap, cap_year, calendar = terms.cap_total, terms.cap_year, terms.calendar
        if not swept_rate:
            window, after = terms.window_hours, terms.after_rate
    else:
        notes.append(
            Assumption(
                "subsidy", f"none (give {s.name('subsidy')} or {s.name('rate')})", Basis.GIVEN
            )
        )
    if s.owned is not None:
        notes.append(
            Assumption("price", "owned: capex as an annuity + energy + hosting", Basis.DERIVED)
        )
    elif s.rent is not None:
        notes.append(
            Assumption(
                "price", f"rent per device-hour, {s.currency}", s.price_basis, s.price_source
            )
        )
    # A contract with no price is money alone: swept as `value` hours at 1 an hour (gross =
    # value), and every column that would need hours is left out.
    moneyless = s.rent is None and s.owned is None
    frame = sweep(
        unit=unit,
        work=work,
        device_hours=hours,
        contract_value=contract,
        price_per_hour=1.0 if moneyless else (None if s.owned is not None else s.rent),
        owned=s.owned,
        per_second=per_second,
        mfu=mfu,
        peak_per_second=None if s.peak is None else s.peak.tflops * TERA,
        # Devices not known: no wall time, the whole spend at the start (as the single answer).
        devices=s.devices if s.devices is not None else math.inf,
        scaling_efficiency=s.efficiency if s.efficiency is not None else 1.0,
        rate=rates,
        cap=cap,
        window_hours=window,
        after_rate=after,
        cap_year=cap_year,
        calendar=calendar,
    )
    if s.devices is None and "wall_hours" in frame:
        frame = frame.drop(columns="wall_hours")
    if moneyless:
        hourly = ["price_per_hour", "device_hours", "wall_hours", "effective_price"]
        frame = frame.drop(columns=[c for c in hourly if c in frame.columns])
    return frame, [*notes, *s.assumptions]
