"""The training step every training workload shares: forward, loss, backward, optimizer step;
and `Trains`, the base that builds it from a workload's model, batches and loss.

fp32 trains in fp32. bf16 and fp16 train in mixed precision (fp32 weights, torch.autocast), fp16
with a gradient scaler, as a real job would. The step cycles through a pool of batches, and the
first and latest losses are kept on the device so the check can tell that the model learnt.
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import ClassVar

import torch
from torch import nn

from subsidybench.devices import Device
from subsidybench.dtypes import DType
from subsidybench.workloads.base import (
    MODEL_DTYPES,
    Family,
    SanityError,
    Step,
    finite_float,
    maybe_compile,
)

Batch = tuple[torch.Tensor, torch.Tensor]


def train_step(
    model: nn.Module,
    batches: Sequence[Batch],
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    device: Device,
    dtype: DType,
    lr: float = 1e-3,
) -> Step:
    """A Step that trains `model` with AdamW on `batches` in turn, and checks the loss fell."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    mixed = dtype is not DType.FP32
    amp_dtype = torch.float16 if dtype is DType.FP16 else torch.bfloat16
    scaler = torch.amp.GradScaler(device.type, enabled=dtype is DType.FP16)
    turn = itertools.count()
    # Losses stay on the device: reading one back each step would synchronize inside the timed
    # loop and add a round trip the real job does not pay. The check compares, over the batches
    # seen at least twice, the mean of their first losses with the mean of their latest: batches
    # differ in how hard they are, and one batch's loss can rise for a step on a noisy task.
    first: dict[int, torch.Tensor] = {}
    latest: dict[int, torch.Tensor] = {}

    def run() -> None:
        i = next(turn) % len(batches)
        x, y = batches[i]
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=amp_dtype, enabled=mixed):
            loss = loss_fn(model(x), y)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        if i in first:
            latest[i] = loss.detach()
        else:
            first[i] = loss.detach()

    def check() -> dict[str, float]:
        # A short budget on a busy machine (a third of it per round) can time fewer steps than
        # there are batches: finish the second pass untimed, so that the check has its evidence.
        # Every rank of a group has run the same number of steps, so they take the same extra.
        while len(latest) < len(batches):
            run()
        for i, loss in (*first.items(), *latest.items()):
            finite_float(float(loss), f"loss on batch {i}")
        seen = sorted(latest)
        if not seen:
            raise SanityError("too few steps to see the loss fall (no batch was seen twice)")
        before = finite_float(sum(float(first[i]) for i in seen) / len(seen), "first loss")
        after = finite_float(sum(float(latest[i]) for i in seen) / len(seen), "last loss")
        if not after < before:
            raise SanityError(f"loss did not fall over the run ({before:.4f} -> {after:.4f})")
        return {"loss_first": before, "loss_last": after}

    return Step(run=run, check=check)


def with_metrics(step: Step, more: Callable[[dict[str, float]], dict[str, float]]) -> Step:
    """`step` whose check also returns `more(metrics)`: what a workload adds to its figures."""
    check = step.check
    if check is None:
        raise ValueError("a step without a check has no metrics to add to")

    def checked() -> dict[str, float]:
        metrics = check()
        return {**metrics, **more(metrics)}

    return Step(run=step.run, check=checked, timed_start=step.timed_start)


class Trains(ABC):
    """Base of a training workload (listed before its shape: `class X(Trains, XShape)`): the
    workload gives its model, batches and loss, and every one trains by the same step."""

    family = Family.TRAINING
    dtypes = MODEL_DTYPES
    compilable = True
    learning_rate: ClassVar[float] = 1e-3

    @abstractmethod
    def model(self, device: Device) -> nn.Module:
        """The model on `device`, built from a fixed seed."""

    @abstractmethod
    def batches(self, device: Device) -> Sequence[Batch]:
        """(input, target) pairs on `device` the step cycles through."""

    @abstractmethod
    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor: ...

    def metrics(self, figures: dict[str, float]) -> dict[str, float]:
        """Figures to keep beside the losses; none by default."""
        return {}

    def prepare(
        self,
        device: Device,
        dtype: DType,
        compiled: bool = False,
        wrap: Callable[[nn.Module], nn.Module] | None = None,
    ) -> Step:
        """The training step; `wrap` (DistributedDataParallel, say) wraps the model first."""
        model = self.model(device)
        if wrap is not None:
            model = wrap(model)
        model = maybe_compile(model, compiled)
        step = train_step(model, self.batches(device), self.loss, device, dtype, self.learning_rate)
        return with_metrics(step, self.metrics)
