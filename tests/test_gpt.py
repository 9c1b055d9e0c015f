from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from subsidybench.devices import resolve_device
from subsidybench.dtypes import DType
from subsidybench.timing import TimingPolicy, measure
from subsidybench.workloads.gpt import GptDecode, GptPrefill, GptTrain

CPU = resolve_device("cpu")
SIZES = {"batch": 2, "seq": 32, "layers": 2, "heads": 2, "dim": 32, "vocab": 64}


def linear_weights(w: GptTrain | GptPrefill) -> int:
    model = w.build(CPU)
    return sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Linear))


def counted(run: object) -> int:
    with FlopCounterMode(display=False) as counter:
        run()  # type: ignore[operator]
    return counter.get_total_flops()


def test_parameter_count_matches_the_model() -> None:
    w = GptTrain(**SIZES)
    model = w.build(CPU)
    total = sum(p.numel() for p in model.parameters())  # the tied head counts once
    assert w.matmul_parameters() == total - model.positions.weight.numel()


def test_train_flops_by_hand_and_by_torch() -> None:
    w = GptTrain(**SIZES)
    n = w.matmul_parameters()
    # PaLM appendix B: 6N + 12·L·H·Q·T per token, H·Q = dim.
    assert w.flops_per_token() == 6 * n + 12 * 2 * 32 * 32
    assert w.work(DType.FP32).flops == 2 * 32 * w.flops_per_token()
    # torch's counter sees the linear layers' matmuls (it does not count the cpu's attention
    # kernel): 6 FLOPs per weight per token. N adds biases and LayerNorm weights, which the
    # formula counts as PaLM does, and the attention term.
    tokens = 2 * 32
    assert counted(w.prepare(CPU, DType.FP32).run) == 6 * linear_weights(w) * tokens
    rest = 6 * (n - linear_weights(w)) + 12 * 2 * 32 * 32
    assert w.work(DType.FP32).flops == 6 * linear_weights(w) * tokens + rest * tokens


def test_prefill_flops_by_torch() -> None:
    w = GptPrefill(**SIZES)
    tokens = 2 * 32
    assert counted(w.prepare(CPU, DType.FP32).run) == 2 * linear_weights(w) * tokens
    rest = 2 * (w.matmul_parameters() - linear_weights(w)) + 4 * 2 * 32 * 32
    assert w.work(DType.FP32).flops == 2 * linear_weights(w) * tokens + rest * tokens


@pytest.mark.parametrize("dtype", [DType.FP32, DType.BF16])
def test_training_learns(dtype: DType) -> None:
    step = GptTrain(**SIZES).prepare(CPU, dtype)
    for _ in range(20):
        step.run()
    assert step.check is not None
    metrics = step.check()
    assert metrics["loss_last"] < metrics["loss_first"]


def test_kv_cache_decode_matches_a_full_forward() -> None:
    w = GptDecode(**SIZES, prompt=8, new_tokens=4)
    model = w.build(CPU).eval()
    prompt = torch.randint(64, (2, 8))
    cache = w.new_cache(model)
    with torch.inference_mode():
        tokens = prompt
        logits = model(prompt, cache)[:, -1]
        for _ in range(4):
            nxt = logits.argmax(-1, keepdim=True)
            tokens = torch.cat([tokens, nxt], dim=1)
            logits = model(nxt, cache)[:, -1]
        full = model(tokens)[:, -1]
    torch.testing.assert_close(logits, full, rtol=1e-4, atol=1e-4)


def test_decode_reports_token_latency_of_the_timed_calls() -> None:
    w = GptDecode(**SIZES, prompt=8, new_tokens=4)
    step = w.prepare(CPU, DType.FP32)
    # A step limit far past the budget: a busy machine stretching one call must not skip it.
    policy = TimingPolicy(budget_s=0.5, step_limit_s=60.0)
    m = measure(step.run, CPU.synchronizer(), policy, on_timed_start=step.timed_start)
    assert step.check is not None
    metrics = step.check()
    assert (
        0
        < metrics["token_latency_p50_s"]
        <= metrics["token_latency_p90_s"]
        <= metrics["token_latency_p99_s"]
    )
    # Latencies of the timed calls only, not of warm-up and calibration.
    assert metrics["tokens_timed"] == m.n * m.iterations_per_block * 4
    work = w.work(DType.FP32)
    assert work.items == 2 * 4


def test_decode_flops_by_hand() -> None:
    w = GptDecode(**SIZES, prompt=8, new_tokens=2)
    n = w.matmul_parameters()
    # Tokens attend to 9 and 10 keys: 2N + 4·L·dim·t each, for 2 sequences.
    expected = 2 * ((2 * n + 4 * 2 * 32 * 9) + (2 * n + 4 * 2 * 32 * 10))
    assert w.work(DType.FP32).flops == expected


def test_sizes_are_checked() -> None:
    with pytest.raises(ValueError, match="multiple of heads"):
        GptTrain(dim=30, heads=4)
    with pytest.raises(ValueError, match="exceed seq"):
        GptDecode(seq=16, prompt=16, new_tokens=1)
