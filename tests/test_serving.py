from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from subsidybench.devices import resolve_device
from subsidybench.dtypes import DType
from subsidybench.timing import TimingPolicy, measure
from subsidybench.workloads import WORKLOADS
from subsidybench.workloads.serving import GptServe, LlamaServe

CPU = resolve_device("cpu")
# A generous bound on one step (a shared 2-core machine stalls a call for half a second at
# times), few samples: the test checks what is recorded, not how fast.
POLICY = TimingPolicy(budget_s=5.0, max_samples=5)
GPT = {"layers": 2, "heads": 2, "dim": 32, "vocab": 64}
LLAMA = {"layers": 2, "heads": 2, "dim": 16, "ffn": 24, "model_layers": 8}


def counted(run: object) -> int:
    with FlopCounterMode(display=False) as counter:
        run()  # type: ignore[operator]
    return counter.get_total_flops()


def test_serving_workloads_are_registered() -> None:
    assert WORKLOADS["gpt_serve"] is GptServe and WORKLOADS["llama_serve"] is LlamaServe


def test_serving_flops_by_hand() -> None:
    w = GptServe(concurrency=3, prompt=8, new_tokens=3, **GPT)
    n = w.shape().matmul_parameters()
    # The prompt: 8 tokens at 2N + 4·L·d·8. Then 2 decode steps, attending to 9 and 10 keys.
    per_request = (
        8 * (2 * n + 4 * 2 * 32 * 8) + (2 * n + 4 * 2 * 32 * 9) + (2 * n + 4 * 2 * 32 * 10)
    )
    work = w.work(DType.FP32)
    assert work.flops == 3 * per_request
    assert (work.items, work.item_unit) == (3 * 3, "token")  # output tokens


def test_serving_flops_agree_with_torch() -> None:
    w = GptServe(concurrency=2, prompt=8, new_tokens=4, **GPT)
    model = w.shape().build(CPU)
    linear = sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Linear))
    # torch counts the linear layers (not the cpu's attention kernel) over every position the
    # model runs: the prompts, then new_tokens - 1 decode steps.
    positions = 2 * 8 + 2 * 3
    assert counted(w.prepare(CPU, DType.FP32).run) == 2 * linear * positions


@pytest.mark.parametrize(
    "workload",
    [GptServe(concurrency=2, prompt=8, new_tokens=4, **GPT), LlamaServe(2, 8, 4, **LLAMA)],
    ids=["gpt", "llama"],
)
def test_a_point_records_ttft_tpot_and_speeds_of_the_timed_steps(
    workload: GptServe | LlamaServe,
) -> None:
    step = workload.prepare(CPU, DType.FP32)
    m = measure(step.run, CPU.synchronizer(), POLICY, on_timed_start=step.timed_start)
    assert step.check is not None
    metrics = step.check()
    batches = m.n * m.iterations_per_block  # timed steps only, not warm-up and calibration
    assert metrics["batches_timed"] == batches
    assert metrics["tokens_timed"] == batches * 4
    for kind in ("ttft", "tpot"):
        p50, p90, p99 = (metrics[f"{kind}_p{q}_s"] for q in (50, 90, 99))
        assert 0 < p50 <= p90 <= p99
    assert metrics["tokens_per_s_per_user"] == pytest.approx(1 / metrics["tpot_p50_s"])
    assert metrics["prefill_tokens_per_s"] == pytest.approx(2 * 8 / metrics["ttft_p50_s"])
    # A request: its first token, then three more; about TTFT + 3 TPOT.
    assert metrics["e2e_latency_p50_s"] > metrics["ttft_p50_s"]


def test_llama_serving_says_its_whole_model_is_derived() -> None:
    step = LlamaServe(1, 4, 2, **LLAMA).prepare(CPU, DType.FP32)
    step.run()
    assert step.check is not None
    metrics = step.check()
    assert (metrics["measured_layers"], metrics["derived_model_layers"]) == (2, 8)


def test_batched_serving_gives_each_request_what_it_gets_alone() -> None:
    """Concurrency changes the speed, never the reply: request i's tokens at concurrency 3 are
    those it gets served alone (greedy decoding in fp32, the cache filled per request)."""
    w = GptServe(concurrency=3, prompt=6, new_tokens=5, **GPT)
    shape = w.shape()
    model = shape.build(CPU).eval()
    prompts = shape.prompts(CPU, DType.FP32, 6)

    def generate(batch: torch.Tensor) -> torch.Tensor:
        cache = GptServe(concurrency=batch.shape[0], prompt=6, new_tokens=5, **GPT).shape()
        kv = cache.new_cache(model)
        out = []
        with torch.inference_mode():
            token = model(batch, kv)[:, -1].argmax(-1, keepdim=True)
            out.append(token)
            for _ in range(4):
                token = model(token, kv)[:, -1].argmax(-1, keepdim=True)
                out.append(token)
        return torch.cat(out, dim=1)

    together = generate(prompts)
    for i in range(3):
        assert torch.equal(together[i : i + 1], generate(prompts[i : i + 1]))


def test_sizes_are_checked() -> None:
    with pytest.raises(ValueError, match="new_tokens must be >= 2"):
        GptServe(new_tokens=1)
    with pytest.raises(ValueError, match="concurrency must be a positive integer"):
        GptServe(concurrency=0)
    with pytest.raises(ValueError, match="multiple of heads"):
        LlamaServe(dim=30, heads=4)


def test_suites_hold_serving_sweeps_and_the_7b_block() -> None:
    from subsidybench.measure.tasks import plan
    from subsidybench.suites import load_suite

    ci = [t.workload for t in plan(load_suite("ci")) if t.workload.name == "gpt_serve"]
    assert [w.concurrency for w in ci] == [1, 4, 16, 64]  # type: ignore[attr-defined]
    # One sweep: the points differ in concurrency only.
    assert len({(w.prompt, w.new_tokens, w.dim) for w in ci}) == 1  # type: ignore[attr-defined]
    standard = plan(load_suite("standard"))
    names = {t.workload.name for t in standard}
    assert {"llama_train", "llama_prefill", "llama_decode", "llama_serve"} <= names
    serve = [t.workload for t in standard if t.workload.name == "llama_serve"]
    assert all(w.dim == 4096 and w.ffn == 11008 for w in serve)  # type: ignore[attr-defined]
