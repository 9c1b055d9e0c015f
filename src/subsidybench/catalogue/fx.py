"""Currency conversion at a stated rate: the question's (fx) or a dated default from a data file.

Prices are often in dollars and programmes in yuan. The default rate lives in
profiles/fx/BASE-QUOTE.toml (lower case, e.g. usd-cny.toml) with its date and source, so that a
stale rate is visible in every answer that uses it and is updated without touching code.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from subsidybench.catalogue import paths as catalogue
from subsidybench.datafile import Fields, read_toml
from subsidybench.errors import UserError, named
from subsidybench.provenance import read_date

KIND = "fx"
GIVEN = "given by hand"
"""The basis and source of a rate the question gives (its input fx), not a data file's."""


@dataclass(frozen=True, slots=True)
class FxRate:
    """`rate` units of `quote` buy one unit of `base` (USD-CNY 7.13: 7.13 yuan per dollar)."""

    base: str
    quote: str
    rate: float
    date: str
    basis: str
    source: str

    def __post_init__(self) -> None:
        for code in (self.base, self.quote):
            if not re.fullmatch(r"[A-Z]{3}", code):
                raise ValueError(f"a currency is a three-letter code, got {code!r}")
        if self.base == self.quote:
            raise ValueError("an exchange rate needs two different currencies")
        if not (math.isfinite(self.rate) and self.rate > 0):
            raise ValueError(f"an exchange rate must be a number > 0, got {self.rate!r}")

    def factor(self, source: str, target: str) -> float:
        """What one unit of `source` is worth in `target`."""
        if source == target:
            return 1.0
        if (source, target) == (self.base, self.quote):
            return self.rate
        if (source, target) == (self.quote, self.base):
            return 1.0 / self.rate
        raise UserError(f"the {self.base}/{self.quote} rate cannot convert {source} to {target}")

    def describe(self) -> str:
        return f"{self.rate:g} {self.quote} per {self.base}"


def load_fx(
    source: str, target: str, extra_dirs: Sequence[Path] = (), override: float | None = None
) -> FxRate:
    """The rate between two currencies: `override` (the question's fx, as the data file's quote
    per base) or the data file's dated default."""
    known = catalogue.files(KIND, extra_dirs)
    for base, quote in ((source, target), (target, source)):
        name = f"{base}-{quote}".lower()
        if name in known:
            rate = read_rate(known[name])
            if override is not None:
                return FxRate(rate.base, rate.quote, override, "given", GIVEN, GIVEN)
            return rate
    if override is not None:
        # No file for this pair: the rate given is read as `target` per `source`.
        return FxRate(source, target, override, "given", GIVEN, GIVEN)
    raise UserError(
        f"no exchange rate between {source} and {target}: give {named('fx')} ({target} per"
        f" {source})"
    )


def read_rate(path: Path) -> FxRate:
    """One exchange-rate file, validated."""
    f = Fields(read_toml(path), str(path))
    f.reject_unknown({"base", "quote", "rate", "date", "basis", "source"})
    rate = f.float("rate")
    if not (math.isfinite(rate) and rate > 0):
        raise f.error("rate", f"must be a number > 0, got {rate:g}")
    date = read_date(f, "date")
    base, quote = f.str("base"), f.str("quote")
    for key, code in (("base", base), ("quote", quote)):
        if not re.fullmatch(r"[A-Z]{3}", code):
            raise f.error(key, f"expected a three-letter currency code, got {code!r}")
    if f"{base}-{quote}".lower() != path.stem:
        raise f.error("base", f"file {path.name} must hold {path.stem.upper()}, not {base}-{quote}")
    return FxRate(base, quote, rate, date, f.str("basis"), f.str("source"))


def list_rates(extra_dirs: Sequence[Path] = ()) -> list[FxRate]:
    """Every exchange-rate file in the catalogue (user directories first)."""
    return [read_rate(path) for _, path in sorted(catalogue.files(KIND, extra_dirs).items())]
