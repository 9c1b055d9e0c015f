"""Memory bandwidth: copy one buffer into another, the rate that bounds element-wise work."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from subsidybench.devices import Device
from subsidybench.dtypes import DType
from subsidybench.work import Work
from subsidybench.workloads.base import (
    TORCH_DTYPES,
    Family,
    Step,
    Workload,
    positive,
    register,
    require_finite,
)

_MIB = 1 << 20


@register
@dataclass(frozen=True, slots=True)
class Copy(Workload):
    """dst.copy_(src) over a buffer of `mib` MiB: each byte is read once and written once."""

    name = "copy"
    family = Family.PRIMITIVE
    # Bytes are bytes: one dtype is enough, and fp32 is the one every device has.
    dtypes = frozenset({DType.FP32})
    description = "device memory copy (read + write)"

    mib: int = 256

    def __post_init__(self) -> None:
        positive(self, "mib")

    def elements(self, dtype: DType) -> int:
        return self.mib * _MIB // dtype.itemsize

    def work(self, dtype: DType) -> Work:
        size = self.elements(dtype) * dtype.itemsize
        return Work(flops=0.0, bytes=2.0 * size, items=1.0, item_unit="copy")

    def prepare(self, device: Device, dtype: DType) -> Step:
        n = self.elements(dtype)
        src = torch.ones(n, dtype=TORCH_DTYPES[dtype], device=device.torch_device)
        dst = torch.empty_like(src)

        def check() -> dict[str, float]:
            require_finite(destination=dst)
            return {}

        return Step(run=lambda: dst.copy_(src), check=check)
