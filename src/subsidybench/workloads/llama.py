"""A LLaMA-7B-class decoder block, and the training, prefill and decode steps a 7B model pays for.

The block is LLaMA's (Touvron et al. 2023): pre-norm RMSNorm, causal self-attention with rotary
position embeddings and no biases, and a SwiGLU MLP. Its default sizes are LLaMA-7B's: d_model
4096, 32 heads of 128, MLP 11008, 32 layers in the whole model.

What is measured is `layers` blocks (one by default) on hidden states, without the token embedding
and the output head. The whole model's figures follow from the block by its layer count: time
scales by model_layers / layers. They are derived, not measured, and the result says so (the
metrics `derived_model_layers` and `measured_layers`). Embedding and head are left out of both:
for LLaMA-7B the head is 2·4096·32000 = 0.26 GFLOPs a token against 12.95 GFLOPs for 32 blocks
(2%), and the embedding is a lookup. On an accelerator with the memory for it, the same workload
with layers = 32 measures the whole stack for real, and the two can be compared.

FLOPs follow PaLM's appendix B as the GPT workloads do: 6N + 12·L·H·Q·T per token to train,
2N + 4·L·H·Q·T forward, N the block parameters (norm weights included, as PaLM counts every
parameter), H·Q = d_model, T the context; the whole T x T attention is counted although the causal
mask leaves half of it unused, so MFU stays comparable with published figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from subsidybench.devices import Device
from subsidybench.dtypes import DType
from subsidybench.work import Work
from subsidybench.workloads.base import (
    TORCH_DTYPES,
    Infers,
    Step,
    Workload,
    maybe_compile,
    random_tensor,
    register,
)
from subsidybench.workloads.training import Batch, Trains, with_metrics
from subsidybench.workloads.transformer import (
    LLAMA,
    NORM_EPS,
    DecoderWork,
    KvCache,
    Stack,
    decode_step,
    init_weights,
    prefill_step,
)

_BATCHES = 4


def next_input(hidden: torch.Tensor) -> torch.Tensor:
    """The next decode step's input from the last position's output.

    Stands in for head, sampling and embedding, which the block workloads leave out: a
    normalised copy keeps the data dependence of real decoding (step i+1 waits for step i) and
    keeps values bounded over hundreds of steps. It costs a few d_model-sized ops a token.
    """
    last = hidden[:, -1:]
    return F.rms_norm(last, (last.shape[-1],), eps=NORM_EPS)


@dataclass(frozen=True, slots=True)
class LlamaShape(DecoderWork, Workload):
    """Sizes shared by the LLaMA block workloads (LLaMA-7B by default), and their FLOP counts."""

    batch: int = 1
    seq: int = 2048
    layers: int = 1
    heads: int = 32
    dim: int = 4096
    ffn: int = 11008
    model_layers: int = 32
    """Layers of the whole model whose figures are derived from the measured `layers`."""

    def __post_init__(self) -> None:
        self.check_sizes("ffn", "model_layers")
        if (self.dim // self.heads) % 2:
            raise ValueError(f"head size ({self.dim // self.heads}) must be even for rotary")

    def block_parameters(self) -> int:
        """Parameters of one block: q, k, v, o (4·d²), SwiGLU (3·d·ffn), two norm weights."""
        d = self.dim
        return 4 * d * d + 3 * d * self.ffn + 2 * d

    def matmul_parameters(self) -> int:
        """N of the FLOP formula for the measured blocks."""
        return self.layers * self.block_parameters()

    def derived(self) -> dict[str, float]:
        """The metrics that say the whole model's figures are derived, and from what."""
        return {
            "measured_layers": float(self.layers),
            "derived_model_layers": float(self.model_layers),
        }

    def build(self, device: Device, max_positions: int | None = None) -> Stack:
        torch.manual_seed(0)
        positions = max_positions or self.seq
        model = Stack(self.layers, self.dim, self.heads, self.ffn, LLAMA, positions)
        return init_weights(model).to(device.torch_device)

    def new_cache(self, like: torch.Tensor, batch: int, capacity: int) -> KvCache:
        shape = (batch, self.heads, capacity, self.dim // self.heads)
        return KvCache(self.layers, shape, like)

    def inference_model(self, device: Device, dtype: DType, max_positions: int) -> Stack:
        model = self.build(device, max_positions).to(TORCH_DTYPES[dtype]).eval()
        model.requires_grad_(False)
        return model


@register
@dataclass(frozen=True, slots=True)
class LlamaTrain(Trains, LlamaShape):
    """Training step of the block(s): forward, backward, AdamW on a next-position target."""

    name = "llama_train"
    description = "LLaMA-7B-class block training step (whole model derived by layer count)"
    learning_rate = 1e-4

    def work(self, dtype: DType) -> Work:
        tokens = self.batch * self.seq
        # fp32 weights, gradients and AdamW state, 10 passes a step (as gpt_train counts them).
        return Work(
            flops=float(tokens * self.flops_per_token()),
            bytes=float(10 * 4 * self.matmul_parameters()),
            items=float(tokens),
            item_unit="token",
        )

    def model(self, device: Device) -> nn.Module:
        return self.build(device)

    def batches(self, device: Device) -> Sequence[Batch]:
        # The target is the next position's hidden state: something attention can learn, and
        # a loss that starts near 2 (two unit-variance vectors) and falls as the block learns.
        batches = []
        for i in range(_BATCHES):
            h = random_tensor((self.batch, self.seq + 1, self.dim), DType.FP32, device, seed=i)
            batches.append((h[:, :-1], h[:, 1:]))
        return batches

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(output.float(), target)

    def metrics(self, figures: dict[str, float]) -> dict[str, float]:
        return self.derived()


@register
@dataclass(frozen=True, slots=True)
class LlamaPrefill(Infers, LlamaShape):
    """The prompt pass: `batch` prompts of `seq` positions through the blocks, filling the cache."""

    name = "llama_prefill"
    description = "LLaMA-7B-class block prefill (prompt tokens/s; whole model derived)"

    def work(self, dtype: DType) -> Work:
        weights = dtype.itemsize * self.matmul_parameters()
        tokens = float(self.batch * self.seq)
        return Work(float(self.prompt_flops()), float(weights), tokens, item_unit="token")

    def prepare(self, device: Device, dtype: DType, compiled: bool = False) -> Step:
        model = self.inference_model(device, dtype, self.seq)
        prompts = random_tensor((self.batch, self.seq, self.dim), dtype, device, seed=7)
        cache = self.new_cache(prompts, self.batch, self.seq)
        step = prefill_step(maybe_compile(model, compiled), prompts, cache, "hidden")
        return with_metrics(step, lambda _: self.derived())


@register
@dataclass(frozen=True, slots=True)
class LlamaDecode(Infers, LlamaShape):
    """Generation with a KV cache: `new_tokens` positions after a `prompt`-position prefill.

    Each new position is timed on its own (transformer.decode_step); the whole model's
    per-token latency is derived by the layer count (metrics `derived_model_token_latency_*`).
    """

    name = "llama_decode"
    description = "LLaMA-7B-class block decode with a KV cache (tokens/s, per-token latency)"
    compilable = False

    prompt: int = 1024
    new_tokens: int = 256

    def __post_init__(self) -> None:
        LlamaShape.__post_init__(self)
        self.check_generation()

    def work(self, dtype: DType) -> Work:
        return self.decode_work(self.matmul_parameters(), dtype)

    def prepare(self, device: Device, dtype: DType) -> Step:
        model = self.inference_model(device, dtype, self.seq)
        prompts = random_tensor((self.batch, self.prompt, self.dim), dtype, device, seed=7)
        cache = self.new_cache(prompts, self.batch, self.seq)
        with torch.inference_mode():
            first = next_input(model(prompts, cache))
        step = decode_step(
            lambda x: next_input(model(x, cache)),
            first,
            cache,
            self.prompt,
            self.new_tokens,
            device,
        )
        scale = self.model_layers / self.layers

        def derived(figures: dict[str, float]) -> dict[str, float]:
            p50 = figures["token_latency_p50_s"] * scale
            return {"derived_model_token_latency_p50_s": p50, **self.derived()}

        return with_metrics(step, derived)
