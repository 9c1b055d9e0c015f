"""Reading a workload's history: steps in its median that hold, and a gate on the newest runs.

The unit is one run's median (seconds per step), not the raw samples: most of the noise on a
shared machine is between processes, and samples of one process test one process against
another (DESIGN, measurement rules). A history of medians has that noise in it, so a step is
only called when it holds over several runs on each side.

Steps: for every point with `window` valid runs before it and `window` from it on, a two-sided
Mann-Whitney U test between the two windows (scipy.stats.mannwhitneyu) and the ratio of their
medians. A point is a candidate when p < alpha and the ratio differs from 1 by at least
`min_step`; the strongest candidate wins (smallest p, then largest ratio), and no other step is
called within `window` runs of it. Each step is then confirmed over the whole segments between
its neighbours, by the same test at alpha / (points tested) (Bonferroni) and the same minimum
size, and its size is measured there. With window 6 the smallest possible window p is
2/C(12,6) = 0.0022, so alpha 0.01 needs an all-but-complete separation of the two windows; on 48
synthetic 50-run histories (23 workloads, per-run noise 2-4%, two planted 15% steps) the
confirmation removed every chance step the windows alone had called (up to 7 in one history).
Change-point libraries were looked at (ruptures' PELT; E-divisive, as in MongoDB's
signal-processing-algorithms): they place breakpoints under a penalty but state no confidence,
and a minimum-effect rule is needed on top of them all the same.

Gate: the newest `last` runs of each workload on each machine against the `history` valid runs
before them, one-sided Mann-Whitney U (newer slower). A workload fails when the ratio of medians
exceeds 1 + threshold and p < alpha. Too short a history cannot reach alpha (the smallest
one-sided p is 1/C(last + history, last)) and is reported as such, never failed.

Torch-free: numpy, pandas, scipy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_WINDOW = 6
DEFAULT_ALPHA = 0.01
DEFAULT_MIN_STEP = 0.05

# The columns that make one series: a change of method version starts a new one, since
# results taken with different methods are never compared (timing.METHOD_VERSION).
SERIES = ("machine", "workload", "method_version")


@dataclass(frozen=True, slots=True)
class StepMethod:
    """How steps are found; `describe` is printed beside every result it gives."""

    window: int = DEFAULT_WINDOW
    alpha: float = DEFAULT_ALPHA
    min_step: float = DEFAULT_MIN_STEP

    def __post_init__(self) -> None:
        if self.window < 2:
            raise ValueError(f"window must be >= 2 runs, got {self.window}")
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), got {self.alpha}")
        if not self.min_step >= 0:
            raise ValueError(f"min_step must be >= 0, got {self.min_step}")

    def describe(self) -> str:
        return (
            f"two-sided Mann-Whitney U between the {self.window} valid runs before and the"
            f" {self.window} from each point on, p < {self.alpha:g}, step of the median at least"
            f" {self.min_step:.0%}"
        )


@dataclass(frozen=True, slots=True)
class Step:
    """A step in one series' median, found at the first run after it."""

    machine: str
    workload: str
    method_version: int
    run: int
    """The store's id of the first run after the step."""
    time: Any
    commit: str | None
    before_median_s: float
    """Median of the per-run medians from the previous step (or the start) to this one."""
    after_median_s: float
    """Median of the per-run medians from this step to the next (or the end)."""
    p_value: float
    """The windowed test's p at this point."""

    @property
    def ratio(self) -> float:
        """After / before, seconds per step: above 1 is slower."""
        return self.after_median_s / self.before_median_s

    @property
    def slower(self) -> bool:
        return self.ratio > 1

    def describe(self) -> str:
        change = self.ratio - 1
        word = "slower" if change > 0 else "faster"
        return f"{abs(change):.1%} {word}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "machine": self.machine,
            "workload": self.workload,
            "method_version": self.method_version,
            "first_run_after": self.run,
            "time": str(self.time),
            "commit": self.commit,
            "before_median_s": self.before_median_s,
            "after_median_s": self.after_median_s,
            "ratio": self.ratio,
            "p_value": self.p_value,
            "describe": self.describe(),
        }


def _mann_whitney_p(a: np.ndarray, b: np.ndarray, alternative: str) -> float:
    # scipy.stats costs more CPU to import (0.76 s measured) than numpy; only a test pays it.
    from scipy.stats import mannwhitneyu

    return float(mannwhitneyu(a, b, alternative=alternative).pvalue)


def _two_sided_p(a: np.ndarray, b: np.ndarray) -> float:
    if np.all(a == a[0]) and np.all(b == a[0]):
        return 1.0
    return _mann_whitney_p(a, b, "two-sided")


def find_steps(medians: Sequence[float], method: StepMethod) -> list[tuple[int, float]]:
    """Positions (index of the first value after a step) and their p, in order, for a series
    of per-run medians that are all valid."""
    x = np.asarray(medians, dtype=np.float64)
    w = method.window
    candidates = []
    for i in range(w, len(x) - w + 1):
        before, after = x[i - w : i], x[i : i + w]
        ratio = float(np.median(after) / np.median(before))
        if abs(ratio - 1) < method.min_step:
            continue  # too small to call, whatever the test says: skip the test's cost
        p = _two_sided_p(before, after)
        if p < method.alpha:
            candidates.append((p, -abs(math.log(ratio)), i))
    chosen: list[tuple[int, float]] = []
    for p, _, i in sorted(candidates):
        if all(abs(i - j) >= w for j, _ in chosen):
            chosen.append((i, p))
    chosen.sort()
    # Confirm each step over the whole segments between its neighbours, at alpha divided by
    # the number of points tested (Bonferroni): among ~40 windows per series and a few dozen
    # series, some window stands out by chance, and the longer segments dilute it. Dropping one
    # step joins two segments, so check again.
    confirm_alpha = method.alpha / max(1, len(x) - 2 * w + 1)
    while True:
        bounds = [0, *(i for i, _ in chosen), len(x)]
        kept = []
        for k, (i, p) in enumerate(chosen):
            before, after = x[bounds[k] : i], x[i : bounds[k + 2]]
            ratio = float(np.median(after) / np.median(before))
            if abs(ratio - 1) >= method.min_step and _two_sided_p(before, after) < confirm_alpha:
                kept.append((i, p))
        if len(kept) == len(chosen):
            return chosen
        chosen = kept


def detect_steps(frame: pd.DataFrame, method: StepMethod | None = None) -> list[Step]:
    """Steps in every series of a history frame (Store.history's columns); invalid and
    unmeasured results are left out of the test, as a reader leaves them out of a trend."""
    method = method or StepMethod()
    steps: list[Step] = []
    if frame.empty:
        return steps
    usable = frame[(frame["status"] == "ok") & frame["valid"].fillna(False).astype(bool)]
    for key, series in usable.groupby(list(SERIES), sort=True):
        machine, workload, version = key
        medians = series["median_s"].to_numpy(dtype=np.float64)
        found = find_steps(medians, method)
        bounds = [0, *(i for i, _ in found), len(medians)]
        for k, (i, p) in enumerate(found):
            before = medians[bounds[k] : i]
            after = medians[i : bounds[k + 2]]
            first = series.iloc[i]
            steps.append(
                Step(
                    machine=str(machine),
                    workload=str(workload),
                    method_version=int(version),
                    run=int(first["run"]),
                    time=first["time"],
                    commit=None if _missing(first["commit"]) else str(first["commit"]),
                    before_median_s=float(np.median(before)),
                    after_median_s=float(np.median(after)),
                    p_value=p,
                )
            )
    return steps


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


class GateVerdict(StrEnum):
    SLOWER = "slower"
    """Beyond the threshold with the test's confidence: the gate fails."""
    OK = "ok"
    SHORT_HISTORY = "too little history"
    INVALID = "newest runs invalid"


@dataclass(frozen=True, slots=True)
class GateRow:
    machine: str
    workload: str
    new_n: int
    history_n: int
    new_median_s: float | None
    history_median_s: float | None
    p_value: float | None
    verdict: GateVerdict

    @property
    def ratio(self) -> float | None:
        if self.new_median_s is None or self.history_median_s is None:
            return None
        return self.new_median_s / self.history_median_s

    def describe(self) -> str:
        r = self.ratio
        if r is None:
            return str(self.verdict)
        word = "slower" if r > 1 else "faster"
        return f"{abs(r - 1):.1%} {word} ({self.verdict})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "machine": self.machine,
            "workload": self.workload,
            "new_n": self.new_n,
            "history_n": self.history_n,
            "new_median_s": self.new_median_s,
            "history_median_s": self.history_median_s,
            "ratio": self.ratio,
            "p_value": self.p_value,
            "verdict": self.verdict.value,
        }


@dataclass(frozen=True, slots=True)
class GateMethod:
    last: int = 1
    history: int = 20
    threshold: float = 0.10
    alpha: float = 0.05

    def __post_init__(self) -> None:
        if self.last < 1:
            raise ValueError(f"--last must be >= 1, got {self.last}")
        if self.history < 1:
            raise ValueError(f"--history must be >= 1, got {self.history}")
        if not self.threshold >= 0:
            raise ValueError(f"--threshold must be >= 0, got {self.threshold:g}")
        if not 0 < self.alpha < 1:
            raise ValueError(f"--alpha must be in (0, 1), got {self.alpha:g}")

    def describe(self) -> str:
        return (
            f"one-sided Mann-Whitney U, the newest {self.last} run(s) against the {self.history}"
            f" valid runs before them (per-run medians), p < {self.alpha:g}, slower by more than"
            f" {self.threshold:.0%}"
        )

    def reachable(self, new_n: int, history_n: int) -> bool:
        """Whether samples this small can reach alpha at all."""
        return 1.0 / math.comb(new_n + history_n, new_n) < self.alpha


def gate(frame: pd.DataFrame, method: GateMethod) -> list[GateRow]:
    """The newest runs of every series against the history before them."""
    rows: list[GateRow] = []
    if frame.empty:
        return rows
    # The newest method version of each (machine, workload): older methods are other series.
    newest = frame.groupby(["machine", "workload"])["method_version"].transform("max")
    current = frame[frame["method_version"] == newest]
    for (machine, workload), series in current.groupby(["machine", "workload"], sort=True):
        newest_runs = series.iloc[-method.last :]
        earlier = series.iloc[: -method.last]
        good = (series["status"] == "ok") & series["valid"].fillna(False).astype(bool)
        new = newest_runs[good.loc[newest_runs.index]]["median_s"].to_numpy(dtype=np.float64)
        hist = earlier[good.loc[earlier.index]]["median_s"].to_numpy(dtype=np.float64)
        hist = hist[-method.history :]
        new_med = float(np.median(new)) if len(new) else None
        hist_med = float(np.median(hist)) if len(hist) else None
        p = None
        if len(new) == 0:
            verdict = GateVerdict.INVALID
        elif len(hist) == 0 or not method.reachable(len(new), len(hist)):
            verdict = GateVerdict.SHORT_HISTORY
        else:
            p = _mann_whitney_p(new, hist, "greater")
            slower = new_med / hist_med - 1 > method.threshold
            verdict = GateVerdict.SLOWER if slower and p < method.alpha else GateVerdict.OK
        rows.append(
            GateRow(
                machine=str(machine),
                workload=str(workload),
                new_n=len(new),
                history_n=len(hist),
                new_median_s=new_med,
                history_median_s=hist_med,
                p_value=p,
                verdict=verdict,
            )
        )
    return rows
