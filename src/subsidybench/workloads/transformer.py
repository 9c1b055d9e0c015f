"""The decoder model every transformer workload runs (gpt_*, llama_*, the serving sweep): one
block with its variants, and the stack of them with its KV cache. What the workloads share beyond
the model (their FLOPs, prefill and decode steps) is in decoder.py.

A variant names what differs between the families, and nothing else does:
- GPT-2 (Radford et al. 2019): LayerNorm, a 4x GELU MLP, learned positions, biases.
- LLaMA (Touvron et al. 2023): RMSNorm, a SwiGLU MLP, rotary positions, no biases.
Both are pre-norm, with causal self-attention whose q, k and v are one matmul (the same FLOPs as
three, one kernel launch).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import torch
from torch import nn
from torch.nn import functional as F

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
