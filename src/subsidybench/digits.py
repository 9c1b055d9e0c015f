"""Numbers as a reader checks them: significant figures, never a small answer rounded to zero.

A fixed number of decimals prints a 47-second job as "0.00 days" and 58,333 USD in 亿 as "0.00";
these keep `digits` significant figures below the point, and every digit above it.
"""

from __future__ import annotations

import math

DIGITS = 4
"""Significant figures a small quantity keeps: enough to check a figure by hand."""


def _decimals(value: float, digits: int) -> int:
    """Decimals that show `digits` significant figures of `value` (0 for large values)."""
    if value == 0 or not math.isfinite(value):
        return 0
    return max(0, digits - 1 - math.floor(math.log10(abs(value))))


def _trim(text: str, keep: int) -> str:
    """Trailing zeros dropped after the first `keep` decimals (and the point, if none is left)."""
    if "." not in text:
        return text
    whole, frac = text.split(".")
    frac = frac[:keep] + frac[keep:].rstrip("0")
    return f"{whole}.{frac}" if frac else whole


def figure(value: float, digits: int = DIGITS) -> str:
    """A quantity: 1,023,392 / 13.02 / 0.01312; scientific below 1e-6 of a unit."""
    if not math.isfinite(value):
        return "inf" if value > 0 else "-inf" if value < 0 else "nan"
    if value != 0 and abs(value) < 1e-6:
        return f"{value:.{digits - 1}e}"
    decimals = _decimals(value, digits)
    return _trim(f"{value:,.{decimals}f}", 0)


def money(value: float, decimals: int = 2, digits: int = DIGITS) -> str:
    """An amount: `decimals` places (cents) from one unit up, and below one unit as many as
    keep `digits` significant figures: 3,990.00 / 9.06 / 0.0004167."""
    if not math.isfinite(value):
        return figure(value)
    if value != 0 and abs(value) < 1e-6:
        return f"{value:.{digits - 1}e}"
    places = decimals if abs(value) >= 1 else max(decimals, _decimals(value, digits))
    return _trim(f"{value:,.{places}f}", decimals)


def share(value: float, digits: int = 3) -> str:
    """A fraction as a percentage: 20.0%, 0.0417% (one decimal at least, more when small)."""
    if not math.isfinite(value):
        return figure(value)
    return money(value * 100, 1, digits) + "%"
