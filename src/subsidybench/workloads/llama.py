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

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from subsidybench.devices import Device
from subsidybench.dtypes import DType
from subsidybench.work import Work
from subsidybench.workloads.base import (
    TORCH_DTYPES,
    Family,
    Step,
    Workload,
    maybe_compile,
    positive,
    random_tensor,
    register,
    require_finite,
)
from subsidybench.workloads.gpt import KvCache, check_generation, decode_work
from subsidybench.workloads.training import train_step

_BATCHES = 4
# LLaMA's rotary base and RMSNorm epsilon (LLaMA-1 used 1e-6; 1e-5 in LLaMA 2, both negligible).
_ROPE_BASE = 10000.0
_NORM_EPS = 1e-5


class RmsNorm(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.rms_norm(x, (x.shape[-1],), self.weight, _NORM_EPS)


def rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate pairs (i, i + head_dim/2) of x (batch, heads, positions, head_dim) by their angle."""
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)


class LlamaAttention(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        # q, k and v as one matmul: the same FLOPs as LLaMA's three, one kernel launch.
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.out = nn.Linear(dim, dim, bias=False)

    def forward(
        self,
        x: torch.Tensor,
        cos: torch.Tensor,
        sin: torch.Tensor,
        cache: KvCache | None,
        layer: int,
    ) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        q, k = rotary(q, cos, sin), rotary(k, cos, sin)
        if cache is None:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            start = cache.length
            cache.keys[layer][:, :, start : start + t] = k
            cache.values[layer][:, :, start : start + t] = v
            keys = cache.keys[layer][:, :, : start + t]
            values = cache.values[layer][:, :, : start + t]
            y = F.scaled_dot_product_attention(q, keys, values, is_causal=start == 0 and t > 1)
        return self.out(y.transpose(1, 2).reshape(b, t, d))


class SwiGlu(nn.Module):
    def __init__(self, dim: int, ffn: int) -> None:
        super().__init__()
        self.ffn = ffn
        self.gate_up = nn.Linear(dim, 2 * ffn, bias=False)  # LLaMA's w1 and w3 as one matmul
        self.down = nn.Linear(ffn, dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate, up = self.gate_up(x).split(self.ffn, dim=-1)
        return self.down(F.silu(gate) * up)


class LlamaBlock(nn.Module):
    def __init__(self, dim: int, heads: int, ffn: int) -> None:
        super().__init__()
        self.attn_norm = RmsNorm(dim)
        self.attn = LlamaAttention(dim, heads)
        self.mlp_norm = RmsNorm(dim)
        self.mlp = SwiGlu(dim, ffn)

    def forward(
        self,
        x: torch.Tensor,
        cos: torch.Tensor,
        sin: torch.Tensor,
        cache: KvCache | None,
        layer: int,
    ) -> torch.Tensor:
        x = x + self.attn(self.attn_norm(x), cos, sin, cache, layer)
        return x + self.mlp(self.mlp_norm(x))


class LlamaStack(nn.Module):
    """`layers` blocks on hidden states (batch, positions, dim), with the rotary tables."""

    def __init__(self, layers: int, dim: int, heads: int, ffn: int, max_positions: int) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(LlamaBlock(dim, heads, ffn) for _ in range(layers))
        head_dim = dim // heads
        inv_freq = 1.0 / _ROPE_BASE ** (torch.arange(0, head_dim, 2).float() / head_dim)
        angles = torch.outer(torch.arange(max_positions).float(), inv_freq)
        self.register_buffer("cos", angles.cos(), persistent=False)
        self.register_buffer("sin", angles.sin(), persistent=False)
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, std=0.02)

    def forward(self, x: torch.Tensor, cache: KvCache | None = None) -> torch.Tensor:
        start = cache.length if cache is not None else 0
        t = x.shape[1]
        cos = self.cos[start : start + t].to(x.dtype)
        sin = self.sin[start : start + t].to(x.dtype)
        for i, block in enumerate(self.blocks):
            x = block(x, cos, sin, cache, i)
        if cache is not None:
            cache.length += t
        return x


def next_input(hidden: torch.Tensor) -> torch.Tensor:
    """The next decode step's input from the last position's output.

    Stands in for head, sampling and embedding, which the block workloads leave out: a
    normalised copy keeps the data dependence of real decoding (step i+1 waits for step i) and
    keeps values bounded over hundreds of steps. It costs a few d_model-sized ops a token.
    """
    last = hidden[:, -1:]
    return F.rms_norm(last, (last.shape[-1],), eps=_NORM_EPS)


@dataclass(frozen=True, slots=True)
class LlamaShape(Workload):
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
        positive(self, "batch", "seq", "layers", "heads", "dim", "ffn", "model_layers")
        if self.dim % self.heads:
            raise ValueError(f"dim ({self.dim}) must be a multiple of heads ({self.heads})")
        if (self.dim // self.heads) % 2:
            raise ValueError(f"head size ({self.dim // self.heads}) must be even for rotary")

    def block_parameters(self) -> int:
        """Parameters of one block: q, k, v, o (4·d²), SwiGLU (3·d·ffn), two norm weights."""
        d = self.dim
        return 4 * d * d + 3 * d * self.ffn + 2 * d

    def matmul_parameters(self) -> int:
        """N of the FLOP formula for the measured blocks."""
        return self.layers * self.block_parameters()

    def attention_flops(self, context: int) -> int:
        """Forward attention FLOPs of one token against `context` keys: QK^T and AV, all layers."""
        return 4 * self.layers * self.dim * context

    def derived(self) -> dict[str, float]:
        """The metrics that say the whole model's figures are derived, and from what."""
        return {
            "measured_layers": float(self.layers),
            "derived_model_layers": float(self.model_layers),
        }

    def build(self, device: Device, max_positions: int | None = None) -> LlamaStack:
        torch.manual_seed(0)
        model = LlamaStack(self.layers, self.dim, self.heads, self.ffn, max_positions or self.seq)
        return model.to(device.torch_device)

    def new_cache(self, like: torch.Tensor, batch: int, capacity: int) -> KvCache:
        shape = (batch, self.heads, capacity, self.dim // self.heads)
        return KvCache(self.layers, shape, like)

    def inference_model(self, device: Device, dtype: DType, max_positions: int) -> LlamaStack:
        model = self.build(device, max_positions).to(TORCH_DTYPES[dtype]).eval()
        model.requires_grad_(False)
        return model


@register
@dataclass(frozen=True, slots=True)
class LlamaTrain(LlamaShape):
    """Training step of the block(s): forward, backward, AdamW on a next-position target."""

    name = "llama_train"
    family = Family.TRAINING
    dtypes = frozenset({DType.FP32, DType.BF16, DType.FP16})
    description = "LLaMA-7B-class block training step (whole model derived by layer count)"
    compilable = True

    def flops_per_token(self) -> int:
        return 6 * self.matmul_parameters() + 3 * self.attention_flops(self.seq)

    def work(self, dtype: DType) -> Work:
        tokens = self.batch * self.seq
        # fp32 weights, gradients and AdamW state, 10 passes a step (as gpt_train counts them).
        return Work(
            flops=float(tokens * self.flops_per_token()),
            bytes=float(10 * 4 * self.matmul_parameters()),
            items=float(tokens),
            item_unit="token",
        )

    def prepare(self, device: Device, dtype: DType, compiled: bool = False) -> Step:
        model = maybe_compile(self.build(device), compiled)
        # The target is the next position's hidden state: something attention can learn, and
        # a loss that starts near 2 (two unit-variance vectors) and falls as the block learns.
        batches = []
        for i in range(_BATCHES):
            h = random_tensor((self.batch, self.seq + 1, self.dim), DType.FP32, device, seed=i)
            batches.append((h[:, :-1], h[:, 1:]))

        def loss(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
            return F.mse_loss(out.float(), target)

        step = train_step(model, batches, loss, device, dtype, lr=1e-4)
        check = step.check
        assert check is not None

        def checked() -> dict[str, float]:
            return {**check(), **self.derived()}

        return Step(run=step.run, check=checked)


@register
@dataclass(frozen=True, slots=True)
class LlamaPrefill(LlamaShape):
    """The prompt pass: `batch` prompts of `seq` positions through the blocks, filling the cache."""

    name = "llama_prefill"
    family = Family.INFERENCE
    dtypes = frozenset({DType.FP32, DType.BF16, DType.FP16})
    description = "LLaMA-7B-class block prefill (prompt tokens/s; whole model derived)"
    compilable = True

    def work(self, dtype: DType) -> Work:
        tokens = self.batch * self.seq
        flops = tokens * (2 * self.matmul_parameters() + self.attention_flops(self.seq))
        return Work(
            flops=float(flops),
            bytes=float(dtype.itemsize * self.matmul_parameters()),
            items=float(tokens),
            item_unit="token",
        )

    def prepare(self, device: Device, dtype: DType, compiled: bool = False) -> Step:
        model = self.inference_model(device, dtype, self.seq)
        run_model = maybe_compile(model, compiled)
        prompts = random_tensor((self.batch, self.seq, self.dim), dtype, device, seed=7)
        cache = self.new_cache(prompts, self.batch, self.seq)
        out: dict[str, torch.Tensor] = {}

        def run() -> None:
            cache.length = 0
            with torch.inference_mode():
                out["hidden"] = run_model(prompts, cache)

        def check() -> dict[str, float]:
            require_finite(hidden=out["hidden"])
            return self.derived()

        return Step(run=run, check=check)


@register
@dataclass(frozen=True, slots=True)
class LlamaDecode(LlamaShape):
    """Generation with a KV cache: `new_tokens` positions after a `prompt`-position prefill.

    Each new position is synchronised and timed on its own, as in gpt_decode; the whole model's
    per-token latency is derived by the layer count (metrics `derived_model_token_latency_*`).
    """

    name = "llama_decode"
    family = Family.INFERENCE
    dtypes = frozenset({DType.FP32, DType.BF16, DType.FP16})
    description = "LLaMA-7B-class block decode with a KV cache (tokens/s, per-token latency)"

    prompt: int = 1024
    new_tokens: int = 256

    def __post_init__(self) -> None:
        LlamaShape.__post_init__(self)
        check_generation(self)

    def work(self, dtype: DType) -> Work:
        return decode_work(self, weights_per_token=self.matmul_parameters(), dtype=dtype)

    def prepare(self, device: Device, dtype: DType) -> Step:
        model = self.inference_model(device, dtype, self.seq)
        prompts = random_tensor((self.batch, self.prompt, self.dim), dtype, device, seed=7)
        cache = self.new_cache(prompts, self.batch, self.seq)
        with torch.inference_mode():
            first = next_input(model(prompts, cache))
        sync: Callable[[], None] = device.synchronizer() or (lambda: None)
        latencies: list[float] = []
        out: dict[str, torch.Tensor] = {}

        def run() -> None:
            cache.length = self.prompt
            x = first
            with torch.inference_mode():
                for _ in range(self.new_tokens):
                    t0 = time.perf_counter()
                    x = next_input(model(x, cache))
                    sync()
                    latencies.append(time.perf_counter() - t0)
            out["last"] = x

        def check() -> dict[str, float]:
            require_finite(last=out["last"], cache=cache.keys[-1][:, :, : cache.length])
            p50, p90, p99 = np.percentile(np.asarray(latencies), [50, 90, 99])
            scale = self.model_layers / self.layers
            return {
                "tokens_timed": float(len(latencies)),
                "token_latency_p50_s": float(p50),
                "token_latency_p90_s": float(p90),
                "token_latency_p99_s": float(p99),
                "derived_model_token_latency_p50_s": float(p50) * scale,
                **self.derived(),
            }

        return Step(run=run, check=check, timed_start=latencies.clear)
