"""Low-precision matmul: FP8 (e4m3 inputs, bf16 output) and INT8 (int32 output).

The matmul workload hands fp8 and int8 here. Inputs are the same normal(0, 1) matrices as every
other dtype, quantised with one scale per tensor (amax over the format's largest value), as
FP8 training recipes and int8 inference do; the scales are part of the answer, not a trick
of the benchmark. torch._scaled_mm runs FP8 on tensor cores (compute capability 8.9 and later),
with its default accumulation (use_fast_accum=False: full-precision sums, the slower and more
accurate mode); torch._int_mm runs INT8 through cuBLASLt (Ampere and later). The backend's
dtype support decides whether a device runs them natively; elsewhere the runner skips them.

The check compares the first rows of the output with a float64 product of the dequantised
inputs on the host: bf16 rounding only for fp8, exact for int8 (sums of int8 products stay far
below 2^53).
"""

from __future__ import annotations

import torch

from subsidybench.devices import Device
from subsidybench.dtypes import DType
from subsidybench.work import Work
from subsidybench.workloads.base import SanityError, Step, require_finite

LOW_PRECISION = frozenset({DType.FP8, DType.INT8})

FP8 = torch.float8_e4m3fn
FP8_MAX = float(torch.finfo(FP8).max)  # 448
INT8_MAX = 127.0  # symmetric: -127..127, so -x quantises like x
_OUTPUT_BYTES = {DType.FP8: 2, DType.INT8: 4}  # bf16 and int32 results
_CHECK_ROWS = 16
_FP8_TOLERANCE = 1e-2  # bf16 output rounding is 2^-8 relative; a wrong scale is off by ~1


def work(m: int, k: int, n: int, dtype: DType) -> Work:
    """2mnk operations (int8 counted like FLOPs, as profiles give int8 peaks in TOPS); inputs
    read at one byte an element, the wider output written once."""
    return Work(
        flops=2.0 * m * n * k,
        bytes=float(m * k + k * n + m * n * _OUTPUT_BYTES[dtype]),
        items=1.0,
        item_unit="matmul",
    )


def quantize_fp8(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """e4m3 values and the float32 scale that turns them back: x ~= q * scale."""
    scale = (x.abs().max().float() / FP8_MAX).clamp(min=torch.finfo(torch.float32).tiny)
    q = (x.float() / scale).clamp(-FP8_MAX, FP8_MAX).to(FP8)
    return q, scale


def quantize_int8(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """int8 values and the float32 scale that turns them back: x ~= q * scale."""
    scale = (x.abs().max().float() / INT8_MAX).clamp(min=torch.finfo(torch.float32).tiny)
    q = torch.round(x.float() / scale).clamp(-INT8_MAX, INT8_MAX).to(torch.int8)
    return q, scale


def _normal(shape: tuple[int, int], seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g, dtype=torch.float32)


def prepare(m: int, k: int, n: int, device: Device, dtype: DType) -> Step:
    """The fp8 or int8 step on `device`, with inputs quantised on the host."""
    if dtype not in LOW_PRECISION:
        raise ValueError(f"{dtype} is not a low-precision matmul dtype")
    quantize = quantize_fp8 if dtype is DType.FP8 else quantize_int8
    a_host, scale_a = quantize(_normal((m, k), seed=1))
    b_host, scale_b = quantize(_normal((k, n), seed=2))
    where = device.torch_device
    a = a_host.to(where)
    outputs: list[torch.Tensor] = []
    if dtype is DType.FP8:
        # _scaled_mm wants its second operand column-major: the transpose of a row-major n x k.
        b = b_host.t().contiguous().t().to(where)
        sa, sb = scale_a.to(where), scale_b.to(where)

        def run() -> None:
            outputs[:] = [torch._scaled_mm(a, b, scale_a=sa, scale_b=sb, out_dtype=torch.bfloat16)]

    else:
        b = b_host.to(where)

        def run() -> None:
            outputs[:] = [torch._int_mm(a, b)]

    def check() -> dict[str, float]:
        if not outputs:
            raise SanityError("the step never ran")
        got = outputs[0][:_CHECK_ROWS].detach().cpu().to(torch.float64)
        rows = a_host[:_CHECK_ROWS].to(torch.float64) @ b_host.to(torch.float64)
        if dtype is DType.INT8:
            if not torch.equal(got, rows):
                wrong = int((got != rows).sum())
                raise SanityError(f"int8 output differs from the exact product in {wrong} places")
            return {}
        require_finite(output=got)
        want = rows * float(scale_a) * float(scale_b)
        error = float(torch.linalg.vector_norm(got - want) / torch.linalg.vector_norm(want))
        if not error <= _FP8_TOLERANCE:
            raise SanityError(
                f"fp8 output is off from the dequantised product by {error:.2e} (relative),"
                f" more than {_FP8_TOLERANCE:.0e}"
            )
        return {}

    return Step(run=run, check=check)
