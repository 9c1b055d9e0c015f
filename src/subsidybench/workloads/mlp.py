"""A small training step: an MLP classifier with AdamW, the smallest honest training workload."""

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
from subsidybench.workloads.base import Workload, positive, register
from subsidybench.workloads.training import Batch, Trains

_BATCHES = 8


@register
@dataclass(frozen=True, slots=True)
class MlpTrain(Trains, Workload):
    """Forward, backward and AdamW step of features -> hidden x layers -> classes."""

    name = "mlp_train"
    description = "MLP training step (forward, backward, AdamW)"

    batch: int = 256
    features: int = 512
    hidden: int = 1024
    layers: int = 2
    classes: int = 16

    def __post_init__(self) -> None:
        positive(self, "batch", "features", "hidden", "layers", "classes")

    def shapes(self) -> list[tuple[int, int]]:
        """(in, out) of each linear layer."""
        widths = [self.features, *([self.hidden] * self.layers), self.classes]
        return list(itertools.pairwise(widths))

    def parameters(self) -> int:
        return sum(i * o + o for i, o in self.shapes())

    def work(self, dtype: DType) -> Work:
        # Matmul FLOPs only, the convention MFU is quoted in. Per sample and layer: forward
        # 2·in·out, weight gradient 2·in·out, input gradient 2·in·out, except that the first
        # layer's input needs no gradient.
        macs = sum(i * o for i, o in self.shapes())
        first = self.shapes()[0]
        flops = self.batch * (6 * macs - 2 * first[0] * first[1])
        # Bytes: a lower bound from fp32 parameter traffic (forward read, backward read and
        # gradient write, AdamW's 4 reads and 3 writes: 10 passes) plus the input batch.
        p = self.parameters()
        inputs = self.batch * self.features * dtype.itemsize
        return Work(
            flops=float(flops),
            bytes=float(10 * p * 4 + inputs),
            items=float(self.batch),
            item_unit="sample",
        )

    def model(self, device: Device) -> nn.Module:
        torch.manual_seed(0)
        layers: list[nn.Module] = []
        for i, (d_in, d_out) in enumerate(self.shapes()):
            if i:
                layers.append(nn.GELU())
            layers.append(nn.Linear(d_in, d_out))
        return nn.Sequential(*layers).to(device.torch_device)

    def batches(self, device: Device) -> Sequence[Batch]:
        # A learnable task that cannot be learnt perfectly: labels from a fixed random teacher,
        # a tenth of them replaced by noise, over a pool of batches. Memorising a single batch
        # drives the loss to ~1e-7 within a hundred steps, and the tiny gradients that follow
        # are subnormal floats, which run many times slower on a CPU.
        g = torch.Generator().manual_seed(3)
        xs = torch.randn(_BATCHES, self.batch, self.features, generator=g)
        teacher = torch.randn(self.features, self.classes, generator=g)
        ys = (xs @ teacher).argmax(-1)
        noisy = torch.rand(ys.shape, generator=g) < 0.1
        ys = torch.where(noisy, torch.randint(self.classes, ys.shape, generator=g), ys)
        return [
            (x.to(device.torch_device), y.to(device.torch_device))
            for x, y in zip(xs, ys, strict=True)
        ]

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(output, target)
