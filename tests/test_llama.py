from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from subsidybench.devices import resolve_device
from subsidybench.dtypes import DType
from subsidybench.timing import TimingPolicy, measure
from subsidybench.workloads.llama import LlamaDecode, LlamaPrefill, LlamaShape, LlamaTrain
from subsidybench.workloads.transformer import rotary

CPU = resolve_device("cpu")
# A generous bound on one step (a shared 2-core machine stalls a call for half a second at
# times), few samples: the test checks what is recorded, not how fast.
POLICY = TimingPolicy(budget_s=5.0, max_samples=5)
TINY = {"batch": 2, "seq": 16, "layers": 2, "heads": 2, "dim": 16, "ffn": 24, "model_layers": 8}


def counted(run: object) -> int:
    with FlopCounterMode(display=False) as counter:
        run()  # type: ignore[operator]
    return counter.get_total_flops()


def linear_weights(w: LlamaShape) -> int:
    model = w.build(CPU)
    return sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Linear))


def test_llama_7b_sizes_give_its_published_parameter_count() -> None:
    w = LlamaTrain()  # the defaults are LLaMA-7B's: d 4096, 32 heads, SwiGLU 11008, 32 layers
    assert (w.dim, w.heads, w.ffn, w.model_layers) == (4096, 32, 11008, 32)
    assert w.block_parameters() == 4 * 4096**2 + 3 * 4096 * 11008 + 2 * 4096 == 202_383_360
    # 32 blocks, embedding and head (32000 x 4096 each) and the final norm: 6,738,415,616, the
    # count of the released LLaMA-7B checkpoint ("6.7B" in the paper).
    whole = 32 * w.block_parameters() + 2 * 32000 * 4096 + 4096
    assert whole == 6_738_415_616


def test_parameter_count_matches_the_model() -> None:
    w = LlamaTrain(**TINY)
    model = w.build(CPU)
    assert w.matmul_parameters() == sum(p.numel() for p in model.parameters())


def test_train_flops_by_hand_and_by_torch() -> None:
    w = LlamaTrain(**TINY)
    n = w.matmul_parameters()
    # PaLM appendix B: 6N + 12·L·H·Q·T per token, H·Q = dim.
    assert w.flops_per_token() == 6 * n + 12 * 2 * 16 * 16
    tokens = 2 * 16
    assert w.work(DType.FP32).flops == tokens * w.flops_per_token()
    # torch's counter sees the linear layers (not the cpu's attention kernel): 6 FLOPs per
    # weight per token; the formula adds the norm weights and the attention term.
    assert counted(w.prepare(CPU, DType.FP32).run) == 6 * linear_weights(w) * tokens
    rest = 6 * (n - linear_weights(w)) + 12 * 2 * 16 * 16
    assert w.work(DType.FP32).flops == (6 * linear_weights(w) + rest) * tokens


def test_prefill_flops_by_torch() -> None:
    w = LlamaPrefill(**TINY)
    tokens = 2 * 16
    assert counted(w.prepare(CPU, DType.FP32).run) == 2 * linear_weights(w) * tokens
    rest = 2 * (w.matmul_parameters() - linear_weights(w)) + 4 * 2 * 16 * 16
    assert w.work(DType.FP32).flops == (2 * linear_weights(w) + rest) * tokens


def test_decode_flops_by_hand() -> None:
    w = LlamaDecode(**TINY, prompt=8, new_tokens=2)
    n = w.matmul_parameters()
    expected = 2 * ((2 * n + 4 * 2 * 16 * 9) + (2 * n + 4 * 2 * 16 * 10))
    assert w.work(DType.FP32).flops == expected


def test_rotary_makes_attention_depend_on_offset_only() -> None:
    model = LlamaTrain(**TINY).build(CPU)  # for its rotary tables (head size 8)
    q, k = (
        torch.randn(1, 1, 1, 8, dtype=torch.float64),
        torch.randn(1, 1, 1, 8, dtype=torch.float64),
    )
    cos, sin = model.cos.double(), model.sin.double()

    def score(i: int, j: int) -> float:
        qi = rotary(q, cos[i : i + 1], sin[i : i + 1])
        kj = rotary(k, cos[j : j + 1], sin[j : j + 1])
        return float((qi * kj).sum())

    assert score(5, 2) == pytest.approx(score(13, 10), rel=1e-6)  # fp32 tables
    assert score(5, 2) != pytest.approx(score(5, 3), rel=1e-3)


def test_kv_cache_decode_matches_a_full_recompute() -> None:
    w = LlamaDecode(**TINY, prompt=6, new_tokens=5)
    model = w.build(CPU).eval()
    torch.manual_seed(1)
    prompt = torch.randn(2, 6, 16)
    cache = w.new_cache(model)  # batch 2, 16 positions
    with torch.inference_mode():
        inputs = [prompt]
        x = w.next_input(model(prompt, cache))
        for _ in range(5):
            inputs.append(x)
            out = model(x, cache)
            x = w.next_input(out)
        full = model(torch.cat(inputs, dim=1))  # no cache: every position recomputed
    assert cache.length == 11
    torch.testing.assert_close(out[:, -1], full[:, -1], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("dtype", [DType.FP32, DType.BF16])
def test_training_learns_and_says_the_model_is_derived(dtype: DType) -> None:
    step = LlamaTrain(**TINY).prepare(CPU, dtype)
    for _ in range(20):
        step.run()
    assert step.check is not None
    metrics = step.check()
    assert metrics["loss_last"] < metrics["loss_first"]
    assert (metrics["measured_layers"], metrics["derived_model_layers"]) == (2, 8)


def test_decode_reports_latency_and_the_derived_whole_model() -> None:
    w = LlamaDecode(**TINY, prompt=8, new_tokens=4)
    step = w.prepare(CPU, DType.FP32)
    m = measure(step.run, CPU.synchronizer(), POLICY, on_timed_start=step.timed_start)
    assert step.check is not None
    metrics = step.check()
    assert metrics["tokens_timed"] == m.n * m.iterations_per_block * 4
    # 8 model layers from 2 measured: the whole model's token takes 4 times as long.
    assert metrics["derived_model_token_latency_p50_s"] == pytest.approx(
        4 * metrics["token_latency_p50_s"]
    )


def test_sizes_are_checked() -> None:
    with pytest.raises(ValueError, match="multiple of heads"):
        LlamaTrain(dim=30, heads=4)
    with pytest.raises(ValueError, match="even for rotary"):
        LlamaTrain(dim=12, heads=4)
    with pytest.raises(ValueError, match="exceed seq"):
        LlamaDecode(seq=16, prompt=16, new_tokens=1)
