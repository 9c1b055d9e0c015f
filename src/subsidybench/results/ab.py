"""An interleaved A/B comparison: two configurations measured round by round in one job.

"Did this change make it slower?" is answered best with both sides measured side by side: ten
ci runs back to back on a steady host (issue 24, 2026-12) saw softmax drift from 441 to 481 us
over ten minutes, so two runs far apart in time cannot show a 10% change, and a run compared
with a stored baseline compares machines as much as code. `subsidybench ab` (measure/ab.py)
runs A and B alternately, each round a process of its own (A B, then B A, so that a steady drift
falls on both sides alike), and compares them here pairwise: round r of A with round r of B,
taken minutes apart at most, as asv's `continuous` and pyperf's paired runs do.

The test is a paired t on the differences of the rounds' log medians (N - 1 degrees of freedom):
what drifts between round pairs cancels in the differences. The figures beside the ratio are
each side's geometric mean of its rounds' medians, and their ratio is the ratio. Torch-free.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
from scipy.special import stdtr, stdtrit

from subsidybench.results.compare import (
    DEFAULT_ALPHA,
    DEFAULT_MIN_EFFECT,
    Change,
    RunComparison,
    WorkloadChange,
    call,
    compare_runs,
)
from subsidybench.results.interval import Interval
from subsidybench.results.record import RunResult, WorkloadResult
from subsidybench.timing import Measurement

MACHINE = "the machine itself ran"
"""How compare_runs' warning about the reference step begins: replaced by the paired one."""
TEST = "paired t on the log medians of interleaved A/B rounds (each a process of its own)"


def paired_interval(a: Sequence[float], b: Sequence[float], alpha: float) -> Interval:
    """The ratio exp(mean(b) - mean(a)) of paired log figures, with a paired t interval."""
    if len(a) != len(b) or len(a) < 2:
        raise ValueError(f"a paired interval needs two or more pairs, got {len(a)} and {len(b)}")
    la, lb = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    d = lb - la
    centres = (math.exp(float(la.mean())), math.exp(float(lb.mean())))
    ratio = centres[1] / centres[0]
    se = float(d.std(ddof=1)) / math.sqrt(len(d))
    if se == 0:  # every pair differs alike: the difference is exact
        p = float(not d.any())
        return Interval(ratio, ratio, ratio, p, "pairs", *centres, detectable=0.0)
    df = len(d) - 1
    half = float(stdtrit(df, 1 - alpha / 2)) * se
    p = float(2 * stdtr(df, -abs(float(d.mean())) / se))
    mean = float(d.mean())
    low, high = math.exp(mean - half), math.exp(mean + half)
    return Interval(ratio, low, high, p, "pairs", *centres, detectable=math.expm1(half))


def compare_ab(
    a: Sequence[RunResult],
    b: Sequence[RunResult],
    *,
    alpha: float = DEFAULT_ALPHA,
    min_effect: float = DEFAULT_MIN_EFFECT,
) -> RunComparison:
    """A's rounds against B's, pair by pair (round r of each side is run r of its list).

    Pairing, notes and warnings are compare_runs'; every comparable row's interval is the
    paired one. A workload missing from one round of either side is not comparable.
    """
    if len(a) != len(b):
        raise ValueError(f"A has {len(a)} rounds and B {len(b)}: an A/B compares them in pairs")
    base = compare_runs(
        a, b, baseline_label="A", other_label="B", alpha=alpha, min_effect=min_effect
    )
    if len(a) < 2:  # one pair has no spread to test: compare_runs' answer stands
        return base
    each = base.alpha_each  # every row's interval at alpha / m, as compare_runs' (Bonferroni)
    rows = tuple(_paired(row, a, b, each, min_effect) for row in base.rows)
    reference = base.reference
    warnings = [w for w in base.warnings if not w.startswith(MACHINE)]
    if reference is not None:
        ma = [r.reference.measurement if r.reference else None for r in a]
        mb = [r.reference.measurement if r.reference else None for r in b]
        reference = _row(reference, ma, mb, alpha, min_effect)
        if reference.change in (Change.SLOWER, Change.FASTER) and reference.ci is not None:
            warnings.append(
                f"{MACHINE} {reference.describe()} in B's rounds (a fixed reference step, interval"
                f" {reference.ci[0]:.2f}-{reference.ci[1]:.2f}): B's settings may slow the"
                " machine itself (threads), or the machine changed speed in step with B"
            )
    return replace(base, rows=rows, reference=reference, test=TEST, warnings=tuple(warnings))


def _paired(
    row: WorkloadChange,
    a: Sequence[RunResult],
    b: Sequence[RunResult],
    alpha: float,
    min_effect: float,
) -> WorkloadChange:
    if row.change is Change.NOT_COMPARABLE:
        return row
    ma = [_measurement(run, row.id) for run in a]
    mb = [_measurement(run, row.id) for run in b]
    paired = _row(row, ma, mb, alpha, min_effect)
    busy = [r for run in (*a, *b) for r in run.results if r.id == row.id and _busy(r)]
    if busy and paired.change in (Change.SLOWER, Change.FASTER, Change.SMALL):
        # Other processes took the CPU while this workload was timed: its figures are the
        # machine's as much as A's or B's, and a call on them is not the code's. At load average
        # 11-15 on a 2-core VM (2026-12-05), 2 of 15 unchanged workloads were called 1.3-1.4x
        # faster in five A/B jobs, every one of them on busy rounds.
        why = f"the CPU was shared in {len(busy)} of {2 * len(a)} rounds (machine busy)"
        note = "; ".join(filter(None, (paired.note, why)))
        return replace(paired, change=Change.CANNOT_TELL, note=note)
    return paired


def _busy(r: WorkloadResult) -> bool:
    """Timed while other processes used more of the CPU than its policy allows."""
    return (
        r.foreign_cpu is not None
        and r.policy is not None
        and r.foreign_cpu > r.policy.max_foreign_cpu
    )


def _measurement(run: RunResult, id_: str) -> Measurement | None:
    return next((r.measurement for r in run.results if r.id == id_), None)


def _row(
    row: WorkloadChange,
    ma: Sequence[Measurement | None],
    mb: Sequence[Measurement | None],
    alpha: float,
    min_effect: float,
) -> WorkloadChange:
    if any(m is None for m in (*ma, *mb)):
        return row
    logs = [[math.log(m.centre) for m in side if m is not None] for side in (ma, mb)]
    interval = paired_interval(logs[0], logs[1], alpha)
    return replace(
        row,
        baseline_median_s=interval.base_centre,
        other_median_s=interval.other_centre,
        ratio=interval.ratio,
        p_value=interval.p_value,
        change=call(interval, min_effect),
        ci=(interval.low, interval.high),
        units=interval.units,
        detectable=interval.detectable,
    )
