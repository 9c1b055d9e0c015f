from __future__ import annotations

import pytest
from torch.utils.flop_counter import FlopCounterMode

from subsidybench.devices import resolve_device
from subsidybench.dtypes import DType
from subsidybench.errors import UserError
from subsidybench.workloads import WORKLOADS, make_workload
from subsidybench.workloads.bandwidth import Copy
from subsidybench.workloads.base import SanityError
from subsidybench.workloads.matmul import Matmul
from subsidybench.workloads.mlp import MlpTrain

CPU = resolve_device("cpu")


def counted_flops(run: object) -> int:
    """FLOPs torch's own counter sees in one call of a step (matmuls, forward and backward)."""
    with FlopCounterMode(display=False) as counter:
        run()  # type: ignore[operator]
    return counter.get_total_flops()


def test_matmul_counts_by_hand() -> None:
    w = Matmul(n=3, m=2, k=4).work(DType.FP32)
    assert w.flops == 2 * 2 * 3 * 4  # 2mnk
    assert w.bytes == (2 * 4 + 4 * 3 + 2 * 3) * 4  # A, B and C once each, 4 bytes an element
    assert Matmul(n=8).work(DType.BF16).bytes == 3 * 64 * 2


def test_matmul_square_default_and_sizes_checked() -> None:
    assert (Matmul(n=16).m, Matmul(n=16).k) == (16, 16)
    with pytest.raises(ValueError):
        Matmul(n=-1)


def test_matmul_flops_agree_with_torch_counter_and_result_is_right() -> None:
    w = Matmul(n=32, m=16, k=8)
    step = w.prepare(CPU, DType.FP32)
    assert counted_flops(step.run) == w.work(DType.FP32).flops
    assert step.check is not None and step.check() == {}


def test_mlp_counts_by_hand() -> None:
    w = MlpTrain(batch=5, features=3, hidden=4, layers=1, classes=2)
    assert w.shapes() == [(3, 4), (4, 2)]
    # Forward 2·(12 + 8) = 40 per sample; backward twice that, less the first layer's input
    # gradient (2·12 = 24): 40 + 80 - 24 = 96 per sample, 480 for 5 samples.
    assert w.work(DType.FP32).flops == 480
    assert w.work(DType.FP32).items == 5
    assert w.parameters() == 3 * 4 + 4 + 4 * 2 + 2


def test_mlp_flops_agree_with_torch_counter() -> None:
    w = MlpTrain(batch=8, features=16, hidden=32, layers=2, classes=4)
    step = w.prepare(CPU, DType.FP32)
    assert counted_flops(step.run) == w.work(DType.FP32).flops


@pytest.mark.parametrize("dtype", [DType.FP32, DType.BF16])
def test_mlp_loss_falls_and_is_reported(dtype: DType) -> None:
    step = MlpTrain(batch=32, features=16, hidden=32, layers=1, classes=4).prepare(CPU, dtype)
    for _ in range(30):
        step.run()
    assert step.check is not None
    metrics = step.check()
    assert metrics["loss_last"] < metrics["loss_first"]


def test_mlp_check_fails_when_loss_is_not_finite(monkeypatch: pytest.MonkeyPatch) -> None:
    from subsidybench.workloads import mlp

    real = mlp.F.cross_entropy
    monkeypatch.setattr(mlp.F, "cross_entropy", lambda *a, **k: real(*a, **k) * float("nan"))
    step = MlpTrain(batch=4, features=4, hidden=4, layers=1, classes=2).prepare(CPU, DType.FP32)
    step.run()
    assert step.check is not None
    with pytest.raises(SanityError, match="not finite"):
        step.check()


def test_copy_counts_and_copies() -> None:
    w = Copy(mib=1)
    work = w.work(DType.FP32)
    assert work.bytes == 2 * (1 << 20) and work.flops == 0
    step = w.prepare(CPU, DType.FP32)
    step.run()
    assert step.check is not None and step.check() == {}


def test_make_workload_errors_name_the_place() -> None:
    with pytest.raises(UserError, match=r"suite.toml: unknown workload 'nope'"):
        make_workload("nope", {}, "suite.toml")
    with pytest.raises(UserError, match=r"matmul has no parameter 'size'"):
        make_workload("matmul", {"size": 3}, "suite.toml")
    with pytest.raises(UserError, match=r"n must be a positive integer"):
        make_workload("matmul", {"n": 0.5}, "suite.toml")


def test_every_workload_states_its_work_for_each_dtype() -> None:
    for cls in WORKLOADS.values():
        w = cls()
        for dtype in cls.dtypes:
            work = w.work(dtype)
            assert work.flops > 0 or work.bytes > 0
            assert work.items > 0


class CacheDevice:
    def __init__(self, cache: int | None) -> None:
        self.cache = cache

    def cache_bytes(self) -> int | None:
        return self.cache


def test_rotation_overflows_the_cache_within_bounds() -> None:
    from subsidybench.workloads.base import rotation_sets

    def make(seed: int) -> int:
        return seed

    assert rotation_sets(CacheDevice(10 << 20), 1 << 20, make) == list(range(20))  # type: ignore[arg-type]
    assert rotation_sets(CacheDevice(None), 1 << 20, make) == [0]  # type: ignore[arg-type]
    assert len(rotation_sets(CacheDevice(1 << 30), 1 << 10, make)) == 64  # type: ignore[arg-type]
    assert len(rotation_sets(CacheDevice(1 << 30), 256 << 20, make)) == 4  # type: ignore[arg-type]
    assert rotation_sets(CacheDevice(1 << 20), 64 << 20, make) == [0]  # type: ignore[arg-type]
