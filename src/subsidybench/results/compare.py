"""Comparing runs: the same workloads in two runs, side by side, and whether they differ.

Workloads are paired by result id, which names the workload, its sizes, its dtype and whether it
was compiled, so a pair is always the same computation. Whether two figures differ is decided
from the raw samples (one per timed block), not from the medians alone: a two-sided Mann-Whitney
U test on seconds per step. Benchmark times are skewed with a long right tail (interrupts, other
processes), which a t-test (pyperf's choice) assumes away; the U test uses only ranks, so a few
slow blocks cannot make a difference significant or hide one (scipy.stats.mannwhitneyu).

Samples within a run are not fully independent (a machine drifts), so a tiny but systematic
difference can come out significant: the ratio of medians says how large it is, and
--fail-on-regression only counts slowdowns larger than a given percentage. Torch-free.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from scipy.stats import mannwhitneyu

from subsidybench.errors import UserError
from subsidybench.results.record import RunResult, WorkloadResult

DEFAULT_ALPHA = 0.05


def u_test_p_value(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided Mann-Whitney U test: the p-value that `a` and `b` come from one distribution.

    scipy's "auto" method: the exact distribution for small samples without ties, else the
    normal approximation with tie and continuity corrections.
    """
    if len(set(a) | set(b)) == 1:  # every value equal: nothing tells the samples apart
        return 1.0
    return float(mannwhitneyu(a, b, alternative="two-sided").pvalue)


class Change(StrEnum):
    SLOWER = "slower"
    FASTER = "faster"
    NOT_SIGNIFICANT = "not significant"
    NOT_COMPARABLE = "not comparable"


@dataclass(frozen=True, slots=True)
class WorkloadChange:
    """One workload in the baseline and in another run."""

    id: str
    baseline_median_s: float | None
    other_median_s: float | None
    baseline_n: int
    other_n: int
    ratio: float | None
    """Other median / baseline median, seconds per step: above 1 is slower."""
    p_value: float | None
    change: Change
    note: str = ""
    """Why the pair is not comparable, or what a reader must know (an invalid verdict)."""

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
        return str(self.change)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "baseline_median_s": self.baseline_median_s,
            "other_median_s": self.other_median_s,
            "baseline_n": self.baseline_n,
            "other_n": self.other_n,
            "ratio": self.ratio,
            "p_value": self.p_value,
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
            "test": "two-sided Mann-Whitney U on seconds per step",
            "warnings": list(self.warnings),
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
    a: WorkloadResult | None,
    b: WorkloadResult | None,
    labels: tuple[str, str],
    alpha: float,
) -> WorkloadChange:
    ma = a.measurement if a is not None else None
    mb = b.measurement if b is not None else None
    if not _measured(a) or not _measured(b) or ma is None or mb is None:
        reasons = []
        for label, r in zip(labels, (a, b), strict=True):
            if r is None:
                reasons.append(f"not in {label}")
            elif not _measured(r):
                reasons.append(f"{r.status} in {label}: {r.reason}")
        return WorkloadChange(
            id=id_,
            baseline_median_s=ma.median if ma else None,
            other_median_s=mb.median if mb else None,
            baseline_n=ma.n if ma else 0,
            other_n=mb.n if mb else 0,
            ratio=None,
            p_value=None,
            change=Change.NOT_COMPARABLE,
            note="; ".join(reasons),
        )
    p_value = u_test_p_value(ma.samples_s, mb.samples_s)
    ratio = mb.median / ma.median
    if p_value >= alpha:
        change = Change.NOT_SIGNIFICANT
    else:
        change = Change.SLOWER if ratio > 1 else Change.FASTER
    notes = []
    for label, r in zip(labels, (a, b), strict=True):
        assert r is not None and r.verdict is not None
        if not r.verdict.valid:
            notes.append(f"invalid in {label}: {'; '.join(r.verdict.reasons)}")
    return WorkloadChange(
        id=id_,
        baseline_median_s=ma.median,
        other_median_s=mb.median,
        baseline_n=ma.n,
        other_n=mb.n,
        ratio=ratio,
        p_value=p_value,
        change=change,
        note="; ".join(notes),
    )


def compare_runs(
    baseline: RunResult,
    other: RunResult,
    *,
    baseline_label: str = "baseline",
    other_label: str = "other",
    alpha: float = DEFAULT_ALPHA,
    force: bool = False,
) -> RunComparison:
    """Pair the workloads of two runs by id and test each pair for a difference at `alpha`."""
    if not 0 < alpha < 1:
        raise UserError(f"--alpha: a significance level is in (0, 1), got {alpha:g}")
    warnings = check_comparable(baseline, other, other_label, force)
    a = {r.id: r for r in baseline.results}
    b = {r.id: r for r in other.results}
    ids = list(a) + [i for i in b if i not in a]
    rows = tuple(_pair(i, a.get(i), b.get(i), (baseline_label, other_label), alpha) for i in ids)
    return RunComparison(baseline_label, other_label, alpha, rows, tuple(warnings))


def labels_for(paths: Sequence[str]) -> list[str]:
    """Short names for run files: the file name without .json, the whole path where two clash."""
    stems = [p.rsplit("/", 1)[-1].removesuffix(".json") for p in paths]
    return [p if stems.count(s) > 1 else s for p, s in zip(paths, stems, strict=True)]
