"""FP8 and INT8 matmul: per-tensor scales, the step's arithmetic on the cpu (torch runs both ops
there, slowly), skipped with the reason on devices without them, timed on a GPU that has them."""

from __future__ import annotations

import pytest
import torch

from subsidybench.devices import CudaBackend, resolve_device
from subsidybench.devices.base import Support
from subsidybench.dtypes import DType
from subsidybench.measure.runner import run_task
from subsidybench.measure.tasks import WorkloadTask
from subsidybench.results.record import Status
from subsidybench.timing import TimingPolicy
from subsidybench.workloads import lowp
from subsidybench.workloads.base import SanityError
from subsidybench.workloads.matmul import Matmul

CPU = resolve_device("cpu")
QUICK = TimingPolicy(budget_s=0.2, min_samples=3, warmup_s=0.0)


def test_fp8_scale_maps_the_largest_value_to_448_and_back() -> None:
    x = torch.tensor([[-3.0, 0.5], [1.5, 2.0]])
    q, scale = lowp.quantize_fp8(x)
    assert q.dtype is torch.float8_e4m3fn and scale.dtype is torch.float32
    assert float(scale) == pytest.approx(3.0 / 448)
    assert float(q.float().abs().max()) == 448.0
    # e4m3 keeps 3 mantissa bits: every value comes back within 2^-4 of itself.
    back = q.float() * scale
    assert torch.allclose(back, x, rtol=2**-4, atol=0)


def test_int8_scale_is_symmetric_and_rounds() -> None:
    x = torch.tensor([[-2.54, 1.27], [0.0, 2.54]])
    q, scale = lowp.quantize_int8(x)
    assert q.dtype is torch.int8 and float(scale) == pytest.approx(2.54 / 127)
    assert q.tolist() == [[-127, 64], [0, 127]]  # 1.27 / 0.02 = 63.5 rounds to even: 64


def test_low_precision_work_counts_one_byte_inputs_and_the_wider_output() -> None:
    mm = Matmul(m=32, k=64, n=16)
    fp8, int8 = mm.work(DType.FP8), mm.work(DType.INT8)
    assert fp8.flops == int8.flops == 2 * 32 * 64 * 16
    assert fp8.bytes == 32 * 64 + 64 * 16 + 32 * 16 * 2  # bf16 output
    assert int8.bytes == 32 * 64 + 64 * 16 + 32 * 16 * 4  # int32 output


def test_fp8_step_on_the_cpu_matches_the_dequantised_product() -> None:
    step = Matmul(n=32).prepare(CPU, DType.FP8)
    step.run()
    assert step.check is not None and step.check() == {}


def test_int8_step_on_the_cpu_is_exact() -> None:
    step = Matmul(m=32, k=64, n=48).prepare(CPU, DType.INT8)
    step.run()
    assert step.check is not None and step.check() == {}


def test_a_wrong_int8_product_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    real = torch._int_mm
    monkeypatch.setattr(torch, "_int_mm", lambda a, b: real(a, b) + 1)
    step = Matmul(m=32, k=64, n=48).prepare(CPU, DType.INT8)
    step.run()
    with pytest.raises(SanityError, match="differs from the exact product"):
        step.check()  # type: ignore[misc]


def test_a_wrong_fp8_scale_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    real = torch._scaled_mm
    monkeypatch.setattr(torch, "_scaled_mm", lambda a, b, **kw: real(a, b, **kw) * 2)
    step = Matmul(n=32).prepare(CPU, DType.FP8)
    step.run()
    with pytest.raises(SanityError, match="fp8 output is off"):
        step.check()  # type: ignore[misc]


@pytest.mark.parametrize("dtype", [DType.FP8, DType.INT8])
def test_the_cpu_skips_them_with_the_reason(dtype: DType) -> None:
    result = run_task(WorkloadTask(Matmul(n=64), dtype, QUICK), CPU)
    assert result.status is Status.SKIPPED
    assert result.reason == f"{dtype} matmul is not offered on the cpu"


@pytest.mark.parametrize(
    ("capability", "hip", "fp8", "int8"),
    [
        ((9, 0), None, Support.NATIVE, Support.NATIVE),  # Hopper
        ((8, 9), None, Support.NATIVE, Support.NATIVE),  # Ada
        ((8, 0), None, Support.UNSUPPORTED, Support.NATIVE),  # Ampere: int8, no fp8
        ((7, 0), None, Support.UNSUPPORTED, Support.UNSUPPORTED),  # Volta
        ((9, 4), "6.2", Support.UNSUPPORTED, Support.UNSUPPORTED),  # ROCm: not offered yet
    ],
)
def test_cuda_support_follows_the_compute_capability(
    monkeypatch: pytest.MonkeyPatch,
    capability: tuple[int, int],
    hip: str | None,
    fp8: Support,
    int8: Support,
) -> None:
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda index: capability)
    monkeypatch.setattr(torch.version, "hip", hip)
    backend = CudaBackend()
    assert backend.dtype_support(0, DType.FP8).support is fp8
    assert backend.dtype_support(0, DType.INT8).support is int8
    if int8 is Support.UNSUPPORTED:
        assert backend.dtype_support(0, DType.INT8).reason


def _native(dtype: DType) -> bool:
    return (
        torch.cuda.is_available()
        and resolve_device("cuda").dtype_support(dtype).support is Support.NATIVE
    )


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [DType.FP8, DType.INT8])
def test_low_precision_matmul_runs_on_a_gpu_that_has_it(dtype: DType) -> None:
    if not _native(dtype):
        pytest.skip(f"needs a GPU with native {dtype} matmul")
    result = run_task(WorkloadTask(Matmul(n=4096), dtype, QUICK), resolve_device("cuda"))
    assert result.status is Status.OK, result.reason
    # Well above what the same GPU's bf16 would need to reach: a real tensor-core rate.
    assert result.flops_per_s and result.flops_per_s > 50e12
