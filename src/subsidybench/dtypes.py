"""Number formats, named the way profiles, suites, results and flags write them.

Torch-free on purpose: profiles, results and the cost model use these names without importing
torch. The mapping to torch dtypes lives with the code that runs workloads.
"""

from __future__ import annotations

from enum import StrEnum


class DType(StrEnum):
    FP32 = "fp32"
    # tf32 is fp32 storage with tensor-core matmuls in 19-bit precision; only some devices have it.
    TF32 = "tf32"
    BF16 = "bf16"
    FP16 = "fp16"
    FP8 = "fp8"
    INT8 = "int8"

    @property
    def itemsize(self) -> int:
        """Bytes per element as stored in memory."""
        return _ITEMSIZE[self]


_ITEMSIZE = {
    DType.FP32: 4,
    DType.TF32: 4,
    DType.BF16: 2,
    DType.FP16: 2,
    DType.FP8: 1,
    DType.INT8: 1,
}
