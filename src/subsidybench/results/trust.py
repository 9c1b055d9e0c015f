"""What a loaded run file may claim: every statistic and verdict it stores, judged again from
its raw samples by the rule of the method that measured it. A hand-edited "valid" (or a bug's)
is caught here, so a cost never rests on a verdict its samples do not support. Torch-free.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from subsidybench import bounds
from subsidybench.datafile import Fields
from subsidybench.errors import UserError
from subsidybench.timing import METHOD_VERSION, Measurement, TimingPolicy, Verdict, judge

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
    4: judge,
}

# Stored figures the loader recomputes from the raw samples, and how close they must agree
# (JSON keeps 17 significant digits; 1e-9 allows only for the printing of floats).
_RTOL = 1e-9


def _disagree(stored: float, computed: float | None) -> bool:
    if computed is None:
        return True
    return not math.isclose(stored, computed, rel_tol=_RTOL, abs_tol=1e-300)


# What a test hook (measure/planted.py) writes in a result's note. Files from before results
# carried `not_device_figure` said it only there: such a file is still read as a hook's figure.
HOOK_NOTE = "a test hook, not the device's figure"


def not_device_reasons(f: Fields) -> tuple[str, ...]:
    reasons = f.list("not_device_figure", [])
    for i, why in enumerate(reasons):
        if not isinstance(why, str) or not why:
            raise f.error(f"not_device_figure[{i}]", "expected a reason (text)")
    note = f.str("reason", "")
    if not reasons and HOOK_NOTE in note:
        reasons = [part for part in note.split("; ") if HOOK_NOTE in part]
    return tuple(reasons)


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


def verdict_of(
    m: Measurement,
    policy: TimingPolicy,
    foreign_cpu: float | None,
    host_load_judged: bool,
    method_version: int = METHOD_VERSION,
) -> Verdict:
    """The one verdict rule, on the figures a result stores: the runner judges by it and a
    loaded file is judged again by it, so "valid" after a run is "valid" in `show`."""
    return JUDGES[method_version](m, policy, foreign_cpu if host_load_judged else None)


def host_load_judged(r: WorkloadResult, run: RunResult) -> bool:
    """As stored; a file from before it was stored: as the runner chose, a single process on a
    CPU."""
    if r.host_load_judged is not None:
        return r.host_load_judged
    return run.device.type == "cpu" and run.distributed is None


def not_device_figures(run: RunResult) -> list[str]:
    """Each result of `run` that is not the device's own figure, with why."""
    return [f"{r.id}: {'; '.join(r.not_device)}" for r in run.results if r.ok and r.not_device]


def refuse_not_device(runs: Sequence[tuple[str, RunResult]], force: bool) -> list[str]:
    """Notes on results that are not device figures when `force`; else refuse (UserError).

    A test hook, an emulated dtype or a foreign load shaped them: a payment or a claim resting
    on them would rest on something other than the hardware.
    """
    found = [f"{label}: {why}" for label, run in runs for why in not_device_figures(run)]
    if found and not force:
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise UserError(
            f"{found[0]}{more}: not a device figure; pass --force to use it anyway (marked)"
        )
    return [f"FORCED: not a device figure: {why}" for why in found]


def rejudge(run: RunResult) -> RunResult:
    """Judge every measured result again from its raw samples, by its method's rule.

    A stored "valid" the samples do not support becomes invalid, saying so; a stored "invalid"
    stays (it may rest on what the file does not keep, and refusing costs nothing).
    """
    results = []
    for r in run.results:
        if r.ok and r.verdict is not None and r.verdict.valid:
            assert r.measurement is not None and r.policy is not None
            host = host_load_judged(r, run)
            again = verdict_of(r.measurement, r.policy, r.foreign_cpu, host, run.method_version)
            if not again.valid:
                why = "the file says valid, but its raw samples are not: " + "; ".join(
                    again.reasons
                )
                r = replace(r, verdict=Verdict(False, (why,)))
            elif why := past_peak(r, run):
                r = replace(r, verdict=Verdict(False, (why,)))
        results.append(r)
    return replace(run, results=tuple(results))


def past_peak(r: WorkloadResult, run: RunResult) -> str | None:
    """Why `r`'s rate cannot be, against the peak the run file states for its dtype, or None."""
    peak = run.peak_tflops.get(r.dtype)
    rate = r.flops_per_s
    if peak is None or not peak.value or not rate:
        return None
    share = rate / (peak.value * 1e12)
    if share <= bounds.PEAK_OVERSHOOT:
        return None
    return (
        f"{rate / 1e12:,.4g} TFLOP/s is {share:.0%} of the run's {r.dtype} peak"
        f" ({peak.value:,.4g} TFLOP/s), past what a device does (at most"
        f" {bounds.PEAK_OVERSHOOT:.0%} with a boost clock): the peak or the work per step is wrong"
    )
