"""Row-wise normalisations, layer norm and softmax: the bandwidth-bound kernels between matmuls.

Each reads its input once and writes its output once, a handful of FLOPs per element, so the rate
is memory's. Inputs small enough to sit in the last-level cache rotate through independent sets
(rotation_sets), each with its own output, so the figure is memory's and not the cache's; the
number of sets is kept with the result as "input_sets". The sets are copies of one random input:
caches see addresses, not values, and copying is several times faster than drawing numbers.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch.nn import functional as F

from subsidybench.devices import Device
from subsidybench.dtypes import DType
from subsidybench.work import Work
from subsidybench.workloads.base import (
    Family,
    SanityError,
    Step,
    Workload,
    host_float64,
    positive,
    random_tensor,
    register,
    require_close,
    rotation_sets,
)

# Rows of the last-run set checked against a float64 reference after timing.
_CHECKED_ROWS = 64
_EPS = 1e-5
_DTYPES = frozenset({DType.FP32, DType.BF16, DType.FP16})


def prime(run: Callable[[], None], sets: int) -> None:
    """Run the step twice over every set before timing starts, so timing starts steady.

    First writes to fresh memory fault its pages in, and glibc serves the first large outputs
    with mmap, then, once they are freed, from its heap. On the 2-core reference cpu, layernorm
    at 2048 x 1024 over 60 sets took 2.2 ms a call on the first pass, 4 to 9 ms on the second
    and 0.85 ms after (softmax: 3.1 ms, then 0.97 ms); the harness sizes its blocks from its
    first calls and would have timed blocks too short for the clock.
    """
    for _ in range(2 * sets):
        run()


@register
@dataclass(frozen=True, slots=True)
class LayerNorm(Workload):
    """torch.nn.functional.layer_norm over the last dimension of rows x hidden, with weight and
    bias (eps 1e-5).

    layer_norm has no out= form, so each call allocates its output. Accelerators' caching
    allocators make that free; on a cpu the rate includes what the C allocator costs, as a
    model's layer norm there pays it. On the 2-core reference cpu: 4 MiB outputs (1024 x 1024
    fp32) ran steady at 17 GB/s; 8 MiB outputs had calls ~15x slower now and then (IQR/median
    60-120%); past glibc's 32 MiB mmap ceiling every output is mapped fresh, and 16384 x 4096
    ran at 7 GB/s.
    """

    name = "layernorm"
    family = Family.PRIMITIVE
    dtypes = _DTYPES
    description = "layer norm over rows x hidden (read once, write once)"

    # 16k tokens of a 4096-wide model: 256 MiB in fp32, 5x an H100's 50 MiB L2.
    rows: int = 16384
    hidden: int = 4096

    def __post_init__(self) -> None:
        positive(self, "rows", "hidden")

    def work(self, dtype: DType) -> Work:
        # FLOPs, 7 per element as a two-pass layer norm does them: sum for the mean, subtract
        # it, square, sum for the variance, scale by 1/std, multiply by the weight, add the bias.
        # Per-row work (a divide, a square root) is left out. Bytes: input and output once each,
        # weight and bias once.
        elements = self.rows * self.hidden
        return Work(
            flops=7.0 * elements,
            bytes=float((2 * elements + 2 * self.hidden) * dtype.itemsize),
            items=float(self.rows),
            item_unit="row",
        )

    def prepare(self, device: Device, dtype: DType) -> Step:
        x = random_tensor((self.rows, self.hidden), dtype, device, seed=1)
        inputs = rotation_sets(device, 2 * x.nbytes, lambda seed: x if seed == 0 else x.clone())
        weight = 1 + 0.1 * random_tensor((self.hidden,), dtype, device, seed=2)
        bias = 0.1 * random_tensor((self.hidden,), dtype, device, seed=3)
        # layer_norm has no out= form: each set keeps its last output, so the allocator cycles
        # through one output buffer per set (plus one) rather than rewriting one cached buffer.
        outputs: list[torch.Tensor | None] = [None] * len(inputs)
        turn = itertools.count()
        last = 0

        def run() -> None:
            nonlocal last
            last = next(turn) % len(inputs)
            outputs[last] = F.layer_norm(inputs[last], (self.hidden,), weight, bias, _EPS)

        def check() -> dict[str, float]:
            got = outputs[last]
            if got is None:
                raise SanityError("the step never ran")
            want = F.layer_norm(
                host_float64(inputs[last][:_CHECKED_ROWS]),
                (self.hidden,),
                host_float64(weight),
                host_float64(bias),
                _EPS,
            )
            error = require_close("output", got[:_CHECKED_ROWS], want, dtype)
            return {"input_sets": float(len(inputs)), "relative_error": error}

        prime(run, len(inputs))
        return Step(run=run, check=check)


@register
@dataclass(frozen=True, slots=True)
class Softmax(Workload):
    """torch.softmax over the last dimension of rows x cols, written into a preallocated output."""

    name = "softmax"
    family = Family.PRIMITIVE
    dtypes = _DTYPES
    description = "softmax over rows x cols (read once, write once)"

    # Attention scores of 4 sequences x 16 heads at 4k context, row by row: 256 MiB in fp32.
    rows: int = 16384
    cols: int = 4096

    def __post_init__(self) -> None:
        positive(self, "rows", "cols")

    def work(self, dtype: DType) -> Work:
        # FLOPs, 5 per element: the row maximum, subtract it, exponentiate (counted as one),
        # sum, divide. Bytes: input and output once each.
        elements = self.rows * self.cols
        return Work(
            flops=5.0 * elements,
            bytes=float(2 * elements * dtype.itemsize),
            items=float(self.rows),
            item_unit="row",
        )

    def prepare(self, device: Device, dtype: DType) -> Step:
        x = random_tensor((self.rows, self.cols), dtype, device, seed=1)

        def make(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
            return (x if seed == 0 else x.clone()), torch.empty_like(x)

        sets = rotation_sets(device, 2 * x.nbytes, make)
        turn = itertools.count()
        last = 0

        def run() -> None:
            nonlocal last
            last = next(turn) % len(sets)
            x, out = sets[last]
            # out=: one kernel into a buffer allocated once; a fresh output each call would, on a
            # cpu, time the operating system mapping new pages once outputs pass ~32 MiB.
            torch.softmax(x, -1, out=out)

        def check() -> dict[str, float]:
            x, out = sets[last]
            want = torch.softmax(host_float64(x[:_CHECKED_ROWS]), -1)
            error = require_close("output", out[:_CHECKED_ROWS], want, dtype)
            return {"input_sets": float(len(sets)), "relative_error": error}

        prime(run, len(sets))
        return Step(run=run, check=check)
