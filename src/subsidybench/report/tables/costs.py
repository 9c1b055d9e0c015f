"""The costs table: each valid measured result's cost per unit of work before and after the
programme, asked of the one resolver (cost.scenario) as `cost` and `cost --compare` ask it: one
device-hour of the run's device at its price. With --estimate-on, the same on other devices,
the measured rate scaled by the roofline and labelled as an estimate beside every figure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from subsidybench.errors import UserError
from subsidybench.provenance import Assumption, Basis
from subsidybench.results.query import is_costable

if TYPE_CHECKING:
    import pandas as pd

    from subsidybench.cost.request import Request
    from subsidybench.report.tables import LabelledRun, ReportOptions

# Shown elsewhere in the report (the throughput beside each cost, the run's device in the runs
# table) or trivially true of a one-device-hour question.
_SHOWN_ELSEWHERE = {"throughput", "device-hours", "devices", "device", "wall time"}


@dataclass(frozen=True, slots=True)
class Priced:
    """A run the report can cost: its question (one device-hour on `device` at its price)."""

    lr: LabelledRun
    device: str | None
    """The profile costed: the run's own, or an --estimate-on target."""
    request: Request

    @property
    def estimated(self) -> bool:
        return self.request.estimate_on is not None


def _device(name: str | None, dirs: tuple[Any, ...]) -> Any:
    from subsidybench.cost.device import load_device

    if name is None:
        return None
    try:
        return load_device(name, dirs)
    except UserError:
        return None  # a profile of another machine's catalogue: said in the notes


def priced_runs(
    runs: Sequence[LabelledRun], options: ReportOptions, notes: list[str]
) -> tuple[str | None, list[Priced]]:
    """The report's currency and each run (and estimate target) that has a price."""
    from subsidybench.cost.request import Request

    names = {lr.label for lr in runs} | {lr.run.profile for lr in runs if lr.run.profile}
    names |= set(options.estimate_on)
    for spec in options.prices:
        if spec.target is not None and spec.target not in names:
            raise UserError(
                f"--price {spec.target}=...: no run is labelled {spec.target!r} or was measured"
                f" on profile {spec.target!r} (runs: {', '.join(lr.label for lr in runs)})"
            )
    found: list[tuple[LabelledRun, str | None, Any, str, str | None]] = []
    no_rent: list[tuple[LabelledRun, str]] = []
    for lr in runs:
        targets: list[str | None] = [lr.run.profile]
        if lr.run.profile is not None:
            targets += [t for t in options.estimate_on if t != lr.run.profile]
        for target in targets:
            # The profile's default rent (cost.device): never chosen by the answer's or the
            # programme's currency, so a subsidy cannot change the price of a device-hour.
            estimate = target is not None and target != lr.run.profile
            label = f"{lr.label} on {target} (estimate)" if estimate else lr.label
            device = _device(target, options.profiles_dirs)
            keys = {label, lr.label, target} if not estimate else {target}
            spec = next((p for p in options.prices if p.target in keys), None)
            spec = spec or next((p for p in options.prices if p.target is None), None)
            if spec is not None:
                flag = f"--price {spec.target}=" if spec.target else "--price "
                given = str(spec.spread) if spec.spread is not None else f"{spec.amount:g}"
                found.append((lr, target, spec, f"{flag}{given} {spec.currency}", label))
            elif target is not None and device is None:
                notes.append(
                    f"{label}: profile {target} is not in the catalogue: no rent to cost with"
                    " (give --price or --profiles-dir)"
                )
            elif device is None or (rent := device.rent()) is None:
                where = f"profile {device.id} has no rent" if device is not None else "no profile"
                notes.append(f"{label}: not costed: {where}; give --price {label}=AMOUNT")
                if estimate and device is not None:
                    no_rent.append((lr, target))
            else:
                found.append((lr, target, rent, "", label))
    priced_labels = {label for *_, label in found}
    unpriced = [lr.label for lr in runs if lr.label not in priced_labels]
    if options.programme is not None and unpriced:
        # A note at the bottom of a long page is missed: a reader would take the report as
        # costed under the programme. Refused, naming the runs and the fix.
        raise UserError(
            f"--subsidy {options.programme.id}: no price for {', '.join(unpriced)}, so the"
            f" subsidy cannot be applied to it; give --price {unpriced[0]}=AMOUNT (and"
            " --currency), or leave out --subsidy"
        )
    currency = options.currency.upper() if options.currency else None
    if currency is None and options.programme is not None:
        currency = options.programme.currency
    if currency is None and found:
        currency = found[0][2].currency
    priced = []
    for lr, target, price, source, label in found:
        given = bool(source)
        request = Request(
            hours=np.array([1.0]),
            run=lr.run,
            run_label=lr.label,
            profile=target if target == lr.run.profile else None,
            estimate_on=target if target != lr.run.profile else None,
            price=np.array([price.amount]) if given else None,
            currency=price.currency if given else None,
            price_source=source,
            report_currency=currency,
            fx=options.fx,
            subsidy=options.programme,
            small_firm=options.small_firm,
            duration_days=options.duration_days,
            rate=None if options.rate is None else np.array([options.rate]),
            profiles_dirs=options.profiles_dirs,
            label=label or lr.label,
            names={"price": "--price", "report_currency": "--in", "duration_days": "--duration"},
            devices_asked=False,
            uncertain={"price": price.spread} if given and price.spread is not None else {},
        )
        priced.append(Priced(lr, target, request))
    notes.extend(_parity_notes(no_rent, priced, options))
    return currency, priced


def _parity_notes(
    no_rent: Sequence[tuple[LabelledRun, str]], priced: Sequence[Priced], options: ReportOptions
) -> list[str]:
    """For an estimate target with no rent: the rent at which it matches the run's own priced
    device per FLOP of the reference workload (cost.parity), one note each."""
    from subsidybench.cost.parity import parity_of_estimate
    from subsidybench.results.query import reference_result

    out = []
    for lr, target in no_rent:
        own = next((p for p in priced if p.lr is lr and not p.estimated), None)
        reference = reference_result(lr.run, options.sweep_workload)
        if own is None or reference is None:
            continue
        try:
            found = parity_of_estimate(replace(own.request, workload=reference.id), target)
        except UserError:
            continue
        out.append(f"{lr.label} on {target} (estimate): {found.line()}, per FLOP of {reference.id}")
    return out


def costs_table(
    priced: Sequence[Priced],
    options: ReportOptions,
    notes: list[str],
    live: list[tuple[str, Any, Any]] | None = None,
) -> tuple[pd.DataFrame, list[tuple[str, Assumption]], dict[str, float]]:
    """The costs table, the assumptions behind it, and the programme's rate for each run; each
    run's reference result (its sweep's) goes into `live` as (label, scenario, answer) for the
    workbook's live cost sheets."""
    import pandas as pd

    from subsidybench.cost.evaluate import one
    from subsidybench.cost.model import PFLOP_HOUR
    from subsidybench.cost.scenario import resolve
    from subsidybench.cost.throughput import TOKEN_UNITS
    from subsidybench.results.query import reference_result

    rows: list[dict[str, Any]] = []
    assumptions: list[tuple[str, Assumption]] = []
    rates: dict[str, float] = {}
    for p in priced:
        label = p.request.label
        excluded = []
        for r in p.lr.run.results:
            if not (r.ok and r.work and r.work.flops > 0):
                continue
            if not is_costable(r):
                excluded.append(r.id)
                continue
            scenario = resolve(replace(p.request, workload=r.id))
            notes.extend(w for w in scenario.warnings if w not in notes)
            est: Any = one(scenario)
            reference = reference_result(p.lr.run, options.sweep_workload)
            if live is not None and reference is not None and reference.id == r.id:
                live.append((label, scenario, est))
            if scenario.terms is not None:
                rates[label] = scenario.terms.rate
            net_per_mtok = None
            if r.work.item_unit in TOKEN_UNITS:
                tokens: Any = one(resolve(replace(p.request, workload=r.id, metric="tokens")))
                net_per_mtok = tokens.net_per_million_tokens
            assert est.price is not None and scenario.throughput is not None
            pflop_hours = (est.flops or 0.0) / PFLOP_HOUR
            basis = scenario.throughput.basis.value
            # A price given as a range a~b: its midpoint is costed, its ends are kept beside it
            # in the report's currency (converted as the midpoint was).
            sp = p.request.uncertain.get("price")
            scale = est.price.amount / sp.centre if sp is not None else 0.0
            rows.append(
                {
                    "run": label,
                    "id": r.id,
                    "dtype": r.dtype.value,
                    "flops_per_s": est.flops_per_s,
                    "throughput_basis": basis,
                    "price_per_hour": est.price.amount,
                    "price_low": sp.low * scale if sp is not None else None,
                    "price_high": sp.high * scale if sp is not None else None,
                    "price_basis": est.price.basis.value,
                    "subsidy_rate": est.subsidy.effective_rate if est.subsidy else 0.0,
                    "rate_basis": Basis.PROGRAMME.value if scenario.terms else "no subsidy",
                    "net_price_per_hour": est.effective_price,
                    "gross_per_pflop_hour": est.price.amount / pflop_hours,
                    "net_per_pflop_hour": est.net_per_pflop_hour,
                    "net_per_million_tokens": net_per_mtok,
                    "currency": est.currency,
                    "basis": f"{Basis.DERIVED.value}: price / {basis} throughput"
                    + (f" ({scenario.throughput.source})" if p.estimated else ""),
                }
            )
            for a in est.assumptions:
                if a.name in _SHOWN_ELSEWHERE:
                    continue
                if a.name == "price" and sp is not None:
                    a = replace(a, value=f"{a.value}: the midpoint of {sp} {p.request.currency}")
                if a.name == "chip origin" and scenario.terms is None:
                    continue  # origin matters only to a programme's rate
                assumptions.append((label, a))
        if excluded:
            notes.append(f"{label}: not costed, their verdict is invalid: {', '.join(excluded)}")
    return pd.DataFrame(rows), assumptions, rates
