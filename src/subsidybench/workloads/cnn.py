"""A small residual CNN (ResNet-style basic blocks), trained and run for inference.

Defined here rather than taken from torchvision, which has no CPU build on the project's
machines. FLOPs count the convolutions and the classifier, the layers that multiply; batch norm,
ReLU and pooling are element-wise and left out, as in published ResNet FLOP counts.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from subsidybench.devices import Device
from subsidybench.dtypes import DType
from subsidybench.work import Work
from subsidybench.workloads.base import (
    TORCH_DTYPES,
    Infers,
    Step,
    Workload,
    maybe_compile,
    positive,
    register,
    require_finite,
)
from subsidybench.workloads.training import Batch, Trains

_BATCHES = 4


@dataclass(frozen=True, slots=True)
class Conv:
    """One convolution of the network: channels in and out, kernel, stride, input side."""

    c_in: int
    c_out: int
    kernel: int
    stride: int
    side: int

    @property
    def side_out(self) -> int:
        return self.side // self.stride

    def flops(self, batch: int) -> int:
        return 2 * batch * self.c_out * self.side_out**2 * self.c_in * self.kernel**2


def _conv_bn(conv: Conv) -> nn.Sequential:
    padding = conv.kernel // 2
    return nn.Sequential(
        nn.Conv2d(conv.c_in, conv.c_out, conv.kernel, conv.stride, padding, bias=False),
        nn.BatchNorm2d(conv.c_out),
    )


class BasicBlock(nn.Module):
    def __init__(self, first: Conv, second: Conv, shortcut: Conv | None) -> None:
        super().__init__()
        self.first = _conv_bn(first)
        self.second = _conv_bn(second)
        self.shortcut = _conv_bn(shortcut) if shortcut else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.second(F.relu(self.first(x)))
        return F.relu(y + self.shortcut(x))


@dataclass(frozen=True, slots=True)
class CnnShape(Workload):
    """Sizes of the network: `stages` stages of `blocks` basic blocks, widths doubling."""

    batch: int = 32
    image: int = 32
    width: int = 32
    stages: int = 3
    blocks: int = 2
    classes: int = 10

    def __post_init__(self) -> None:
        positive(self, "batch", "image", "width", "stages", "blocks", "classes")
        if self.image % 2 ** (self.stages - 1):
            raise ValueError(f"image ({self.image}) must halve evenly {self.stages - 1} times")

    def layout(self) -> tuple[Conv, list[tuple[Conv, Conv, Conv | None]]]:
        """The stem and, per block, its two convolutions and its 1x1 shortcut if it has one."""
        stem = Conv(3, self.width, 3, 1, self.image)
        blocks = []
        channels, side = self.width, self.image
        for stage in range(self.stages):
            out = self.width * 2**stage
            for i in range(self.blocks):
                stride = 2 if stage > 0 and i == 0 else 1
                first = Conv(channels, out, 3, stride, side)
                second = Conv(out, out, 3, 1, first.side_out)
                shortcut = (
                    Conv(channels, out, 1, stride, side) if stride > 1 or channels != out else None
                )
                blocks.append((first, second, shortcut))
                channels, side = out, first.side_out
        return stem, blocks

    def forward_flops(self) -> int:
        stem, blocks = self.layout()
        convs = [stem, *(c for block in blocks for c in block if c is not None)]
        final = self.width * 2 ** (self.stages - 1)
        return sum(c.flops(self.batch) for c in convs) + 2 * self.batch * final * self.classes

    def build(self, device: Device) -> nn.Module:
        torch.manual_seed(0)
        stem, blocks = self.layout()
        final = self.width * 2 ** (self.stages - 1)
        model = nn.Sequential(
            _conv_bn(stem),
            nn.ReLU(),
            *(BasicBlock(*block) for block in blocks),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(final, self.classes),
        )
        return model.to(device.torch_device)

    def images(self, device: Device, count: int) -> list[Batch]:
        """Noisy images of a class-specific pattern: a task the network can learn in a few steps."""
        g = torch.Generator().manual_seed(7)
        patterns = torch.randn(self.classes, 3, self.image, self.image, generator=g)
        batches = []
        for _ in range(count):
            y = torch.randint(self.classes, (self.batch,), generator=g)
            x = patterns[y] + torch.randn(self.batch, 3, self.image, self.image, generator=g)
            batches.append((x.to(device.torch_device), y.to(device.torch_device)))
        return batches


@register
@dataclass(frozen=True, slots=True)
class CnnTrain(Trains, CnnShape):
    """Training step of the residual CNN (forward, backward, AdamW)."""

    name = "cnn_train"
    description = "residual CNN training step (images/s)"

    def work(self, dtype: DType) -> Work:
        stem = self.layout()[0]
        # Backward is twice the forward (input and weight gradients), less the stem's input
        # gradient: the images need none.
        flops = 3 * self.forward_flops() - stem.flops(self.batch)
        images = self.batch * 3 * self.image**2 * 4
        return Work(
            flops=float(flops), bytes=float(images), items=float(self.batch), item_unit="image"
        )

    def model(self, device: Device) -> nn.Module:
        return self.build(device)

    def batches(self, device: Device) -> Sequence[Batch]:
        return self.images(device, _BATCHES)

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(output, target)


@register
@dataclass(frozen=True, slots=True)
class CnnInfer(Infers, CnnShape):
    """Inference of the residual CNN on a batch of images, in the dtype throughout."""

    name = "cnn_infer"
    description = "residual CNN inference (images/s)"

    def work(self, dtype: DType) -> Work:
        images = self.batch * 3 * self.image**2 * dtype.itemsize
        return Work(
            flops=float(self.forward_flops()),
            bytes=float(images),
            items=float(self.batch),
            item_unit="image",
        )

    def prepare(self, device: Device, dtype: DType, compiled: bool = False) -> Step:
        model = maybe_compile(self.build(device).eval().to(TORCH_DTYPES[dtype]), compiled)
        batches = [x.to(TORCH_DTYPES[dtype]) for x, _ in self.images(device, _BATCHES)]
        out: dict[str, torch.Tensor] = {}
        turn = itertools.count()

        def run() -> None:
            with torch.inference_mode():
                out["logits"] = model(batches[next(turn) % _BATCHES])

        def check() -> dict[str, float]:
            require_finite(logits=out["logits"])
            return {}

        return Step(run=run, check=check)
