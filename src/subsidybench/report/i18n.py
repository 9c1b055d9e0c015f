"""Words of answers and reports in English or Simplified Chinese, from message catalogues.

One TOML file per language in report/messages/ (en.toml, zh.toml): a flat table of keys to
strings with {named} placeholders. A catalogue is read once, and checked against English: the
same keys, the same placeholders in each string, no empty string; a missing key is a bug that
the tests catch, never a silent fallback. `--lang` or SUBSIDYBENCH_LANG picks the language.

Amounts may be written in 万 (1e4) or 亿 (1e8) of a currency (`--units wan|yi|auto`); with
Chinese, `auto` is the default: 亿 from 1e8 up, 万 from 1e4 up. Prices per hour and per unit of
work stay in plain units (they are small).
"""

from __future__ import annotations

import math
import os
import re
import string
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from subsidybench.errors import UserError

LANGS = ("en", "zh")
LANG_ENV = "SUBSIDYBENCH_LANG"
UNITS = ("plain", "wan", "yi", "auto")
_DIR = Path(__file__).with_name("messages")
_SCALE = {"wan": 1e4, "yi": 1e8}


def language(flag: str | None) -> str:
    """--lang, else SUBSIDYBENCH_LANG, else English; anything else is refused."""
    if flag is not None:
        value, where = flag, "--lang"
    else:
        value, where = os.environ.get(LANG_ENV, "en"), LANG_ENV
    value = value.strip().lower().replace("_", "-")
    if value in ("zh-cn", "zh-hans"):
        value = "zh"
    if value not in LANGS:
        raise UserError(f"{where}: expected one of {', '.join(LANGS)}, got {value!r}")
    return value


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@cache
def catalogue(lang: str) -> dict[str, str]:
    """The catalogue of `lang`, checked against English (ValueError: a bug in the files)."""
    from subsidybench.datafile import read_toml

    if lang not in LANGS:
        raise UserError(f"no messages for language {lang!r} (known: {', '.join(LANGS)})")
    data = read_toml(_DIR / f"{lang}.toml")
    bad = [k for k, v in data.items() if not isinstance(v, str) or not v.strip()]
    if bad:
        raise ValueError(f"messages/{lang}.toml: not a non-empty string: {', '.join(bad)}")
    if lang != "en":
        english = catalogue("en")
        missing = sorted(set(english) - set(data))
        extra = sorted(set(data) - set(english))
        if missing or extra:
            raise ValueError(
                f"messages/{lang}.toml: missing {missing or 'none'},"
                f" not in en.toml {extra or 'none'}"
            )
        for key, text in data.items():
            if _placeholders(text) != _placeholders(english[key]):
                raise ValueError(f"messages/{lang}.toml: {key}: placeholders differ from English")
    return data


@dataclass(frozen=True, slots=True)
class Messages:
    """The words of one language, and how it writes amounts."""

    lang: str = "en"
    units: str = "plain"

    def __call__(self, key: str, **values: Any) -> str:
        text = catalogue(self.lang)[key]
        return text.format(**values) if values else text

    def has(self, key: str) -> bool:
        return key in catalogue(self.lang)

    def basis(self, value: str) -> str:
        """A basis as the reader's language writes it (measured, derived, given by hand...)."""
        key = "basis." + value.replace(" ", "_")
        return self(key) if self.has(key) else value

    def input_name(self, name: str) -> str:
        """An assumption's name (throughput, exchange rate...) in the reader's language; a name
        the catalogue does not know (a labelled option's) is kept as it is."""
        key = "input." + name.replace(" ", "_").replace("-", "_")
        return self(key) if self.has(key) else name

    def currency(self, code: str | None) -> str:
        if not code:
            return ""
        key = f"currency.{code.upper()}"
        return self(key) if self.has(key) else code

    def amount(self, value: float | None, code: str | None, decimals: int = 2) -> str:
        """A total: 1,234,567.89 CNY, or 123.46 万元 with --units wan (or auto in Chinese)."""
        if value is None or not math.isfinite(value):
            return self("money.none") if value is None else self("money.no_limit")
        unit = self.units
        if unit == "auto":
            unit = "yi" if abs(value) >= 1e8 else "wan" if abs(value) >= 1e4 else "plain"
        from subsidybench.digits import money

        if unit == "plain":
            return f"{money(value, decimals)} {self.currency(code)}".rstrip()
        scaled = value / _SCALE[unit]
        return self(f"money.{unit}", value=money(scaled), currency=self.currency(code))

    def price(self, value: float | None, code: str | None) -> str:
        """A price (per hour, per unit of work): never scaled to 万."""
        if value is None or not math.isfinite(value):
            return self("money.none")
        from subsidybench.digits import money

        return f"{money(value)} {self.currency(code)}".rstrip()


def messages(lang: str | None = None, units: str | None = None) -> Messages:
    """The Messages for --lang and --units (None: SUBSIDYBENCH_LANG; auto units in Chinese)."""
    chosen = language(lang)
    if units is None:
        units = "auto" if chosen == "zh" else "plain"
    if units not in UNITS:
        raise UserError(f"--units: expected one of {', '.join(UNITS)}, got {units!r}")
    catalogue(chosen)
    return Messages(chosen, units)


ENGLISH = Messages()

# An uncertain input's name, by its key in cost.uncertainty, as the assumptions name it: a
# tornado's bars (the report's chart, the page's list) are named so, not by their flag.
INPUT_NAMES = {
    "price": "price",
    "fx": "exchange rate",
    "rate": "subsidy rate",
    "hours": "device-hours",
    "contract": "contract value",
    "tflops": "throughput",
    "tokens_per_s": "throughput",
    "throughput": "throughput",
    "mfu": "MFU",
    "scaling_efficiency": "scaling efficiency",
}


# The verdict reasons the timing rule writes (timing.judge, results.trust), as message keys with
# their figures; a reason not listed here is shown as the run file states it.
_REASONS = (
    (re.compile(r"too few samples \((?P<n>\d+) < (?P<min>\d+)\)"), "few"),
    (re.compile(r"blocks too short for the clock \((?P<ms>[\d.]+) ms\)"), "short"),
    (re.compile(r"spread too wide \(IQR/median (?P<spread>\S+) > (?P<max>\S+)\)"), "spread"),
    (re.compile(r"\bspread too wide\b"), "spread_bare"),  # a serving point's, without figures
    (
        re.compile(r"the device could not be synchronized: times may be launch times only"),
        "unsynced",
    ),
    (
        re.compile(
            r"machine busy: other processes used (?P<share>\S+) of the CPU \(> (?P<max>\S+)\)"
        ),
        "busy",
    ),
    (re.compile(r"the file says valid, but its raw samples are not: "), "file_valid"),
)


def reason(text: str, m: Messages = ENGLISH) -> str:
    """A verdict's reason in the reader's language (each known clause translated)."""
    text = text.removeprefix("invalid: ")
    if m.lang == "en" or not text:
        return text
    out = text
    for pattern, key in _REASONS:
        out = pattern.sub(lambda g, key=key: m(f"reason.{key}", **g.groupdict()), out)
    return out


# Where a range's spread comes from, as cost.uncertainty describes it (Spread.describe and the
# bootstrap's sources), as message keys with their figures.
_SPREADS = (
    (re.compile(r"uniform (?P<low>\S+) to (?P<high>\S+)"), "uniform"),
    (re.compile(r"triangular (?P<low>\S+) to (?P<high>\S+), mode (?P<mode>\S+)"), "triangular"),
    (re.compile(r"bootstrap of (?P<n>[\d,]+) raw samples"), "bootstrap"),
    (
        re.compile(
            r"(?P<runs>\d+) runs, their (?P<n>[\d,]+) raw samples resampled within each run"
        ),
        "bootstrap_runs",
    ),
    (re.compile(r"^measured throughput"), "measured_throughput"),
)


def spread_text(text: str, m: Messages = ENGLISH) -> str:
    """A range's source ("--price: uniform 1.5 to 2.5") in the reader's language."""
    if m.lang == "en":
        return text
    for pattern, key in _SPREADS:
        text = pattern.sub(lambda g, key=key: m(f"spread.{key}", **g.groupdict()), text)
    return text
