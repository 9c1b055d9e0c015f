"""Shared fixtures: tiny suites that run in well under a second on a CPU, and a small run-result
file with a valid and an invalid measured workload."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser import browser  # noqa: F401  (the shared real-browser fixture, tests/browser.py)
from factories import environment

from subsidybench.dtypes import DType
from subsidybench.results.context import DeviceRecord
from subsidybench.results.record import RunResult, RunState, Status, WorkloadResult, save_run
from subsidybench.timing import Measurement, TimingPolicy, Verdict
from subsidybench.work import Work


def _result(
    rid: str, flops: float, items: float, unit: str, seconds: float, valid: bool
) -> WorkloadResult:
    verdict = (
        Verdict(True) if valid else Verdict(False, ("spread too wide (IQR/median 30% > 10%)",))
    )
    return WorkloadResult(
        id=rid,
        workload=rid.split("-")[0],
        family="test",
        params={},
        dtype=DType.BF16,
        status=Status.OK,
        work=Work(flops=flops, bytes=1e6, items=items, item_unit=unit),
        measurement=Measurement(
            samples_s=(seconds,) * 5,
            iterations_per_block=10,
            warmup_iterations=3,
            warmup_s=0.2,
            synchronized=True,
        ),
        verdict=verdict,
        policy=TimingPolicy(),
    )


@pytest.fixture
def run_file(tmp_path: Path) -> Path:
    """A run with: gemm-bf16 (4e14 FLOP/s, valid), lm-bf16 (2,000 tokens/s and 8.4e13 FLOP/s,
    valid), noisy-bf16 (invalid verdict) and a skipped workload."""
    env = environment(
        backend="cuda", backend_version="12.4", driver="550", device_names=("Test GPU",)
    )
    run = RunResult(
        suite="standard",
        suite_version=1,
        device=DeviceRecord("cuda", 0, "Test GPU"),
        environment=env,
        started="2025-09-01T00:00:00Z",
        state=RunState.COMPLETE,
        finished="2025-09-01T00:10:00Z",
        results=(
            # 4e12 FLOPs in 0.01 s: 4e14 FLOP/s = 400 TFLOP/s.
            _result("gemm-bf16", 4e12, 1.0, "matmul", 0.01, True),
            # 20 tokens in 0.01 s: 2,000 tokens/s; 8.4e11 FLOPs in 0.01 s: 84 TFLOP/s.
            _result("lm-bf16", 8.4e11, 20.0, "token", 0.01, True),
            _result("noisy-bf16", 1e12, 1.0, "matmul", 0.01, False),
            WorkloadResult(
                id="conv-fp8",
                workload="conv",
                family="test",
                params={},
                dtype=DType.FP8,
                status=Status.SKIPPED,
                reason="fp8 not supported",
            ),
        ),
    )
    path = tmp_path / "run.json"
    save_run(run, path)
    return path


TINY_SUITE = """
name = "tiny"
version = 1
description = "test suite"
budget_s = 0.2

[[workloads]]
name = "matmul"
params = { n = 64 }
dtypes = ["fp32", "bf16"]

[[workloads]]
name = "copy"
params = { mib = 1 }

[[workloads]]
name = "mlp_train"
params = { batch = 16, features = 8, hidden = 16, layers = 1, classes = 4 }
"""


@pytest.fixture
def tiny_suite(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_SUITE)
    return path
