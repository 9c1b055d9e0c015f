"""Interleaved rounds: one result from a task measured several times over a run.

Most of the noise on a shared machine is between processes and over minutes, not within one
burst of timing: two back-to-back ci runs on a busy 2-core machine (2026-11) called 14 of 24
workloads changed, up to 1.25x, while each run's own IQR was a few per cent. asv answers this with
rounds (every benchmark once, then all again) and pyperf with worker processes; the runner does
the first: every task is timed once per round, freshly prepared (new tensors, new allocations),
and the rounds' samples make one result that keeps each sample's round. Its spread and a
comparison (results/compare.py) then see the drift a second run would meet.
"""

from __future__ import annotations

from dataclasses import replace

from subsidybench.results.record import RunResult, WorkloadResult
from subsidybench.results.trust import verdict_of
from subsidybench.timing import TimingPolicy


def policy(task_policy: TimingPolicy, rounds: int, earlier: WorkloadResult | None) -> TimingPolicy:
    """What one round times under: budget / rounds, with the block size of the first round."""
    m = earlier.measurement if earlier is not None else None
    return task_policy.for_round(rounds, m.iterations_per_block if m else None)


def merged(
    earlier: WorkloadResult | None,
    later: WorkloadResult,
    round_: int,
    rounds: int,
    judge_host: bool,
) -> WorkloadResult:
    """One result from a task's earlier rounds and round `round_`, judged on all its samples.

    A later round that fails or is skipped (a step past the budget on a busy machine) decides the
    task's result, and says which round: the earlier samples alone would hide it.
    """
    if not later.ok:
        if round_ > 0:
            return replace(later, reason=f"round {round_ + 1} of {rounds}: {later.reason}")
        return later
    if earlier is None or earlier.measurement is None:
        return later
    a, b = earlier.measurement, later.measurement
    assert a is not None and b is not None and later.policy is not None
    measurement = a.then(b, round_)
    foreign = None
    if earlier.foreign_cpu is not None and later.foreign_cpu is not None:
        # The whole run's share: each round's, weighted by the time it was timed for.
        foreign = (earlier.foreign_cpu * a.timed_s + later.foreign_cpu * b.timed_s) / (
            a.timed_s + b.timed_s
        )
    memory = [x for x in (earlier.peak_memory_bytes, later.peak_memory_bytes) if x is not None]
    energy = later.energy
    if earlier.energy is not None and later.energy is not None:
        energy = earlier.energy.then(later.energy)
    return replace(
        later,
        energy=energy,
        measurement=measurement,
        verdict=verdict_of(measurement, later.policy, foreign, judge_host),
        foreign_cpu=foreign,
        host_load_judged=judge_host,
        not_device=tuple(dict.fromkeys(earlier.not_device + later.not_device)),
        peak_memory_bytes=max(memory) if memory else None,
    )


def put(run: RunResult, result: WorkloadResult) -> RunResult:
    """`run` with `result`, in place of the task's result from an earlier round if it has one."""
    kept = tuple(r for r in run.results if r.id != result.id)
    if len(kept) == len(run.results):
        return run.with_result(result)
    return replace(run, results=tuple(result if r.id == result.id else r for r in run.results))
