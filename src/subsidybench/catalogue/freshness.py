"""Is the catalogue still true? Ages of figures and prices, expired programmes, unknowns.

A price seen two years ago, or a programme that ended last December, still loads and still
costs: nothing in the numbers says they are stale. This module says it, for the whole catalogue
(`subsidybench catalogue check`) and for one answer (`staleness_warnings`, a line each that
cost and report print beside the result). Torch-free, like the catalogue it reads.
"""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from subsidybench.catalogue.fx import FxRate, list_rates
from subsidybench.catalogue.profiles import DeviceProfile, list_profiles
from subsidybench.catalogue.subsidies import Programme, TermState, list_programmes
from subsidybench.catalogue.systems import SystemProfile, list_systems
from subsidybench.provenance import Figure, PricePoint

# A year: prices of accelerators move that much in a year (an H100-hour fell from about 8 USD
# in 2023 to 2-3 USD in 2025), and programmes are re-issued yearly.
MAX_AGE_DAYS = 365


class FlagKind:
    STALE_PRICE = "stale price"
    STALE_FIGURE = "stale figure"
    UNDATED = "undated"
    EXPIRED = "expired programme"
    NO_PRICE = "no price"
    STALE_FX = "stale exchange rate"
    AFTER_TODAY = "dated after today"


@dataclass(frozen=True, slots=True)
class Flag:
    """One thing the catalogue check found: its kind, where it is, and what to do."""

    kind: str
    where: str
    message: str


@dataclass(frozen=True, slots=True)
class CatalogueCheck:
    today: datetime.date
    max_age_days: int
    flags: tuple[Flag, ...]
    unknowns: Counter[str] = field(default_factory=Counter)
    """Figures and terms the sources do not give, counted by kind of entry."""
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def flagged(self) -> bool:
        return bool(self.flags)


def _age(date: str, today: datetime.date) -> int | None:
    if not date or len(date) != 10:
        return None
    return (today - datetime.date.fromisoformat(date)).days


def _figure_flags(where: str, figures: Sequence[tuple[str, Figure]], today, max_age) -> list[Flag]:
    old = [(n, f) for n, f in figures if f.known and (_age(f.date, today) or 0) > max_age]
    undated = [n for n, f in figures if f.known and not f.date]
    out = []
    if old:
        oldest = min(f.date for _, f in old)
        names = ", ".join(n for n, _ in old[:4]) + (", ..." if len(old) > 4 else "")
        out.append(
            Flag(
                FlagKind.STALE_FIGURE,
                where,
                f"{len(old)} figures dated over {max_age} days ago (oldest {oldest}):"
                f" {names}; check that their sources still stand and update the dates",
            )
        )
    if undated:
        out.append(Flag(FlagKind.UNDATED, where, f"figures without a date: {', '.join(undated)}"))
    return out


def _price_flags(where: str, prices: Sequence[PricePoint], today, max_age) -> list[Flag]:
    out = []
    for p in prices:
        age = _age(p.date, today)
        if age is not None and age > max_age:
            out.append(
                Flag(
                    FlagKind.STALE_PRICE,
                    where,
                    f"{p.kind} {p} is {age} days old; find a newer price",
                )
            )
    return out


def _after(where: str, dated: Sequence[tuple[str, str]], today: datetime.date) -> list[Flag]:
    """A flag for each (what, ISO date or period) after `today`: judged as of a past day, a
    figure seen later was not known then, and a programme starting later did not yet pay."""
    late = [(w, d) for w, d in dated if d[:4].isdigit() and d > today.isoformat()[: len(d)]]
    if not late:
        return []
    names = ", ".join(w for w, _ in late[:4]) + (", ..." if len(late) > 4 else "")
    latest = max(d for _, d in late)
    return [
        Flag(
            FlagKind.AFTER_TODAY,
            where,
            f"{len(late)} dated after {today} (latest {latest}): {names}",
        )
    ]


def check_catalogue(
    today: datetime.date | None = None,
    max_age_days: int = MAX_AGE_DAYS,
    extra_dirs: Sequence[Path] = (),
) -> CatalogueCheck:
    """Check every device, system and programme in the catalogue (user directories included)."""
    today = today or datetime.date.today()
    flags: list[Flag] = []
    unknowns: Counter[str] = Counter()
    devices = list_profiles(extra_dirs)
    by_id = {d.id: d for d in devices}
    systems = list_systems(extra_dirs)
    programmes = list_programmes(extra_dirs)
    for d in devices:
        where = f"devices/{d.id}"
        figures = d.figures()
        unknowns["device figures"] += sum(not f.known for _, f in figures)
        flags += _figure_flags(where, figures, today, max_age_days)
        flags += _price_flags(where, d.prices, today, max_age_days)
        prices = [(f"{p.kind} {p}", p.date) for p in d.prices]
        flags += _after(where, [(n, f.date) for n, f in figures] + prices, today)
        # A CPU profile describes the machine it runs on: it is measured, not bought.
        if not d.prices and d.cpu is None:
            # Where it was looked for is long: `profiles show` prints it.
            searched = f" (looked for: profiles show {d.id})" if d.prices_searched else ""
            flags.append(Flag(FlagKind.NO_PRICE, where, f"no rent and no purchase price{searched}"))
    for s in systems:
        where = f"systems/{s.id}"
        figures = s.figures()
        unknowns["system figures"] += sum(not f.known for _, f in figures)
        flags += _figure_flags(where, figures, today, max_age_days)
        flags += _price_flags(where, s.prices, today, max_age_days)
        prices = [(f"{p.kind} {p}", p.date) for p in s.prices]
        flags += _after(where, [(n, f.date) for n, f in figures] + prices, today)
        if not s.prices:
            flags.append(Flag(FlagKind.NO_PRICE, where, "no price per system-hour or system"))
    for p in programmes:
        where = f"subsidies/{p.id}"
        if p.expired(today):
            flags.append(Flag(FlagKind.EXPIRED, where, f"ended {p.valid_until}"))
        dated = [("valid_from", p.valid_from)]
        flags += _after(where, dated + [(f"source {s.url}", s.published) for s in p.sources], today)
        terms = [
            p.pool,
            p.rates.base,
            p.rates.domestic,
            p.rates.small_firm,
            p.rates.small_firm_months,
            p.caps.per_contract,
            p.caps.per_firm_year,
            p.payment_lag_months,
        ]
        unknowns["programme terms"] += sum(t.state is TermState.UNKNOWN for t in terms)
        unknowns["programme dates"] += sum(v == "unknown" for v in (p.valid_from, p.valid_until))
    from subsidybench.catalogue.published import list_published

    published = list_published(extra_dirs)
    for r in published:
        age = _age(r.checked, today)
        if age is not None and age > max_age_days:
            flags.append(
                Flag(
                    FlagKind.STALE_FIGURE,
                    f"published/{r.id}",
                    f"last checked {r.checked}, {age} days ago; read its source again",
                )
            )
    for rate in list_rates(extra_dirs):
        flags += _after(f"fx/{rate.base}-{rate.quote}".lower(), [("rate", rate.date)], today)
        warning = staleness_warnings(rate, today, max_age_days)
        if warning:
            flags.append(
                Flag(FlagKind.STALE_FX, f"fx/{rate.base}-{rate.quote}".lower(), warning[0])
            )
    counts = {
        "devices": len(devices),
        "systems": len(systems),
        "programmes": len(programmes),
        "devices with a CNY rent": sum(d.rent_per_hour("CNY") is not None for d in devices),
        "devices with a USD rent": sum(d.rent_per_hour("USD") is not None for d in devices),
        "published results": len(published),
        "published on domestic devices": sum(
            bool(by_id[r.device].domestic) for r in published if r.device in by_id
        ),
    }
    return CatalogueCheck(today, max_age_days, tuple(flags), unknowns, counts)


def staleness_warnings(
    item: DeviceProfile | SystemProfile | Programme | PricePoint | FxRate,
    today: datetime.date | None = None,
    max_age_days: int = MAX_AGE_DAYS,
) -> list[str]:
    """One-line warnings for an answer that rests on `item`: an expired programme, a price or
    an exchange rate older than `max_age_days`. A profile is judged by its default rent."""
    today = today or datetime.date.today()
    if isinstance(item, Programme):
        if item.expired(today):
            return [f"programme {item.id} ended {item.valid_until}: it may no longer pay"]
        return []
    if isinstance(item, DeviceProfile | SystemProfile):
        price = item.default_rent()
        label = f"{item.id} rent"
    elif isinstance(item, FxRate):
        age = _age(item.date, today)
        if age is not None and age > max_age_days:
            return [f"exchange rate {item.describe()} is from {item.date}, {age} days old"]
        return []
    else:
        price, label = item, "price"
    if price is None:
        return []
    age = _age(price.date, today)
    if age is not None and age > max_age_days:
        return [f"{label} {price} was seen {age} days ago; it may have changed"]
    return []
