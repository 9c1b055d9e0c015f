"""What every decoder workload shares, whatever its family: the FLOPs and bytes of its training
step, prefill and decode (`DecoderWork`), and the three steps built from them (`DecoderTrain`,
`DecoderPrefill`, `DecoderDecode`).

A family (gpt.py, llama.py) gives its sizes, its model, its prompts and how one step's output
becomes the next step's input; the phases are written once here. To add a family: a shape class
`XShape(DecoderWork, Workload)` with those methods, then `class XTrain(DecoderTrain, XShape)` and
so on, each with its name and description.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from subsidybench.devices import Device
from subsidybench.dtypes import DType
from subsidybench.work import Work
from subsidybench.workloads.base import (
    TORCH_DTYPES,
    Infers,
    Step,
    maybe_compile,
    positive,
    require_finite,
)
from subsidybench.workloads.training import Trains, with_metrics
from subsidybench.workloads.transformer import KvCache

BATCHES = 4
"""Batches a decoder's training step cycles through (training.train_step)."""


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
    output: ClassVar[str]
    """What the model returns ("logits", "hidden"), as a failed check names it."""

    @abstractmethod
    def matmul_parameters(self) -> int:
        """The parameters every token multiplies (the N of 2N FLOPs a token)."""

    @abstractmethod
    def build(self, device: Device) -> nn.Module:
        """The model on `device` from a fixed seed, taking (inputs, cache=None), in fp32."""

    @abstractmethod
    def prompts(self, device: Device, dtype: DType, length: int) -> torch.Tensor:
        """`batch` prompts of `length` positions, from a fixed seed."""

    @abstractmethod
    def next_input(self, output: torch.Tensor) -> torch.Tensor:
        """The next decode step's input from the model's output over the latest positions."""

    def stored_parameters(self) -> int:
        """Every parameter the model stores: the matmuls' and any lookup table (a GPT's
        positions), as a training step updates and a prefill reads them."""
        return self.matmul_parameters()

    def decode_parameters(self) -> int:
        """The parameters a generated token reads."""
        return self.matmul_parameters()

    def derived(self, figures: Mapping[str, float]) -> dict[str, float]:
        """Figures derived from the step's `figures` and the metrics that say so (LLaMA's whole
        model from its measured blocks); none by default."""
        return {}

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

    def train_work(self) -> Work:
        """A training step on `batch` sequences of `seq` tokens. Bytes: fp32 weights, gradients
        and AdamW state moved once each way per step (10 passes, as for the MLP), a lower bound
        that leaves out activations."""
        tokens = self.batch * self.seq
        return Work(
            flops=float(tokens * self.flops_per_token()),
            bytes=float(10 * 4 * self.stored_parameters()),
            items=float(tokens),
            item_unit="token",
        )

    def prefill_work(self, dtype: DType) -> Work:
        """`batch` prompts of `seq` tokens; the weights read once."""
        weights = dtype.itemsize * self.stored_parameters()
        tokens = float(self.batch * self.seq)
        return Work(float(self.prompt_flops()), float(weights), tokens, item_unit="token")

    def decode_work(self, dtype: DType) -> Work:
        """`new_tokens` tokens generated with a KV cache after a `prompt`, per sequence.

        Token i (0-based) attends to prompt + i + 1 keys. Every token reads all weights once, and
        the cache so far: the reason decode is bandwidth-bound at small batch.
        """
        prompt, new_tokens = self.prompt, self.new_tokens
        contexts = range(prompt + 1, prompt + new_tokens + 1)
        per_sequence = sum(2 * self.matmul_parameters() + self.attention_flops(t) for t in contexts)
        cache_reads = sum(2 * self.layers * self.batch * self.dim * t for t in contexts)
        weights = new_tokens * self.decode_parameters()
        return Work(
            flops=float(self.batch * per_sequence),
            bytes=float(dtype.itemsize * (weights + cache_reads)),
            items=float(self.batch * new_tokens),
            item_unit="token",
        )

    def inference_model(self, device: Device, dtype: DType) -> nn.Module:
        """The model in `dtype`, in eval mode, without gradients."""
        model = self.build(device).to(TORCH_DTYPES[dtype]).eval()
        model.requires_grad_(False)
        return model

    def new_cache(self, model: nn.Module) -> KvCache:
        """An empty cache for `batch` sequences of `seq` positions, in the model's dtype."""
        shape = (self.batch, self.heads, self.seq, self.dim // self.heads)
        return KvCache(self.layers, shape, next(model.parameters()))


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


class DecoderTrain(Trains, DecoderWork):
    """Base of a decoder's training step (`class XTrain(DecoderTrain, XShape)`): next-position
    training of the family's model on its `batches` and `loss`, by the step every model trains
    with (training.train_step)."""

    def work(self, dtype: DType) -> Work:
        return self.train_work()

    def model(self, device: Device) -> nn.Module:
        return self.build(device)

    def metrics(self, figures: dict[str, float]) -> dict[str, float]:
        return self.derived(figures)


class DecoderPrefill(Infers, DecoderWork):
    """Base of a decoder's prompt pass: `batch` prompts of `seq` positions, filling the cache."""

    def work(self, dtype: DType) -> Work:
        return self.prefill_work(dtype)

    def prepare(self, device: Device, dtype: DType, compiled: bool = False) -> Step:
        model = self.inference_model(device, dtype)
        prompts = self.prompts(device, dtype, self.seq)
        forward = maybe_compile(model, compiled)
        step = prefill_step(forward, prompts, self.new_cache(model), self.output)
        return with_metrics(step, self.derived)


class DecoderDecode(Infers, DecoderWork):
    """Base of a decoder's generation with a KV cache: `new_tokens` tokens after a
    `prompt`-token prefill, each timed on its own (decode_step). The family's dataclass gives
    `prompt` and `new_tokens` their defaults."""

    # Each new position changes the cache's shape: a compiled model would recompile every token.
    compilable = False

    def __post_init__(self) -> None:
        super().__post_init__()  # the family's shape checks its sizes
        self.check_generation()

    def work(self, dtype: DType) -> Work:
        return self.decode_work(dtype)

    def prepare(self, device: Device, dtype: DType) -> Step:
        model = self.inference_model(device, dtype)
        prompts = self.prompts(device, dtype, self.prompt)
        cache = self.new_cache(model)
        with torch.inference_mode():
            first = self.next_input(model(prompts, cache))  # the prefill, untimed

        def next_token(x: torch.Tensor) -> torch.Tensor:
            return self.next_input(model(x, cache))

        step = decode_step(next_token, first, cache, self.prompt, self.new_tokens, device)
        return with_metrics(step, self.derived)
