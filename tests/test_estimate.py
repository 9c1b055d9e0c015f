"""Roofline estimates from one device to another, checked against hand-worked numbers.

Two made-up devices keep the arithmetic easy to follow:

    slow: 100 TFLOP/s bf16, 1,000 GB/s, efficiency compute 0.8, bandwidth 0.9, ridge 100 FLOP/B
    fast: 400 TFLOP/s bf16, 2,000 GB/s, efficiency compute 0.6, bandwidth 0.8, ridge 200 FLOP/B
"""

from __future__ import annotations

from pathlib import Path

import pytest

from subsidybench.catalogue.profiles import DeviceProfile, load_profile
from subsidybench.cost.estimate import Estimate, Regime, estimate
from subsidybench.dtypes import DType
from subsidybench.errors import UserError
from subsidybench.provenance import Basis
from subsidybench.results.record import Status, WorkloadResult
from subsidybench.timing import Measurement, TimingPolicy, Verdict
from subsidybench.work import Work

PROFILE = """
name = "{name}"
vendor = "Testco"
backend = "cuda"
domestic = false
match = []
memory_gb = "unknown"
memory_bandwidth_gbs = {{ value = {bw}, basis = "vendor", source = "https://example.com/{name}" }}
interconnect_gbs = "unknown"
power_w = "unknown"

[peak_tflops]
bf16 = {{ value = {peak}, basis = "vendor", source = "https://example.com/{name}" }}
fp32 = "unknown"

[efficiency]
compute = {{ value = {ec}, basis = "derived", source = "https://example.com/{name}-gemm" }}
bandwidth = {bandwidth}
"""


def make_profile(
    tmp_path: Path, name: str, peak: float, bw: float, ec: float, eb: str
) -> DeviceProfile:
    text = PROFILE.format(name=name, peak=peak, bw=bw, ec=ec, bandwidth=eb)
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return load_profile(str(path))


@pytest.fixture
def slow(tmp_path: Path) -> DeviceProfile:
    eb = '{ value = 0.9, basis = "derived", source = "https://example.com/slow-stream" }'
    return make_profile(tmp_path, "slow", 100, 1000, 0.8, eb)


@pytest.fixture
def fast(tmp_path: Path) -> DeviceProfile:
    eb = '{ value = 0.8, basis = "derived", source = "https://example.com/fast-stream" }'
    return make_profile(tmp_path, "fast", 400, 2000, 0.6, eb)


def measured(flops: float, bytes_: float, seconds: float, dtype: DType = DType.BF16, **kw):
    return WorkloadResult(
        id=kw.pop("id", "w1"),
        workload="matmul",
        family="gemm",
        params={"n": 1},
        dtype=dtype,
        status=Status.OK,
        work=Work(flops=flops, bytes=bytes_, items=10.0, item_unit="sample"),
        measurement=Measurement(
            samples_s=(seconds,) * 5,
            iterations_per_block=3,
            warmup_iterations=3,
            warmup_s=0.1,
            synchronized=True,
        ),
        verdict=kw.pop("verdict", Verdict(valid=True)),
        policy=TimingPolicy(),
    )


def test_compute_bound_on_both_scales_by_peaks_and_compute_efficiencies(slow, fast):
    # Intensity 1e12 / 1e9 = 1000 FLOP/B: above both ridges (100 and 200).
    result = measured(1e12, 1e9, 0.02)  # measured 50 TFLOP/s on slow
    est = estimate(result, slow, fast, measured_on="Test GPU")
    assert est.source.regime is Regime.COMPUTE and est.target.regime is Regime.COMPUTE
    # (400 x 0.6) / (100 x 0.8) = 240 / 80 = 3
    assert est.scale == pytest.approx(3.0)
    assert est.flops_per_s == pytest.approx(150e12)
    assert est.seconds_per_step == pytest.approx(0.02 / 3)
    assert est.items_per_s == pytest.approx(10 / (0.02 / 3))
    assert est.source.ridge_flops_per_byte == pytest.approx(100)
    assert est.target.ridge_flops_per_byte == pytest.approx(200)


def test_bandwidth_bound_on_both_scales_by_bandwidths(slow, fast):
    # Intensity 10 FLOP/B: below both ridges.
    result = measured(1e10, 1e9, 0.0015)
    est = estimate(result, slow, fast)
    assert est.source.regime is Regime.BANDWIDTH and est.target.regime is Regime.BANDWIDTH
    # (2000 x 0.8) / (1000 x 0.9) = 1600 / 900
    assert est.scale == pytest.approx(1600 / 900)
    assert est.bytes_per_s == pytest.approx(1e9 / 0.0015 * 1600 / 900)


def test_mixed_regimes_compute_bound_on_source_bandwidth_bound_on_target(slow, fast):
    # Intensity 150 FLOP/B: above slow's ridge (100), below fast's (200).
    result = measured(1.5e11, 1e9, 0.01)
    est = estimate(result, slow, fast)
    assert est.source.regime is Regime.COMPUTE and est.target.regime is Regime.BANDWIDTH
    # slow: 1.5e11 / (100e12 x 0.8) = 1.875 ms; fast: 1e9 / (2000e9 x 0.8) = 0.625 ms -> 3x
    assert est.scale == pytest.approx(3.0)
    # Going the other way inverts it.
    assert estimate(result, fast, slow).scale == pytest.approx(1 / 3)


def test_intensity_exactly_at_the_ridge_is_compute_bound(slow, fast):
    est = estimate(measured(1e11, 1e9, 0.01), slow, fast)  # 100 FLOP/B = slow's ridge
    assert est.source.regime is Regime.COMPUTE


def test_a_pure_copy_needs_no_peak(tmp_path, slow):
    eb = '{ value = 0.5, basis = "estimate", source = "https://example.com/guess" }'
    text = PROFILE.format(name="nopeak", peak=1, bw=500, ec=0.5, bandwidth=eb).replace(
        'bf16 = { value = 1, basis = "vendor", source = "https://example.com/nopeak" }',
        'bf16 = "unknown"',
    )
    path = tmp_path / "nopeak.toml"
    path.write_text(text)
    target = load_profile(str(path))
    assert target.peak(DType.BF16).basis is Basis.UNKNOWN
    est = estimate(measured(0, 1e9, 0.002), slow, target)
    # (500 x 0.5) / (1000 x 0.9)
    assert est.scale == pytest.approx(250 / 900)
    assert est.flops_per_s == 0
    assert all(u.field != "peak_tflops.bf16" for u in est.figures)


def test_the_estimate_says_what_it_rests_on(slow, fast):
    est = estimate(measured(1e12, 1e9, 0.02), slow, fast, measured_on="Test GPU")
    assert isinstance(est, Estimate) and est.basis is Basis.ESTIMATE
    fields = {(u.profile, u.field) for u in est.figures}
    assert fields == {
        ("slow", "peak_tflops.bf16"),
        ("slow", "memory_bandwidth_gbs"),
        ("slow", "efficiency.compute"),
        ("fast", "peak_tflops.bf16"),
        ("fast", "memory_bandwidth_gbs"),
        ("fast", "efficiency.compute"),
    }
    for used in est.figures:
        assert used.figure.basis is not Basis.UNKNOWN and used.figure.source
    assert "Test GPU" in est.measured and "w1" in est.measured and "5 samples" in est.measured
    assert "compute-bound" in est.method and "1000 FLOP/byte" in est.method
    d = est.to_dict()
    assert d["basis"] == "estimate" and d["target_regime"] == "compute"
    assert len(d["figures"]) == 6


def test_unknown_needed_figures_are_refused(tmp_path, slow, fast):
    with pytest.raises(UserError, match=r"slow: peak_tflops.fp32 is unknown"):
        estimate(measured(1e12, 1e9, 0.02, dtype=DType.FP32), slow, fast)
    with pytest.raises(UserError, match=r"lists no peak_tflops\.fp8"):
        estimate(measured(1e12, 1e9, 0.02, dtype=DType.FP8), slow, fast)
    no_bw_eff = make_profile(tmp_path, "noeff", 400, 2000, 0.6, '"unknown"')
    # Compute-bound on both: the unknown bandwidth efficiency is not needed.
    assert estimate(measured(1e12, 1e9, 0.02), slow, no_bw_eff).scale == pytest.approx(3.0)
    # Bandwidth-bound on the target: now it is.
    with pytest.raises(UserError, match=r"noeff: efficiency.bandwidth is unknown"):
        estimate(measured(1e10, 1e9, 0.0015), slow, no_bw_eff)


def test_nothing_valid_measured_is_refused(slow, fast):
    failed = WorkloadResult(
        id="w2",
        workload="matmul",
        family="gemm",
        params={},
        dtype=DType.BF16,
        status=Status.FAILED,
        reason="out of memory",
    )
    with pytest.raises(UserError, match="w2: it was failed"):
        estimate(failed, slow, fast)
    shaky = measured(1e12, 1e9, 0.02, verdict=Verdict(valid=False, reasons=("spread too wide",)))
    with pytest.raises(UserError, match="spread too wide"):
        estimate(shaky, slow, fast)


def test_builtin_h100_to_a100_compute_bound():
    h100, a100 = load_profile("h100-sxm"), load_profile("a100-sxm-80gb")
    # An 8192^3 bf16 matmul: 2 x 8192^3 FLOPs over 3 x 8192^2 x 2 bytes -> 2731 FLOP/B.
    n = 8192
    result = measured(2 * n**3, 3 * n * n * 2, 2 * n**3 / 700e12)  # 700 TFLOP/s on the H100
    est = estimate(result, h100, a100)
    # (312 x 0.869) / (989.4 x 0.803)
    assert est.scale == pytest.approx((312 * 0.869) / (989.4 * 0.803))
    assert est.flops_per_s == pytest.approx(700e12 * est.scale)
    # The H100's bandwidth efficiency is unknown: a bandwidth-bound estimate is refused.
    with pytest.raises(UserError, match=r"h100-sxm: efficiency\.bandwidth is unknown"):
        estimate(measured(1e9, 1e9, 1e-3), h100, a100)
