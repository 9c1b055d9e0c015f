"""The timing harness: warm-up, calibrated blocks, device sync around every block, statistics.

The method follows torch.utils.benchmark's blocked_autorange and pyperf's calibration: a single
call of a fast kernel is shorter than the cost of reading the clock and synchronising the device,
so iterations are timed in blocks long enough that the clock and sync are noise, and every block
is one sample. Raw samples are kept; every statistic is computed from them.

This module never imports torch: the caller hands in the step and the device's synchronize, so the
same loop serves every backend and the statistics are testable on known numbers.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Protocol

import numpy as np

# Bump whenever the measuring method changes (warm-up rule, block calibration, what a sample is),
# so that results taken with different methods are never silently compared. History:
#   1: a first call timed alone (compilation, autotuning); then warm-up >= warmup_iterations
#      and >= warmup_s; iterations per block doubled until a block lasts >= min_block_s; device
#      synchronized before and after every block; a sample is block time / iterations.
#      Ranks measuring together (measure's `agree`) take each block's time as the slowest
#      rank's; single-process timing is unchanged by it.
#   2: a run measures every task in several interleaved rounds (asv's rounds, pyperf's worker
#      processes): each round prepares the step afresh (new tensors, new allocations), warms it
#      up and times budget/rounds of blocks; round 1 calibrates the block size and later rounds
#      reuse it, so every sample of a result is one block of the same length. Samples carry
#      their round, so the spread between rounds is part of the result and of a comparison.
#      Calibration takes a block size only when two blocks in a row last min_block_s. On the
#      CPU blocks last at least CPU_MIN_BLOCK_S (50 ms, was 20 ms). The warm-up time is shared
#      between the rounds as the budget is (warmup_s / rounds each).
#   3: each round runs in its own worker process (measure/worker.py), so the spread between
#      rounds holds what changes from one process to the next (allocator state, thread
#      placement, the kernel oneDNN picks); a run records how many processes it took. A
#      first call past 4x the step limit is refused at once, not after a second call,
#      and warm-up stops at the round's budget (1 s to warmup_max_s), so a
#      task's wall time is bounded by its budget (README, "How long a run takes").
#   4: every measuring process holds glibc's mmap and trim thresholds fixed
#      (measure/allocator.py): a step's buffers stay in the heap instead of being mapped,
#      faulted and zeroed again each step in some processes and not others (cnn_infer fp32 at
#      the ci size: 22-27 ms against 17-18 ms, by process). The run's environment records it.
METHOD_VERSION = 4


CPU_MIN_BLOCK_S = 0.05
"""Shortest block on a CPU. A 20 ms block is a handful of the scheduler's time slices, so one
slice lost to another process moves a sample by 10-25%. Measured in one process, variants
interleaved, on a busy 2-core machine (bench/check_spread.py, 2026-12): at load average 7-12,
IQR/median of layernorm, softmax, triad, attention went from 30%, 29%, 28%, 12% at 20 ms blocks
to 19%, 19%, 23%, 9% at 100 ms; at load 7-14, softmax 31% -> 21% (50 ms) -> 9% (100 ms) and
triad 23% -> 26% -> 19%, with layernorm and attention mixed. Longer blocks help, not always;
50 ms keeps about six blocks in each of the ci suite's three 0.33 s rounds, 100 ms three."""


WARMUP_FLOOR_S = 1.0
"""Warm-up may take this long even under a shorter budget: what it waits out (caches, the
thread pool) does not shrink with the budget."""
FIRST_CALL_SLACK = 4.0
"""How far past the step limit an eager first call may run before the task is skipped."""


class TooSlow(Exception):
    """One step takes longer than the workload's whole budget: measuring it would stall the run."""


@dataclass(frozen=True, slots=True)
class TimingPolicy:
    """How long and how carefully to measure one workload."""

    budget_s: float = 2.0
    """Time allowed for timed blocks (warm-up is extra, bounded by warmup_max_s)."""
    min_samples: int = 5
    max_samples: int = 200
    min_block_s: float = 0.02
    """Shortest block: 20 ms is 10^7 times perf_counter's resolution and dwarfs a device sync."""
    warmup_iterations: int = 3
    warmup_s: float = 0.2
    warmup_max_s: float = 5.0
    max_spread: float = 0.10
    """Largest IQR/median a valid result may have (torch.utils.benchmark warns past 10%)."""
    max_foreign_cpu: float = 0.10
    """Largest share of the host's CPU other processes may use while a CPU workload is timed."""
    iterations_per_block: int | None = None
    """A fixed block size, skipping calibration: later rounds reuse the first round's."""
    step_limit_s: float | None = None
    """A single step longer than this is TooSlow (default budget_s; a round's is its task's)."""
    slow_first_call: bool = False
    """The first call may pass the step limit: it compiles (torch.compile takes tens of s)."""

    def __post_init__(self) -> None:
        if not self.budget_s > 0:
            raise ValueError(f"budget_s must be > 0, got {self.budget_s}")
        if self.min_samples < 2:
            raise ValueError(f"min_samples must be >= 2, got {self.min_samples}")
        if self.max_samples < self.min_samples:
            raise ValueError("max_samples must be >= min_samples")
        if not self.min_block_s > 0:
            raise ValueError(f"min_block_s must be > 0, got {self.min_block_s}")
        if self.warmup_iterations < 1:
            raise ValueError("warmup_iterations must be >= 1: the first call pays for set-up")
        if not self.max_spread > 0:
            raise ValueError("max_spread must be > 0")
        if not 0 < self.max_foreign_cpu <= 1:
            raise ValueError("max_foreign_cpu must be in (0, 1]")
        if self.iterations_per_block is not None and self.iterations_per_block < 1:
            raise ValueError("iterations_per_block must be >= 1")
        if self.step_limit_s is not None and not self.step_limit_s > 0:
            raise ValueError("step_limit_s must be > 0")

    def for_round(self, rounds: int, iterations_per_block: int | None) -> TimingPolicy:
        """The share of this policy one of `rounds` interleaved rounds measures under."""
        if rounds == 1 and iterations_per_block is None:
            return self
        # The warm-up too is shared: what it waits out (caches, the thread pool, the clock
        # ramping up) is warm after the first round; a fresh step's own first call is still
        # timed alone and kept out of the samples.
        return replace(
            self,
            budget_s=self.budget_s / rounds,
            warmup_s=self.warmup_s / rounds,
            min_samples=max(2, math.ceil(self.min_samples / rounds)),
            max_samples=max(2, math.ceil(self.max_samples / rounds)),
            iterations_per_block=iterations_per_block,
            step_limit_s=self.step_limit_s or self.budget_s,
        )

    def to_dict(self) -> dict[str, float | int]:
        # A fixed block size is a round's detail, never a task's rule: left out when unset; so
        # is a first call allowed to compile, which files before method 3 never had.
        return {k: v for k, v in asdict(self).items() if v is not None and v is not False}


@dataclass(frozen=True, slots=True)
class Measurement:
    """Seconds per iteration, one sample per timed block, and how they were taken."""

    samples_s: tuple[float, ...]
    iterations_per_block: int
    warmup_iterations: int
    """Untimed calls before the samples, the first call and calibration blocks included."""
    warmup_s: float
    """Seconds of warm-up after the first call."""
    synchronized: bool
    first_call_s: float = 0.0
    """The first call alone, which includes compilation and autotuning where there are any."""
    rounds: tuple[int, ...] = ()
    """The round (0, 1, ...) each sample was timed in; empty when built means all in round 0."""

    def __post_init__(self) -> None:
        if not self.samples_s:
            raise ValueError("a Measurement needs at least one sample")
        if any(not math.isfinite(s) or s <= 0 for s in self.samples_s):
            raise ValueError("samples must be finite and > 0")
        if self.iterations_per_block < 1:
            raise ValueError("iterations_per_block must be >= 1")
        if not self.rounds:
            object.__setattr__(self, "rounds", (0,) * len(self.samples_s))
        if len(self.rounds) != len(self.samples_s):
            raise ValueError(f"{len(self.rounds)} round indices for {len(self.samples_s)} samples")
        if any(r < 0 for r in self.rounds):
            raise ValueError("round indices must be >= 0")

    def then(self, later: Measurement, round_: int) -> Measurement:
        """This measurement with the samples of a later round (same block size) added."""
        if later.iterations_per_block != self.iterations_per_block:
            raise ValueError("rounds of one result must time blocks of the same length")
        return Measurement(
            samples_s=self.samples_s + later.samples_s,
            iterations_per_block=self.iterations_per_block,
            warmup_iterations=self.warmup_iterations + later.warmup_iterations,
            warmup_s=self.warmup_s + later.warmup_s,
            synchronized=self.synchronized and later.synchronized,
            first_call_s=self.first_call_s,
            rounds=self.rounds + (round_,) * later.n,
        )

    @property
    def centre(self) -> float:
        """The figure a result is read and compared by: the geometric mean of its rounds'
        medians (the median itself for one round). Every round, a process of its own since
        method 3, counts alike however many samples it holds."""
        medians = _round_medians(tuple(self.samples_s), tuple(self.rounds))
        if len(medians) == 1:
            return medians[0]  # exactly the median, not its round trip through a logarithm
        return math.exp(float(np.mean([math.log(x) for x in medians])))

    @property
    def round_count(self) -> int:
        return len(set(self.rounds))

    def by_round(self) -> list[np.ndarray]:
        """The samples of each round, in round order."""
        rounds = np.asarray(self.rounds)
        return [self._array[rounds == r] for r in sorted(set(self.rounds))]

    @property
    def _array(self) -> np.ndarray:
        return np.asarray(self.samples_s, dtype=np.float64)

    @property
    def n(self) -> int:
        return len(self.samples_s)

    @property
    def median(self) -> float:
        return _percentile(tuple(self.samples_s), 50)

    @property
    def q1(self) -> float:
        return _percentile(tuple(self.samples_s), 25)

    @property
    def q3(self) -> float:
        return _percentile(tuple(self.samples_s), 75)

    @property
    def iqr(self) -> float:
        return self.q3 - self.q1

    @property
    def min(self) -> float:
        return float(self._array.min())

    @property
    def max(self) -> float:
        return float(self._array.max())

    @property
    def mean(self) -> float:
        return float(self._array.mean())

    @property
    def stdev(self) -> float:
        """Sample standard deviation (n-1); 0 for a single sample."""
        return float(self._array.std(ddof=1)) if self.n > 1 else 0.0

    @property
    def cv(self) -> float:
        """Coefficient of variation: stdev / mean."""
        return self.stdev / self.mean

    @property
    def spread(self) -> float:
        """IQR / median: the robust relative spread the verdict is judged on."""
        return self.iqr / self.median

    @property
    def timed_s(self) -> float:
        """Total time spent in timed blocks."""
        return float(self._array.sum()) * self.iterations_per_block

    @property
    def round_spread(self) -> float:
        """(largest - smallest round median) / median: 0 for a single round."""
        medians = _round_medians(tuple(self.samples_s), tuple(self.rounds))
        return (max(medians) - min(medians)) / self.median

    def statistics(self) -> dict[str, float | int]:
        return {
            "n": self.n,
            "rounds": self.round_count,
            "round_spread": self.round_spread,
            "median_s": self.median,
            "q1_s": self.q1,
            "q3_s": self.q3,
            "iqr_s": self.iqr,
            "min_s": self.min,
            "max_s": self.max,
            "mean_s": self.mean,
            "stdev_s": self.stdev,
            "cv": self.cv,
        }


# A result's median, quartiles and round medians are read a dozen times each while a run file
# loads and is reported (its rate, the trust recheck, the verdict, the tables): 30,000 numpy
# reductions of 40 samples in a 40-run report, a tenth of its time. They are computed once per
# sample tuple, by the same numpy calls, so the figures are the same to the last bit.


@functools.lru_cache(maxsize=4096)
def _percentile(samples: tuple[float, ...], q: int) -> float:
    array = np.asarray(samples, dtype=np.float64)
    return float(np.median(array)) if q == 50 else float(np.percentile(array, q))


@functools.lru_cache(maxsize=4096)
def _round_medians(samples: tuple[float, ...], rounds: tuple[int, ...]) -> tuple[float, ...]:
    """The median of each round's samples, in round order (as Measurement.by_round)."""
    array, index = np.asarray(samples, dtype=np.float64), np.asarray(rounds)
    return tuple(float(np.median(array[index == r])) for r in sorted(set(rounds)))


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a measurement is fit to be costed, and if not, why (as MLPerf rules a run)."""

    valid: bool
    reasons: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.valid and not self.reasons:
            raise ValueError("an invalid verdict must say why")

    def __str__(self) -> str:
        return "valid" if self.valid else "invalid: " + "; ".join(self.reasons)


def judge(m: Measurement, policy: TimingPolicy, foreign_cpu: float | None = None) -> Verdict:
    """Rule on a measurement: enough samples, blocks long enough, spread narrow, device synced.

    `foreign_cpu`, when given, is the share of the host's CPU other processes used meanwhile
    (see hostload): past policy.max_foreign_cpu the machine was shared and the times are not
    the device's.
    """
    reasons = []
    if m.n < policy.min_samples:
        reasons.append(f"too few samples ({m.n} < {policy.min_samples})")
    block_s = m.median * m.iterations_per_block
    if block_s < policy.min_block_s / 2:
        reasons.append(f"blocks too short for the clock ({block_s * 1e3:.2f} ms)")
    if m.spread > policy.max_spread:
        reasons.append(
            f"spread too wide (IQR/median {beyond(m.spread, policy.max_spread)}"
            f" > {policy.max_spread:.0%})"
        )
    if not m.synchronized:
        reasons.append("the device could not be synchronized: times may be launch times only")
    if foreign_cpu is not None and foreign_cpu > policy.max_foreign_cpu:
        reasons.append(
            f"machine busy: other processes used {foreign_cpu:.0%} of the CPU"
            f" (> {policy.max_foreign_cpu:.0%})"
        )
    return Verdict(valid=not reasons, reasons=tuple(reasons))


class BlockMeter(Protocol):
    """Told when each timed block starts and ends, to read energy over exactly those blocks."""

    def block_start(self) -> None: ...

    def block_end(self) -> None: ...


def beyond(value: float, limit: float) -> str:
    """`value` as a percentage with the digits it takes to read as past `limit`: 10.04%, not 10%."""
    for digits in range(5):
        text = f"{value:.{digits}%}"
        if float(text.rstrip("%")) != round(limit * 100, digits) or value == limit:
            return text
    return f"{value:.5%}"


def _local(seconds: float) -> float:
    return seconds


def measure(
    step: Callable[[], object],
    synchronize: Callable[[], None] | None,
    policy: TimingPolicy,
    clock: Callable[[], float] = time.perf_counter,
    on_timed_start: Callable[[], None] | None = None,
    agree: Callable[[float], float] | None = None,
    meter: BlockMeter | None = None,
) -> Measurement:
    """Time `step` under `policy`.

    `synchronize` waits for the device to finish queued work; None means the backend offers no
    way to, and the measurement says so. Raises TooSlow when a single warm-up call exceeds the
    whole budget (an emulated dtype, say), so one workload cannot stall a run.
    `on_timed_start` is called once warm-up and calibration are over, before the first sample.
    `agree`, for processes measuring together (the ranks of a collective), turns each local
    duration into the one they all share (the slowest rank's); every decision and sample is then
    taken on that figure, so every process runs the same number of steps. It is called outside
    the timed region, once per block and per elapsed-time check.
    `meter`, if given, is told the start and end of every timed block (not of warm-up or
    calibration), inside the synchronisation and outside the clock readings.
    """
    sync = synchronize or (lambda: None)
    shared = agree or _local

    def timed_block(iterations: int, metered: bool = False) -> float:
        sync()
        if metered and meter is not None:
            meter.block_start()
        t0 = clock()
        for _ in range(iterations):
            step()
        sync()
        elapsed = clock() - t0
        if metered and meter is not None:
            meter.block_end()
        return shared(elapsed)

    # The first call pays for allocation, kernel selection, autotuning and compilation (tens of
    # seconds for torch.compile): it is reported, and the budget rules start after it.
    limit = policy.step_limit_s or policy.budget_s
    first_call = timed_block(1)
    # A first call far past the limit is refused at once when it cannot hold a compilation: a
    # 87 s gpt_train step (standard suite, 2-core CPU) timed once more is 3 minutes of a 2 s
    # budget. Up to FIRST_CALL_SLACK times the limit it may be set-up (allocation, the kernel
    # chosen for a shape), which a busy machine stretches; the next call is held to the limit.
    if first_call > FIRST_CALL_SLACK * limit and not policy.slow_first_call:
        raise TooSlow(f"one step took {first_call:.2f} s, longer than the {limit:g} s budget")
    warmup_start = clock()
    warmup_calls = 1
    # Warm-up stops at the budget (at least WARMUP_FLOOR_S, at most warmup_max_s), so that a
    # slow step's warm-up is bounded by the budget, not by warmup_iterations of its steps.
    warmup_limit = min(policy.warmup_max_s, max(policy.budget_s, WARMUP_FLOOR_S))
    # Two calls in a row past the limit, not one: at load average 12 on a 2-core VM (2026-12-05)
    # a 1 ms step was descheduled past a 0.2 s limit once in a while, and one such call skipped
    # a workload whose steps all fit.
    over = 0
    while True:
        call = timed_block(1)
        warmup_calls += 1
        over = over + 1 if call > limit else 0
        if over == 2:
            raise TooSlow(f"one step took {call:.2f} s, longer than the {limit:g} s budget")
        elapsed = shared(clock() - warmup_start)
        enough = warmup_calls >= policy.warmup_iterations and elapsed >= policy.warmup_s
        if (enough or elapsed >= warmup_limit) and not over:  # one more call decides
            break

    # Calibrate as pyperf does: grow the iterations per block until one block lasts min_block_s.
    # Estimating from single warm-up calls instead misjudges steps whose first calls are slow
    # (allocator, autotuning), leaving blocks too short for the clock. A later round reuses the
    # first round's block size, so that every sample of a result times the same number of steps.
    iterations = policy.iterations_per_block or 1
    while policy.iterations_per_block is None:
        block = timed_block(iterations)
        warmup_calls += iterations
        if block >= policy.min_block_s:
            # Confirm with a second block: on a busy machine one block descheduled for tens of
            # ms ended calibration at 1 iteration of a 1.8 ms step (2026-11, load average 10).
            block = min(block, timed_block(iterations))
            warmup_calls += iterations
        # Calibration keeps warmup_max_s: it lasts long only for short steps, and cut at the
        # budget on a busy host it left blocks too short for the clock (2026-12-05, load 12).
        if block >= policy.min_block_s or shared(clock() - warmup_start) >= policy.warmup_max_s:
            break
        # Jump most of the way when the block is far too short, at least doubling.
        iterations = max(
            2 * iterations, math.ceil(0.5 * iterations * policy.min_block_s / max(block, 1e-9))
        )
    warmup_s = shared(clock() - warmup_start)
    if on_timed_start is not None:
        on_timed_start()

    samples: list[float] = []
    timed = 0.0
    while len(samples) < policy.max_samples:
        block = timed_block(iterations, metered=True)
        samples.append(block / iterations)
        timed += block
        if timed >= policy.budget_s and len(samples) >= policy.min_samples:
            break
        # Past twice the budget, stop even short of min_samples; the verdict will say so.
        if timed >= 2 * policy.budget_s:
            break

    return Measurement(
        samples_s=tuple(samples),
        iterations_per_block=iterations,
        warmup_iterations=warmup_calls,
        warmup_s=warmup_s,
        synchronized=synchronize is not None,
        first_call_s=first_call,
    )
