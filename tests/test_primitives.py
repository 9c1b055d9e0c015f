"""Primitive workloads: work counted by hand, torch's FLOP counter, outputs against references."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.nn import functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode, sdpa_backward_flop_count, sdpa_flop_count

from subsidybench.devices import CpuBackend, Device, resolve_device
from subsidybench.dtypes import DType
from subsidybench.errors import UserError
from subsidybench.measure.runner import run_task
from subsidybench.measure.tasks import WorkloadTask
from subsidybench.results.record import Status
from subsidybench.timing import TimingPolicy
from subsidybench.workloads import make_workload
from subsidybench.workloads.attention import Attention, AttentionTrain, reference_rows
from subsidybench.workloads.bandwidth import Triad
from subsidybench.workloads.base import SanityError, SkipWorkload, Step, Workload
from subsidybench.workloads.conv import Conv2d, conv_flags
from subsidybench.workloads.norm import LayerNorm, Softmax
from subsidybench.workloads.transfer import Transfer

CPU = resolve_device("cpu")
_NO_GPU = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA or ROCm GPU")


def CUDA(test: Callable[..., None]) -> Callable[..., None]:
    """Skipped without a GPU, and selected by `pytest -m gpu`."""
    return pytest.mark.gpu(_NO_GPU(test))


# The cpu and its bf16/fp16 support come from this machine: time the low-precision dtypes only
# where they are native, or the tests would wait on emulation.
LOW = [d for d in (DType.BF16, DType.FP16) if CPU.dtype_support(d).support.value == "native"]


class CacheCpu(CpuBackend):
    """The host cpu, reporting a last-level cache of a chosen size."""

    def __init__(self, cache: int | None) -> None:
        super().__init__()
        self.cache = cache

    def cache_bytes(self, index: int) -> int | None:
        return self.cache


def cpu_with_cache(cache: int | None) -> Device:
    return Device(CacheCpu(cache), None)


def counted_flops(run: Callable[[], object]) -> int:
    with FlopCounterMode(display=False) as counter:
        run()
    return counter.get_total_flops()


def ran(step: Step, times: int = 1) -> dict[str, float]:
    """Run a step, then its check; the metrics the check returns."""
    for _ in range(times):
        step.run()
    assert step.check is not None
    return dict(step.check())


def relative_error(got: torch.Tensor, want: torch.Tensor) -> float:
    got64 = got.detach().to(torch.float64)
    return float((got64 - want).norm() / want.norm())


# conv2d


def test_conv_counts_by_hand() -> None:
    w = Conv2d(batch=2, in_channels=3, out_channels=4, height=5, width=6, stride=2, padding=1)
    # (5 + 2 - 3) // 2 + 1 = 3 and (6 + 2 - 3) // 2 + 1 = 3
    assert w.output_size() == (3, 3)
    work = w.work(DType.FP32)
    assert work.flops == 2 * 2 * 4 * 3 * 3 * 3 * 3 * 3  # 2·N·C_out·H_out·W_out·C_in·k·k
    # input 2·3·5·6 = 180, weights 4·3·3·3 = 108, output 2·4·3·3 = 72 elements, 4 bytes each
    assert work.bytes == (180 + 108 + 72) * 4
    assert w.work(DType.BF16).bytes == (180 + 108 + 72) * 2
    assert (work.items, work.item_unit) == (2, "image")


def test_conv_sizes_are_checked() -> None:
    assert Conv2d(height=7).width == 7
    with pytest.raises(ValueError, match="does not fit"):
        Conv2d(height=2, kernel=5, padding=1)
    with pytest.raises(ValueError, match="padding"):
        Conv2d(padding=-1)
    with pytest.raises(UserError, match="conv2d: stride must be a positive integer"):
        make_workload("conv2d", {"stride": 0}, "suite.toml")


@settings(max_examples=40, deadline=None)
@given(
    batch=st.integers(1, 4),
    channels=st.tuples(st.integers(1, 8), st.integers(1, 8)),
    size=st.tuples(st.integers(1, 20), st.integers(1, 20)),
    kernel=st.integers(1, 7),
    stride=st.integers(1, 4),
    padding=st.integers(0, 3),
)
def test_conv_shape_and_flops_agree_with_torch_at_any_size(
    batch: int,
    channels: tuple[int, int],
    size: tuple[int, int],
    kernel: int,
    stride: int,
    padding: int,
) -> None:
    fits = min(size) + 2 * padding >= kernel
    if not fits:
        with pytest.raises(ValueError, match="does not fit"):
            Conv2d(batch, *channels, *size, kernel, stride, padding)
        return
    w = Conv2d(batch, *channels, *size, kernel, stride, padding)
    # Meta tensors: torch works out shapes and counts FLOPs without computing anything.
    x = torch.empty(batch, channels[0], *size, device="meta")
    weight = torch.empty(channels[1], channels[0], kernel, kernel, device="meta")
    with FlopCounterMode(display=False) as counter:
        out = F.conv2d(x, weight, stride=stride, padding=padding)
    assert tuple(out.shape) == (batch, channels[1], *w.output_size())
    assert counter.get_total_flops() == w.work(DType.FP32).flops


def test_conv_flops_agree_with_torch_counter() -> None:
    w = Conv2d(batch=2, in_channels=3, out_channels=5, height=9, width=7, stride=2, padding=1)
    step = w.prepare(CPU, DType.FP32)
    assert counted_flops(step.run) == w.work(DType.FP32).flops


@pytest.mark.parametrize("dtype", [DType.FP32, *LOW])
def test_conv_output_matches_an_unfolded_matmul(dtype: DType) -> None:
    w = Conv2d(batch=3, in_channels=4, out_channels=6, height=8, width=5, stride=1, padding=1)
    step = w.prepare(CPU, dtype)
    calls: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
    real = F.conv2d

    def spy(x: torch.Tensor, weight: torch.Tensor, **kwargs: object) -> torch.Tensor:
        out = real(x, weight, **kwargs)  # type: ignore[arg-type]
        calls.append((x, weight, out))
        return out

    with pytest.MonkeyPatch.context() as m:
        m.setattr(F, "conv2d", spy)
        step.run()
    [(x, weight, out)] = calls
    # The reference: every output a dot product of a filter with an unfolded input patch.
    cols = F.unfold(x.double(), kernel_size=3, padding=1)  # batch x (C_in·9) x (8·5)
    want = (weight.double().reshape(6, -1) @ cols).reshape(3, 6, 8, 5)
    tolerance = 1e-6 if dtype is DType.FP32 else 1e-2
    assert relative_error(out, want) < tolerance
    assert step.check is not None and step.check()["relative_error"] < tolerance


def test_conv_check_catches_a_wrong_output(monkeypatch: pytest.MonkeyPatch) -> None:
    from subsidybench.workloads import conv

    real = conv.F.conv2d

    def off_by_one(x: torch.Tensor, *args: object, **kwargs: object) -> torch.Tensor:
        out = real(x, *args, **kwargs)  # type: ignore[arg-type]
        return out if x.dtype == torch.float64 else out + 1  # the reference stays right

    monkeypatch.setattr(conv.F, "conv2d", off_by_one)
    step = Conv2d(batch=1, in_channels=2, out_channels=2, height=4).prepare(CPU, DType.FP32)
    with pytest.raises(SanityError, match="off from the reference"):
        ran(step)


def test_conv_flags_keep_fp32_out_of_tf32_and_restore() -> None:
    cudnn = torch.backends.cudnn
    before = (cudnn.allow_tf32, cudnn.benchmark)
    with conv_flags(DType.FP32):
        assert cudnn.allow_tf32 is False and cudnn.benchmark is True
    with conv_flags(DType.TF32):
        assert cudnn.allow_tf32 is True
    assert (cudnn.allow_tf32, cudnn.benchmark) == before


# attention


def test_attention_counts_by_hand() -> None:
    w = Attention(batch=2, heads=3, seq=4, head_dim=5)
    # Causal: 4·5/2 = 10 query-key pairs per head; QK^T and PV 2·5 FLOPs a pair each.
    forward = 2 * 3 * 10 * 2 * 2 * 5
    work = w.work(DType.FP32)
    assert work.flops == forward == 1200
    assert work.bytes == 4 * (2 * 3 * 4 * 5) * 4  # Q, K, V read, O written, fp32
    assert (work.items, work.item_unit) == (2 * 4, "token")
    train = AttentionTrain(batch=2, heads=3, seq=4, head_dim=5).work(DType.BF16)
    assert train.flops == 3 * forward  # backward: four matmuls of the forward's size
    assert train.bytes == 12 * (2 * 3 * 4 * 5) * 2  # Q, K, V, O, dO read; dQ, dK, dV written
    assert train.items == 8


def test_attention_names_are_two_workloads() -> None:
    assert make_workload("attention_train", {"seq": 8}, "suite.toml").work(DType.FP32).flops == (
        3 * make_workload("attention", {"seq": 8}, "suite.toml").work(DType.FP32).flops
    )


@pytest.mark.parametrize("cls", [Attention, AttentionTrain])
def test_attention_flops_are_the_causal_share_of_torch_counter(cls: type[Attention]) -> None:
    # The math kernel runs (and torch counts) the full S x S scores; the causal pairs are
    # S(S+1)/2 of the S^2. The cpu's fused kernel is not counted by FlopCounterMode at all.
    w = cls(batch=2, heads=3, seq=16, head_dim=8)
    step = w.prepare(CPU, DType.FP32)
    with sdpa_kernel(SDPBackend.MATH):
        full = counted_flops(step.run)
    assert w.work(DType.FP32).flops == full * (16 + 1) / (2 * 16)


def test_torch_counts_flash_backward_with_recompute() -> None:
    # The convention the module docstring gives the conversion for: torch (and FlashAttention's
    # papers) count a fused backward as 2.5 forwards, QK^T recomputed; this tool counts 2.
    shape = (2, 3, 16, 8)
    forward = sdpa_flop_count(shape, shape, shape)
    assert sdpa_backward_flop_count(shape, shape, shape, shape) == 2.5 * forward


def full_reference(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """softmax(QK^T/sqrt(d) + causal mask) V in float64, and the mask's share of scores kept."""
    seq, d = q.shape[-2:]
    scores = q.double() @ k.double().transpose(-1, -2) / math.sqrt(d)
    keep = torch.ones(seq, seq, dtype=torch.bool).tril()
    scores = scores.masked_fill(~keep, float("-inf"))
    return torch.softmax(scores, -1) @ v.double(), keep


@pytest.mark.parametrize("dtype", [DType.FP32, *LOW])
def test_attention_train_outputs_and_gradients_match_a_reference(dtype: DType) -> None:
    w = AttentionTrain(batch=2, heads=2, seq=12, head_dim=8)
    calls: list[tuple[torch.Tensor, ...]] = []
    real = torch.autograd.grad

    def spy(out: torch.Tensor, inputs: tuple[torch.Tensor, ...], grad: torch.Tensor) -> object:
        grads = real(out, inputs, grad)
        calls.append((out, *inputs, grad, *grads))
        return grads

    step = w.prepare(CPU, dtype)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(torch.autograd, "grad", spy)
        step.run()
    [(out, q, k, v, grad_out, dq, dk, dv)] = calls
    leaves = [t.detach().double().requires_grad_(True) for t in (q, k, v)]
    want, _ = full_reference(*leaves)
    want_grads = real(want, leaves, grad_out.double())
    tolerance = 1e-6 if dtype is DType.FP32 else 3e-2
    assert relative_error(out, want.detach()) < tolerance
    for got, expected in zip((dq, dk, dv), want_grads, strict=True):
        assert relative_error(got, expected) < tolerance
    metrics = ran(step, times=0)
    assert metrics["relative_error"] < tolerance and metrics["grad_relative_error"] < tolerance


def test_attention_forward_check_reports_its_error() -> None:
    step = Attention(batch=1, heads=2, seq=80, head_dim=16).prepare(CPU, DType.FP32)
    assert set(ran(step)) == {"relative_error"}


def test_reference_rows_are_the_last_rows_of_the_full_reference() -> None:
    g = torch.Generator().manual_seed(0)
    q, k, v, grad_out = (torch.randn(10, 4, generator=g) for _ in range(4))
    leaf = q.double().requires_grad_(True)
    full, _ = full_reference(leaf, k, v)
    (full_dq,) = torch.autograd.grad(full, leaf, grad_out.double())
    out, dq = reference_rows(q, k, v, grad_out, rows=3)
    assert torch.allclose(out, full[-3:].detach()) and torch.allclose(dq, full_dq[-3:])


def test_attention_check_catches_a_wrong_output(monkeypatch: pytest.MonkeyPatch) -> None:
    from subsidybench.workloads import attention

    real = attention.F.scaled_dot_product_attention
    monkeypatch.setattr(
        attention.F, "scaled_dot_product_attention", lambda *a, **k: real(*a, **k) * 1.1
    )
    step = Attention(batch=1, heads=1, seq=8, head_dim=4).prepare(CPU, DType.FP32)
    with pytest.raises(SanityError, match="output is off"):
        ran(step)


# layernorm and softmax


def test_norm_counts_by_hand() -> None:
    ln = LayerNorm(rows=3, hidden=4).work(DType.FP32)
    assert ln.flops == 7 * 12
    assert ln.bytes == (2 * 12 + 2 * 4) * 4  # input and output, weight and bias
    assert LayerNorm(rows=3, hidden=4).work(DType.BF16).bytes == (2 * 12 + 2 * 4) * 2
    assert (ln.items, ln.item_unit) == (3, "row")
    sm = Softmax(rows=3, cols=4).work(DType.FP16)
    assert (sm.flops, sm.bytes, sm.items) == (5 * 12, 2 * 12 * 2, 3)


@pytest.mark.parametrize("dtype", [DType.FP32, *LOW])
def test_layernorm_output_matches_mean_and_variance(dtype: DType) -> None:
    calls: list[tuple[torch.Tensor, ...]] = []
    real = F.layer_norm

    def spy(
        x: torch.Tensor, shape: object, weight: torch.Tensor, bias: torch.Tensor, eps: float
    ) -> torch.Tensor:
        out = real(x, shape, weight, bias, eps)  # type: ignore[arg-type]
        calls.append((x, weight, bias, out))
        return out

    step = LayerNorm(rows=70, hidden=48).prepare(CPU, dtype)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(F, "layer_norm", spy)
        step.run()
    [(x, weight, bias, out)] = calls
    x64 = x.double()
    mean = x64.mean(-1, keepdim=True)
    var = ((x64 - mean) ** 2).mean(-1, keepdim=True)
    want = (x64 - mean) / torch.sqrt(var + 1e-5) * weight.double() + bias.double()
    tolerance = 1e-6 if dtype is DType.FP32 else 1e-2
    assert relative_error(out, want) < tolerance
    assert ran(step, times=0)["relative_error"] < tolerance


@pytest.mark.parametrize("dtype", [DType.FP32, *LOW])
def test_softmax_output_matches_exp_over_sum(dtype: DType) -> None:
    calls: list[tuple[torch.Tensor, torch.Tensor]] = []
    real = torch.softmax

    def spy(x: torch.Tensor, dim: int, *, out: torch.Tensor) -> torch.Tensor:
        calls.append((x, out))
        return real(x, dim, out=out)

    step = Softmax(rows=70, cols=33).prepare(CPU, dtype)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(torch, "softmax", spy)
        step.run()
    [(x, out)] = calls
    e = torch.exp(x.double() - x.double().amax(-1, keepdim=True))
    want = e / e.sum(-1, keepdim=True)
    tolerance = 1e-6 if dtype is DType.FP32 else 1e-2
    assert relative_error(out, want) < tolerance
    assert ran(step, times=0)["relative_error"] < tolerance


@pytest.mark.parametrize("cls", [LayerNorm, Softmax])
def test_norm_inputs_rotate_past_the_cache(cls: type[Workload]) -> None:
    w = cls(64, 256)  # type: ignore[call-arg]
    # A set is input + output: 2 · 64 · 256 · 4 bytes = 128 KiB; twice a 1 MiB cache is 16 sets.
    step = w.prepare(cpu_with_cache(1 << 20), DType.FP32)
    assert ran(step, times=20)["input_sets"] == 16
    assert ran(w.prepare(cpu_with_cache(None), DType.FP32))["input_sets"] == 1


def test_layernorm_check_catches_a_wrong_output(monkeypatch: pytest.MonkeyPatch) -> None:
    from subsidybench.workloads import norm

    real = norm.F.layer_norm

    def off(x: torch.Tensor, *args: object) -> torch.Tensor:
        out = real(x, *args)  # type: ignore[arg-type]
        return out if x.dtype == torch.float64 else -out

    monkeypatch.setattr(norm.F, "layer_norm", off)
    with pytest.raises(SanityError, match="off from the reference"):
        ran(LayerNorm(rows=8, hidden=16).prepare(CPU, DType.FP32))


# triad


def test_triad_counts_by_hand() -> None:
    work = Triad(mib=1).work(DType.FP32)
    n = (1 << 20) // 4
    assert work.flops == 2 * n  # a multiply and an add per element
    assert work.bytes == 3 * (1 << 20)  # b and c read, a written
    assert work.items == 1


def test_triad_computes_b_plus_3c_in_each_rotated_set() -> None:
    # A set is three 1 MiB arrays; twice a 6 MiB cache is 4 sets.
    step = Triad(mib=1).prepare(cpu_with_cache(6 << 20), DType.FP32)
    assert step.check is not None
    with pytest.raises(SanityError, match="not finite"):  # nothing written yet: a is all NaN
        step.check()
    for _ in range(4):
        metrics = ran(step)
        assert metrics["input_sets"] == 4 and metrics["relative_error"] < 1e-7


def test_triad_is_one_kernel_into_its_output() -> None:
    step = Triad(mib=1).prepare(CPU, DType.FP32)
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        step.run()
    ops = [e.name for e in prof.events() if e.name.startswith("aten::")]
    assert ops == ["aten::add"]


# transfer


def test_transfer_counts_and_checks_its_choices() -> None:
    work = Transfer(mib=2, direction="d2h").work(DType.FP32)
    assert (work.bytes, work.flops, work.items) == (2 << 20, 0, 1)
    with pytest.raises(ValueError, match="direction must be one of h2d, d2h"):
        Transfer(direction="sideways")
    with pytest.raises(UserError, match="host must be one of pinned, pageable, got 'paged'"):
        make_workload("transfer", {"host": "paged"}, "suite.toml")


def test_transfer_has_no_meaning_on_the_cpu() -> None:
    with pytest.raises(SkipWorkload, match="no separate device memory on cpu"):
        Transfer(mib=1).prepare(CPU, DType.FP32)


# A short budget, but not so short that one step on a busy 2-core machine exceeds it (a step
# longer than the budget is skipped as time-bounded).
QUICK = TimingPolicy(budget_s=0.2, min_block_s=0.001, warmup_iterations=1, warmup_s=0.0)


def test_runner_records_transfer_on_the_cpu_as_skipped() -> None:
    result = run_task(WorkloadTask(Transfer(mib=1), DType.FP32, QUICK), CPU)
    assert result.status is Status.SKIPPED
    assert "no separate device memory on cpu" in result.reason


@CUDA
@pytest.mark.parametrize("direction", ["h2d", "d2h"])
@pytest.mark.parametrize("host", ["pinned", "pageable"])
def test_transfer_copies_on_a_gpu(direction: str, host: str) -> None:
    gpu = resolve_device("cuda")
    transfer = Transfer(mib=8, direction=direction, host=host)
    result = run_task(WorkloadTask(transfer, DType.FP32, QUICK), gpu)
    assert result.status is Status.OK, result.reason
    assert result.bytes_per_s and result.bytes_per_s > 1e8


# all of them, through the runner


TINY: list[Workload] = [
    Conv2d(batch=2, in_channels=4, out_channels=4, height=8),
    Attention(batch=1, heads=2, seq=32, head_dim=16),
    AttentionTrain(batch=1, heads=2, seq=32, head_dim=16),
    LayerNorm(rows=64, hidden=64),
    Softmax(rows=64, cols=64),
    Triad(mib=1),
]


@pytest.mark.parametrize("workload", TINY, ids=lambda w: w.name)
def test_each_runs_through_the_runner_on_the_cpu(workload: Workload) -> None:
    result = run_task(WorkloadTask(workload, DType.FP32, QUICK), cpu_with_cache(1 << 20))
    assert result.status is Status.OK, result.reason
    assert result.work == workload.work(DType.FP32)
    assert result.metrics["relative_error"] < 1e-4


@CUDA
@pytest.mark.parametrize("dtype", [DType.FP32, DType.BF16])
@pytest.mark.parametrize("workload", TINY, ids=lambda w: w.name)
def test_each_runs_on_a_gpu(workload: Workload, dtype: DType) -> None:
    if dtype not in workload.dtypes:
        pytest.skip(f"{workload.name} does not run at {dtype}")
    result = run_task(WorkloadTask(workload, dtype, QUICK), resolve_device("cuda"))
    assert result.status is Status.OK, result.reason
    assert result.metrics["relative_error"] < (1e-5 if dtype is DType.FP32 else 2e-2)
