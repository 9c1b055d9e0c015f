"""Host <-> device copies: the link (PCIe, NVLink-C2C, ...) that feeds an accelerator its data."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import torch

from subsidybench.devices import Device
from subsidybench.dtypes import DType
from subsidybench.work import Work
from subsidybench.workloads.base import (
    TORCH_DTYPES,
    Family,
    SanityError,
    SkipWorkload,
    Step,
    Workload,
    positive,
    register,
)

_MIB = 1 << 20


class Direction(StrEnum):
    H2D = "h2d"  # host to device
    D2H = "d2h"  # device to host


class HostMemory(StrEnum):
    # Page-locked: the device's DMA engines copy it directly and asynchronously.
    PINNED = "pinned"
    # Ordinary memory: the driver stages it through a pinned buffer of its own, as an
    # unprepared data loader's copies go.
    PAGEABLE = "pageable"


def _choice(value: str, enum: type[StrEnum], field: str) -> None:
    if value not in set(enum):
        allowed = ", ".join(enum)
        raise ValueError(f"{field} must be one of {allowed}, got {value!r}")


@register
@dataclass(frozen=True, slots=True)
class Transfer(Workload):
    """One copy of `mib` MiB between host memory and the device, in `direction` ("h2d" or
    "d2h"), from or to `host` memory ("pinned" or "pageable")."""

    name = "transfer"
    family = Family.PRIMITIVE
    # Bytes are bytes: fp32 is only the element type of the buffer.
    dtypes = frozenset({DType.FP32})
    description = "host <-> device copy"

    # 256 MiB: ~5 ms over PCIe 5.0 x16 (~50 GB/s usable), long past the ~10 us set-up a copy
    # costs, and a size a training input pipeline moves.
    mib: int = 256
    direction: str = Direction.H2D.value
    host: str = HostMemory.PINNED.value

    def __post_init__(self) -> None:
        positive(self, "mib")
        _choice(self.direction, Direction, "direction")
        _choice(self.host, HostMemory, "host")

    def elements(self, dtype: DType) -> int:
        return self.mib * _MIB // dtype.itemsize

    def work(self, dtype: DType) -> Work:
        # Every byte crosses the link once.
        return Work(
            flops=0.0,
            bytes=float(self.elements(dtype) * dtype.itemsize),
            items=1.0,
            item_unit="transfer",
        )

    def prepare(self, device: Device, dtype: DType) -> Step:
        if device.type == "cpu":
            raise SkipWorkload("no separate device memory on cpu: there is no link to measure")
        pinned = self.host == HostMemory.PINNED
        n = self.elements(dtype)
        g = torch.Generator().manual_seed(1)
        data = torch.randn(n, generator=g, dtype=torch.float32).to(TORCH_DTYPES[dtype])
        host = host_buffer(n, TORCH_DTYPES[dtype], pinned, device)
        on_device = torch.empty(n, dtype=TORCH_DTYPES[dtype], device=device.torch_device)
        if self.direction == Direction.H2D:
            host.copy_(data)
            src, dst = host, on_device
        else:
            on_device.copy_(data)
            src, dst = on_device, host

        def run() -> None:
            # Asynchronous from pinned memory, as data loaders copy; the harness's device
            # synchronize before and after each timed block waits for every queued copy.
            dst.copy_(src, non_blocking=pinned)

        def check() -> dict[str, float]:
            if not torch.equal(dst.cpu(), data):
                raise SanityError(f"the {self.direction} copy does not match its source")
            return {}

        return Step(run=run, check=check)


def host_buffer(n: int, dtype: torch.dtype, pinned: bool, device: Device) -> torch.Tensor:
    """An empty host tensor of n elements, page-locked for `device` if `pinned`."""
    if not pinned:
        return torch.empty(n, dtype=dtype)
    try:
        # Pinned for the current accelerator, which is the device's backend.
        buffer = torch.empty(n, dtype=dtype, pin_memory=True)
    except RuntimeError as e:
        raise SkipWorkload(f"{device.type} offers no pinned host memory here ({e})") from None
    if not buffer.is_pinned():
        raise SkipWorkload(f"{device.type} did not pin the host buffer")
    return buffer
