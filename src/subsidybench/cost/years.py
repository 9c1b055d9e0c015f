"""Years and windows: when a job runs against when a programme pays.

A job starts on a date (`cost --start`, default today) and spends evenly over its wall time. A
programme pays from its first valid day to its last; a job that starts outside that window gets
nothing, one that outlasts it gets nothing after its last day. Yearly caps and yearly pools
restart each programme year (calendar years), so a long job's spend is split between years and
each year's part is capped on its own. Vectorised: single answers, sweeps and ranges share it.
"""

from __future__ import annotations

import datetime
import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from subsidybench.catalogue.subsidies import Programme
from subsidybench.errors import UserError
from subsidybench.units import Array

MAX_PROGRAMME_YEARS = 10_000
"""Programme years one answer splits spend into: a job longer than this is a typo, not a plan."""


@dataclass(frozen=True, slots=True)
class Calendar:
    """When a job runs against when a programme pays: the job's first day, the hour of the job
    (counted from the start of that day) after which the programme pays nothing (its last valid
    day's end; 0 when it does not pay at the start), and what was decided, in words."""

    start: datetime.date
    paid_until_hours: float = math.inf
    status: str = "valid"
    """valid, expired, not yet valid, assumed valid (assume_valid) or dates unknown."""
    detail: str = ""

    def year_ends(self, horizon_hours: float) -> np.ndarray:
        """Hours from the start at which each programme year ends (1 January, 00:00), up to the
        horizon: yearly caps restart there. Programme years are calendar years (the texts grant
        yearly sums by budget year)."""
        out: list[float] = []
        year = self.start.year + 1
        while True:
            hours = (datetime.date(year, 1, 1) - self.start).days * 24.0
            if hours >= horizon_hours:
                return np.asarray(out, dtype=np.float64)
            out.append(hours)
            if len(out) > MAX_PROGRAMME_YEARS:
                raise UserError(
                    f"the job runs past {MAX_PROGRAMME_YEARS:,} programme years from"
                    f" {self.start}: a yearly cap is not split over so many; check the job"
                )
            year += 1

    def year_label(self, index: int) -> str:
        return str(self.start.year + index)


def _until(x: Any, wall: np.ndarray) -> np.ndarray:
    """The share of a job's spend made before hour `x` of it, spend being even over its wall
    time; a job of no known wall time spends everything at its start."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(wall > 0, np.clip(x, 0.0, wall) / np.where(wall > 0, wall, 1.0), x > 0)


def yearly_rates(
    wall_hours: ArrayLike,
    rate: ArrayLike,
    after_rate: ArrayLike = 0.0,
    window_hours: ArrayLike = np.inf,
    paid_until: float = math.inf,
    year_ends: ArrayLike = (),
) -> list[tuple[Array, Array]]:
    """Per programme year: (the share of the spend in it that the programme pays towards, the
    subsidy before caps per unit of the whole spend). `rate` lasts the first `window_hours` of
    the job, `after_rate` the rest; nothing is paid after `paid_until` hours."""
    wall = np.asarray(wall_hours, dtype=np.float64)
    edges = [0.0, *np.asarray(year_ends, dtype=np.float64).tolist(), math.inf]
    high_end = np.minimum(np.asarray(window_hours, dtype=np.float64), paid_until)
    out = []
    for a, b in itertools.pairwise(edges):
        start = _until(a, wall)
        paid = np.maximum(0.0, _until(min(b, paid_until), wall) - start)
        high = np.minimum(paid, np.maximum(0.0, _until(np.minimum(b, high_end), wall) - start))
        out.append((paid, high * np.asarray(rate) + (paid - high) * np.asarray(after_rate)))
    return out


def subsidy_over_time(
    gross: ArrayLike,
    wall_hours: ArrayLike,
    rate: ArrayLike,
    after_rate: ArrayLike = 0.0,
    window_hours: ArrayLike = np.inf,
    cap: ArrayLike = np.inf,
    cap_year: ArrayLike = np.inf,
    calendar: Calendar | None = None,
) -> tuple[Array, Array]:
    """(rate before caps, subsidy) of `gross` spent evenly over `wall_hours`: each programme
    year's part at most `cap_year`, the whole at most `cap`, nothing after the programme ends.
    Vectorised; the single answer, sweeps and ranges share it."""
    wall = np.asarray(wall_hours, dtype=np.float64)
    paid_until = math.inf if calendar is None else calendar.paid_until_hours
    ends: Any = ()
    if calendar is not None and np.any(np.isfinite(np.asarray(cap_year))):
        ends = calendar.year_ends(float(np.max(np.minimum(wall, paid_until), initial=0.0)))
    parts = yearly_rates(wall, rate, after_rate, window_hours, paid_until, ends)
    g = np.asarray(gross, dtype=np.float64)
    before = sum((u for _, u in parts), np.zeros(np.shape(wall)))
    capped = sum((np.minimum(g * u, cap_year) for _, u in parts), np.zeros(np.shape(wall)))
    return before, np.minimum(capped, np.asarray(cap))


def programme_calendar(
    programme: Programme, start: datetime.date, assume_valid: bool = False
) -> Calendar:
    """Whether `programme` pays for a job starting on `start`, and until which hour of it. A
    job that starts before the programme does or after it ended gets nothing (eligibility is
    judged when the job starts); one that outlasts it gets nothing after its last day."""
    begins, ends = programme.begins(), programme.ends()
    window = f"valid {programme.valid_from} to {programme.valid_until}; job starts {start}"
    if assume_valid:
        return Calendar(start, math.inf, "assumed valid", f"{window}; paid throughout, as asked")
    if begins is not None and begins > start:
        return Calendar(start, 0.0, "not yet valid", f"{window}: pays nothing")
    if ends is not None and ends < start:
        return Calendar(start, 0.0, "expired", f"{window}: pays nothing")
    if ends is None:
        what = "dates unknown" if begins is None else "valid"
        return Calendar(start, math.inf, what, f"{window}: taken as paying throughout")
    until = ((ends - start).days + 1) * 24.0
    return Calendar(start, until, "valid", f"{window}: pays nothing after {ends}")
