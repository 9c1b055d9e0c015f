"""Sourced numbers: a figure is a value with its basis (vendor claim, estimate, measurement...)
and the source it came from, or "unknown" said out loud.

Device profiles, the CPU peak derivation and throughput estimates all speak in these records, so
that every number the toolkit prints can be traced to where it came from; every answer of the cost
model carries the Assumptions it rests on, in the same Basis vocabulary. Torch-free.
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from subsidybench import bounds
from subsidybench.bounds import Range
from subsidybench.datafile import Fields
from subsidybench.errors import UserError, said


class Basis(StrEnum):
    """Where a number comes from: a figure in a data file, or an input an answer rests on."""

    VENDOR = "vendor"  # the maker's or seller's published claim
    ESTIMATE = "estimate"  # an analyst's or our own estimate; the note says how it was reached
    MEASURED = "measured"  # measured by someone, with a public record of how
    DERIVED = "derived"  # computed from other figures; the note shows the arithmetic
    PUBLISHED = "published"  # measured and published by someone else; not timed by this tool
    UNKNOWN = "unknown"  # not known: printed as unknown, never guessed
    # Only an answer's inputs have these: they say who supplied the value, not how it was found.
    GIVEN = "given by hand"  # a flag or a file the user wrote
    PROGRAMME = "programme"  # a subsidy programme's terms
    DATA = "data file"  # the catalogue, where the figure itself carries no finer basis
    NOT_APPLIED = "not applied"  # an input that was considered and did not apply
    DEFAULT = "default"  # not given: the value the tool takes in its place (the job starts today)


# The bases a figure in a data file may state; the others describe how an answer was assembled.
FIGURE_BASES = (Basis.VENDOR, Basis.ESTIMATE, Basis.MEASURED, Basis.DERIVED, Basis.UNKNOWN)


@dataclass(frozen=True, slots=True)
class Figure:
    """One sourced number. `value` is None exactly when the basis is UNKNOWN."""

    value: float | None
    basis: Basis
    source: str
    note: str = ""
    date: str = ""
    """ISO date the source published the figure or, where it states none, the date it was read;
    "" when not known. The freshness check (subsidybench.freshness) ages figures by it."""

    def __post_init__(self) -> None:
        if self.date:
            _check_date(self.date)
        if self.basis is Basis.UNKNOWN:
            if self.value is not None:
                raise ValueError("an unknown figure has no value")
            return
        if self.value is None:
            raise ValueError(f"a {self.basis} figure needs a value (or basis 'unknown')")
        if isinstance(self.value, bool) or not math.isfinite(self.value):
            raise ValueError(f"value must be a finite number, got {self.value!r}")
        if not self.source.strip():
            raise ValueError(f"a {self.basis} figure needs a source")

    @classmethod
    def unknown(cls, note: str = "", source: str = "") -> Figure:
        return cls(None, Basis.UNKNOWN, source, note)

    @property
    def known(self) -> bool:
        return self.basis is not Basis.UNKNOWN

    def __str__(self) -> str:
        return "unknown" if self.value is None else f"{self.value:g} ({self.basis})"

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"basis": self.basis.value}
        if self.value is not None:
            d["value"] = self.value
        if self.source:
            d["source"] = self.source
        if self.note:
            d["note"] = self.note
        if self.date:
            d["date"] = self.date
        return d


def _check_date(text: str) -> None:
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"date must be an ISO date (YYYY-MM-DD), got {text!r}") from None


class PriceKind(StrEnum):
    RENT_HOUR = "rent_hour"  # per device-hour
    PURCHASE = "purchase"  # per device


class PriceTerm(StrEnum):
    """On what terms a rent is offered; `default_rent` in profiles prefers them in this order."""

    ON_DEMAND = "on-demand"  # the list or pay-as-you-go price anyone can pay, no commitment
    RESERVED = "reserved"  # a committed term (monthly, yearly): cheaper, but paid when idle
    SPOT = "spot"  # pre-emptible or marketplace spot: cheapest, may be taken away
    UNKNOWN = "unknown"  # the source does not say


_CURRENCY = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True, slots=True)
class PricePoint:
    """A price seen on a date: rent per device-hour or purchase per device."""

    kind: PriceKind
    amount: float
    currency: str
    date: str
    basis: Basis
    source: str
    note: str = ""
    term: PriceTerm = PriceTerm.UNKNOWN

    def __post_init__(self) -> None:
        if not isinstance(self.kind, PriceKind):
            object.__setattr__(self, "kind", PriceKind(self.kind))
        if not isinstance(self.term, PriceTerm):
            object.__setattr__(self, "term", PriceTerm(self.term))
        if not math.isfinite(self.amount) or self.amount <= 0:
            raise ValueError(f"amount must be a number > 0, got {self.amount!r}")
        if not _CURRENCY.match(self.currency):
            raise ValueError(
                f"currency must be an ISO 4217 code such as USD, got {self.currency!r}"
            )
        try:
            datetime.date.fromisoformat(self.date)
        except ValueError:
            raise ValueError(f"date must be an ISO date (YYYY-MM-DD), got {self.date!r}") from None
        if self.basis is Basis.UNKNOWN:
            raise ValueError("a price of unknown basis is no price: leave it out")
        if not self.source.strip():
            raise ValueError("a price needs a source")

    def __str__(self) -> str:
        unit = "/h" if self.kind is PriceKind.RENT_HOUR else ""
        term = f"{self.term}, " if self.term is not PriceTerm.UNKNOWN else ""
        return f"{self.amount:,.2f} {self.currency}{unit} ({term}{self.date}, {self.basis})"


# ---------------------------------------------------------------------------------------------
# Reading figures from data files

_FIGURE_KEYS = {"value", "basis", "source", "note", "date"}
_REFERENCE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class Sources:
    """The file's [sources] table: short names for citations used by several figures.

    An entry is a citation, or a table { cite = "...", date = YYYY-MM-DD } whose date (when the
    source published its figures, else when they were read there) every figure citing it takes.
    """

    def __init__(self, table: Fields | None, checked: str = "") -> None:
        self.fields = table
        self.checked = checked
        """The file's `checked` date: when its sources were last read, for those undated."""
        self.names: dict[str, str] = {}
        self.dates: dict[str, str] = {}
        if table is not None:
            for key in table.data:
                if isinstance(table.data[key], dict):
                    entry = table.table(key)
                    entry.reject_unknown({"cite", "date"})
                    text = entry.str("cite").strip()
                    self.dates[key] = read_date(entry, "date")
                else:
                    text = table.str(key).strip()
                if not text:
                    raise table.error(key, "a source must not be empty")
                self.names[key] = text

    def date(self, text: str) -> str:
        """The date of the named source `text`, else the file's `checked` date (or "")."""
        return self.dates.get(text.strip(), self.checked)

    def resolve(self, f: Fields, key: str, text: str) -> str:
        """The citation for `text`: a [sources] name is replaced by its text."""
        text = text.strip()
        if text in self.names:
            return self.names[text]
        if _REFERENCE.match(text):
            # A bare word is a reference, never a citation: a typo must not pass as a source.
            known = ", ".join(sorted(self.names)) or "none"
            raise f.error(key, f"{text!r} is not a URL or citation, nor a [sources] name ({known})")
        return text


def read_figure(
    f: Fields,
    key: str,
    sources: Sources,
    *,
    within: Range = bounds.FIGURE,
) -> Figure:
    """Read `key` as a figure: the string "unknown" or a table {value, basis, source, note}."""
    raw = f.data.get(key)
    if raw is None:
        raise f.error(key, 'required field is missing (write "unknown" if it is not known)')
    if isinstance(raw, str):
        if raw != "unknown":
            raise f.error(key, f'expected a figure table or "unknown", got {raw!r}')
        return Figure.unknown()
    t = f.table(key)
    t.reject_unknown(_FIGURE_KEYS)
    basis = t.choice("basis", {b.value: b for b in FIGURE_BASES})
    note = t.str("note", "")
    if basis is Basis.UNKNOWN:
        if t.has("value"):
            raise t.error("value", "an unknown figure has no value; drop it or give a basis")
        source = sources.resolve(t, "source", t.str("source")) if t.has("source") else ""
        return Figure.unknown(note=note, source=source)
    # A figure's own date wins over its source's (one table of a long source may be newer).
    date = read_date(t, "date") if t.has("date") else sources.date(t.str("source"))
    value = t.float("value", within=within)
    source = sources.resolve(t, "source", t.str("source"))
    if not source:
        raise t.error("source", "a figure needs a source")
    return Figure(value, basis, source, note, date)


def latest_date() -> datetime.date:
    """The latest day a price or source can have been seen: today somewhere on Earth (UTC+14)."""
    return (datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=14)).date()


def not_ahead(t: Fields, key: str, date: datetime.date) -> str:
    """`date` as ISO text, unless it lies in the future: a price or a source is dated when it was
    seen or published, and a future date would win as "the newest" over every real one."""
    if date > latest_date():
        raise t.error(key, f"{date.isoformat()} is in the future: date it when it was seen")
    return date.isoformat()


def read_date(t: Fields, key: str) -> str:
    """An ISO date, written as a TOML date or a quoted YYYY-MM-DD string, not in the future (the
    date a price, figure or source was seen)."""
    date = t.data.get(key)
    if isinstance(date, datetime.date) and not isinstance(date, datetime.datetime):
        return not_ahead(t, key, date)
    if isinstance(date, str):
        try:
            parsed = datetime.date.fromisoformat(date)
        except ValueError:
            pass
        else:
            return not_ahead(t, key, parsed)
    raise t.error(key, f"expected an ISO date (YYYY-MM-DD), got {date!r}")


def read_figures(
    f: Fields,
    key: str,
    sources: Sources,
    choices: Mapping[str, Any],
    **limits: Any,
) -> dict[Any, Figure]:
    """A table of figures keyed by a closed set of names (dtypes, efficiency kinds)."""
    if not f.has(key):
        return {}
    t = f.table(key)
    out: dict[Any, Figure] = {}
    for name in t.data:
        if name not in choices:
            raise t.error(name, f"unknown key (known: {', '.join(sorted(choices))})")
        out[choices[name]] = read_figure(t, name, sources, **limits)
    return out


_PRICE_KEYS = {"kind", "amount", "currency", "date", "basis", "source", "note", "term"}


def read_price(t: Fields, sources: Sources) -> PricePoint:
    t.reject_unknown(_PRICE_KEYS)
    kind = t.choice("kind", {k.value: k for k in PriceKind})
    amount = t.float("amount", within=bounds.MONEY)
    currency = t.str("currency")
    if not _CURRENCY.match(currency):
        raise t.error("currency", f"expected an ISO 4217 code such as USD or CNY, got {currency!r}")
    if not t.has("date"):
        raise t.error("date", "required: the ISO date the price was seen (YYYY-MM-DD)")
    date = read_date(t, "date")
    term = t.choice("term", {k.value: k for k in PriceTerm}, PriceTerm.UNKNOWN)
    allowed = {b.value: b for b in FIGURE_BASES if b is not Basis.UNKNOWN}
    basis = t.choice("basis", allowed)
    source = sources.resolve(t, "source", t.str("source"))
    try:
        return PricePoint(kind, amount, currency, date, basis, source, t.str("note", ""), term)
    except ValueError as e:
        raise UserError(f"{t.source}: {t.prefix.rstrip('.')}: {e}") from None


@dataclass(frozen=True, slots=True)
class Assumption:
    """One input an answer used: its value, where it came from and the source."""

    name: str
    value: str
    basis: Basis
    source: str = ""

    def __post_init__(self) -> None:
        if not self.name or not self.value:
            raise ValueError("an assumption needs a name and a value")

    def said(self, name: Callable[[str], str]) -> Assumption:
        """The assumption with each input its value or source names (errors.named) called
        `name(input)`: as the question's user wrote it."""
        return Assumption(self.name, said(self.value, name), self.basis, said(self.source, name))

    def to_dict(self) -> dict[str, str]:
        return {
            "name": self.name,
            "value": self.value,
            "basis": self.basis.value,
            "source": self.source,
        }
