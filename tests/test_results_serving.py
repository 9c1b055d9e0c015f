"""The serving curve's arithmetic on hand-built points, where every figure can be worked by hand."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from factories import point_result

from subsidybench.dtypes import DType
from subsidybench.errors import UserError
from subsidybench.results.record import Status, WorkloadResult
from subsidybench.results.serving import (
    Curve,
    Goodput,
    Percentiles,
    Slo,
    curve_point,
    curves,
    goodput,
    pareto_front,
)

# Prompts of 100 tokens, replies of 10. Output tokens/s per device = concurrency x 10 / step:
#   c=1: 10 / 1.0 = 10,  per user 1 / 0.1 = 10
#   c=2: 20 / 1.0 = 20,  per user 10          (dominates c=1: as fast a user, twice the device)
#   c=4: 40 / 1.6 = 25,  per user 1 / 0.125 = 8
#   c=8: 80 / 4.0 = 20,  per user 1 / 0.25 = 4  (dominated by c=4)
SWEEP = [
    point_result(1, 1.0, 0.1, 0.05),
    point_result(2, 1.0, 0.1, 0.08),
    point_result(4, 1.6, 0.125, 0.2),
    point_result(8, 4.0, 0.25, 0.5),
]


def sweep_curve() -> Curve:
    (curve,) = curves(SWEEP)
    return curve


def test_points_carry_the_speeds_worked_by_hand() -> None:
    curve = sweep_curve()
    assert [p.concurrency for p in curve.points] == [1, 2, 4, 8]
    assert [p.output_tokens_per_s for p in curve.points] == pytest.approx([10, 20, 25, 20])
    assert [p.tokens_per_s_per_user for p in curve.points] == pytest.approx([10, 10, 8, 4])
    # Input tokens/s: concurrency x 100 over the same step: 100, 200, 250, 200.
    assert [p.input_tokens_per_s for p in curve.points] == pytest.approx([100, 200, 250, 200])
    assert curve.points[2].requests_per_s == pytest.approx(2.5)  # 4 requests in 1.6 s
    ttft = curve.points[2].ttft_s
    assert (ttft.p50, ttft.p90, ttft.p99) == pytest.approx((0.2, 0.3, 0.4))
    assert curve.model == {"prompt": 100, "new_tokens": 10, "dim": 64}
    assert not curve.derived and curve.points[0].peak_memory_bytes is None  # cpu: not reported


def test_pareto_front_drops_the_dominated_points() -> None:
    front = sweep_curve().pareto_front()
    assert [p.concurrency for p in front] == [2, 4]  # fastest for the user first
    assert pareto_front([]) == ()


def test_goodput_is_the_best_point_that_meets_the_slo() -> None:
    curve = sweep_curve()
    # At least 8 tokens/s per user: c=1, 2, 4 meet it; c=4 has the most throughput.
    g = curve.goodput(Slo(tokens_per_s_per_user=8))
    assert g.point is not None and g.point.concurrency == 4
    assert g.output_tokens_per_s == pytest.approx(25)
    assert g.requests_per_s == pytest.approx(2.5)
    assert [c for c, _ in g.missed] == [8]
    # TPOT under 0.11 s at the median: c=1 and c=2; c=2 wins with 20 tokens/s.
    g = curve.goodput(Slo(tpot_s=0.11, percentile=50))
    assert g.point is not None and g.point.concurrency == 2
    # The same at p99 (2x the median): 0.2 s and up, no point meets it.
    g = curve.goodput(Slo(tpot_s=0.11, percentile=99))
    assert g.point is None and g.output_tokens_per_s == 0 and g.requests_per_s == 0
    assert g.missed[0] == (1, ("TPOT p99 0.2 s > 0.11 s",))
    # TTFT and TPOT together (vLLM's --goodput ttft:... tpot:...): TTFT p90 <= 0.31 s keeps
    # c=1, 2, 4 (0.075, 0.12, 0.3); TPOT p90 <= 0.2 s keeps all but c=8 (0.375).
    g = goodput(curve.points, Slo(ttft_s=0.31, tpot_s=0.2, percentile=90))
    assert g.point is not None and g.point.concurrency == 4
    reasons = dict(g.missed)[8]
    assert len(reasons) == 2 and reasons[0].startswith("TTFT p90 0.75 s")


def test_whole_model_figures_are_scaled_and_say_so() -> None:
    result = point_result(4, 2.0, 0.05, 0.1, derived=(1, 32), peak=1 << 30)
    measured = curve_point(result)
    assert measured.derived_from_layers is None and measured.peak_memory_bytes == 1 << 30
    whole = curve_point(result, whole_model=True)
    assert whole.derived_from_layers == (1, 32)
    # 32 layers from 1: every time 32x, every rate / 32.
    assert whole.tpot_s.p50 == pytest.approx(1.6)
    assert whole.ttft_s.p99 == pytest.approx(6.4)
    assert whole.tokens_per_s_per_user == pytest.approx(20 / 32)
    assert whole.output_tokens_per_s == pytest.approx(4 * 10 / 2.0 / 32)
    assert whole.peak_memory_bytes is None  # one block's memory is no whole model's
    (curve,) = curves([result], whole_model=True)
    assert curve.derived
    # Every layer measured (32 of 32): the figures are the model's own, not derived.
    every = curve_point(point_result(4, 2.0, 0.05, 0.1, derived=(32, 32)), whole_model=True)
    assert every.derived_from_layers is None and every.tpot_s.p50 == pytest.approx(0.05)


def test_curves_group_by_model_and_dtype_and_leave_out_the_rest() -> None:
    skipped = WorkloadResult(
        id="x", workload="gpt_serve", family="inference", params={}, dtype=DType.FP32,
        status=Status.SKIPPED, reason="not here",
    )  # fmt: skip
    other = point_result(1, 1.0, 0.1, 0.05, DType.FP32)
    longer = point_result(1, 1.0, 0.1, 0.05, new_tokens=20)
    found = curves([*SWEEP, skipped, other, longer])
    assert [(c.dtype, len(c.points), c.model["new_tokens"]) for c in found] == [
        ("bf16", 4, 10),
        ("fp32", 1, 10),
        ("bf16", 1, 20),
    ]


def test_a_concurrency_measured_twice_is_refused() -> None:
    with pytest.raises(UserError, match="concurrency 2 measured twice"):
        curves([*SWEEP, SWEEP[1]])


def test_records_check_themselves() -> None:
    with pytest.raises(ValueError, match="at least one target"):
        Slo()
    with pytest.raises(ValueError, match="percentile must be one of"):
        Slo(ttft_s=1, percentile=95)
    with pytest.raises(ValueError, match="tpot_s must be a finite number > 0"):
        Slo(tpot_s=0)
    with pytest.raises(ValueError, match="must not fall"):
        Percentiles(0.2, 0.1, 0.3)
    with pytest.raises(ValueError, match="rise without repeats"):
        Curve("gpt_serve", "bf16", {}, tuple(reversed(sweep_curve().points)))
    with pytest.raises(ValueError, match="must meet the SLO"):
        Goodput(Slo(tokens_per_s_per_user=100), sweep_curve().points[0], ())
    skipped = WorkloadResult(
        id="m", workload="matmul", family="primitive", params={}, dtype=DType.FP32,
        status=Status.SKIPPED, reason="no",
    )  # fmt: skip
    with pytest.raises(UserError, match="not a measured serving point"):
        curve_point(skipped)


def test_the_curve_module_does_not_import_torch() -> None:
    # cost and report read the curve where torch cannot run.
    code = "import sys, subsidybench.results.serving; print('torch' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr
