"""A CPU's theoretical peak, derived from the machine it runs on.

A CPU's peak is no constant a profile can hold: it is cores x vector lanes x FLOPs per lane per
instruction x vector units per core x clock. Cores, lanes and FMA support are read from the machine
(/proc/cpuinfo flags, the process's CPU affinity); the number of vector units per core and, where
the machine does not report it, the clock cannot be read reliably, so they come from the profile
(cpu-generic.toml, section [cpu]) with their sources. The result is a DERIVED figure whose note
writes out every factor and where it came from.

The clock is the weakest factor: /proc/cpuinfo "cpu MHz" is the current clock (on virtual machines
often the base/TSC clock), and sysfs cpufreq is absent on many VMs. Turbo runs higher, so a
measured rate above the derived peak means the clock used was low, not that the measurement lies.
Torch-free.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from subsidybench import cpuinfo
from subsidybench.bounds import Range
from subsidybench.cpuinfo import CpuInfo, parse_cpuinfo
from subsidybench.datafile import Fields
from subsidybench.dtypes import DType
from subsidybench.errors import UserError
from subsidybench.provenance import Basis, Figure, Sources, read_figure

CPUFREQ = Path("/sys/devices/system/cpu")

SOURCE = (
    "derived on this machine by subsidybench.catalogue.cpupeak from /proc/cpuinfo and CPU affinity"
)


_FMA_UNITS = Range(0, 8, "vector FMA units per core: x86 cores have 1 or 2", low_open=True)
_CLOCK_GHZ = Range(0, 10, "a CPU clock in GHz: none ships above 6.2", low_open=True)


@dataclass(frozen=True, slots=True)
class CpuAssumptions:
    """What the machine cannot tell: vector units per core, a fallback clock, AMX throughput."""

    fma_units_per_core: Figure
    clock_ghz: Figure
    amx_flops_per_cycle: Figure
    """Per core, for AMX-BF16 (and AMX-FP16) tile matrix multiply."""

    _KEYS = frozenset({"fma_units_per_core", "clock_ghz", "amx_flops_per_cycle"})

    @classmethod
    def from_fields(cls, f: Fields, sources: Sources) -> CpuAssumptions:
        f.reject_unknown(set(cls._KEYS))
        return cls(
            fma_units_per_core=read_figure(f, "fma_units_per_core", sources, within=_FMA_UNITS),
            clock_ghz=read_figure(f, "clock_ghz", sources, within=_CLOCK_GHZ),
            amx_flops_per_cycle=read_figure(f, "amx_flops_per_cycle", sources),
        )

    def figures(self) -> dict[str, Figure]:
        return {
            "fma_units_per_core": self.fma_units_per_core,
            "clock_ghz": self.clock_ghz,
            "amx_flops_per_cycle": self.amx_flops_per_cycle,
        }


@dataclass(frozen=True, slots=True)
class _Vector:
    isa: str
    lanes: int  # fp32 lanes per instruction
    fma: bool


def _vector_unit(flags: frozenset[str]) -> _Vector | None:
    if "avx512f" in flags:
        return _Vector("AVX-512 (avx512f)", 16, fma=True)
    if "avx2" in flags and "fma" in flags:
        return _Vector("AVX2 + FMA (avx2, fma)", 8, fma=True)
    if "avx" in flags:
        return _Vector("AVX without FMA (avx)", 8, fma=False)
    if "asimd" in flags:
        # NEON is 128 bits wide with fused multiply-add; SVE widths vary and are not in cpuinfo,
        # so an SVE machine is counted at the 128-bit minimum (its peak may be higher).
        return _Vector("AArch64 NEON (asimd)", 4, fma=True)
    if "sse2" in flags:
        return _Vector("SSE2 without FMA (sse2)", 4, fma=False)
    return None


def available_cpus() -> tuple[int, str]:
    """Logical CPUs this process may run on, and how that was found."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)), "os.sched_getaffinity"
    count = os.cpu_count()
    if not count:
        raise UserError("cannot tell how many CPUs this machine has")
    return count, "os.cpu_count"


def max_freq_ghz(root: Path = CPUFREQ) -> float | None:
    """The highest cpuinfo_max_freq in sysfs, in GHz; None where cpufreq is absent (many VMs)."""
    found = []
    for path in root.glob("cpu[0-9]*/cpufreq/cpuinfo_max_freq"):
        try:
            found.append(int(path.read_text().strip()))
        except (OSError, ValueError):
            continue
    return max(found) / 1e6 if found else None


def derive_peaks(
    cpuinfo: str,
    assumptions: CpuAssumptions,
    logical_cpus: int,
    cpus_source: str = "given",
    sysfs_max_ghz: float | None = None,
) -> dict[DType, Figure]:
    """Peak TFLOP/s by dtype for the CPU described by `cpuinfo` text, every factor written out.

    fp32 always (if the vector unit is recognised); bf16 and fp16 only where the CPU has them
    natively (AMX, AVX512-BF16, AVX512-FP16): elsewhere they are emulated and have no peak worth
    the name.
    """
    info = parse_cpuinfo(cpuinfo)
    vector = _vector_unit(info.flags)
    if vector is None:
        raise UserError("cannot derive the CPU peak: no known vector unit in /proc/cpuinfo flags")
    if logical_cpus < 1:
        raise UserError(f"cannot derive the CPU peak from {logical_cpus} CPUs")
    cores = math.ceil(logical_cpus / info.threads_per_core)
    cores_text = f"{cores} cores ({logical_cpus} CPUs from {cpus_source}"
    if info.threads_per_core > 1:
        cores_text += f", {info.threads_per_core} SMT threads per core share one core's units"
    cores_text += ")"

    clock, clock_text = _clock(info, assumptions, sysfs_max_ghz)
    units = assumptions.fma_units_per_core
    if units.value is None:
        raise UserError("cannot derive the CPU peak: the profile's fma_units_per_core is unknown")
    units_text = (
        f"{units.value:g} vector FMA units per core (profile assumption"
        f" cpu.fma_units_per_core, {units.basis})"
    )
    per_lane = 2 if vector.fma else 1
    lane_text = (
        "2 FLOPs per lane per instruction (fused multiply-add)"
        if vector.fma
        else "1 FLOP per lane per instruction (no FMA: separate add and multiply units)"
    )
    fp32 = cores * vector.lanes * per_lane * units.value * clock * 1e9
    fp32_method = (
        f"{cores_text} x {vector.lanes} fp32 lanes ({vector.isa}) x {lane_text}"
        f" x {units_text} x {clock:.3g} GHz ({clock_text}) = {fp32 / 1e9:.1f} GFLOP/s"
    )
    peaks = {DType.FP32: _figure(fp32, fp32_method)}

    amx = assumptions.amx_flops_per_cycle
    for dtype, amx_flag, avx_flag, instr in (
        (DType.BF16, "amx_bf16", "avx512_bf16", "VDPBF16PS: 32 bf16 pairs per 512-bit op"),
        (DType.FP16, "amx_fp16", "avx512_fp16", "FP16 FMA: 32 fp16 lanes per 512-bit op"),
    ):
        if amx_flag in info.flags and amx.value is not None:
            rate = cores * amx.value * clock * 1e9
            method = (
                f"{cores_text} x {amx.value:g} {dtype} FLOPs per cycle per core in AMX tiles"
                f" ({amx_flag}; profile figure cpu.amx_flops_per_cycle, {amx.basis})"
                f" x {clock:.3g} GHz ({clock_text})"
                f" = {rate / 1e9:.1f} GFLOP/s"
            )
            peaks[dtype] = _figure(rate, method)
        elif avx_flag in info.flags and vector.lanes == 16:
            rate = 2 * fp32
            method = (
                f"2 x the fp32 peak ({avx_flag}, {instr}, assumed to issue at the fp32 FMA"
                f" rate) = {rate / 1e9:.1f} GFLOP/s; fp32 peak: {fp32_method}"
            )
            peaks[dtype] = _figure(rate, method)
    return peaks


def _clock(
    info: CpuInfo, assumptions: CpuAssumptions, sysfs_max_ghz: float | None
) -> tuple[float, str]:
    if sysfs_max_ghz:
        return sysfs_max_ghz, "sysfs cpufreq cpuinfo_max_freq"
    if info.mhz:
        return info.mhz / 1000, (
            "/proc/cpuinfo 'cpu MHz', the current clock: turbo may run higher, and a"
            " measurement above this peak means it did"
        )
    fallback = assumptions.clock_ghz
    if fallback.value is None:
        raise UserError(
            "cannot derive the CPU peak: the machine reports no clock and the profile's"
            " clock_ghz is unknown (set [cpu] clock_ghz in your own profile)"
        )
    return fallback.value, f"profile assumption cpu.clock_ghz, {fallback.basis}"


def _figure(flops_per_s: float, method: str) -> Figure:
    return Figure(flops_per_s / 1e12, Basis.DERIVED, SOURCE, method)


def machine_peaks(assumptions: CpuAssumptions) -> dict[DType, Figure]:
    """Peak TFLOP/s by dtype for this machine's CPU."""
    try:
        text = cpuinfo.read_text()
    except OSError as e:
        raise UserError(
            f"cannot derive the CPU peak: cannot read {cpuinfo.CPUINFO}: {e.strerror}"
        ) from None
    cpus, source = available_cpus()
    return derive_peaks(text, assumptions, cpus, source, max_freq_ghz())
