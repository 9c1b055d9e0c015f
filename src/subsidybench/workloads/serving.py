"""Serving at a given concurrency: the points of the throughput-interactivity curve.

One step serves `concurrency` requests together, as a batch: the prefill of their prompts, which
gives each its first token, then `new_tokens` - 1 decode steps with a KV cache. Every phase is
synchronised and timed on its own, as a streaming server returns tokens, so a point records:

- time to first token (TTFT): the prefill of all the prompts at this concurrency, first token
  included; percentiles over the timed steps;
- time per output token (TPOT): each decode step, percentiles over every step timed;
- tokens per second per user (interactivity): 1 / median TPOT, the speed one user sees a reply
  stream at (InferenceMAX's x axis);
- output tokens per second per device: the step's items (concurrency x new_tokens) over its
  median time, which the result's throughput gives, prefill included as a server pays for it;
- input tokens per second: concurrency x prompt over the same time (results.serving computes it).

A sweep over concurrency 1, 2, 4, ... is several suite entries, one point each. The requests of
a point run in lock-step (static batching): every request arrives at once and finishes with the
others. A server with continuous batching interleaves prefills with decodes; this measures the
two phases apart, which bounds what such a server can do on the device. results.serving builds the
curve, its Pareto front and goodput from the results.

FLOPs follow the GPT and LLaMA workloads (PaLM's appendix B): the prompt at 2N + 4·L·d·P a token
(the whole P x P attention counted), decode token i at 2N + 4·L·d·(P + i).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from subsidybench.devices import Device
from subsidybench.dtypes import DType
from subsidybench.work import Work
from subsidybench.workloads.base import (
    MODEL_DTYPES,
    Family,
    Step,
    Workload,
    positive,
    register,
    require_finite,
)
from subsidybench.workloads.gpt import GptPrefill
from subsidybench.workloads.llama import LlamaPrefill
from subsidybench.workloads.training import with_metrics
from subsidybench.workloads.transformer import KvCache

Forward = Callable[[torch.Tensor, KvCache], torch.Tensor]
"""One pass of the model over new positions, filling the cache; returns the next step's input."""


def _check_lengths(w: GptServe | LlamaServe) -> None:
    positive(w, "concurrency", "prompt", "new_tokens")
    if w.new_tokens < 2:
        raise ValueError(
            f"new_tokens must be >= 2 (the first comes with the prefill; TPOT needs a second),"
            f" got {w.new_tokens}"
        )


def serving_work(
    *,
    concurrency: int,
    prompt: int,
    new_tokens: int,
    parameters: int,
    attention_flops: Callable[[int], int],
    cache_elements_per_position: int,
    dtype: DType,
) -> Work:
    """FLOPs and bytes of one served batch; items are output tokens.

    Bytes: the weights once for the prefill and once a decode step, and each decode step's read of
    the cache so far; a lower bound that leaves out activations.
    """
    decode_contexts = range(prompt + 1, prompt + new_tokens)
    prefill = prompt * (2 * parameters + attention_flops(prompt))
    decode = sum(2 * parameters + attention_flops(t) for t in decode_contexts)
    cache_reads = sum(concurrency * cache_elements_per_position * t for t in decode_contexts)
    weights = new_tokens * parameters  # the prefill's pass and new_tokens - 1 decode steps
    return Work(
        flops=float(concurrency * (prefill + decode)),
        bytes=float(dtype.itemsize * (weights + cache_reads)),
        items=float(concurrency * new_tokens),
        item_unit="token",
    )


def serving_step(
    forward: Forward,
    prompts: torch.Tensor,
    cache: KvCache,
    new_tokens: int,
    device: Device,
) -> Step:
    """The Step that serves `prompts` (one row a request) and records TTFT and TPOT."""
    sync = device.synchronizer() or (lambda: None)
    ttft: list[float] = []
    tpot: list[float] = []
    e2e: list[float] = []
    out: dict[str, torch.Tensor] = {}

    def run() -> None:
        cache.length = 0
        with torch.inference_mode():
            start = time.perf_counter()
            x = forward(prompts, cache)
            sync()
            last = time.perf_counter()
            ttft.append(last - start)
            for _ in range(new_tokens - 1):
                x = forward(x, cache)
                sync()
                now = time.perf_counter()
                tpot.append(now - last)
                last = now
            e2e.append(last - start)
        out["last"] = x

    def timed_start() -> None:
        ttft.clear()
        tpot.clear()
        e2e.clear()

    def check() -> dict[str, float]:
        require_finite(cache=cache.keys[-1][:, :, : cache.length])
        if out["last"].is_floating_point():
            require_finite(last=out["last"])
        ttft_p = np.percentile(np.asarray(ttft), [50, 90, 99])
        tpot_p = np.percentile(np.asarray(tpot), [50, 90, 99])
        return {
            "batches_timed": float(len(ttft)),
            "tokens_timed": float(len(tpot) + len(ttft)),
            "ttft_p50_s": float(ttft_p[0]),
            "ttft_p90_s": float(ttft_p[1]),
            "ttft_p99_s": float(ttft_p[2]),
            "tpot_p50_s": float(tpot_p[0]),
            "tpot_p90_s": float(tpot_p[1]),
            "tpot_p99_s": float(tpot_p[2]),
            "e2e_latency_p50_s": float(np.median(np.asarray(e2e))),
            "tokens_per_s_per_user": 1.0 / float(tpot_p[0]),
            "prefill_tokens_per_s": prompts.shape[0] * prompts.shape[1] / float(ttft_p[0]),
        }

    return Step(run=run, check=check, timed_start=timed_start)


class _Served:
    """What gpt_serve and llama_serve share: their sizes checked, the work of one served batch
    and the step that serves it, all from the model's shape (the prefill workload of the same
    model, `shape()`)."""

    __slots__ = ()
    family = Family.INFERENCE
    dtypes = MODEL_DTYPES

    def __post_init__(self: Any) -> None:
        _check_lengths(self)
        self.shape()  # checks the model's sizes

    def work(self: Any, dtype: DType) -> Work:
        shape = self.shape()
        return serving_work(
            concurrency=self.concurrency,
            prompt=self.prompt,
            new_tokens=self.new_tokens,
            parameters=shape.matmul_parameters(),
            attention_flops=shape.attention_flops,
            cache_elements_per_position=2 * self.layers * self.dim,
            dtype=dtype,
        )

    def prepare(self: Any, device: Device, dtype: DType) -> Step:
        shape = self.shape()
        model = shape.inference_model(device, dtype)
        prompts = shape.prompts(device, dtype, self.prompt)

        def forward(x: torch.Tensor, cache: KvCache) -> torch.Tensor:
            return shape.next_input(model(x, cache))  # GPT: greedy, as gpt_decode

        step = serving_step(forward, prompts, shape.new_cache(model), self.new_tokens, device)
        return with_metrics(step, shape.derived)


@register
@dataclass(frozen=True, slots=True)
class GptServe(_Served, Workload):
    """The GPT decoder of gpt_decode serving `concurrency` requests of `prompt` -> `new_tokens`."""

    name = "gpt_serve"
    description = "GPT decoder serving at a concurrency: TTFT, TPOT, tokens/s per user and device"

    concurrency: int = 1
    prompt: int = 64
    new_tokens: int = 32
    layers: int = 2
    heads: int = 4
    dim: int = 128
    vocab: int = 2048

    def shape(self) -> GptPrefill:
        """The model's sizes as the GPT workloads hold them, with room for the whole reply."""
        return GptPrefill(
            batch=self.concurrency,
            seq=self.prompt + self.new_tokens,
            layers=self.layers,
            heads=self.heads,
            dim=self.dim,
            vocab=self.vocab,
        )


@register
@dataclass(frozen=True, slots=True)
class LlamaServe(_Served, Workload):
    """LLaMA-7B-class block(s) serving `concurrency` requests; whole-model figures derived."""

    name = "llama_serve"
    description = "LLaMA-7B-class block serving at a concurrency (whole model derived by layers)"

    concurrency: int = 1
    prompt: int = 1024
    new_tokens: int = 256
    layers: int = 1
    heads: int = 32
    dim: int = 4096
    ffn: int = 11008
    model_layers: int = 32

    def shape(self) -> LlamaPrefill:
        return LlamaPrefill(
            batch=self.concurrency,
            seq=self.prompt + self.new_tokens,
            layers=self.layers,
            heads=self.heads,
            dim=self.dim,
            ffn=self.ffn,
            model_layers=self.model_layers,
        )
