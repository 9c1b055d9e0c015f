"""The ci suite's workloads as pytest-benchmark benchmarks on the CPU: CI's reference figures.

    pytest bench/ --benchmark-json=ci.json
    pytest-benchmark compare ci.json                  # pytest-benchmark's own tools read it
    subsidybench ingest ci.json --out ci.run.json     # a run result: show, cost, report, compare

Each workload is timed by subsidybench's own rules, so the figures mean what `subsidybench run`
figures mean: the first call, warm-up and block calibration are timing.measure's (it runs with
two samples to find the iterations per block), then pytest-benchmark times as many rounds of that
many calls as fill the workload's budget, at least min_samples. The device is synchronised after
every call (on the CPU there is nothing queued: it costs a function call). FLOPs, bytes and items
per call go in extra_info, with the id that pairs a figure with a `subsidybench run` result.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import pytest

from subsidybench.devices import Device, Support
from subsidybench.measure import hostload
from subsidybench.measure.runner import Task, plan
from subsidybench.results.ingest import extra_info
from subsidybench.suites import load_suite
from subsidybench.timing import TooSlow, measure
from subsidybench.workloads.base import SkipWorkload

TASKS = plan(load_suite("ci"))


@pytest.mark.parametrize("task", TASKS, ids=[t.id for t in TASKS])
def test_ci_workload(benchmark: Any, task: Task, device: Device, budget_s: float | None) -> None:
    support = device.dtype_support(task.dtype)
    if support.support is not Support.NATIVE:
        pytest.skip(f"{task.dtype} is not native on this cpu: {support.reason}")
    policy = replace(task.policy, budget_s=budget_s) if budget_s else task.policy
    workload, dtype = task.workload, task.dtype
    try:
        step = workload.prepare(device, dtype)
    except SkipWorkload as e:  # as `subsidybench run` records it: skipped, with the reason
        pytest.skip(str(e))
    sync = device.synchronizer()
    # Two samples are enough to learn the block size; the budget rule then applies to the rounds.
    try:
        probe = measure(step.run, sync, replace(policy, min_samples=2, max_samples=2))
    except TooSlow as e:
        pytest.skip(f"time-bounded: {e}")
    iterations = probe.iterations_per_block
    block_s = probe.median * iterations
    rounds = min(policy.max_samples, max(policy.min_samples, math.ceil(policy.budget_s / block_s)))

    def call() -> None:
        step.run()
        if sync is not None:
            sync()

    if step.timed_start is not None:
        step.timed_start()
    benchmark.group = workload.name
    before = hostload.sample()
    benchmark.pedantic(call, rounds=rounds, iterations=iterations, warmup_rounds=0)
    foreign = hostload.foreign_share(before, hostload.sample(), hostload.host_cpus())
    metrics = dict(step.check()) if step.check else {}  # SanityError fails the benchmark
    benchmark.extra_info.update(
        extra_info(
            result_id=task.id,
            workload=workload.name,
            family=workload.family.value,
            params=workload.params(),
            dtype=dtype,
            compiled=task.compiled,
            work=workload.work(dtype),
            policy=policy,
            first_call_s=probe.first_call_s,
            warmup_iterations=probe.warmup_iterations + probe.n * iterations,
            warmup_s=probe.warmup_s + probe.timed_s,
            synchronized=sync is not None,
            foreign_cpu=foreign,
            metrics=metrics,
        )
    )
