"""Subsidy programmes as data: one TOML file per programme under profiles/subsidies/.

A programme's figures come from published policy texts, and those texts leave much unsaid (a
pool's period, a per-contract cap, when the money is paid). So every figure is a `Term`: a stated
number, "none" (the programme has no such rule: for a rate, the base rate applies; for a cap, no
limit), or "unknown" (the sources do not say). The cost model never fills an unknown in silently:
an unknown rate needs a rate given by hand, an unknown cap is not applied and is listed among
the assumptions.

Torch-free: `subsidybench subsidies` and `subsidybench cost` read these on any machine.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from subsidybench import bounds
from subsidybench.bounds import Range
from subsidybench.catalogue import paths as catalogue
from subsidybench.catalogue import periods
from subsidybench.datafile import Fields, read_toml
from subsidybench.errors import UserError, named
from subsidybench.provenance import not_ahead

KIND = "subsidies"

# Months in a year, for turning a "12 months at the higher rate" rule into hours of a contract.
HOURS_PER_MONTH = 365.25 * 24 / 12


class TermState(StrEnum):
    STATED = "stated"
    NONE = "none"  # the programme has no such rule
    UNKNOWN = "unknown"  # the sources do not say


@dataclass(frozen=True, slots=True)
class Term:
    """One figure of a programme as its sources give it."""

    state: TermState
    value: float | None = None

    def __post_init__(self) -> None:
        if (self.state is TermState.STATED) != (self.value is not None):
            raise ValueError("a stated term has a value; 'none' and 'unknown' have none")
        if self.value is not None and (self.value != self.value or self.value < 0):
            raise ValueError(f"a term must be a number >= 0, got {self.value!r}")

    @property
    def stated(self) -> bool:
        return self.state is TermState.STATED

    def to_toml_value(self) -> float | str:
        return self.value if self.value is not None else self.state.value

    def __str__(self) -> str:
        return f"{self.value:g}" if self.value is not None else self.state.value


NONE = Term(TermState.NONE)
UNKNOWN = Term(TermState.UNKNOWN)


class Spend(StrEnum):
    """What a programme pays towards."""

    COMPUTE_RENT = "compute-rent"
    COMPUTE_BUILD = "compute-build"
    MODEL_SERVICES = "model-services"
    DATASETS = "datasets"
    ELECTRICITY = "electricity"  # the power bill of owned compute (provincial data-centre aid)


class PoolPeriod(StrEnum):
    TOTAL = "total"
    PER_YEAR = "per-year"
    UNKNOWN = "unknown"


class Payment(StrEnum):
    AFTER_SETTLEMENT = "after-settlement"  # reimbursed once the firm has paid the supplier
    UPFRONT = "upfront"  # the voucher is spent like money at the supplier
    UNKNOWN = "unknown"


class Stacking(StrEnum):
    ALLOWED = "allowed"
    NOT_ALLOWED = "not-allowed"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Source:
    """Where the figures come from, and what this source says."""

    url: str
    title: str
    published: str
    says: str

    def to_dict(self) -> dict[str, str]:
        return {
            "url": self.url,
            "title": self.title,
            "published": self.published,
            "says": self.says,
        }


@dataclass(frozen=True, slots=True)
class Rates:
    """Shares of eligible spend the programme pays (all are maxima in the texts found so far)."""

    base: Term
    domestic: Term
    """Rate for domestic chips; 'none' means the base rate applies to every chip."""
    small_firm: Term
    """Rate for small or early-stage firms; 'none' means no such rule."""
    small_firm_months: Term
    """How long the small-firm rate lasts; 'none' means for the whole contract."""
    by_spend: tuple[tuple[Spend, Term], ...] = ()
    """Rates that replace the above for one kind of spend (Shanghai: building compute at 10%)."""

    def __post_init__(self) -> None:
        for name in ("base", "domestic", "small_firm"):
            term: Term = getattr(self, name)
            if term.value is not None and term.value > 1:
                raise ValueError(f"rates.{name} is a share of spend, at most 1, got {term.value}")
        for spend, term in self.by_spend:
            if term.value is not None and term.value > 1:
                raise ValueError(f"rates.by_spend.{spend} is a share of spend, at most 1")

    def for_spend(self, spend: Spend) -> Term | None:
        for kind, term in self.by_spend:
            if kind is spend:
                return term
        return None


@dataclass(frozen=True, slots=True)
class Caps:
    """Upper limits on what one firm receives (in the programme's currency)."""

    per_contract: Term
    per_firm_year: Term


@dataclass(frozen=True, slots=True)
class RateRule:
    """The rate a programme gives one firm for one kind of spend, and which rule gave it."""

    rate: float
    rule: str
    window_hours: float | None = None
    """The rate lasts this many hours of the contract; after it, `after_rate` applies."""
    after_rate: float | None = None


@dataclass(frozen=True, slots=True)
class Programme:
    """One subsidy programme, as its sources state it."""

    id: str
    name: str
    region: str
    issuer: str
    document: str
    issued: str
    valid_from: str
    """First day the programme applies ("unknown" when the texts do not say)."""
    valid_until: str
    """Last day it applies: YYYY, YYYY-MM or YYYY-MM-DD (the end of that period), or unknown."""
    currency: str
    eligible: tuple[Spend, ...]
    excluded: tuple[str, ...]
    pool: Term
    pool_period: PoolPeriod
    rates: Rates
    caps: Caps
    payment: Payment
    payment_lag_months: Term
    stacking: Stacking
    notes: tuple[str, ...]
    sources: tuple[Source, ...]
    name_zh: str = ""
    """The name in Chinese as the issuing office writes it (its document's title, and the
    voucher's own word where the title lacks it); empty where no Chinese text was found."""
    domestic_only: tuple[Spend, ...] = ()
    """Kinds of spend the programme pays only when the chips are domestic (Shanghai's 10% for
    building compute is for self-controlled compute only)."""
    path: Path | None = None

    def __post_init__(self) -> None:
        if not self.sources:
            raise ValueError("a programme needs at least one source")
        if not self.eligible:
            raise ValueError("a programme must say what spend it pays towards (eligible)")
        if not re.fullmatch(r"[A-Z]{3}", self.currency):
            raise ValueError(f"currency must be a three-letter code, got {self.currency!r}")

    def ends(self) -> datetime.date | None:
        """The last day of the validity window; None when the sources do not give it."""
        return periods.last_day(self.valid_until)

    def begins(self) -> datetime.date | None:
        """The first day of the validity window; None when the sources do not give it."""
        return periods.first_day(self.valid_from)

    def expired(self, today: datetime.date | None = None) -> bool:
        """Whether the window ended before `today` (default: the system date)."""
        end = self.ends()
        return end is not None and end < (today or datetime.date.today())

    def covers(self, spend: Spend, *, domestic: bool) -> None:
        """UserError unless the programme pays towards `spend` for chips of this origin."""
        if spend not in self.eligible:
            covered = ", ".join(self.eligible)
            raise UserError(f"{self.id} does not pay towards {spend} (it covers: {covered})")
        if spend in self.domestic_only and not domestic:
            raise UserError(f"{self.id} pays towards {spend} only for domestic chips")

    def rate_for(self, spend: Spend, *, domestic: bool, small_firm: bool) -> RateRule:
        """The rate this programme gives; UserError when the spend is not covered or unknown."""
        self.covers(spend, domestic=domestic)
        special = self.rates.for_spend(spend)
        if special is not None:
            return RateRule(self._known(special, f"rates.by_spend.{spend}"), f"{spend} rate")
        base = self._known(self.rates.base, "rates.base")
        rate, rule = base, "base rate"
        if domestic and self.rates.domestic.state is not TermState.NONE:
            rate, rule = self._known(self.rates.domestic, "rates.domestic"), "domestic-chip rate"
        if small_firm:
            if self.rates.small_firm.state is TermState.NONE:
                raise UserError(
                    f"{named('small_firm')}: {self.id} has no rule for small or early-stage firms"
                )
            sf = self._known(self.rates.small_firm, "rates.small_firm")
            months = self.rates.small_firm_months
            if months.state is TermState.UNKNOWN:
                # Not knowing how long it lasts, the rate is applied to the whole contract and the
                # assumption says so: the CLI prints the rule and the window it used.
                return RateRule(sf, "small-firm rate (how long it lasts: unknown)")
            if months.value is None:
                return RateRule(sf, "small-firm rate")
            hours = months.value * HOURS_PER_MONTH
            return RateRule(
                sf, f"small-firm rate for {months.value:g} months", hours, after_rate=rate
            )
        return RateRule(rate, rule)

    def _known(self, term: Term, field: str) -> float:
        if term.value is None:
            raise UserError(
                f"{self.id}: {field} is {term.state} in the programme's sources;"
                f" give {named('rate')}"
            )
        return term.value

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            **({"name_zh": self.name_zh} if self.name_zh else {}),
            "region": self.region,
            "issuer": self.issuer,
            "document": self.document,
            "issued": self.issued,
            "valid_from": self.valid_from,
            "valid_until": self.valid_until,
            "currency": self.currency,
            "eligible": [s.value for s in self.eligible],
            "excluded": list(self.excluded),
            "pool": self.pool.to_toml_value(),
            "pool_period": self.pool_period.value,
            "rates": {
                "base": self.rates.base.to_toml_value(),
                "domestic": self.rates.domestic.to_toml_value(),
                "small_firm": self.rates.small_firm.to_toml_value(),
                "small_firm_months": self.rates.small_firm_months.to_toml_value(),
                "by_spend": {s.value: t.to_toml_value() for s, t in self.rates.by_spend},
            },
            "caps": {
                "per_contract": self.caps.per_contract.to_toml_value(),
                "per_firm_year": self.caps.per_firm_year.to_toml_value(),
            },
            "payment": self.payment.value,
            "payment_lag_months": self.payment_lag_months.to_toml_value(),
            "stacking": self.stacking.value,
            "domestic_only": [s.value for s in self.domestic_only],
            "notes": list(self.notes),
            "sources": [s.to_dict() for s in self.sources],
        }


_TOP = {
    "name",
    "name_zh",
    "region",
    "issuer",
    "document",
    "issued",
    "valid_from",
    "valid_until",
    "currency",
    "eligible",
    "excluded",
    "pool",
    "pool_period",
    "rates",
    "caps",
    "payment",
    "payment_lag_months",
    "stacking",
    "domestic_only",
    "notes",
    "sources",
}


def valid_on(p: Programme, day: datetime.date) -> bool | None:
    """Whether `day` falls in the programme's window: False when a stated date excludes it,
    True when both ends are stated and include it, None when an end it needs is unknown."""
    start, end = p.begins(), p.ends()
    if (start is not None and day < start) or (end is not None and day > end):
        return False
    return None if start is None or end is None else True


def _term(f: Fields, key: str, within: Range) -> Term:
    if not f.has(key):
        raise f.error(key, "required field is missing (a number, 'none' or 'unknown')")
    value = f.data[key]
    if isinstance(value, str):
        if value in (TermState.NONE, TermState.UNKNOWN):
            return Term(TermState(value))
        raise f.error(key, f"expected a number, 'none' or 'unknown', got {value!r}")
    return Term(TermState.STATED, f.float(key, within=within))


def _date(f: Fields, key: str) -> str:
    value = f.data.get(key)
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return value.isoformat()  # a bare TOML date
    value = f.str(key)
    if not periods.PERIOD.fullmatch(value):
        raise f.error(key, f"expected YYYY, YYYY-MM, YYYY-MM-DD or 'unknown', got {value!r}")
    try:
        periods.last_day(value)
    except ValueError as e:
        raise f.error(key, f"not a date: {value!r} ({e})") from None
    return value


def _strings(f: Fields, key: str) -> tuple[str, ...]:
    items = f.list(key)
    for i, item in enumerate(items):
        if not isinstance(item, str) or not item:
            raise f.error(f"{key}[{i}]", "expected a non-empty string")
    return tuple(items)


def _spends(f: Fields, key: str, default: Any = None) -> tuple[Spend, ...]:
    items = f.list(key) if default is None else f.list(key, list(default))
    known = {s.value: s for s in Spend}
    for i, item in enumerate(items):
        if item not in known:
            names = ", ".join(known)
            raise f.error(f"{key}[{i}]", f"{item!r} is not a kind of spend (known: {names})")
    return tuple(known[item] for item in items)


def _rates(f: Fields) -> Rates:
    f.reject_unknown({"base", "domestic", "small_firm", "small_firm_months", "by_spend"})
    by_spend = f.table("by_spend", {})
    spends = {s.value: s for s in Spend}
    special = []
    for key in by_spend.data:
        if key not in spends:
            raise by_spend.error(key, f"not a kind of spend (known: {', '.join(sorted(spends))})")
        special.append((spends[key], _term(by_spend, key, bounds.RATE)))
    terms = {k: _term(f, k, bounds.RATE) for k in ("base", "domestic", "small_firm")}
    terms["small_firm_months"] = _term(f, "small_firm_months", bounds.MONTHS)
    for key in ("base", "domestic", "small_firm"):
        value = terms[key].value
        if value is not None and value > 1:
            raise f.error(key, f"a rate is a share of spend, at most 1, got {value:g}")
    for spend, term in special:
        if term.value is not None and term.value > 1:
            raise by_spend.error(spend.value, f"a rate is at most 1, got {term.value:g}")
    return Rates(**terms, by_spend=tuple(special))


def _caps(f: Fields) -> Caps:
    f.reject_unknown({"per_contract", "per_firm_year"})
    return Caps(
        per_contract=_term(f, "per_contract", bounds.MONEY),
        per_firm_year=_term(f, "per_firm_year", bounds.MONEY),
    )


def _source(f: Fields) -> Source:
    f.reject_unknown({"url", "title", "published", "says"})
    url = f.str("url")
    if not url.startswith(("http://", "https://")):
        raise f.error("url", f"expected an http(s) address, got {url!r}")
    published = _date(f, "published")
    if published != "unknown":  # its first day: a source cannot be published after today
        first = [int(p) for p in published.split("-")] + [1, 1]
        not_ahead(f, "published", datetime.date(*first[:3]))
    return Source(url=url, title=f.str("title"), published=published, says=f.str("says"))


def parse_programme(
    data: object, source: str, programme_id: str, path: Path | None = None
) -> Programme:
    """Build a Programme from a parsed TOML document; errors name `source` and the field."""
    f = Fields(data, source)
    f.reject_unknown(_TOP)
    eligible = _spends(f, "eligible")
    sources = tuple(_source(s) for s in f.tables("sources"))
    if not sources:
        raise f.error("sources", "at least one source is required")
    if not eligible:
        raise f.error("eligible", "at least one kind of spend is required")
    currency = f.str("currency")
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise f.error("currency", f"expected a three-letter code such as CNY, got {currency!r}")
    return Programme(
        id=programme_id,
        name=f.str("name"),
        name_zh=_name_zh(f),
        region=f.str("region"),
        issuer=f.str("issuer"),
        document=f.str("document"),
        issued=_date(f, "issued"),
        valid_from=_date(f, "valid_from"),
        valid_until=_date(f, "valid_until"),
        currency=currency,
        eligible=tuple(eligible),
        excluded=_strings(f, "excluded"),
        pool=_term(f, "pool", bounds.MONEY),
        pool_period=f.choice("pool_period", {p.value: p for p in PoolPeriod}),
        rates=_rates(f.table("rates")),
        caps=_caps(f.table("caps")),
        payment=f.choice("payment", {p.value: p for p in Payment}),
        payment_lag_months=_term(f, "payment_lag_months", bounds.MONTHS),
        stacking=f.choice("stacking", {s.value: s for s in Stacking}),
        notes=_strings(f, "notes"),
        sources=sources,
        domestic_only=_spends(f, "domestic_only", ()),
        path=path,
    )


def _name_zh(f: Fields) -> str:
    """Optional; where given, Chinese text (a CJK character at least), one line, <= 100 chars."""
    text = f.str("name_zh", "")
    if text and not (re.search(r"[\u4e00-\u9fff]", text) and len(text) <= 100 and "\n" not in text):
        raise f.error("name_zh", "expected the name in Chinese, one line of at most 100 characters")
    return text


def load_programme(
    name_or_path: str, extra_dirs: Sequence[Path] = (), input_key: str = ""
) -> Programme:
    """A programme by catalogue name ("shanghai-2025-compute") or path to a TOML file; a name
    not there names `input_key`, the input that gave it (catalogue.paths.resolve)."""
    path = catalogue.resolve(KIND, name_or_path, extra_dirs, input_key)
    return parse_programme(read_toml(path), str(path), path.stem, path)


def list_programmes(extra_dirs: Sequence[Path] = ()) -> list[Programme]:
    """Every programme in the catalogue, user directories first; a bad file is an error."""
    return [
        parse_programme(read_toml(path), str(path), name, path)
        for name, path in sorted(catalogue.files(KIND, extra_dirs).items())
    ]
