"""One decoder block with its variants, the stack of them, and the prefill and decode steps that
every transformer workload shares (gpt_*, llama_*, the serving sweep).

A variant names what differs between the families, and nothing else does:
- GPT-2 (Radford et al. 2019): LayerNorm, a 4x GELU MLP, learned positions, biases.
- LLaMA (Touvron et al. 2023): RMSNorm, a SwiGLU MLP, rotary positions, no biases.
Both are pre-norm, with causal self-attention whose q, k and v are one matmul (the same FLOPs as
three, one kernel launch).
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from subsidybench.devices import Device
from subsidybench.dtypes import DType
from subsidybench.work import Work
from subsidybench.workloads.base import Step, positive, require_finite

# LLaMA's rotary base and RMSNorm epsilon (LLaMA-1 used 1e-6; 1e-5 in LLaMA 2, both negligible);
# 1e-5 is also torch's LayerNorm default, which GPT-2 uses.
ROPE_BASE = 10000.0
NORM_EPS = 1e-5


class Norm(StrEnum):
    LAYER = "layernorm"
    RMS = "rmsnorm"


class Activation(StrEnum):
    GELU = "gelu"
    SWIGLU = "swiglu"


class Positions(StrEnum):
    LEARNED = "learned"
    """A position table added to the token embeddings (outside the blocks)."""
    ROTARY = "rotary"
    """q and k rotated by their position inside attention."""


@dataclass(frozen=True, slots=True)
class Variant:
    norm: Norm
    activation: Activation
    positions: Positions
    bias: bool


GPT2 = Variant(Norm.LAYER, Activation.GELU, Positions.LEARNED, bias=True)
LLAMA = Variant(Norm.RMS, Activation.SWIGLU, Positions.ROTARY, bias=False)

Rope = tuple[torch.Tensor, torch.Tensor]


class DecoderWork(ABC):
    """The FLOPs of a decoder workload (PaLM, appendix B), listed before its sizes: a token
    costs 6N + 12·L·H·Q·T to train and 2N + 4·L·H·Q·T to run forward, N the parameters that
    multiply (`matmul_parameters`), L `layers`, H·Q `dim`, T the context. Like PaLM, this counts
    the whole T x T attention although the causal mask leaves half of it unused, so that MFU
    stays comparable with published figures."""

    layers: int
    heads: int
    dim: int
    seq: int
    batch: int
    prompt: int
    new_tokens: int

    @abstractmethod
    def matmul_parameters(self) -> int:
        """The parameters every token multiplies (the N of 2N FLOPs a token)."""

    def check_sizes(self, *more: str) -> None:
        """For __post_init__: positive sizes, and heads that divide the width."""
        positive(self, "batch", "seq", "layers", "heads", "dim", *more)
        if self.dim % self.heads:
            raise ValueError(f"dim ({self.dim}) must be a multiple of heads ({self.heads})")

    def attention_flops(self, context: int) -> int:
        """Forward attention FLOPs of one token against `context` keys: QK^T and AV, all layers."""
        return 4 * self.layers * self.dim * context  # 4·L·H·Q·T with H·Q = dim

    def flops_per_token(self) -> int:
        """To train on a token of a full context: forward, and backward at twice the forward."""
        return 6 * self.matmul_parameters() + 3 * self.attention_flops(self.seq)

    def prompt_flops(self) -> int:
        """Forward over `batch` prompts of `seq` tokens. Token t attends to t keys: the whole
        prompt to seq·(seq+1)/2, which the PaLM convention rounds up to seq·seq."""
        per_token = 2 * self.matmul_parameters() + self.attention_flops(self.seq)
        return self.batch * self.seq * per_token

    def check_generation(self) -> None:
        """For __post_init__ of a decode workload: positive lengths that fit its context."""
        positive(self, "prompt", "new_tokens")
        if self.prompt + self.new_tokens > self.seq:
            total = self.prompt + self.new_tokens
            raise ValueError(f"prompt + new_tokens ({total}) exceed seq ({self.seq})")

    def decode_work(self, weights_per_token: int, dtype: DType) -> Work:
        """`new_tokens` tokens generated with a KV cache after a `prompt`, per sequence.

        Token i (0-based) attends to prompt + i + 1 keys. Every token reads all weights once, and
        the cache so far: the reason decode is bandwidth-bound at small batch.
        """
        prompt, new_tokens = self.prompt, self.new_tokens
        contexts = range(prompt + 1, prompt + new_tokens + 1)
        per_sequence = sum(2 * self.matmul_parameters() + self.attention_flops(t) for t in contexts)
        cache_reads = sum(2 * self.layers * self.batch * self.dim * t for t in contexts)
        return Work(
            flops=float(self.batch * per_sequence),
            bytes=float(dtype.itemsize * (new_tokens * weights_per_token + cache_reads)),
            items=float(self.batch * new_tokens),
            item_unit="token",
        )


class KvCache:
    """Keys and values of every layer for `capacity` positions, filled up to `length`."""

    def __init__(self, layers: int, shape: tuple[int, int, int, int], like: torch.Tensor) -> None:
        self.keys = [like.new_zeros(shape) for _ in range(layers)]
        self.values = [like.new_zeros(shape) for _ in range(layers)]
        self.length = 0


class RmsNorm(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.rms_norm(x, (x.shape[-1],), self.weight, NORM_EPS)


def norm(variant: Variant, dim: int) -> nn.Module:
    return nn.LayerNorm(dim, eps=NORM_EPS) if variant.norm is Norm.LAYER else RmsNorm(dim)


def rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate pairs (i, i + head_dim/2) of x (batch, heads, positions, head_dim) by their angle."""
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int, bias: bool) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=bias)
        self.out = nn.Linear(dim, dim, bias=bias)

    def forward(
        self, x: torch.Tensor, rope: Rope | None, cache: KvCache | None, layer: int
    ) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        if rope is not None:
            q, k = rotary(q, *rope), rotary(k, *rope)
        if cache is None:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            start = cache.length
            cache.keys[layer][:, :, start : start + t] = k
            cache.values[layer][:, :, start : start + t] = v
            keys = cache.keys[layer][:, :, : start + t]
            values = cache.values[layer][:, :, : start + t]
            # A prompt attends causally; a single new token attends to everything before it.
            y = F.scaled_dot_product_attention(q, keys, values, is_causal=start == 0 and t > 1)
        return self.out(y.transpose(1, 2).reshape(b, t, d))


class Mlp(nn.Module):
    """GELU: up to `ffn`, GELU, down. SwiGLU: gate and up as one matmul (LLaMA's w1 and w3),
    silu(gate) * up, down."""

    def __init__(self, dim: int, ffn: int, variant: Variant) -> None:
        super().__init__()
        self.ffn = ffn
        self.gated = variant.activation is Activation.SWIGLU
        self.up = nn.Linear(dim, (2 if self.gated else 1) * ffn, bias=variant.bias)
        self.down = nn.Linear(ffn, dim, bias=variant.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.up(x)
        if self.gated:
            gate, up = h.split(self.ffn, dim=-1)
            return self.down(F.silu(gate) * up)
        return self.down(F.gelu(h))


class Block(nn.Module):
    def __init__(self, dim: int, heads: int, ffn: int, variant: Variant) -> None:
        super().__init__()
        self.attn_norm = norm(variant, dim)
        self.attn = Attention(dim, heads, variant.bias)
        self.mlp_norm = norm(variant, dim)
        self.mlp = Mlp(dim, ffn, variant)

    def forward(
        self, x: torch.Tensor, rope: Rope | None, cache: KvCache | None, layer: int
    ) -> torch.Tensor:
        x = x + self.attn(self.attn_norm(x), rope, cache, layer)
        return x + self.mlp(self.mlp_norm(x))


class Stack(nn.Module):
    """`layers` blocks on hidden states (batch, positions, dim), with the rotary tables for
    `max_positions` where the variant rotates."""

    def __init__(
        self, layers: int, dim: int, heads: int, ffn: int, variant: Variant, max_positions: int
    ) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(Block(dim, heads, ffn, variant) for _ in range(layers))
        self.rotates = variant.positions is Positions.ROTARY
        if self.rotates:
            head_dim = dim // heads
            inv_freq = 1.0 / ROPE_BASE ** (torch.arange(0, head_dim, 2).float() / head_dim)
            angles = torch.outer(torch.arange(max_positions).float(), inv_freq)
            self.register_buffer("cos", angles.cos(), persistent=False)
            self.register_buffer("sin", angles.sin(), persistent=False)

    def forward(self, x: torch.Tensor, cache: KvCache | None = None) -> torch.Tensor:
        start = cache.length if cache is not None else 0
        t = x.shape[1]
        rope = None
        if self.rotates:
            rope = (
                self.cos[start : start + t].to(x.dtype),
                self.sin[start : start + t].to(x.dtype),
            )
        for i, block in enumerate(self.blocks):
            x = block(x, rope, cache, i)
        if cache is not None:
            cache.length += t
        return x


def init_weights(model: nn.Module) -> nn.Module:
    """GPT-2's initialisation, which LLaMA keeps: N(0, 0.02) weights, zero biases. Torch's
    defaults (N(0, 1) embeddings) would start a GPT's loss near 90 instead of ln(vocab)."""
    for module in model.modules():
        if isinstance(module, nn.Linear | nn.Embedding):
            nn.init.normal_(module.weight, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)
    return model


def prefill_step(
    forward: Callable[[torch.Tensor, KvCache], torch.Tensor],
    prompts: torch.Tensor,
    cache: KvCache,
    output: str,
) -> Step:
    """The prompt pass: every prompt position at once, filling the cache from its start."""
    out: dict[str, torch.Tensor] = {}

    def run() -> None:
        cache.length = 0
        with torch.inference_mode():
            out[output] = forward(prompts, cache)

    def check() -> dict[str, float]:
        require_finite(**{output: out[output]})
        return {}

    return Step(run=run, check=check)


def decode_step(
    next_token: Callable[[torch.Tensor], torch.Tensor],
    first: torch.Tensor,
    cache: KvCache,
    prompt: int,
    new_tokens: int,
    device: Device,
) -> Step:
    """Generation after a `prompt`-position prefill already in `cache`: `new_tokens` steps, each
    synchronised and timed on its own, as a streaming server must return a token, which gives
    the per-token latency percentiles beside the throughput."""
    sync: Callable[[], None] = device.synchronizer() or (lambda: None)
    latencies: list[float] = []
    out: dict[str, torch.Tensor] = {}

    def run() -> None:
        cache.length = prompt
        x = first
        with torch.inference_mode():
            for _ in range(new_tokens):
                t0 = time.perf_counter()
                x = next_token(x)
                sync()
                latencies.append(time.perf_counter() - t0)
        out["last"] = x

    def check() -> dict[str, float]:
        require_finite(last=out["last"], cache=cache.keys[-1][:, :, : cache.length])
        p50, p90, p99 = np.percentile(np.asarray(latencies), [50, 90, 99])
        return {
            "tokens_timed": float(len(latencies)),
            "token_latency_p50_s": float(p50),
            "token_latency_p90_s": float(p90),
            "token_latency_p99_s": float(p99),
        }

    return Step(run=run, check=check, timed_start=latencies.clear)
