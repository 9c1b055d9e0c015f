"""The device being costed, as the cost model needs it: a profile's peak, rent, power and origin.

Values are read from the profile once, as numbers with their basis (never turned back into
text). `estimated_throughput` is the estimate path: a rate measured on one device, scaled by the
roofline (cost.estimate) to the device being costed, and labelled as an estimate.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from subsidybench.cost.answer import Peak
from subsidybench.cost.throughput import (
    TOKEN_UNITS,
    RunEvidence,
    Throughput,
    WorkUnit,
    run_and_label,
)
from subsidybench.errors import UserError, named
from subsidybench.provenance import Assumption, Basis, PriceKind, PricePoint


@dataclass(frozen=True, slots=True)
class Device:
    """What a device profile supplies to the cost model, each figure with where it comes from."""

    id: str
    label: str
    domestic: bool
    peak: Peak | None
    rents: tuple[PricePoint, ...]
    """Every rent per device-hour the profile records; `rent` chooses one."""
    power_w: float | None
    power_source: str
    system_devices: int | None = None
    """For a system rented whole (CloudMatrix 384): its device count; None for one device."""

    def rent(self, market: str | None = None, rent_id: str | None = None) -> PricePoint | None:
        """The rent a cost takes: the one named by `rent_id`, else the default rent
        (catalogue.profiles.default_rent: on-demand first, then the newest) among the rents of
        `market`, else among all. Never chosen by the answer's currency or programme, so that
        a subsidy flag cannot change the price of a device-hour."""
        from subsidybench.catalogue.profiles import default_rent

        if rent_id is not None:
            ids = rent_ids(self.rents)
            found = [p for p, i in zip(self.rents, ids, strict=True) if i == rent_id.lower()]
            if not found:
                known = ", ".join(ids) or "none"
                raise UserError(
                    f"{named('rent_id')}: {self.id} has no rent {rent_id!r}; its rents: {known}"
                )
            return found[0]
        if market is not None:
            market = market.lower()
            inside = [p for p in self.rents if market_of(p) == market]
            if not inside:
                have = ", ".join(sorted({market_of(p) for p in self.rents})) or "none"
                raise UserError(
                    f"{named('market')}: {self.id} has no rent in market {market!r} (its markets:"
                    f" {have})"
                )
            return default_rent(inside)
        return default_rent(self.rents)


# A rent's market is where it is quoted, told by its currency: yuan rents are rents in China,
# dollar rents those of dollar clouds. A currency not named here is its own market.
MARKETS = {"cn": "CNY", "us": "USD", "eu": "EUR"}


def market_of(price: PricePoint) -> str:
    return next((m for m, c in MARKETS.items() if c == price.currency), price.currency.lower())


def rent_ids(rents: tuple[PricePoint, ...]) -> list[str]:
    """Each rent's id, as input rent_id takes it: market, amount and date (cn-13.02-2025-04-02),
    with -2, -3... where a profile lists two rents alike in all three."""
    ids: list[str] = []
    for p in rents:
        base = f"{market_of(p)}-{p.amount:g}-{p.date}"
        n, name = 1, base
        while name in ids:
            n += 1
            name = f"{base}-{n}"
        ids.append(name)
    return ids


def describe_rent(price: PricePoint, rent_id: str) -> str:
    term = f"{price.term}, " if price.term.value != "unknown" else ""
    seen = f"seen {price.date}, {price.basis}"
    return f"{rent_id}: {price.amount:,.4g} {price.currency}/h ({term}{seen})"


@dataclass(frozen=True, slots=True)
class RentChoice:
    """Which of a profile's rents a question takes: one named by its id, or the default rule
    within a market, or (neither given) the default rule among all."""

    market: str | None = None
    rent_id: str | None = None


def check_rent_choice(choice: RentChoice, device: Device | None, priced: bool, owned: bool) -> None:
    """A market or a rent id picks among a profile's rents: one of them, with a profile, and
    no price given by hand (`priced`) nor an owned device's."""
    picks = (("market", choice.market), ("rent_id", choice.rent_id))
    given = [named(k) for k, v in picks if v is not None]
    if not given:
        return
    if len(given) > 1:
        raise UserError(
            f"give {named('market')} or {named('rent_id')}, not both: a rent id names its market"
        )
    if priced or owned:
        raise UserError(
            f"{given[0]} picks a profile's rent; {named('capex' if owned else 'price')}"
            " is a price given by hand: give one of them"
        )
    if device is None:
        raise UserError(f"{given[0]} picks among a profile's rents: give {named('profile')}")


def rent_notes(choice: RentChoice, device: Device, point: Any) -> tuple[str, Assumption | None]:
    """The source of the rent taken (its id and why it was taken), and the other rents; the
    inputs they name (errors.named) are for the question to say as its user wrote them."""
    ids = rent_ids(device.rents)
    taken = device.rents.index(point)
    if choice.rent_id is not None:
        why = f"named by {named('rent_id')}"
    elif choice.market is not None:
        why = f"{named('market')} {choice.market}: on-demand first, then the newest"
    else:
        why = "the default: on-demand first, then the newest, in any market"
    source = f"{device.id} rent {ids[taken]} ({why}): {point.source}"
    if point.basis is Basis.DERIVED and point.note:
        source += f" ({point.note})"
    pairs = enumerate(zip(device.rents, ids, strict=True))
    rest = [describe_rent(p, i) for n, (p, i) in pairs if n != taken]
    if not rest:
        return source, None
    markets = "|".join(sorted({market_of(p) for p in device.rents}))
    how = f"{named('rent_id')} ID or {named('market')} {markets} takes another"
    return source, Assumption("other rents", "; ".join(rest), Basis.DATA, how)


def load_device(
    name: str, dirs: tuple[Path, ...], dtype: str = "bf16", input_key: str = "profile"
) -> Device:
    """Read the figures the cost model needs from a device profile (catalogue.profiles), or
    from a system profile (catalogue.systems): then per device, the system's rent and power
    spread over its devices (derived), and the device count with it. A name in neither names
    `input_key`, the input that gave it."""
    from subsidybench.catalogue import paths
    from subsidybench.catalogue.profiles import load_profile
    from subsidybench.dtypes import DType

    if dtype not in {d.value for d in DType}:
        raise UserError(
            f"{named('dtype')}: {dtype!r} is not one of {', '.join(d.value for d in DType)}"
        )
    if name not in paths.files("devices", dirs) and name in paths.files("systems", dirs):
        return _system(name, dirs, DType(dtype))
    profile = load_profile(name, dirs, input_key)
    peak = None
    fig = profile.peak(DType(dtype))
    if fig is not None and fig.value is not None:
        peak = Peak(float(fig.value), dtype, f"{profile.id}, {fig.basis}: {fig.source}")
    power = profile.power_w
    known = power is not None and power.value is not None
    return Device(
        id=profile.id,
        label=profile.label,
        domestic=bool(profile.domestic),
        peak=peak,
        rents=tuple(p for p in profile.prices if p.kind is PriceKind.RENT_HOUR),
        power_w=float(power.value) if known else None,
        power_source=f"{profile.id} power, {power.basis}: {power.source}" if known else "",
    )


def _system(name: str, dirs: tuple[Path, ...], dtype: Any) -> Device:
    from subsidybench.catalogue.systems import load_system

    system = load_system(name, dirs)
    n = system.device_count
    if n < 1:
        raise UserError(f"system {system.id}: its device count is unknown; cost its device instead")
    one = load_device(system.device.id, dirs, dtype.value)
    peak = None
    if one.peak is not None:
        where = f"{system.id}: {n} x {one.peak.source}"
        peak = Peak(one.peak.tflops, one.peak.dtype, where)
    rents = tuple(
        spread
        for price in system.prices
        if price.kind is PriceKind.RENT_HOUR
        and (spread := system.per_device_rent(price.currency)) is not None
    )
    power = system.power_w
    known = power.value is not None
    return Device(
        id=system.id,
        label=f"{system.label} ({n} x {one.label})",
        domestic=one.domestic,
        peak=peak,
        rents=tuple(dict.fromkeys(rents)),
        power_w=float(power.value) / n if known and power.value else None,
        power_source=(
            f"{system.id} power {power.value:,.0f} W / {n} devices, {power.basis}: {power.source}"
            if known
            else ""
        ),
        system_devices=n,
    )


def estimated_throughput(
    evidence: RunEvidence, unit: WorkUnit, target: str, dirs: tuple[Path, ...] = ()
) -> Throughput:
    """The rate of the evidence's workload, measured on its run's device, scaled by the roofline
    to device profile `target`."""
    from subsidybench.catalogue.profiles import load_profile
    from subsidybench.cost.estimate import estimate
    from subsidybench.results.query import pick_result

    run, where = run_and_label(evidence.run, evidence.label)
    result = pick_result(run, where, evidence.workload)
    if run.profile is None:
        raise UserError(
            f"{where}: the run matched no device profile, so there are no figures to scale"
            f" its rate from; add a profile for {run.device.name} ({named('profiles_dirs')})"
        )
    from subsidybench.catalogue import paths

    # The files the figures came from: a user's profile dir may override the shipped ones.
    files = {
        run.profile: paths.resolve("devices", run.profile, dirs),
        target: paths.resolve("devices", target, dirs, "estimate_on"),
    }
    source = load_profile(str(files[run.profile]), dirs)
    goal = load_profile(str(files[target]), dirs)
    est = estimate(result, source, goal, run.device.name)
    if unit is WorkUnit.FLOPS:
        rate = est.flops_per_s
        if not rate:
            raise UserError(f"{where}: {result.id} does no counted FLOPs; use tokens instead")
    else:
        if est.item_unit not in TOKEN_UNITS:
            raise UserError(f"{where}: {result.id} counts {est.item_unit}, not tokens")
        rate = est.items_per_s
    return Throughput(
        rate,
        unit,
        Basis.ESTIMATE,
        describe_estimate(est, where, {k: str(v) for k, v in files.items()}),
    )


def describe_estimate(est: Any, where: str, files: dict[str, str] | None = None) -> str:
    """The basis written beside an estimated figure: regime on each side, the ratio used, and
    the efficiencies it scaled by with where each came from (the profile file, and its source)."""
    src, tgt = est.source, est.target
    used = [u for u in est.figures if u.field.startswith("efficiency.")]
    scaled = "; ".join(
        f"{u}" + (f" (file {files[u.profile]})" if files and u.profile in files else "")
        for u in used
    )
    return (
        f"ESTIMATE, not measured: {where} {est.workload_id} measured on {src.profile}"
        f" ({src.regime}-bound) scaled x{est.scale:.3g} by the roofline to {tgt.profile}"
        f" ({tgt.regime}-bound): effective {tgt.regime} roof of {tgt.profile} /"
        f" {src.regime} roof of {src.profile}" + (f"; efficiencies: {scaled}" if scaled else "")
    )
