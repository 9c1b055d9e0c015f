from __future__ import annotations

import itertools

import numpy as np
import pytest

from subsidybench.timing import Measurement, TimingPolicy, TooSlow, Verdict, judge, measure


def make(samples: list[float], synchronized: bool = True, per_block: int = 10) -> Measurement:
    return Measurement(
        samples_s=tuple(samples),
        iterations_per_block=per_block,
        warmup_iterations=3,
        warmup_s=0.1,
        synchronized=synchronized,
    )


def test_statistics_of_known_samples() -> None:
    m = make([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 100.0])
    assert m.n == 10
    assert m.median == 5.5
    # Linear interpolation, as numpy's default: position 0.25 * 9 = 2.25 -> 3.25; 6.75 -> 7.75.
    assert m.q1 == pytest.approx(3.25)
    assert m.q3 == pytest.approx(7.75)
    assert m.iqr == pytest.approx(4.5)
    assert m.min == 1.0 and m.max == 100.0
    assert m.mean == pytest.approx(14.5)
    assert m.stdev == pytest.approx(np.std([1, 2, 3, 4, 5, 6, 7, 8, 9, 100], ddof=1))
    assert m.cv == pytest.approx(m.stdev / 14.5)
    assert m.spread == pytest.approx(4.5 / 5.5)


def test_measurement_refuses_bad_samples() -> None:
    with pytest.raises(ValueError):
        make([])
    with pytest.raises(ValueError):
        make([1.0, float("nan")])
    with pytest.raises(ValueError):
        make([1.0, -2.0])


def test_verdict_valid_for_tight_samples() -> None:
    m = make([0.010, 0.0101, 0.0099, 0.0100, 0.0102, 0.0100])
    assert judge(m, TimingPolicy()) == Verdict(True)


def test_verdict_names_every_problem() -> None:
    policy = TimingPolicy(min_samples=5)
    m = make([0.001, 0.002, 0.003], synchronized=False, per_block=1)
    v = judge(m, policy)
    assert not v.valid
    text = str(v)
    assert "too few samples (3 < 5)" in text
    assert "blocks too short" in text
    assert "spread too wide" in text
    assert "could not be synchronized" in text


def test_invalid_verdict_needs_a_reason() -> None:
    with pytest.raises(ValueError):
        Verdict(False)


class FakeClock:
    """A clock that advances only when the fake step runs: `cost` seconds per call."""

    def __init__(self, cost: float) -> None:
        self.now = 0.0
        self.cost = cost

    def __call__(self) -> float:
        return self.now

    def step(self) -> None:
        self.now += self.cost


def test_measure_calibrates_blocks_and_respects_budget() -> None:
    clock = FakeClock(cost=0.001)
    syncs = itertools.count()
    policy = TimingPolicy(budget_s=0.5, min_block_s=0.02)
    m = measure(clock.step, lambda: next(syncs) and None, policy, clock=clock)
    assert m.iterations_per_block >= 20  # 20 x 1 ms reaches the 20 ms block
    assert all(s == pytest.approx(0.001) for s in m.samples_s)
    assert m.n >= policy.min_samples
    assert m.timed_s == pytest.approx(0.5, rel=0.1)
    assert m.synchronized
    assert next(syncs) >= 2 * m.n  # synchronized before and after every block


def test_measure_without_sync_is_marked() -> None:
    clock = FakeClock(cost=0.01)
    m = measure(clock.step, None, TimingPolicy(budget_s=0.1), clock=clock)
    assert not m.synchronized
    assert "could not be synchronized" in str(judge(m, TimingPolicy()))


def test_measure_refuses_a_step_longer_than_the_budget() -> None:
    clock = FakeClock(cost=3.0)
    with pytest.raises(TooSlow, match="longer than the 1 s budget"):
        measure(clock.step, lambda: None, TimingPolicy(budget_s=1.0), clock=clock)


def test_policy_checks_itself() -> None:
    with pytest.raises(ValueError):
        TimingPolicy(budget_s=0)
    with pytest.raises(ValueError):
        TimingPolicy(min_samples=10, max_samples=5)


def test_a_compiling_first_call_is_timed_alone_and_exempt_from_the_step_budget() -> None:
    clock = FakeClock(cost=0.001)
    calls = itertools.count()

    def step() -> None:
        # The first call compiles: 3 s, longer than the whole 1 s budget.
        clock.now += 3.0 if next(calls) == 0 else 0.001

    policy = TimingPolicy(budget_s=1.0, slow_first_call=True)
    m = measure(step, lambda: None, policy, clock=clock)
    assert m.first_call_s == pytest.approx(3.0)
    assert m.median == pytest.approx(0.001)


def test_a_first_call_far_past_the_budget_is_refused_at_once() -> None:
    # An eager step has nothing to compile: a first call far past the budget is the step's
    # speed, and timing it again would only spend what --budget was meant to bound.
    clock = FakeClock(cost=0.001)
    calls = itertools.count()

    def step() -> None:
        next(calls)
        clock.now += 5.0

    with pytest.raises(TooSlow, match=r"5\.00 s, longer than the 1 s budget"):
        measure(step, lambda: None, TimingPolicy(budget_s=1.0), clock=clock)
    assert next(calls) == 1  # one call, not two
    # A first call a little past it may be set-up: the next call decides.
    clock, calls = FakeClock(cost=0.001), itertools.count()

    def set_up() -> None:
        clock.now += 3.0 if next(calls) == 0 else 0.001

    assert measure(set_up, lambda: None, TimingPolicy(budget_s=1.0), clock=clock).n >= 5


def test_warm_up_stops_at_the_budget() -> None:
    # 0.3 s steps under a 2 s budget: warm-up would wait for warmup_max_s (5 s) before.
    clock = FakeClock(cost=0.3)
    policy = TimingPolicy(budget_s=2.0, min_samples=2, warmup_iterations=40, min_block_s=0.2)
    m = measure(clock.step, lambda: None, policy, clock=clock)
    assert m.warmup_s <= 2.0 + 0.3 + 2 * 0.3 + 1e-9  # the budget, one call past, calibration
    # The whole task: the first call, the warm-up and at most twice the budget of samples.
    assert clock.now <= 0.3 + (2.0 + 0.9) + 2 * 2.0 + 0.3 + 1e-9
    # Under a budget shorter than a second, warm-up still gets a second.
    clock = FakeClock(cost=0.1)
    short = TimingPolicy(budget_s=0.2, min_samples=2, warmup_iterations=40, min_block_s=0.15)
    warm = measure(clock.step, lambda: None, short, clock=clock).warmup_s
    assert 1.0 <= warm <= 1.0 + 0.1 + 0.5 + 1e-9


def test_one_descheduled_warm_up_call_does_not_skip_the_task() -> None:
    # One call of a 1 ms step stretched past the budget (another process ran): measured on.
    clock = FakeClock(cost=0.001)
    calls = itertools.count()

    def step() -> None:
        clock.now += 0.5 if next(calls) == 2 else 0.001

    assert measure(step, lambda: None, TimingPolicy(budget_s=0.2), clock=clock).n >= 5
    # Two in a row: the step is that slow, and the task is skipped.
    clock, calls = FakeClock(cost=0.001), itertools.count()

    def slow() -> None:
        clock.now += 0.001 if next(calls) == 0 else 0.5

    with pytest.raises(TooSlow):
        measure(slow, lambda: None, TimingPolicy(budget_s=0.2), clock=clock)
    assert next(calls) == 3  # the first call and two warm-up calls
