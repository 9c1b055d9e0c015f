"""Owned hardware's inputs: capex, lifetime, power and tariff, with where the power comes from
(given, measured by the run, or the profile's) and any programme that pays part of the power
bill. Torch-free.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from subsidybench.cost.device import Device
from subsidybench.cost.request import Request
from subsidybench.errors import UserError
from subsidybench.provenance import Assumption, Basis


def owned_inputs(
    r: Request,
    device: Device | None,
    factor_from: Callable[[str], float],
    ccy: str | None,
    notes: list[Assumption],
    domestic: bool,
) -> tuple[dict[str, np.ndarray], float]:
    """Owned hardware's inputs to cost.pricing, in the answer's currency (`factor_from` converts
    from `ccy`): power as given, else as the run measured, else the profile's; and the share of
    the power bill a --power-subsidy pays (0: none). The tariff stays as given: the subsidy is
    shown apart, as gross, power subsidy and net."""
    assert ccy is not None
    watts = r.power_w
    if watts is None and r.run is not None:
        watts = _measured_watts(r, notes)
    if watts is None:
        if device is None or device.power_w is None:
            raise UserError("owned hardware needs --power-w (or a --profile with a power figure)")
        watts = np.array([device.power_w])
        notes.append(
            Assumption("power per device", f"{device.power_w:g} W", Basis.DATA, device.power_source)
        )
    missing = [
        r.name(k) for k in ("lifetime", "cost_of_capital", "pue", "tariff") if not r.given(k)
    ]
    if missing:
        raise UserError(f"owned hardware needs {', '.join(missing)}")
    factor = factor_from(ccy)
    tariff = r.tariff * factor
    out = {
        "capex": r.capex * factor,
        "lifetime_years": r.lifetime,
        "cost_of_capital": r.cost_of_capital,
        "power_w": watts,
        "pue": r.pue,
        "tariff_per_kwh": tariff,
        "hosting_per_year": (r.hosting if r.hosting is not None else np.array([0.0])) * factor,
        "utilisation": r.utilisation if r.utilisation is not None else np.array([1.0]),
    }
    power_rate = _power_rate(r, domestic, notes)
    return {k: np.asarray(v, dtype=np.float64) for k, v in out.items()}, power_rate


def _measured_watts(r: Request, notes: list[Assumption]) -> np.ndarray | None:
    """The device's average draw over the run's timed blocks of the costed workload, where the
    run read energy (results.energy); None, said among the assumptions, where it did not."""
    from subsidybench.cost.throughput import run_and_label
    from subsidybench.results.energy import measured_power
    from subsidybench.results.query import pick_result

    run, where = run_and_label(r.run, r.run_label)
    fig = measured_power(run, pick_result(run, where, r.workload).id)
    if fig.value is None:
        notes.append(Assumption("measured power", f"not used: {fig.note}", Basis.NOT_APPLIED))
        return None
    notes.append(
        Assumption(
            "power per device", f"{fig.value:,.1f} W", Basis.MEASURED, f"{fig.source}; {fig.note}"
        )
    )
    return np.array([fig.value])


def _power_rate(r: Request, domestic: bool, notes: list[Assumption]) -> float:
    """The share of the power bill --power-subsidy pays (0: no such subsidy)."""
    if r.power_subsidy is None:
        return 0.0
    from subsidybench.catalogue.subsidies import Spend, load_programme

    p = load_programme(r.power_subsidy, r.profiles_dirs)
    if Spend.ELECTRICITY not in p.eligible:
        raise UserError(f"--power-subsidy: {p.id} does not pay towards electricity")
    rate = p.rates.base.value
    if rate is None:
        raise UserError(f"--power-subsidy: {p.id} states no rate ({p.rates.base.state})")
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
