"""2-D convolution: the kernel that vision models spend most of their time in."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch.nn import functional as F

from subsidybench.devices import Device
from subsidybench.dtypes import DType
from subsidybench.work import Work
from subsidybench.workloads.base import (
    Family,
    Step,
    Workload,
    host_float64,
    positive,
    random_tensor,
    register,
    require_close,
)


@contextlib.contextmanager
def conv_flags(dtype: DType) -> Iterator[None]:
    """cuDNN autotuning on, and tf32 only for DType.TF32.

    cuDNN computes fp32 convolutions in tf32 unless told otherwise (torch's default for
    convolutions, unlike matmuls), which would sell a tf32 rate as fp32. Autotuning
    (cudnn.benchmark) is what training scripts turn on for fixed shapes; the harness's warm-up
    pays for the search. Other backends ignore both settings.
    """
    cudnn = torch.backends.cudnn
    before = (cudnn.allow_tf32, cudnn.benchmark)
    cudnn.allow_tf32 = dtype is DType.TF32
    cudnn.benchmark = True
    try:
        yield
    finally:
        cudnn.allow_tf32, cudnn.benchmark = before


@register
@dataclass(frozen=True, slots=True)
class Conv2d(Workload):
    """out = conv2d(x, w): x of batch x in_channels x height x width (NCHW), out_channels square
    filters of kernel x kernel, no bias. Width 0 means "same as height"."""

    name = "conv2d"
    family = Family.PRIMITIVE
    dtypes = frozenset({DType.FP32, DType.TF32, DType.BF16, DType.FP16})
    description = "2-D convolution, NCHW, square filters, no bias"

    # ResNet-50's second-stage 3x3 convolution at batch 128: 29.6 GFLOP a step, 570 FLOP per
    # byte in bf16, compute-bound on any accelerator (an H100's ridge is ~300 FLOP/byte).
    batch: int = 128
    in_channels: int = 128
    out_channels: int = 128
    height: int = 28
    width: int = 0
    kernel: int = 3
    stride: int = 1
    padding: int = 1

    def __post_init__(self) -> None:
        if self.width == 0:
            object.__setattr__(self, "width", self.height)
        positive(self, "batch", "in_channels", "out_channels", "height", "width")
        positive(self, "kernel", "stride")
        if isinstance(self.padding, bool) or not isinstance(self.padding, int) or self.padding < 0:
            raise ValueError(f"padding must be an integer >= 0, got {self.padding!r}")
        if min(self.output_size()) < 1:
            raise ValueError(
                f"a {self.kernel}x{self.kernel} filter does not fit a {self.height}x{self.width}"
                f" input padded by {self.padding}"
            )

    def output_size(self) -> tuple[int, int]:
        """(height, width) of the output: (size + 2·padding - kernel) // stride + 1."""
        return tuple(  # type: ignore[return-value]
            (size + 2 * self.padding - self.kernel) // self.stride + 1
            for size in (self.height, self.width)
        )

    def work(self, dtype: DType) -> Work:
        # One multiply-add per output element, input channel and filter tap:
        # 2·N·C_out·H_out·W_out·C_in·k·k (what torch's FlopCounterMode counts for a convolution).
        # Bytes: input, weights and output once each; padding is never stored.
        h_out, w_out = self.output_size()
        outputs = self.batch * self.out_channels * h_out * w_out
        inputs = self.batch * self.in_channels * self.height * self.width
        weights = self.out_channels * self.in_channels * self.kernel**2
        return Work(
            flops=2.0 * outputs * self.in_channels * self.kernel**2,
            bytes=float((inputs + weights + outputs) * dtype.itemsize),
            items=float(self.batch),
            item_unit="image",
        )

    def prepare(self, device: Device, dtype: DType) -> Step:
        x = random_tensor(
            (self.batch, self.in_channels, self.height, self.width), dtype, device, seed=1
        )
        # Scaled as Kaiming init scales them, so outputs stay near unit size at any fan-in.
        fan_in = self.in_channels * self.kernel**2
        w = random_tensor(
            (self.out_channels, self.in_channels, self.kernel, self.kernel), dtype, device, seed=2
        ) * (fan_in**-0.5)
        outputs: dict[str, torch.Tensor] = {}

        def run() -> None:
            with conv_flags(dtype):
                outputs["out"] = F.conv2d(x, w, stride=self.stride, padding=self.padding)

        def check() -> dict[str, float]:
            # The first image against a float64 reference on the cpu: one image is 1/batch of
            # the step's work, cheap enough for the host.
            want = F.conv2d(
                host_float64(x[:1]),
                host_float64(w),
                stride=self.stride,
                padding=self.padding,
            )
            error = require_close("output", outputs["out"][:1], want, dtype)
            return {"relative_error": error}

        return Step(run=run, check=check)
