from __future__ import annotations

import pytest
from torch.utils.flop_counter import FlopCounterMode

from subsidybench.devices import resolve_device
from subsidybench.dtypes import DType
from subsidybench.workloads.cnn import CnnInfer, CnnTrain, Conv

CPU = resolve_device("cpu")
SIZES = {"batch": 4, "image": 16, "width": 8, "stages": 2, "blocks": 1, "classes": 5}


def counted(run: object) -> int:
    with FlopCounterMode(display=False) as counter:
        run()  # type: ignore[operator]
    return counter.get_total_flops()


def test_conv_flops_by_hand() -> None:
    # 2 x batch x C_out x H_out x W_out x C_in x k x k
    assert Conv(3, 8, 3, 1, 16).flops(4) == 2 * 4 * 8 * 16 * 16 * 3 * 9
    assert Conv(8, 16, 1, 2, 16).flops(1) == 2 * 16 * 8 * 8 * 8


def test_layout_by_hand() -> None:
    stem, blocks = CnnInfer(**SIZES).layout()
    assert stem == Conv(3, 8, 3, 1, 16)
    assert blocks == [
        (Conv(8, 8, 3, 1, 16), Conv(8, 8, 3, 1, 16), None),
        (Conv(8, 16, 3, 2, 16), Conv(16, 16, 3, 1, 8), Conv(8, 16, 1, 2, 16)),
    ]


def test_inference_flops_agree_with_torch() -> None:
    w = CnnInfer(**SIZES)
    assert counted(w.prepare(CPU, DType.FP32).run) == w.work(DType.FP32).flops


def test_training_flops_agree_with_torch() -> None:
    w = CnnTrain(**SIZES)
    assert counted(w.prepare(CPU, DType.FP32).run) == w.work(DType.FP32).flops


@pytest.mark.parametrize("dtype", [DType.FP32, DType.BF16])
def test_training_learns(dtype: DType) -> None:
    step = CnnTrain(**SIZES).prepare(CPU, dtype)
    for _ in range(15):
        step.run()
    assert step.check is not None
    metrics = step.check()
    assert metrics["loss_last"] < metrics["loss_first"]


def test_inference_runs_in_the_dtype() -> None:
    step = CnnInfer(**SIZES).prepare(CPU, DType.BF16)
    step.run()
    assert step.check is not None and step.check() == {}


def test_image_must_halve_evenly() -> None:
    with pytest.raises(ValueError, match="halve evenly"):
        CnnTrain(image=30, stages=3)
