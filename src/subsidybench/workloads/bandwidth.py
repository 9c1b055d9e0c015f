"""Memory bandwidth: copy and STREAM triad, the rates that bound element-wise work."""

from __future__ import annotations

import itertools
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
    host_float64,
    positive,
    random_tensor,
    register,
    require_close,
    require_finite,
    rotation_sets,
)

_MIB = 1 << 20


@dataclass(frozen=True, slots=True)
class Buffers(Workload):
    """A memory workload over buffers of `mib` MiB each."""

    family = Family.PRIMITIVE
    # Bytes are bytes: one dtype is enough, and fp32 is the one every device has.
    dtypes = frozenset({DType.FP32})

    mib: int = 256

    def __post_init__(self) -> None:
        positive(self, "mib")

    def elements(self, dtype: DType) -> int:
        return self.mib * _MIB // dtype.itemsize


@register
@dataclass(frozen=True, slots=True)
class Copy(Buffers):
    """dst.copy_(src) over a buffer of `mib` MiB: each byte is read once and written once."""

    name = "copy"
    description = "device memory copy (read + write)"

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


# STREAM's scalar (McCalpin's stream.c): any value works; 3 keeps a = b + 3c exact to round.
_TRIAD_SCALAR = 3.0
_CHECKED_ELEMENTS = 1 << 20


@register
@dataclass(frozen=True, slots=True)
class Triad(Buffers):
    """STREAM triad, a = b + s·c, over three arrays of `mib` MiB each, as one kernel.

    Arrays that fit in the last-level cache rotate through independent sets (rotation_sets), so
    the rate is memory's; the number of sets is kept with the result as "input_sets".
    """

    name = "triad"
    description = "STREAM triad a = b + s*c (2 reads + 1 write)"

    def work(self, dtype: DType) -> Work:
        # STREAM's count: b and c read, a written, 3 arrays of traffic (a write-allocate cache
        # that reads a before writing it moves a fourth, which STREAM does not credit); a multiply
        # and an add per element.
        n = self.elements(dtype)
        return Work(flops=2.0 * n, bytes=3.0 * n * dtype.itemsize, items=1.0, item_unit="triad")

    def prepare(self, device: Device, dtype: DType) -> Step:
        n = self.elements(dtype)
        b = random_tensor((n,), dtype, device, seed=1)
        c = random_tensor((n,), dtype, device, seed=2)

        def make(seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
            # a starts as NaN, so an element the kernel never wrote fails the check. b and c are
            # copies, not fresh draws: caches see addresses, not values.
            a = torch.full_like(b, float("nan"))
            return (a, b, c) if seed == 0 else (a, b.clone(), c.clone())

        sets = rotation_sets(device, 3 * n * dtype.itemsize, make)
        turn = itertools.count()
        last = 0

        def run() -> None:
            nonlocal last
            last = next(turn) % len(sets)
            a, b, c = sets[last]
            torch.add(b, c, alpha=_TRIAD_SCALAR, out=a)

        def check() -> dict[str, float]:
            a, b, c = sets[last]
            require_finite(a=a)
            # Values at a stride, ~1M of them, against float64 on the cpu: the whole array would
            # cost the host 3 float64 copies of it.
            every = max(1, n // _CHECKED_ELEMENTS)
            want = host_float64(b[::every]) + _TRIAD_SCALAR * host_float64(c[::every])
            error = require_close("a", a[::every], want, dtype)
            return {"input_sets": float(len(sets)), "relative_error": error}

        return Step(run=run, check=check)
