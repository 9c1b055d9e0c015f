"""Dense matrix multiply: the rate every accelerator is sold on, and the ceiling for models."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from subsidybench.devices import Device
from subsidybench.dtypes import DType
from subsidybench.work import Work
from subsidybench.workloads import lowp
from subsidybench.workloads.base import (
    Family,
    Step,
    Workload,
    positive,
    precision,
    random_tensor,
    register,
    require_finite,
)


@register
@dataclass(frozen=True, slots=True)
class Matmul(Workload):
    """C = A @ B with A of m x k and B of k x n; m and k default to n (a square multiply).

    fp8 and int8 quantise A and B with one scale each and write bf16 or int32 (workloads.lowp).
    """

    name = "matmul"
    family = Family.PRIMITIVE
    dtypes = frozenset({DType.FP32, DType.TF32, DType.BF16, DType.FP16, *lowp.LOW_PRECISION})
    description = "dense matrix multiply, m x k by k x n"

    n: int = 1024
    m: int = 0
    k: int = 0

    def __post_init__(self) -> None:
        # 0 means "same as n", so a suite can write just n for a square multiply.
        if self.m == 0:
            object.__setattr__(self, "m", self.n)
        if self.k == 0:
            object.__setattr__(self, "k", self.n)
        positive(self, "n", "m", "k")

    def work(self, dtype: DType) -> Work:
        if dtype in lowp.LOW_PRECISION:
            return lowp.work(self.m, self.k, self.n, dtype)
        # One multiply and one add per (i, j, l): 2mnk. Reads A and B once, writes C once.
        elements = self.m * self.k + self.k * self.n + self.m * self.n
        return Work(
            flops=2.0 * self.m * self.n * self.k,
            bytes=float(elements * dtype.itemsize),
            items=1.0,
            item_unit="matmul",
        )

    def prepare(self, device: Device, dtype: DType) -> Step:
        if dtype in lowp.LOW_PRECISION:  # scaled inputs and a wider output: its own module
            return lowp.prepare(self.m, self.k, self.n, device, dtype)
        a = random_tensor((self.m, self.k), dtype, device, seed=1)
        b = random_tensor((self.k, self.n), dtype, device, seed=2)
        out = torch.empty((self.m, self.n), dtype=a.dtype, device=a.device)

        def run() -> None:
            with precision(dtype):
                torch.matmul(a, b, out=out)

        def check() -> dict[str, float]:
            require_finite(output=out)
            return {}

        return Step(run=run, check=check)
