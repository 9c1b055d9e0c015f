"""Unit conversions and the one check every money or time input passes.

Conversions only: hardware figures and prices live in profiles/, never here.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from subsidybench.errors import UserError

SECONDS_PER_HOUR = 3600.0
HOURS_PER_DAY = 24.0
# A calendar year of 365.25 days: lifetimes and yearly costs are spread over 8,766 hours.
HOURS_PER_YEAR = 365.25 * 24.0
PFLOP = 1e15
PFLOP_DAY = PFLOP * SECONDS_PER_HOUR * HOURS_PER_DAY
PFLOP_HOUR = PFLOP * SECONDS_PER_HOUR
MILLION = 1e6

Array = NDArray[np.float64]


def require_finite(name: str, value: float, *, allow_zero: bool = False) -> None:
    """UserError unless `value` is finite and > 0 (or >= 0 with allow_zero)."""
    ok = math.isfinite(value) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        bound = ">= 0" if allow_zero else "> 0"
        raise UserError(f"{name} must be a finite number {bound}, got {value:g}")
