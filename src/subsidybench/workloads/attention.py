"""Causal self-attention through torch's scaled_dot_product_attention: forward, and training.

Two names, not one with a flag: `attention` (forward, what inference runs) and `attention_train`
(forward and backward, what training runs) do different work in different kernels, and tables,
--only and comparisons go by name, so the two rates must never share one.

FLOPs are the useful matmul FLOPs, the convention MFU is quoted in (PaLM, appendix B):
- causal: query i attends to keys 0..i, S(S+1)/2 pairs per head, not S^2. A causal kernel skips
  the masked half, so counting S^2 (as torch's FlopCounterMode does) would double the rate.
  QK^T and PV each cost 2·D per pair: forward = 4·B·H·D·S(S+1)/2.
- backward = 2x forward: dV = P^T dO, dP = dO V^T, dQ = dS K, dK = dS^T Q, four matmuls of the
  forward's size. Flash kernels also recompute QK^T (a fifth), which FlashAttention's papers and
  FlopCounterMode count (backward = 2.5x); that recompute saves memory, it is not work the model
  needs, as PaLM leaves rematerialisation out of MFU. Forward + backward = 3x forward here; the
  FlashAttention convention reports the same run 3.5/3 = 1.17x higher.
Softmax, scaling and masking (a few operations per score) are left out, as in both conventions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch.nn import functional as F

from subsidybench.devices import Device
from subsidybench.dtypes import DType
from subsidybench.work import Work
from subsidybench.workloads.base import (
    Family,
    Step,
    Workload,
    host_float64,
    positive,
    precision,
    random_tensor,
    register,
    require_close,
    require_finite,
)

# Query rows of one head checked against a float64 reference after timing: the last rows, which
# attend to every key, so the check covers the whole of K and V at 1/(B·H·S/64) of the work.
_CHECKED_ROWS = 64


@register
@dataclass(frozen=True, slots=True)
class Attention(Workload):
    """out = softmax(Q K^T / sqrt(head_dim), causal) V over batch x heads x seq x head_dim."""

    name = "attention"
    family = Family.PRIMITIVE
    dtypes = frozenset({DType.FP32, DType.BF16, DType.FP16})
    description = "causal scaled-dot-product attention, forward"
    backward: ClassVar[bool] = False

    # 16k tokens of a 2048-wide model with 128-wide heads at 4k context, the setting
    # FlashAttention-2's benchmarks use: 275 GFLOP forward, compute-bound on any accelerator.
    batch: int = 4
    heads: int = 16
    seq: int = 4096
    head_dim: int = 128

    def __post_init__(self) -> None:
        positive(self, "batch", "heads", "seq", "head_dim")

    def forward_flops(self) -> int:
        """Useful matmul FLOPs of one causal forward: QK^T and PV, 2·head_dim per pair each."""
        pairs = self.seq * (self.seq + 1) // 2
        return 2 * 2 * self.batch * self.heads * pairs * self.head_dim

    def work(self, dtype: DType) -> Work:
        # Bytes: the least traffic a fused kernel needs. Forward reads Q, K, V and writes O;
        # backward reads Q, K, V, O, dO and writes dQ, dK, dV. The per-row softmax statistics a
        # flash kernel keeps (1/head_dim of one tensor) are left out.
        tensor = self.batch * self.heads * self.seq * self.head_dim * dtype.itemsize
        return Work(
            flops=float(self.forward_flops() * (3 if self.backward else 1)),
            bytes=float(tensor * (12 if self.backward else 4)),
            items=float(self.batch * self.seq),
            item_unit="token",
        )

    def prepare(self, device: Device, dtype: DType) -> Step:
        shape = (self.batch, self.heads, self.seq, self.head_dim)
        q, k, v = (random_tensor(shape, dtype, device, seed=s) for s in (1, 2, 3))
        grad_out = random_tensor(shape, dtype, device, seed=4)
        for t in (q, k, v):
            t.requires_grad_(self.backward)
        outputs: dict[str, torch.Tensor] = {}

        def run() -> None:
            with precision(dtype):
                out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
                if self.backward:
                    # autograd.grad hands dQ, dK, dV back as a model's backward passes them on;
                    # .backward() would also add them into .grad, three element-wise passes
                    # that are not attention's work.
                    dq, dk, dv = torch.autograd.grad(out, (q, k, v), grad_out)
                    outputs.update(dq=dq, dk=dk, dv=dv)
                outputs["out"] = out.detach()

        def check() -> dict[str, float]:
            rows = min(self.seq, _CHECKED_ROWS)
            want_out, want_dq = reference_rows(q[0, 0], k[0, 0], v[0, 0], grad_out[0, 0], rows)
            metrics = {
                "relative_error": require_close(
                    "output", outputs["out"][0, 0, -rows:], want_out, dtype
                )
            }
            if self.backward:
                metrics["grad_relative_error"] = require_close(
                    "query gradient", outputs["dq"][0, 0, -rows:], want_dq, dtype
                )
                require_finite(key_gradient=outputs["dk"], value_gradient=outputs["dv"])
            return metrics

        return Step(run=run, check=check)


@register
@dataclass(frozen=True, slots=True)
class AttentionTrain(Attention):
    """Forward and backward of causal attention: gradients of Q, K and V from a given dO."""

    name = "attention_train"
    description = "causal scaled-dot-product attention, forward and backward"
    backward: ClassVar[bool] = True


def reference_rows(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, grad_out: torch.Tensor, rows: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Causal attention output and query gradient of the last `rows` queries of one head.

    Computed in float64 on the cpu. Row i's output and dQ depend only on query i and on keys
    and values 0..i, so the last rows are exact without the rest of the head.
    """
    seq, head_dim = q.shape
    q64, k64, v64, g64 = (host_float64(t) for t in (q, k, v, grad_out))
    queries = q64[-rows:].clone().requires_grad_(True)
    scores = queries @ k64.T * head_dim**-0.5
    positions = torch.arange(seq - rows, seq).unsqueeze(1)
    scores = scores.masked_fill(torch.arange(seq).unsqueeze(0) > positions, float("-inf"))
    out = torch.softmax(scores, dim=-1) @ v64
    (dq,) = torch.autograd.grad(out, queries, g64[-rows:])
    return out.detach(), dq
