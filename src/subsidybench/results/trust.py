"""What a loaded run file may claim: every statistic and verdict it stores, judged again from
its raw samples by the rule of the method that measured it. A hand-edited "valid" (or a bug's)
is caught here, so a cost never rests on a verdict its samples do not support. Torch-free.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from subsidybench.datafile import Fields
from subsidybench.timing import Measurement, TimingPolicy, Verdict, judge

if TYPE_CHECKING:
    from subsidybench.results.record import RunResult, WorkloadResult

# method_version -> the verdict rule results of that method are judged by. A new method that
# judges differently adds its rule here; results keep the rule they were measured under.
# Methods 2 (interleaved rounds, a longer CPU block) and 3 (rounds in worker processes) changed
# how samples are taken, not the rule.
JUDGES: dict[int, Callable[[Measurement, TimingPolicy, float | None], Verdict]] = {
    1: judge,
    2: judge,
    3: judge,
}

# Stored figures the loader recomputes from the raw samples, and how close they must agree
# (JSON keeps 17 significant digits; 1e-9 allows only for the printing of floats).
_RTOL = 1e-9


def _disagree(stored: float, computed: float | None) -> bool:
    if computed is None:
        return True
    return not math.isclose(stored, computed, rel_tol=_RTOL, abs_tol=1e-300)


def recheck(r: WorkloadResult, f: Fields) -> WorkloadResult:
    """Flag a result whose stored statistics or throughput its raw samples do not give."""
    if r.measurement is None:
        return r
    wrong = []
    if f.has("measurement") and f.table("measurement").has("statistics"):
        stored = f.table("measurement").table("statistics")
        computed = r.measurement.statistics()
        for key in stored.data:
            if key in computed and _disagree(stored.float(key), computed[key]):
                wrong.append(f"statistics.{key} {stored.float(key):g} != {computed[key]:g}")
    if f.has("throughput") and r.work is not None:
        t = f.table("throughput")
        # Rates divide by the rounds' geometric mean since method 3, by the pooled median before:
        # a stored rate agrees with the samples by either rule (they differ only across rounds).
        w, m = r.work, r.measurement
        amounts = {"flops_per_s": w.flops, "bytes_per_s": w.bytes, "items_per_s": w.items}
        for key, amount in amounts.items():
            if not (t.has(key) and t.data[key] is not None):
                continue
            stored = t.float(key)
            if all(_disagree(stored, amount / s) for s in (m.centre, m.median)):
                wrong.append(f"throughput.{key} {stored:g} != {amount / m.centre:g}")
    if not wrong:
        return r
    why = "stored figures disagree with the raw samples (edited?): " + "; ".join(wrong[:3])
    reasons = (why, *(r.verdict.reasons if r.verdict else ()))
    return replace(r, verdict=Verdict(False, reasons))


def rejudge(run: RunResult) -> RunResult:
    """Judge every measured result again from its raw samples, by its method's rule.

    A stored "valid" the samples do not support becomes invalid, saying so; a stored "invalid"
    stays (it may rest on what the file does not keep, and refusing costs nothing).
    """
    rule = JUDGES[run.method_version]
    # Host load counts only for a single process on a CPU, as the runner judges (runner.py).
    host = run.device.type == "cpu" and run.distributed is None
    results = []
    for r in run.results:
        if r.ok and r.verdict is not None and r.verdict.valid:
            assert r.measurement is not None and r.policy is not None
            again = rule(r.measurement, r.policy, r.foreign_cpu if host else None)
            if not again.valid:
                why = "the file says valid, but its raw samples are not: " + "; ".join(
                    again.reasons
                )
                r = replace(r, verdict=Verdict(False, (why,)))
        results.append(r)
    return replace(run, results=tuple(results))
