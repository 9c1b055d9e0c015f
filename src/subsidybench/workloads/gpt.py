"""A GPT-style decoder, readable in one sitting, and the three workloads a contract pays for:
training (tokens/s and MFU), prefill (prompt tokens/s) and decode with a KV cache (generated
tokens/s and per-token latency).

The model is pre-norm: token and position embeddings, `layers` blocks of causal self-attention and
a 4x GELU MLP, a final LayerNorm and an output projection that shares the token embedding.

FLOPs follow the PaLM paper's appendix B: a token costs 6N + 12·L·H·Q·T to train and 2N + 4·L·H·Q·T
to run forward, where N counts the parameters that multiply (all but the position table; the
tied output projection counts once, as the matmul it is), L layers, H heads, Q the head size and T
the context length. Like PaLM, this counts the whole T x T attention although the causal mask
leaves half of it unused, so MFU stays comparable with published figures.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from subsidybench.devices import Device
from subsidybench.dtypes import DType
from subsidybench.workloads.base import Workload, register
from subsidybench.workloads.decoder import (
    BATCHES,
    DecoderDecode,
    DecoderPrefill,
    DecoderTrain,
    DecoderWork,
)
from subsidybench.workloads.training import Batch
from subsidybench.workloads.transformer import GPT2, KvCache, Stack, init_weights


class Gpt(nn.Module):
    """Token and position embeddings, the GPT-2 blocks, a final norm and the tied head."""

    def __init__(self, vocab: int, seq: int, layers: int, heads: int, dim: int) -> None:
        super().__init__()
        self.tokens = nn.Embedding(vocab, dim)
        self.positions = nn.Embedding(seq, dim)
        self.stack = Stack(layers, dim, heads, 4 * dim, GPT2, seq)
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, vocab, bias=False)
        self.head.weight = self.tokens.weight  # tied, as in GPT-2
        init_weights(self)

    def forward(self, idx: torch.Tensor, cache: KvCache | None = None) -> torch.Tensor:
        start = cache.length if cache is not None else 0
        pos = torch.arange(start, start + idx.shape[1], device=idx.device)
        return self.head(self.norm(self.stack(self.tokens(idx) + self.positions(pos), cache)))


@dataclass(frozen=True, slots=True)
class GptShape(DecoderWork, Workload):
    """Sizes shared by the GPT workloads, their model and their token prompts."""

    output = "logits"

    batch: int = 8
    seq: int = 256
    layers: int = 4
    heads: int = 4
    dim: int = 256
    vocab: int = 8192

    def __post_init__(self) -> None:
        self.check_sizes("vocab")

    def matmul_parameters(self) -> int:
        """N of the FLOP formula: every parameter but the position table (a lookup, no FLOPs)."""
        d, v, layers = self.dim, self.vocab, self.layers
        per_block = (
            (d * 3 * d + 3 * d) + (d * d + d) + (d * 4 * d + 4 * d) + (4 * d * d + d) + 4 * d
        )
        return v * d + layers * per_block + 2 * d

    def stored_parameters(self) -> int:
        return self.matmul_parameters() + self.seq * self.dim  # and the position table

    def decode_parameters(self) -> int:
        # A generated token also reads its own row of the position table (the final norm's
        # weights are in matmul_parameters already).
        return self.matmul_parameters() + self.dim

    def build(self, device: Device) -> Gpt:
        torch.manual_seed(0)
        model = Gpt(self.vocab, self.seq, self.layers, self.heads, self.dim)
        return model.to(device.torch_device)

    def prompts(self, device: Device, dtype: DType, length: int) -> torch.Tensor:
        # Token ids, whatever the model's dtype: the embedding turns them into its dtype.
        g = torch.Generator().manual_seed(5)
        return torch.randint(self.vocab, (self.batch, length), generator=g).to(device.torch_device)

    def next_input(self, output: torch.Tensor) -> torch.Tensor:
        return output[:, -1].argmax(-1, keepdim=True)  # greedy decoding


@register
@dataclass(frozen=True, slots=True)
class GptTrain(DecoderTrain, GptShape):
    """Next-token training step of the decoder (forward, backward, AdamW)."""

    name = "gpt_train"
    description = "GPT decoder training step, tokens/s and MFU"
    data_parallel = True
    learning_rate = 3e-4

    def batches(self, device: Device) -> Sequence[Batch]:
        # Text with structure to learn: each sequence repeats a random motif, so the loss falls
        # steadily instead of memorising a few random batches.
        g = torch.Generator().manual_seed(6)
        batches = []
        for _ in range(BATCHES):
            motif = torch.randint(self.vocab, (self.batch, 16), generator=g)
            text = motif.repeat(1, math.ceil((self.seq + 1) / 16))[:, : self.seq + 1]
            text = text.to(device.torch_device)
            batches.append((text[:, :-1], text[:, 1:]))
        return batches

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(output.reshape(-1, output.shape[-1]).float(), target.reshape(-1))


@register
@dataclass(frozen=True, slots=True)
class GptPrefill(DecoderPrefill, GptShape):
    """The prompt pass of inference: `batch` prompts of `seq` tokens, filling the KV cache."""

    name = "gpt_prefill"
    description = "GPT decoder prefill (prompt tokens/s)"


@register
@dataclass(frozen=True, slots=True)
class GptDecode(DecoderDecode, GptShape):
    """Generation with a KV cache: `new_tokens` tokens after a `prompt`-token prefill, per step,
    each generated token timed on its own (decoder.decode_step)."""

    name = "gpt_decode"
    description = "GPT decoder generation with a KV cache (tokens/s, per-token latency)"

    prompt: int = 128
    new_tokens: int = 32
