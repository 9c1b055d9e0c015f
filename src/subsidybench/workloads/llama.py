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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from torch.nn import functional as F

from subsidybench.devices import Device
from subsidybench.dtypes import DType
from subsidybench.workloads.base import Workload, random_tensor, register
from subsidybench.workloads.decoder import (
    BATCHES,
    DecoderDecode,
    DecoderPrefill,
    DecoderTrain,
    DecoderWork,
)
from subsidybench.workloads.training import Batch
from subsidybench.workloads.transformer import LLAMA, NORM_EPS, Stack, init_weights


@dataclass(frozen=True, slots=True)
class LlamaShape(DecoderWork, Workload):
    """Sizes shared by the LLaMA block workloads (LLaMA-7B by default), their model (the blocks
    on hidden states) and their prompts (hidden states)."""

    output = "hidden"

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

    def derived(self, figures: Mapping[str, float]) -> dict[str, float]:
        """The whole model's per-token latency, where the step times tokens (decode), scaled
        from the measured blocks' by the layer count; and the metrics that say the whole
        model's figures are derived, and from what."""
        whole: dict[str, float] = {}
        if "token_latency_p50_s" in figures:
            scale = self.model_layers / self.layers
            whole["derived_model_token_latency_p50_s"] = figures["token_latency_p50_s"] * scale
        return {
            **whole,
            "measured_layers": float(self.layers),
            "derived_model_layers": float(self.model_layers),
        }

    def build(self, device: Device) -> Stack:
        torch.manual_seed(0)
        model = Stack(self.layers, self.dim, self.heads, self.ffn, LLAMA, self.seq)
        return init_weights(model).to(device.torch_device)

    def prompts(self, device: Device, dtype: DType, length: int) -> torch.Tensor:
        return random_tensor((self.batch, length, self.dim), dtype, device, seed=7)

    def next_input(self, output: torch.Tensor) -> torch.Tensor:
        """The next decode step's input from the last position's output.

        Stands in for head, sampling and embedding, which the block workloads leave out: a
        normalised copy keeps the data dependence of real decoding (step i+1 waits for step i)
        and keeps values bounded over hundreds of steps. It costs a few d_model-sized ops a
        token.
        """
        last = output[:, -1:]
        return F.rms_norm(last, (last.shape[-1],), eps=NORM_EPS)


@register
@dataclass(frozen=True, slots=True)
class LlamaTrain(DecoderTrain, LlamaShape):
    """Training step of the block(s): forward, backward, AdamW on a next-position target."""

    name = "llama_train"
    description = "LLaMA-7B-class block training step (whole model derived by layer count)"
    learning_rate = 1e-4

    def batches(self, device: Device) -> Sequence[Batch]:
        # The target is the next position's hidden state: something attention can learn, and
        # a loss that starts near 2 (two unit-variance vectors) and falls as the block learns.
        batches = []
        for i in range(BATCHES):
            h = random_tensor((self.batch, self.seq + 1, self.dim), DType.FP32, device, seed=i)
            batches.append((h[:, :-1], h[:, 1:]))
        return batches

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(output.float(), target)


@register
@dataclass(frozen=True, slots=True)
class LlamaPrefill(DecoderPrefill, LlamaShape):
    """The prompt pass: `batch` prompts of `seq` positions through the blocks, filling the cache."""

    name = "llama_prefill"
    description = "LLaMA-7B-class block prefill (prompt tokens/s; whole model derived)"


@register
@dataclass(frozen=True, slots=True)
class LlamaDecode(DecoderDecode, LlamaShape):
    """Generation with a KV cache: `new_tokens` positions after a `prompt`-position prefill.

    Each new position is timed on its own (decoder.decode_step); the whole model's per-token
    latency is derived by the layer count (the metric `derived_model_token_latency_p50_s`).
    """

    name = "llama_decode"
    description = "LLaMA-7B-class block decode with a KV cache (tokens/s, per-token latency)"

    prompt: int = 1024
    new_tokens: int = 256
