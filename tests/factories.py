"""Objects the tests build again and again, in one place."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from subsidybench.dtypes import DType
from subsidybench.measure.environment import Environment
from subsidybench.results.record import Status, WorkloadResult
from subsidybench.timing import Measurement, TimingPolicy, Verdict
from subsidybench.work import Work

CPU_ENVIRONMENT = Environment(
    toolkit_version="0.1.0",
    python="3.11",
    os="linux",
    cpu_model="test cpu",
    cpu_count=2,
    torch_version="2.13.0",
    torch_threads=2,
    backend="cpu",
    backend_version=None,
    driver=None,
    device_names=("test cpu",),
    device_count=1,
)


def environment(**changes: Any) -> Environment:
    """A test machine's environment: a 2-core CPU unless `changes` say otherwise."""
    return replace(CPU_ENVIRONMENT, **changes)


def point_result(
    concurrency: int,
    step_s: float,
    tpot_s: float,
    ttft_s: float,
    dtype: DType = DType.BF16,
    *,
    prompt: int = 100,
    new_tokens: int = 10,
    derived: tuple[int, int] | None = None,
    peak: int | None = None,
    valid: bool = True,
) -> WorkloadResult:
    """A serving result whose median step is `step_s`; p90 and p99 are 1.5x and 2x p50."""
    metrics = {
        **{f"ttft_p{q}_s": ttft_s * f for q, f in ((50, 1.0), (90, 1.5), (99, 2.0))},
        **{f"tpot_p{q}_s": tpot_s * f for q, f in ((50, 1.0), (90, 1.5), (99, 2.0))},
        "tokens_per_s_per_user": 1 / tpot_s,
    }
    if derived:
        metrics |= {"measured_layers": derived[0], "derived_model_layers": derived[1]}
    params = {"concurrency": concurrency, "prompt": prompt, "new_tokens": new_tokens, "dim": 64}
    return WorkloadResult(
        id=f"gpt_serve[concurrency={concurrency}]/{dtype}",
        workload="gpt_serve",
        family="inference",
        params=params,
        dtype=dtype,
        status=Status.OK,
        work=Work(flops=1e9, bytes=1e6, items=concurrency * new_tokens, item_unit="token"),
        measurement=Measurement((step_s,) * 5, 1, 3, 0.2, True),
        verdict=Verdict(True) if valid else Verdict(False, ("spread too wide",)),
        policy=TimingPolicy(),
        peak_memory_bytes=peak,
        metrics=metrics,
    )


def serving_run(*results: WorkloadResult, profile: str | None = None) -> Any:
    """A complete CPU run holding `results` (serving points, say)."""
    from subsidybench.results.context import DeviceRecord
    from subsidybench.results.record import RunResult, RunState

    return RunResult(
        suite="ci",
        suite_version=4,
        device=DeviceRecord("cpu", None, "test cpu"),
        environment=CPU_ENVIRONMENT,
        started="2026-12-01T00:00:00Z",
        state=RunState.COMPLETE,
        finished="2026-12-01T00:01:00Z",
        profile=profile,
        results=results,
    )


# Prompts of 100 tokens, replies of 10. Output tokens/s per device = concurrency x 10 / step:
#   c=1: 10 / 1.0 = 10,  per user 1 / 0.1 = 10
#   c=2: 20 / 1.0 = 20,  per user 10          (dominates c=1: as fast a user, twice the device)
#   c=4: 40 / 1.6 = 25,  per user 1 / 0.125 = 8
#   c=8: 80 / 4.0 = 20,  per user 1 / 0.25 = 4  (dominated by c=4)
SERVING_SWEEP = (
    point_result(1, 1.0, 0.1, 0.05),
    point_result(2, 1.0, 0.1, 0.08),
    point_result(4, 1.6, 0.125, 0.2),
    point_result(8, 4.0, 0.25, 0.5),
)
