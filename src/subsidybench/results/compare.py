"""Comparing runs: the same workloads on two sides (one or several runs each), and what changed.

Workloads are paired by result id, which names the workload, its sizes, its dtype and whether it
was compiled, so a pair is always the same computation. Most of the noise on a shared machine is
between processes and over minutes, not within one burst of timing: two back-to-back ci runs on
a busy 2-core machine (2026-11) differed by up to 1.25x on unchanged code, and a Mann-Whitney U
test on one run's samples against the other's called 14 of 24 workloads changed, p down to
1e-14, because it measured the noise within each run only. So a change is called only when it is

- significant by a test whose units are the highest level repeated on both sides: runs, when
  each side has several (pooled: `compare A1 A2 -- B1 B2`), else rounds (results/rounds.py
  spreads every result over rounds, as pyperf spreads it over worker processes). Each unit is
  one number, the log of its median (a run's: the mean over its rounds), and a Welch t interval
  of the difference of means gives the (1 - alpha) confidence interval of the ratio; with 3 and
  3 rounds it has about 4 degrees of freedom, so drift between rounds widens it as it should. A
  hierarchical bootstrap resampling the 3 rounds (tried first) gave 0.91-0.99 for two synthetic
  runs of one speed with 8% drift between rounds, and called it faster. Where
  a side has one run of one round (an old file), only the samples are left: a bootstrap of them,
  with a warning that between-run noise is not in the interval.
- significant for the comparison as a whole: every workload of a comparison is a question of
  its own, so each interval is taken at alpha / m for the m workloads compared (Bonferroni; the
  intervals hold together with probability 1 - alpha), as results/history.py confirms a step.
  At alpha per workload, ten back-to-back ci runs on a steady host (2026-12-05) had 126 of 1,190
  unchanged pair-workloads called changed (89.4% not) and five A/B jobs called 3-5 unchanged
  workloads each: the machine's speed moves every workload of a process at once, so one slow
  round becomes many calls. "Did anything get slower?" must be wrong at most alpha of the time.
- larger than a minimum effect (TorchBench's regression detectors use a 7% delta): what a test
  on few units still lets through, and changes too small to act on, are reported as "small".

The ratio is of geometric means of the units' medians, seconds per step: above 1 is slower.
Torch-free.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from subsidybench.errors import UserError
from subsidybench.results.interval import Interval, ratio_interval, side_centre, side_of
from subsidybench.results.record import RunResult, WorkloadResult

DEFAULT_ALPHA = 0.05
DEFAULT_MIN_EFFECT = 0.05
"""Smallest change called: see README, "Comparing runs", for the measurements behind it."""


class Change(StrEnum):
    SLOWER = "slower"
    FASTER = "faster"
    SMALL = "small"
    """Significant, but smaller than the minimum effect: not called a change."""
    NOT_SIGNIFICANT = "not significant"
    """No change past the minimum effect, and the pair could have seen one."""
    CANNOT_TELL = "cannot tell"
    """Not significant, but the smallest change the pair could see exceeds the minimum effect:
    its silence says nothing about a change of that size."""
    NOT_COMPARABLE = "not comparable"


@dataclass(frozen=True, slots=True)
class WorkloadChange:
    """One workload in the baseline and in another run."""

    id: str
    baseline_median_s: float | None
    other_median_s: float | None
    """Each side's figure, seconds per step, the ratio's own: the geometric mean of its units'
    medians (one round: the median), as `show` prints a result (timing.Measurement.centre)."""
    baseline_n: int
    other_n: int
    ratio: float | None
    """Other median / baseline median, seconds per step: above 1 is slower."""
    p_value: float | None
    change: Change
    ci: tuple[float, float] | None = None
    """The confidence interval of the ratio (1 - alpha): Welch t on log medians of runs or
    rounds; a bootstrap of the samples for a side of one run of one round."""
    baseline_groups: int = 0
    other_groups: int = 0
    """Rounds the samples came from on each side, over all its runs."""
    units: str = ""
    """The test's units: runs, rounds, or samples (a side of one round)."""
    note: str = ""
    """Why the pair is not comparable, or what a reader must know (an invalid verdict)."""
    detectable: float | None = None
    """The smallest change the pair could have called (Interval.detectable)."""

    def __post_init__(self) -> None:
        if self.change is Change.NOT_COMPARABLE and not self.note:
            raise ValueError(f"{self.id}: a pair that is not comparable must say why")

    @property
    def slowdown(self) -> float | None:
        """How much slower the other run is, as a fraction (0.25 = 25% more time per step)."""
        return None if self.ratio is None else self.ratio - 1.0

    def describe(self) -> str:
        """pyperf's wording: "1.25x slower", "1.10x faster", "not significant"."""
        if self.change is Change.SLOWER and self.ratio is not None:
            return f"{self.ratio:.2f}x slower"
        if self.change is Change.FASTER and self.ratio is not None:
            return f"{1.0 / self.ratio:.2f}x faster"
        if self.change is Change.SMALL and self.ratio is not None:
            return f"small ({self.ratio - 1:+.1%})"
        if self.change is Change.CANNOT_TELL and self.detectable is not None:
            if self.ci is not None and not self.ci[0] <= 1.0 <= self.ci[1]:
                return "cannot tell (machine busy)"  # results/ab.py: a call on shared rounds
            return f"cannot tell (sees >{self.detectable:.0%})"
        return str(self.change)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "baseline_median_s": self.baseline_median_s,
            "other_median_s": self.other_median_s,
            "baseline_n": self.baseline_n,
            "other_n": self.other_n,
            "ratio": self.ratio,
            "ci": list(self.ci) if self.ci else None,
            "baseline_groups": self.baseline_groups,
            "other_groups": self.other_groups,
            "units": self.units,
            "p_value": self.p_value,
            "detectable": self.detectable,
            "change": self.change.value,
            "describe": self.describe(),
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class RunComparison:
    """Every workload of two runs, paired by id, and the warnings the pairing raised."""

    baseline: str
    other: str
    alpha: float
    rows: tuple[WorkloadChange, ...]
    warnings: tuple[str, ...] = ()
    min_effect: float = DEFAULT_MIN_EFFECT
    reference: WorkloadChange | None = None
    """The machine's own reference step (measure/reference.py) on both sides, where every run
    has one: a change here is the machine's, and changes of its size may be too."""
    test: str = "Welch t on the log medians of runs, else rounds; else a bootstrap of samples"
    family: int = 1
    """How many workloads were compared: each interval is at alpha / family (Bonferroni)."""

    @property
    def alpha_each(self) -> float:
        """The level of each workload's interval, so that all hold together at `alpha`."""
        return family_alpha(self.alpha, self.family)

    def regressions(self, percent: float) -> list[WorkloadChange]:
        """Significant slowdowns of more than `percent` per cent."""
        return [
            r
            for r in self.rows
            if r.change is Change.SLOWER and r.slowdown is not None and r.slowdown * 100 > percent
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "baseline": self.baseline,
            "other": self.other,
            "alpha": self.alpha,
            "family": self.family,
            "alpha_each": self.alpha_each,
            "min_effect": self.min_effect,
            "test": self.test,
            "figures": "geometric mean of the test units' medians (seconds per step)",
            "warnings": list(self.warnings),
            "reference": self.reference.to_dict() if self.reference else None,
            "rows": [r.to_dict() for r in self.rows],
        }


def check_comparable(
    baseline: RunResult, other: RunResult, other_label: str, force: bool = False
) -> list[str]:
    """Warnings for differences a reader must know; UserError for a comparison that would mislead.

    Different versions of one suite have different workloads or sizes under the same name: that
    is refused unless `force`. A different device is a use case (which chip is faster) and only
    warned about, as are a different measuring method and different suites.
    """
    warnings = []
    if baseline.suite == other.suite and baseline.suite_version != other.suite_version:
        message = (
            f"{other_label}: suite {other.suite} v{other.suite_version} against"
            f" v{baseline.suite_version} in the baseline"
        )
        if not force:
            raise UserError(f"{message}: its workloads may differ; pass --force to compare anyway")
        warnings.append(f"{message} (compared anyway: --force)")
    elif baseline.suite != other.suite:
        warnings.append(
            f"{other_label}: suite {other.suite} v{other.suite_version}, baseline"
            f" {baseline.suite} v{baseline.suite_version}: only workloads with the same id pair"
        )
    if baseline.method_version != other.method_version:
        warnings.append(
            f"{other_label}: measuring method v{other.method_version}, baseline"
            f" v{baseline.method_version}: a difference may come from the method"
        )
    if (baseline.device.type, baseline.device.name) != (other.device.type, other.device.name):
        warnings.append(
            f"{other_label}: device {other.device} ({other.device.name}), baseline"
            f" {baseline.device} ({baseline.device.name}): comparing devices"
        )
    if baseline.environment.torch_threads != other.environment.torch_threads:
        warnings.append(
            f"{other_label}: {other.environment.torch_threads} torch threads, baseline"
            f" {baseline.environment.torch_threads}: a difference may come from the threads"
        )
    if baseline.environment.torch_version != other.environment.torch_version:
        warnings.append(
            f"{other_label}: torch {other.environment.torch_version}, baseline"
            f" {baseline.environment.torch_version}"
        )
    base_dtypes = {r.dtype for r in baseline.results}
    other_dtypes = {r.dtype for r in other.results}
    if base_dtypes != other_dtypes:
        warnings.append(
            f"{other_label}: dtypes {', '.join(sorted(other_dtypes))}, baseline"
            f" {', '.join(sorted(base_dtypes))}: workloads at a dtype only one run has are unpaired"
        )
    return warnings


def _measured(r: WorkloadResult | None) -> bool:
    return r is not None and r.ok and r.measurement is not None


def _pair(
    id_: str,
    a: Sequence[WorkloadResult | None],
    b: Sequence[WorkloadResult | None],
    labels: tuple[str, str],
    alpha: float,
    min_effect: float,
) -> WorkloadChange:
    """One workload: `a` and `b` hold its result in each run of either side (None: absent)."""
    reasons = []
    for label, side in zip(labels, (a, b), strict=True):
        for r in side:
            if r is None:
                reasons.append(f"not in {label}")
            elif not _measured(r):
                reasons.append(f"{r.status} in {label}: {r.reason}")
    ma = [r.measurement for r in a if r is not None and r.measurement is not None]
    mb = [r.measurement for r in b if r is not None and r.measurement is not None]
    if reasons:
        return WorkloadChange(
            id=id_,
            baseline_median_s=side_centre(side_of(ma)) if ma else None,
            other_median_s=side_centre(side_of(mb)) if mb else None,
            baseline_n=sum(m.n for m in ma),
            other_n=sum(m.n for m in mb),
            ratio=None,
            p_value=None,
            change=Change.NOT_COMPARABLE,
            note="; ".join(dict.fromkeys(reasons)),
        )
    base, other = side_of(ma), side_of(mb)
    interval = ratio_interval(base, other, alpha, zlib.crc32(id_.encode()))
    ratio, low, high, p_value = interval.ratio, interval.low, interval.high, interval.p_value
    change = call(interval, min_effect)
    notes = []
    for label, side in zip(labels, (a, b), strict=True):
        for r in side:
            assert r is not None and r.verdict is not None
            if not r.verdict.valid:
                notes.append(f"invalid in {label}: {'; '.join(r.verdict.reasons)}")
    return WorkloadChange(
        id=id_,
        baseline_median_s=interval.base_centre,
        other_median_s=interval.other_centre,
        baseline_n=sum(m.n for m in ma),
        other_n=sum(m.n for m in mb),
        ratio=ratio,
        p_value=p_value,
        change=change,
        note="; ".join(dict.fromkeys(notes)),
        ci=(low, high),
        baseline_groups=sum(len(g) for g in base),
        other_groups=sum(len(g) for g in other),
        units=interval.units,
        detectable=interval.detectable,
    )


def compare_runs(
    baseline: RunResult | Sequence[RunResult],
    other: RunResult | Sequence[RunResult],
    *,
    baseline_label: str = "baseline",
    other_label: str = "other",
    alpha: float = DEFAULT_ALPHA,
    min_effect: float = DEFAULT_MIN_EFFECT,
    force: bool = False,
) -> RunComparison:
    """Pair the workloads of two sides (a run, or several runs pooled) by id and call changes.

    A change is called when the ratio's interval excludes 1 and the ratio is further from 1 than
    `min_effect` (0.05: 5% slower, or 1/1.05 faster). The intervals are (1 - alpha) together:
    each at alpha / m for the m workloads measured on both sides.
    """
    if not 0 < alpha < 1:
        raise UserError(f"--alpha: a significance level is in (0, 1), got {alpha:g}")
    if not 0 <= min_effect < 10:  # also refuses nan
        raise UserError(f"--min-effect: a fraction >= 0 (0.05 = 5%), got {min_effect:g}")
    bases = [baseline] if isinstance(baseline, RunResult) else list(baseline)
    others = [other] if isinstance(other, RunResult) else list(other)
    if not bases or not others:
        raise UserError("compare: each side needs at least one run")
    warnings = []
    for i, run in enumerate([*bases[1:], *others]):
        label = baseline_label if i < len(bases) - 1 else other_label
        warnings.extend(check_comparable(bases[0], run, label, force))
    single = [
        label
        for label, side in ((baseline_label, bases), (other_label, others))
        if len(side) == 1 and side[0].rounds == 1
    ]
    if single:
        warnings.append(
            f"{' and '.join(single)}: one run of one round, so the interval holds the noise within"
            f" the run only; the minimum effect ({min_effect:.0%}) guards against the rest"
        )
    a = [{r.id: r for r in run.results} for run in bases]
    b = [{r.id: r for r in run.results} for run in others]
    ids = list(dict.fromkeys(i for run in (*a, *b) for i in run))
    labels = (baseline_label, other_label)
    family = sum(all(_measured(run.get(i)) for run in (*a, *b)) for i in ids)
    each = family_alpha(alpha, family)
    rows = tuple(
        _pair(i, [m.get(i) for m in a], [m.get(i) for m in b], labels, each, min_effect)
        for i in ids
    )
    # The machine's reference step is one question on its own (a warning, never a call).
    reference = _reference(bases, others, alpha, min_effect)
    if reference is not None and reference.change in (Change.SLOWER, Change.FASTER):
        assert reference.ci is not None
        warnings.append(
            f"the machine itself ran {reference.describe()} in {other_label} (a fixed reference"
            f" step, interval {reference.ci[0]:.2f}-{reference.ci[1]:.2f}): workload changes of"
            " that size may be the machine's, not the code's"
        )
    return RunComparison(
        baseline_label,
        other_label,
        alpha,
        rows,
        tuple(dict.fromkeys(warnings)),
        min_effect,
        reference,
        family=max(family, 1),
    )


def family_alpha(alpha: float, family: int) -> float:
    """Each of `family` intervals at this level holds together at `alpha` (Bonferroni)."""
    return alpha / max(family, 1)


def _reference(
    bases: Sequence[RunResult], others: Sequence[RunResult], alpha: float, min_effect: float
) -> WorkloadChange | None:
    """The reference step compared as a workload is, where every run on both sides has one."""
    sides = [
        [run.reference.measurement if run.reference else None for run in side]
        for side in (bases, others)
    ]
    if any(m is None for side in sides for m in side):
        return None
    base, other = ([m for m in side if m is not None] for side in sides)
    interval = ratio_interval(side_of(base), side_of(other), alpha, zlib.crc32(b"reference"))
    step = next(run.reference.step for run in bases if run.reference)
    return WorkloadChange(
        id=f"machine reference ({step})",
        baseline_median_s=interval.base_centre,
        other_median_s=interval.other_centre,
        baseline_n=sum(m.n for m in base),
        other_n=sum(m.n for m in other),
        ratio=interval.ratio,
        p_value=interval.p_value,
        change=call(interval, min_effect),
        ci=(interval.low, interval.high),
        baseline_groups=sum(m.round_count for m in base),
        other_groups=sum(m.round_count for m in other),
        units=interval.units,
        detectable=interval.detectable,
    )


def call(interval: Interval, min_effect: float) -> Change:
    """Changed only if the interval excludes 1 and the ratio passes the minimum effect; where
    it holds 1 and is wider than the minimum effect, the pair cannot tell."""
    if interval.low <= 1.0 <= interval.high:
        if interval.detectable > min_effect:
            return Change.CANNOT_TELL
        return Change.NOT_SIGNIFICANT
    if abs(math.log(interval.ratio)) <= math.log1p(min_effect):
        return Change.SMALL
    return Change.SLOWER if interval.ratio > 1 else Change.FASTER


def labels_for(paths: Sequence[str]) -> list[str]:
    """Short names for run files: the file name without .json, the whole path where two clash."""
    stems = [p.rsplit("/", 1)[-1].removesuffix(".json") for p in paths]
    return [p if stems.count(s) > 1 else s for p, s in zip(paths, stems, strict=True)]
