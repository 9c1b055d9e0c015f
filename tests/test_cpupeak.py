"""The CPU peak derived from /proc/cpuinfo text, checked against hand-worked numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from subsidybench import cpuinfo
from subsidybench.catalogue import cpupeak
from subsidybench.catalogue.cpupeak import CpuAssumptions, derive_peaks, max_freq_ghz
from subsidybench.catalogue.profiles import load_profile
from subsidybench.cpuinfo import parse_cpuinfo
from subsidybench.dtypes import DType
from subsidybench.errors import UserError
from subsidybench.provenance import Basis, Figure

SOURCE = "https://example.com/cpu-manual"
ASSUME = CpuAssumptions(
    fma_units_per_core=Figure(2, Basis.ESTIMATE, SOURCE),
    clock_ghz=Figure.unknown(),
    amx_flops_per_cycle=Figure(1024, Basis.VENDOR, SOURCE),
)

SAPPHIRE = """\
processor	: 0
vendor_id	: GenuineIntel
model name	: Intel(R) Xeon(R) Platinum 8480+
cpu MHz		: 2000.000
siblings	: 4
cpu cores	: 2
flags		: fpu sse2 avx fma avx2 avx512f avx512_bf16 avx512_fp16 amx_bf16 amx_tile

processor	: 1
cpu MHz		: 1900.000
"""

HASWELL = """\
model name	: Intel(R) Xeon(R) CPU E5-2680 v3
cpu MHz		: 3000.0
flags		: fpu sse2 avx fma avx2
"""

SANDY = "model name : old\ncpu MHz : 2500\nflags : fpu sse2 avx\n"

GRAVITON = """\
processor	: 0
BogoMIPS	: 243.75
Features	: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid
CPU implementer	: 0x41
"""


def gflops(fig: Figure) -> float:
    assert fig.value is not None
    return fig.value * 1e3


def test_avx512_with_amx_counts_physical_cores_and_the_amx_rate():
    peaks = derive_peaks(SAPPHIRE, ASSUME, logical_cpus=4, cpus_source="test")
    # 4 logical CPUs, 2 SMT threads per core -> 2 cores.
    # fp32: 2 cores x 16 lanes x 2 (FMA) x 2 units x 2.0 GHz = 256 GFLOP/s
    assert gflops(peaks[DType.FP32]) == pytest.approx(256)
    # bf16 in AMX: 2 cores x 1024 FLOPs/cycle x 2.0 GHz = 4096 GFLOP/s
    assert gflops(peaks[DType.BF16]) == pytest.approx(4096)
    # fp16 via AVX512-FP16 (no AMX-FP16): twice the fp32 rate
    assert gflops(peaks[DType.FP16]) == pytest.approx(512)
    for fig in peaks.values():
        assert fig.basis is Basis.DERIVED
        assert fig.source


def test_the_method_names_every_factor_and_where_it_came_from():
    note = derive_peaks(SAPPHIRE, ASSUME, 4, "test")[DType.FP32].note
    for factor in (
        "2 cores",
        "4 CPUs from test",
        "2 SMT threads per core",
        "16 fp32 lanes",
        "avx512f",
        "fused multiply-add",
        "2 vector FMA units per core",
        "cpu.fma_units_per_core, estimate",
        "2 GHz",
        "cpu MHz",
        "turbo",
        "256.0 GFLOP/s",
    ):
        assert factor in note, factor


def test_avx2_fma_machine_without_native_bf16():
    peaks = derive_peaks(HASWELL, ASSUME, logical_cpus=8)
    # 8 cores x 8 lanes x 2 x 2 x 3.0 GHz = 768 GFLOP/s
    assert gflops(peaks[DType.FP32]) == pytest.approx(768)
    assert DType.BF16 not in peaks and DType.FP16 not in peaks


def test_avx_without_fma_counts_one_flop_per_lane():
    peaks = derive_peaks(SANDY, ASSUME, logical_cpus=4)
    # 4 x 8 lanes x 1 x 2 units x 2.5 GHz = 160 GFLOP/s
    assert gflops(peaks[DType.FP32]) == pytest.approx(160)
    assert "no FMA" in peaks[DType.FP32].note


def test_aarch64_neon_and_the_profile_clock_fallback():
    with pytest.raises(UserError, match="clock_ghz is unknown"):
        derive_peaks(GRAVITON, ASSUME, logical_cpus=64)
    with_clock = CpuAssumptions(
        ASSUME.fma_units_per_core, Figure(2.6, Basis.VENDOR, SOURCE), ASSUME.amx_flops_per_cycle
    )
    fig = derive_peaks(GRAVITON, with_clock, logical_cpus=64)[DType.FP32]
    # 64 x 4 lanes x 2 x 2 x 2.6 GHz = 2662.4 GFLOP/s
    assert gflops(fig) == pytest.approx(2662.4)
    assert "cpu.clock_ghz" in fig.note


def test_sysfs_max_clock_is_preferred_to_the_current_clock():
    fig = derive_peaks(HASWELL, ASSUME, logical_cpus=1, sysfs_max_ghz=3.5)[DType.FP32]
    # 1 x 8 x 2 x 2 x 3.5 = 112 GFLOP/s
    assert gflops(fig) == pytest.approx(112)
    assert "cpuinfo_max_freq" in fig.note


def test_avx512_bf16_without_amx_is_twice_fp32():
    text = HASWELL.replace("avx2", "avx2 avx512f avx512_bf16")
    peaks = derive_peaks(text, ASSUME, logical_cpus=1)
    assert gflops(peaks[DType.BF16]) == pytest.approx(2 * gflops(peaks[DType.FP32]))


def test_unknown_vector_unit_and_unknown_units_are_refused():
    with pytest.raises(UserError, match="no known vector unit"):
        derive_peaks("flags : fpu\ncpu MHz : 1000\n", ASSUME, 1)
    no_units = CpuAssumptions(Figure.unknown(), ASSUME.clock_ghz, ASSUME.amx_flops_per_cycle)
    with pytest.raises(UserError, match="fma_units_per_core is unknown"):
        derive_peaks(HASWELL, no_units, 1)


def test_parse_cpuinfo_reads_the_first_processor_and_the_highest_clock():
    info = parse_cpuinfo(SAPPHIRE)
    assert info.model == "Intel(R) Xeon(R) Platinum 8480+"
    assert info.mhz == 2000.0
    assert info.threads_per_core == 2
    assert "amx_bf16" in info.flags


def test_max_freq_reads_sysfs(tmp_path: Path):
    for cpu, khz in (("cpu0", 3_500_000), ("cpu1", 3_800_000)):
        d = tmp_path / cpu / "cpufreq"
        d.mkdir(parents=True)
        (d / "cpuinfo_max_freq").write_text(f"{khz}\n")
    assert max_freq_ghz(tmp_path) == pytest.approx(3.8)
    assert max_freq_ghz(tmp_path / "none") is None


def test_the_generic_cpu_profile_states_its_assumptions():
    cpu = load_profile("cpu-generic").cpu
    assert cpu is not None
    assert cpu.fma_units_per_core.value == 2 and cpu.fma_units_per_core.source
    assert cpu.amx_flops_per_cycle.value == 1024
    assert cpu.clock_ghz.basis is Basis.UNKNOWN


@pytest.mark.skipif(not cpuinfo.CPUINFO.exists(), reason="needs /proc/cpuinfo")
def test_this_machine_derives_a_peak():
    peaks = cpupeak.machine_peaks(load_profile("cpu-generic").cpu)
    assert peaks[DType.FP32].basis is Basis.DERIVED
    assert peaks[DType.FP32].value > 0
