"""Every registered workload's step runs once, at its smallest size, on the CPU.

A workload whose prepare() or step raises, or whose check finds its output wrong, fails here
(before, only bench/test_ci_suite.py ran them all). Its FLOPs are held against what torch's
FlopCounterMode counts in the same step, where the counter sees that step's work.
"""

from __future__ import annotations

from typing import Any

import pytest
from torch.utils.flop_counter import FlopCounterMode

from subsidybench.devices import resolve_device
from subsidybench.dtypes import DType
from subsidybench.workloads import WORKLOADS
from subsidybench.workloads.base import SkipWorkload

CPU = resolve_device("cpu")

# How the stated FLOPs (work()) stand to FlopCounterMode's count of one step.
EXACT = "exact"
# PaLM's formula adds the attention matmuls (the cpu's attention kernel is not counted) and the
# parameters that do not multiply (biases, norm weights): the counter sees only the linear layers.
TRANSFORMER = "palm"
# The counter counts matmuls and convolutions; these steps have none (memory, element-wise
# work, or attention, whose cpu kernel the counter does not see).
UNSEEN = "unseen"

# The smallest sizes each workload runs at, and how its FLOPs compare with the counter's.
SMALLEST: dict[str, tuple[dict[str, Any], str]] = {
    "matmul": ({"n": 16}, EXACT),
    "conv2d": ({"batch": 1, "in_channels": 4, "out_channels": 4, "height": 8}, EXACT),
    "copy": ({"mib": 1}, UNSEEN),
    "triad": ({"mib": 1}, UNSEEN),
    "transfer": ({"mib": 1}, UNSEEN),
    "layernorm": ({"rows": 8, "hidden": 16}, UNSEEN),
    "softmax": ({"rows": 8, "cols": 16}, UNSEEN),
    "attention": ({"batch": 1, "heads": 2, "seq": 64, "head_dim": 16}, UNSEEN),
    "attention_train": ({"batch": 1, "heads": 2, "seq": 64, "head_dim": 16}, UNSEEN),
    "mlp_train": ({"batch": 4, "features": 8, "hidden": 16, "layers": 1, "classes": 3}, EXACT),
    "cnn_train": ({"batch": 2, "image": 8, "width": 4, "stages": 2, "blocks": 1}, EXACT),
    "cnn_infer": ({"batch": 2, "image": 8, "width": 4, "stages": 2, "blocks": 1}, EXACT),
    "gpt_train": (
        {"batch": 2, "seq": 16, "layers": 1, "heads": 2, "dim": 16, "vocab": 64},
        TRANSFORMER,
    ),
    "gpt_prefill": (
        {"batch": 1, "seq": 16, "layers": 1, "heads": 2, "dim": 16, "vocab": 64},
        TRANSFORMER,
    ),
    "gpt_decode": (
        {
            "batch": 1,
            "seq": 16,
            "layers": 1,
            "heads": 2,
            "dim": 16,
            "vocab": 64,
            "prompt": 8,
            "new_tokens": 4,
        },
        TRANSFORMER,
    ),
    "gpt_serve": (
        {
            "concurrency": 1,
            "prompt": 8,
            "new_tokens": 4,
            "layers": 1,
            "heads": 2,
            "dim": 16,
            "vocab": 64,
        },
        TRANSFORMER,
    ),
    "llama_train": (
        {"batch": 2, "seq": 16, "layers": 1, "heads": 2, "dim": 16, "ffn": 24, "model_layers": 2},
        TRANSFORMER,
    ),
    "llama_prefill": (
        {"batch": 1, "seq": 16, "layers": 1, "heads": 2, "dim": 16, "ffn": 24, "model_layers": 2},
        TRANSFORMER,
    ),
    "llama_decode": (
        {"batch": 1, "seq": 16, "layers": 1, "heads": 2, "dim": 16, "ffn": 24, "model_layers": 2}
        | {"prompt": 8, "new_tokens": 4},
        TRANSFORMER,
    ),
    "llama_serve": (
        {"concurrency": 1, "prompt": 8, "new_tokens": 4, "layers": 1, "heads": 2, "dim": 16}
        | {"ffn": 24, "model_layers": 2},
        TRANSFORMER,
    ),
}


def test_every_registered_workload_has_a_smallest_size() -> None:
    missing = sorted(set(WORKLOADS) - set(SMALLEST))
    assert not missing, f"give these workloads their smallest sizes in SMALLEST: {missing}"
    assert not set(SMALLEST) - set(WORKLOADS), "SMALLEST names a workload no longer registered"


@pytest.mark.parametrize("name", sorted(WORKLOADS))
def test_the_step_runs_once_at_its_smallest_size(name: str) -> None:
    params, flops = SMALLEST[name]
    workload = WORKLOADS[name](**params)
    dtype = DType.FP32
    assert dtype in workload.dtypes
    try:
        step = workload.prepare(CPU, dtype)
    except SkipWorkload as e:  # the only way out of this test that is not a pass or a failure
        pytest.skip(f"{name} on the cpu: {e.reason}")
    with FlopCounterMode(display=False) as counter:
        step.run()
    metrics = step.check() if step.check is not None else {}
    assert all(isinstance(v, float) for v in metrics.values()), metrics
    stated, counted = workload.work(dtype).flops, counter.get_total_flops()
    if flops == EXACT:
        assert stated == counted > 0
    elif flops == TRANSFORMER:
        # The counter's linear layers are most of the formula's N; at these tiny sizes the
        # attention term and the biases and norms are 11% to 20% of the stated figure.
        assert 0.75 * stated <= counted < stated
    else:
        assert counted == 0, f"{name}: the counter now sees {counted} FLOPs; compare them"
