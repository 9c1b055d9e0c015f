"""Owned hardware's inputs: capex, lifetime, power and tariff (an OwnedAsk, as cost.scenario
reads them from a question), with where the power comes from (given, measured by the run, or
the profile's) and any programme that pays part of the power bill. Torch-free.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from subsidybench.cost.device import Device
from subsidybench.cost.throughput import RunEvidence, run_and_label
from subsidybench.errors import UserError, named
from subsidybench.provenance import Assumption, Basis


@dataclass(frozen=True, slots=True)
class OwnedAsk:
    """Owned hardware as a question states it: money in the price's currency (before any
    exchange), each input an array (one value, or a sweep's); None where not given."""

    capex: np.ndarray
    lifetime: np.ndarray | None = None
    cost_of_capital: np.ndarray | None = None
    power_w: np.ndarray | None = None
    pue: np.ndarray | None = None
    tariff: np.ndarray | None = None
    hosting: np.ndarray | None = None
    utilisation: np.ndarray | None = None
    power_subsidy: str | None = None
    """A programme paying part of the power bill (spend 'electricity'), id or path."""
    dirs: tuple[Path, ...] = ()

    def __post_init__(self) -> None:
        if self.capex is None:
            raise ValueError("owned hardware needs its capex")


def owned_inputs(
    ask: OwnedAsk,
    evidence: RunEvidence | None,
    device: Device | None,
    factor_from: Callable[[str], float],
    ccy: str | None,
    notes: list[Assumption],
    domestic: bool,
) -> tuple[dict[str, np.ndarray], float]:
    """Owned hardware's inputs to cost.pricing, in the answer's currency (`factor_from` converts
    from `ccy`): power as given, else as the run (`evidence`) measured, else the profile's; and
    the share of the power bill a power subsidy pays (0: none). The tariff stays as given: the
    subsidy is shown apart, as gross, power subsidy and net."""
    assert ccy is not None
    watts = ask.power_w
    if watts is None and evidence is not None:
        watts = _measured_watts(evidence, notes)
    if watts is None:
        if device is None or device.power_w is None:
            raise UserError(
                f"owned hardware needs {named('power_w')} (or a {named('profile')} with a power"
                " figure)"
            )
        watts = np.array([device.power_w])
        notes.append(
            Assumption("power per device", f"{device.power_w:g} W", Basis.DATA, device.power_source)
        )
    missing = [
        named(k)
        for k in ("lifetime", "cost_of_capital", "pue", "tariff")
        if getattr(ask, k) is None
    ]
    if missing:
        raise UserError(f"owned hardware needs {', '.join(missing)}")
    factor = factor_from(ccy)
    assert ask.tariff is not None
    tariff = ask.tariff * factor
    out = {
        "capex": ask.capex * factor,
        "lifetime_years": ask.lifetime,
        "cost_of_capital": ask.cost_of_capital,
        "power_w": watts,
        "pue": ask.pue,
        "tariff_per_kwh": tariff,
        "hosting_per_year": (ask.hosting if ask.hosting is not None else np.array([0.0])) * factor,
        "utilisation": ask.utilisation if ask.utilisation is not None else np.array([1.0]),
    }
    power_rate = _power_rate(ask, domestic, notes)
    return {k: np.asarray(v, dtype=np.float64) for k, v in out.items()}, power_rate


def _measured_watts(evidence: RunEvidence, notes: list[Assumption]) -> np.ndarray | None:
    """The device's average draw over the run's timed blocks of the costed workload, where the
    run read energy (results.energy); None, said among the assumptions, where it did not."""
    from subsidybench.results.energy import measured_power
    from subsidybench.results.query import pick_result

    run, where = run_and_label(evidence.run, evidence.label)
    fig = measured_power(run, pick_result(run, where, evidence.workload).id)
    if fig.value is None:
        notes.append(Assumption("measured power", f"not used: {fig.note}", Basis.NOT_APPLIED))
        return None
    notes.append(
        Assumption(
            "power per device", f"{fig.value:,.1f} W", Basis.MEASURED, f"{fig.source}; {fig.note}"
        )
    )
    return np.array([fig.value])


def _power_rate(ask: OwnedAsk, domestic: bool, notes: list[Assumption]) -> float:
    """The share of the power bill a power_subsidy pays (0: no such subsidy)."""
    if ask.power_subsidy is None:
        return 0.0
    from subsidybench.catalogue.subsidies import Spend, load_programme

    p = load_programme(ask.power_subsidy, ask.dirs, "power_subsidy")
    if Spend.ELECTRICITY not in p.eligible:
        raise UserError(f"{named('power_subsidy')}: {p.id} does not pay towards electricity")
    rate = p.rates.base.value
    if rate is None:
        raise UserError(f"{named('power_subsidy')}: {p.id} states no rate ({p.rates.base.state})")
    if Spend.ELECTRICITY in p.domestic_only and not domestic:
        notes.append(
            Assumption("power subsidy", f"{p.id}: none, domestic chips only", Basis.NOT_APPLIED)
        )
        return 0.0
    notes.append(
        Assumption(
            "power subsidy",
            f"{rate:.0%} of the power bill ({p.id}; at most: the terms are reported, not a text)"
            if p.document.startswith("no policy text")
            else f"{rate:.0%} of the power bill ({p.id})",
            Basis.PROGRAMME,
            p.sources[0].url if p.sources else p.id,
        )
    )
    return rate
