"""The valid range of every number a user or a data file gives, in one place.

A number outside its range is a typo or an attack, never a figure to compute with: 1e300 TFLOP/s
prints as "inf" after one multiplication, NaN compares false with every limit and so passes them
all, and 0 where a divisor is meant turns into "100%" or "inf%". Every flag and data-file field
that takes a number checks it here (Fields.float(..., within=...) for files, `option` for flags),
so the error is one line naming the field or flag, and the ranges are stated once.

The upper bounds are generous on purpose: they sit orders of magnitude above anything real (cited
beside each), so a true figure never meets one, while products of hours, prices and FLOPs stay
far from float overflow (1.8e308).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from subsidybench.errors import UserError


@dataclass(frozen=True, slots=True)
class Range:
    """low..high, each end open or closed; always finite."""

    low: float
    high: float
    why: str
    low_open: bool = False
    high_open: bool = False
    integer: bool = False

    def describe(self) -> str:
        left = "(" if self.low_open else "["
        right = ")" if self.high_open else "]"
        return f"{left}{self.low:g}, {self.high:g}{right}"

    def explain(self) -> str:
        """'must be in [0, 1] (a subsidy rate: ...)': the range and why it is that."""
        return f"must be in {self.describe()} ({self.why})"

    def contains(self, value: float) -> bool:
        if isinstance(value, bool) or not math.isfinite(value):
            return False
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return above and below and (not self.integer or value == round(value))

    def check(self, value: float, where: str) -> float:
        """`value`, or a UserError naming `where` and the range."""
        if not self.contains(value):
            raise UserError(f"{where}: {value!r} is out of range: {self.explain()}")
        return value


# --- figures in data files (profiles, systems) ------------------------------------------
# A whole GB200 NVL72 is ~1.8e5 dense bf16 TFLOP/s; below 1e-4 (100 MFLOP/s) is no device torch
# runs on.
PEAK_TFLOPS = Range(1e-4, 1e7, "dense TFLOP/s of a device or system")
# The largest in the catalogue is a system's ~6e5 W; 1e9 leaves headroom, far from overflow.
FIGURE = Range(0.0, 1e9, "memory GB, bandwidth GB/s, watts, device counts", low_open=True)
# A measured rate may pass a stated peak only by a boost or turbo clock above the one the peak
# assumes: the RTX 4090 reaches 1.082x its datasheet peak (profiles/devices/rtx-4090.toml), and a
# CPU peak derived at a virtual machine's nominal 2.6 GHz is passed by turbo up to 3.8/2.6 = 1.46x.
# Past 1.5x a figure is not physics: the peak or the work per step is wrong.
PEAK_OVERSHOOT = 1.5
# An efficiency is the share of the profile's peak a device typically reaches: at most 1, or a
# little past it by a boost clock (the RTX 4090's 1.082); 1.5 would halve an estimated cost.
EFFICIENCY = Range(0.0, 1.1, "a share of peak: at most 1, 1.1 with a boost clock", low_open=True)
# Shanghai's largest pool is 6e8 CNY and a CloudMatrix 384 ~6e7 USD: 1e12 is beyond any
# programme or machine in any currency. A cap or pool of 0 is none at all: the file says "none".
# Below a millionth of a currency unit is no amount anyone pays, and a float that small loses the
# digits a rate needs: 0.75 x 5e-324 is 5e-324 again, a 100% subsidy (found by hypothesis).
MONEY = Range(1e-6, 1e12, "a price, cap or pool")
RATE = Range(0.0, 1.0, "a subsidy rate is a share of the spend")
MONTHS = Range(0.0, 1200.0, "months")
FX = Range(0.0, 1e6, "units of one currency per unit of another", low_open=True)

# --- run results ------------------------------------------------------------------------
# Below 1 ps is faster than any clock; above 11 days no run waits.
SAMPLE_S = Range(1e-12, 1e6, "seconds per iteration")
# A 70B model's training step on 2M tokens is ~9e17 FLOPs.
WORK_PER_STEP = Range(0.0, 1e21, "FLOPs, bytes or items of one step")
SHARE = Range(0.0, 1.0, "a share of the host's CPU")

# --- flags ----------------------------------------------------------------------------------
# The timing loop stops at max_samples long before an hour, so a larger budget is a typo.
# Each round prepares every workload afresh and takes at least two samples of it: 100 rounds of
# the ci suite is already ~20 minutes of preparing; 100000 would never end.
ROUNDS = Range(1, 100, "interleaved rounds", integer=True)
BUDGET_S = Range(0.0, 3600.0, "seconds of timed blocks per workload", low_open=True)
TIMEOUT_S = Range(0.0, 86400.0, "seconds a rank waits for the others", low_open=True)
ALPHA = Range(0.0, 1.0, "a significance level", low_open=True, high_open=True)
# 1e4% is 100 times slower: past it, no threshold means anything.
PERCENT = Range(0.0, 1e4, "a slowdown in per cent")
THREADS_PER_CORE = 4
"""Threads past 4 per core only measure the scheduler, and 10^5 threads crash torch's OpenMP
pool with a segfault; --threads is bounded by the cores present times this."""


def threads() -> Range:
    cores = os.cpu_count() or 1
    why = f"at most {THREADS_PER_CORE} threads per core, {cores} cores here"
    return Range(1, cores * THREADS_PER_CORE, why, integer=True)


def option(flag: str, within: Range | Callable[[], Range]) -> Callable[[Any], Any]:
    """A typer callback that checks a numeric flag (None, not given, passes).

    Out of range is a usage error like any the parser finds: "Invalid value for '--x': ...",
    exit 2, one line (cli._Group prints it)."""
    import typer  # only the CLI uses flags; the library reads bounds without typer

    def callback(value: Any) -> Any:
        if value is None:
            return value
        bounds = within() if callable(within) else within
        for v in value if isinstance(value, list | tuple) else [value]:
            if not bounds.contains(v):
                raise typer.BadParameter(f"{v!r} is out of range: {bounds.explain()}")
        return value

    return callback
