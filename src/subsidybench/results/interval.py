"""The confidence interval of a ratio of speeds, other / baseline, from the highest level of
repetition both sides have: runs, else rounds (a Welch t interval of log medians), else one
run's samples (a bootstrap). results/compare.py says why each level, and when a change is
called; results/ab.py pairs its rounds instead. Torch-free.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from subsidybench.timing import Measurement

RESAMPLES = 2000

Side = list[list[np.ndarray]]
"""One side of a pair: per run, the samples of each of its rounds."""


def side_of(measurements: Sequence[Measurement]) -> Side:
    """The runs of one side, each split into its rounds."""
    return [m.by_round() for m in measurements]


def side_centre(side: Side) -> float:
    """A side's figure: the geometric mean over its runs of each run's geometric mean of round
    medians (timing.Measurement.centre; a run of 3 rounds counts as much as a run of 1)."""
    return math.exp(float(np.mean([np.mean(run) for run in _logs(side)])))


@dataclass(frozen=True, slots=True)
class Interval:
    """The ratio other / baseline, its confidence interval, a p-value, and how they were had."""

    ratio: float
    low: float
    high: float
    p_value: float
    units: str
    """What the test's units were: "runs", "rounds" or "samples"."""
    base_centre: float
    other_centre: float
    """The figures the ratio was computed from: the geometric mean of the units' medians (the
    median of the samples for "samples"); ratio == other_centre / base_centre."""
    detectable: float
    """The smallest change this pair could have called: the interval's half-width, as a
    fraction (0.08: a ratio within 8% of 1 cannot be told from no change)."""


def _logs(side: Side) -> list[list[float]]:
    return [[math.log(float(np.median(g))) for g in run] for run in side]


def _units(side: Side, level: str) -> np.ndarray:
    logs = _logs(side)
    if level == "runs":
        return np.array([np.mean(run) for run in logs])
    return np.array([x for run in logs for x in run])


def ratio_interval(base: Side, other: Side, alpha: float, seed: int) -> Interval:
    """The ratio's interval, from the highest level repeated on both sides (see the module)."""
    for level in ("runs", "rounds"):
        a, b = _units(base, level), _units(other, level)
        if len(a) >= 2 and len(b) >= 2:
            return _welch(a, b, alpha, level)
    low, high, p = bootstrap_ratio(base, other, alpha, seed)
    centres = [float(np.median(np.concatenate(side[0]))) for side in (base, other)]
    half = (math.log(high) - math.log(low)) / 2
    return Interval(
        centres[1] / centres[0], low, high, p, "samples", *centres, detectable=math.expm1(half)
    )


def _welch(a: np.ndarray, b: np.ndarray, alpha: float, units: str) -> Interval:
    """Welch's t interval for mean(b) - mean(a) of log medians, as a ratio."""
    diff = float(b.mean() - a.mean())
    centres = (math.exp(float(a.mean())), math.exp(float(b.mean())))
    ratio = centres[1] / centres[0]
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = math.sqrt(va + vb)
    if se == 0:  # identical units on both sides: the difference is exact
        return Interval(ratio, ratio, ratio, float(diff == 0), units, *centres, detectable=0.0)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    # The t distribution from scipy.special (stdtrit: its quantile, stdtr: its CDF): scipy.stats
    # gives the same figures but costs 0.76 s of CPU to import, 60% of a two-run `compare`.
    from scipy.special import stdtr, stdtrit

    half = float(stdtrit(df, 1 - alpha / 2)) * se
    p = float(2 * stdtr(df, -abs(diff) / se))
    return Interval(
        ratio,
        math.exp(diff - half),
        math.exp(diff + half),
        p,
        units,
        *centres,
        detectable=math.expm1(half),
    )


def bootstrap_ratio(
    base: Side, other: Side, alpha: float, seed: int, resamples: int = RESAMPLES
) -> tuple[float, float, float]:
    """(low, high, p) of median(other) / median(base) by a bootstrap of each side's samples.

    The fallback when a side has a single round: its samples are all there is, and the interval
    then holds the noise within the runs only. Seeded by the caller (the workload id), so a
    comparison gives the same answer every time.
    """
    rng = np.random.default_rng(seed)
    a, b = np.concatenate(base[0]), np.concatenate(other[0])
    ra = np.median(a[rng.integers(len(a), size=(resamples, len(a)))], axis=1)
    rb = np.median(b[rng.integers(len(b), size=(resamples, len(b)))], axis=1)
    ratios = rb / ra
    low, high = np.quantile(ratios, [alpha / 2, 1 - alpha / 2])
    tail = min(np.count_nonzero(ratios <= 1.0), np.count_nonzero(ratios >= 1.0))
    p = min(1.0, 2 * (tail + 1) / (resamples + 1))
    return float(low), float(high), p
