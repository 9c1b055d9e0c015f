"""The reference step: one fixed computation timed at the start of every round of a run.

A workload's spread and a change between two runs mix what the code does with what the machine
does. On a shared virtual machine the second can dominate: on 2026-12-01 a plain loop of fp32
1024-matmuls (no harness) spread 28% IQR/median in one process, in two speeds 210 and 285
GFLOP/s that alternated every few hundred ms, and ci runs taken back to back moved together by
up to 28% (bench/check_noise.py). The reference step is the same in every run and on every
version of the code, so its own spread is the machine's noise floor over the run, and its speed
against another run's says whether the machine itself changed speed between them.

It is timed as a workload is (timing.measure, blocks as long as the run's), for a short budget,
once per round; rounds after the first keep the first round's block size, as a workload's do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import torch

from subsidybench.devices import Device
from subsidybench.results.record import Reference
from subsidybench.timing import CPU_MIN_BLOCK_S, Measurement, TimingPolicy, TooSlow, measure

STEP = "fp32 matmul 512x512x512"
_N = 512

# Three blocks a round: enough for a median per round; about 0.2 s a round with warm-up, under 1%
# of a ci run of three rounds.
POLICY = TimingPolicy(budget_s=0.15, min_samples=3, warmup_iterations=3, warmup_s=0.02)


def policy_for(device: Device) -> TimingPolicy:
    """The reference's policy on `device`: CPU blocks as long as a CPU workload's."""
    if device.type == "cpu":
        return replace(POLICY, min_block_s=CPU_MIN_BLOCK_S)
    return POLICY


def read(
    device: Device, earlier: Reference | None, round_: int, blocks: int | None = None
) -> Reference:
    """Time the reference step once more and add it, as round `round_`, to `earlier`.

    `blocks` fixes the iterations per block where `earlier` is in another process (a worker's
    round, measure/worker.py); otherwise later rounds take `earlier`'s.

    The reference explains figures, it is not one: a device error ends it, the rounds already
    timed kept beside the error, and the run goes on; it is not tried again.
    """
    if earlier is not None and earlier.error:
        return earlier
    try:
        taken = _time(device, earlier, blocks)
    # torch reports device errors as RuntimeError; TooSlow: one call of a ~1 ms step took
    # longer than the reference's whole budget, a machine too busy to time it this round.
    except (RuntimeError, ValueError, TooSlow) as e:
        why = f"round {round_ + 1}: " + (" ".join(str(e).split()) or type(e).__name__)
        return Reference(STEP, earlier.measurement if earlier else None, error=why)
    if earlier is None or earlier.measurement is None:
        return Reference(STEP, taken)
    return Reference(STEP, earlier.measurement.then(taken, round_))


def step(device: Device) -> Callable[[], object]:
    """The reference step on `device`, its tensors made (the same values every time)."""
    torch_device = device.torch_device
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(_N, _N, generator=generator).to(torch_device)
    b = torch.randn(_N, _N, generator=generator).to(torch_device)
    out = torch.empty(_N, _N, device=torch_device)
    return lambda: torch.mm(a, b, out=out)


def _time(device: Device, earlier: Reference | None, blocks: int | None) -> Measurement:
    policy = policy_for(device)
    if earlier is not None and earlier.measurement is not None:
        blocks = earlier.measurement.iterations_per_block
    if blocks is not None:
        policy = replace(policy, iterations_per_block=blocks)
    return measure(step(device), device.synchronizer(), policy)
