"""The ci suite's workloads as pytest-benchmark benchmarks on the CPU: CI's reference figures.

    pytest bench/ --benchmark-json=ci.json
    pytest-benchmark compare ci.json                  # pytest-benchmark's own tools read it
    subsidybench ingest ci.json --out ci.run.json     # a run result: show, cost, report, compare

Each workload goes through the runner's own run_task (support checks, preparation, sanity checks,
failures), with pytest-benchmark as the timer: the first call, warm-up and block calibration are
timing.measure's (it runs with two samples to find the iterations per block), then
pytest-benchmark times as many rounds of that many calls as fill the workload's budget, at least
min_samples. The device is synchronised after every call (on the CPU there is nothing queued: it
costs a function call). FLOPs, bytes and items per call go in extra_info, with the id that pairs a
figure with a `subsidybench run` result.

As `subsidybench run` does, every workload is timed in the suite's interleaved rounds (three for
ci): one benchmark per workload and round, all workloads of round 1 before any of round 2, each
for budget / rounds, later rounds reusing round 1's calls per round. `subsidybench ingest` joins
a workload's rounds into one result whose samples keep their round (results/rounds.py).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import pytest

from subsidybench.devices import Device
from subsidybench.measure import reference
from subsidybench.measure.distributed import Members
from subsidybench.measure.runner import Solo, run_task
from subsidybench.measure.tasks import Prepared, WorkloadTask, plan
from subsidybench.results.ingest import extra_info, reference_extra_info
from subsidybench.results.record import Status
from subsidybench.suites import load_suite
from subsidybench.timing import CPU_MIN_BLOCK_S, Measurement, TimingPolicy, measure
from subsidybench.workloads.base import Step

SUITE = load_suite("ci")
TASKS = plan(SUITE, min_block_s=CPU_MIN_BLOCK_S)  # bench/ runs on the CPU
REFERENCE = None
"""In place of a task: the reference step (measure/reference.py), first in every round."""
# Round by round, every task in each: what pytest runs in this order is what interleaves them.
ROUNDS = [(r, t) for r in range(SUITE.rounds) for t in (REFERENCE, *TASKS)]
_BLOCKS: dict[str, int] = {}
"""Calls per pytest-benchmark round found in a task's first round; later rounds reuse them."""


def _pytest_benchmark_timer(benchmark: Any, task_id: str) -> Any:
    """A run_task timer: calibrate with timing.measure, then let pytest-benchmark time rounds."""

    def timer(
        prepared: Prepared, device: Device, policy: TimingPolicy, members: Members
    ) -> Measurement:
        step, sync = prepared.run, device.synchronizer()
        probe = measure(step.run, sync, replace(policy, min_samples=2, max_samples=2))
        iterations = _BLOCKS.setdefault(task_id, probe.iterations_per_block)
        block_s = probe.median * iterations
        rounds = min(
            policy.max_samples, max(policy.min_samples, math.ceil(policy.budget_s / block_s))
        )

        def call() -> None:
            step.run()
            if sync is not None:
                sync()

        if step.timed_start is not None:
            step.timed_start()
        benchmark.pedantic(call, rounds=rounds, iterations=iterations, warmup_rounds=0)
        return probe  # the calibration; pytest-benchmark keeps the rounds it timed

    return timer


def _reference(benchmark: Any, round_: int, device: Device) -> None:
    """The machine's own speed this round: the reference step, timed as a workload is."""
    benchmark.group = "reference"
    timer = _pytest_benchmark_timer(benchmark, "reference")
    prepared = Prepared(Step(reference.step(device)))
    probe = timer(prepared, device, reference.policy_for(device), Solo(device).members(1))
    benchmark.extra_info.update(
        reference_extra_info(
            step=reference.STEP,
            round_=round_,
            warmup_iterations=probe.warmup_iterations + probe.n * probe.iterations_per_block,
            warmup_s=probe.warmup_s + probe.timed_s,
            synchronized=probe.synchronized,
        )
    )


@pytest.mark.parametrize(
    ("round_", "task"),
    ROUNDS,
    ids=[f"{t.id if t else 'reference'}-round{r + 1}" for r, t in ROUNDS],
)
def test_ci_workload(
    benchmark: Any, round_: int, task: WorkloadTask | None, device: Device, budget_s: float | None
) -> None:
    if task is REFERENCE:
        _reference(benchmark, round_, device)
        return
    if budget_s:
        task = replace(task, policy=replace(task.policy, budget_s=budget_s))
    benchmark.group = task.workload.name
    # The round's share of the budget, and calls per round fixed by round 1 (see _BLOCKS).
    fixed = _BLOCKS.get(task.id)
    timed = replace(task, policy=task.policy.for_round(SUITE.rounds, fixed))
    result = run_task(timed, device, timer=_pytest_benchmark_timer(benchmark, task.id))
    if result.status is Status.SKIPPED:  # as `subsidybench run` records it, with the reason
        pytest.skip(result.reason)
    if result.status is Status.FAILED:
        pytest.fail(f"{task.id}: {result.reason}")
    probe = result.measurement
    assert probe is not None and result.work is not None
    benchmark.extra_info.update(
        extra_info(
            result_id=task.id,
            workload=task.workload.name,
            family=task.workload.family.value,
            params=task.workload.params(),
            dtype=task.dtype,
            compiled=task.compiled,
            work=result.work,
            policy=task.policy,
            first_call_s=probe.first_call_s,
            warmup_iterations=probe.warmup_iterations + probe.n * probe.iterations_per_block,
            warmup_s=probe.warmup_s + probe.timed_s,
            synchronized=probe.synchronized,
            foreign_cpu=result.foreign_cpu,
            metrics=result.metrics,
            round_=round_,
        )
    )
