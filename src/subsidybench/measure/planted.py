"""A planted slowdown: a known change, to check that a comparison finds it (bench/check_noise.py).

    SUBSIDYBENCH_PLANTED_SLOWDOWN="softmax=0.10" subsidybench run --suite ci --device cpu

makes every task whose id starts with `softmax` take 10% longer per step: after each step the
step's own duration times the fraction is spent spinning on the clock. Spinning, not sleeping:
time.sleep overshoots by ~50-100 µs on Linux, more than 10% of a short step. The step's duration
is measured on the host, so on an accelerator (asynchronous launches) the slowdown is of the
launch, not the kernel: meant for CPU runs. A result so slowed says so in its note.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import replace

from subsidybench.errors import UserError
from subsidybench.results.trust import HOOK_NOTE
from subsidybench.workloads.base import Step

ENV = "SUBSIDYBENCH_PLANTED_SLOWDOWN"
MAX_FRACTION = 10.0
"""A step made 11x longer is far past any slowdown a comparison is checked against; more only
turns the hook into a hang (1e308 spins for ever)."""


def fraction(task_id: str, environ: dict[str, str] | None = None) -> float | None:
    """The planted slowdown of a task (0.10 = 10% longer), None when none is planted."""
    text = (os.environ if environ is None else environ).get(ENV, "").strip()
    if not text:
        return None
    for part in text.split(","):
        prefix, sep, value = part.partition("=")
        try:
            amount = float(value)
        except ValueError:
            amount = math.nan
        if not sep or not prefix.strip() or not math.isfinite(amount) or amount <= 0:
            raise UserError(f"{ENV}: {part!r} is not WORKLOAD=FRACTION (softmax=0.10)")
        if amount > MAX_FRACTION:
            raise UserError(f"{ENV}: {part!r}: a slowdown is at most {MAX_FRACTION:g} (x11)")
        if task_id.startswith(prefix.strip()):
            return amount
    return None


def note(amount: float) -> str:
    return f"planted slowdown of {amount:.0%} ({ENV}): {HOOK_NOTE}"


def slowed(step: Step, amount: float) -> Step:
    """`step`, each call followed by a spin of `amount` times the call's own duration."""
    inner = step.run
    clock = time.perf_counter

    def run() -> object:
        start = clock()
        out = inner()
        end = clock()
        until = end + (end - start) * amount
        while clock() < until:
            pass
        return out

    return replace(step, run=run)
