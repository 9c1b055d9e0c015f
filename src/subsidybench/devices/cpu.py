"""The host CPU: always present, synchronous, with dtype support read from its feature flags."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

from subsidybench.cpuinfo import cpu_model, machine_cpu, parse_cpuinfo
from subsidybench.devices.base import Backend, DtypeSupport, Support
from subsidybench.devices.energy import EnergyReader, NoEnergy, rapl_reader
from subsidybench.dtypes import DType

# oneDNN ISA levels (its ONEDNN_MAX_CPU_ISA values) at which it computes in bf16 and in fp16.
# Below them torch's CPU matmul converts element by element: ~2 GFLOP/s on a 2-core host that
# reaches 600 in bf16 without the cap.
_ONEDNN_BF16 = {
    "AVX512_CORE_BF16",
    "AVX512_CORE_FP16",
    "AVX10_1_512",
    "AVX512_CORE_AMX",
    "AVX10_1_512_AMX",
    "AVX512_CORE_AMX_FP16",
    "AVX10_1_512_AMX_FP16",
    "ALL",
}
_ONEDNN_FP16 = _ONEDNN_BF16 - {"AVX512_CORE_BF16"}


class CpuBackend(Backend):
    type = "cpu"

    def __init__(self, cpuinfo: str | None = None, isa_cap: str | None = None) -> None:
        self._flags = _flags(cpuinfo)
        if isa_cap is None:
            isa_cap = os.environ.get("ONEDNN_MAX_CPU_ISA") or os.environ.get("DNNL_MAX_CPU_ISA")
        self._isa_cap = isa_cap.upper() if isa_cap else None

    def is_available(self) -> bool:
        return True

    def device_count(self) -> int:
        return 1

    def device_name(self, index: int) -> str:
        return cpu_model()

    def compile_support(self) -> str | None:
        # Inductor writes C++ for the cpu and builds it with the system compiler.
        if shutil.which("c++") or shutil.which("g++"):
            return None
        return "torch.compile on the cpu needs a C++ compiler (c++ or g++) on the PATH"

    def cache_bytes(self, index: int) -> int | None:
        return _last_level_cache(Path("/sys/devices/system/cpu/cpu0/cache"))

    def energy_reader(self, index: int) -> EnergyReader | NoEnergy:
        # The packages' counters include every core, so other processes' work counts too.
        return rapl_reader()

    def synchronizer(self, index: int) -> Callable[[], None] | None:
        # Eager CPU ops return when their work is done: there is nothing queued to wait for.
        return _nothing_queued

    def dtype_support(self, index: int, dtype: DType) -> DtypeSupport:
        if dtype is DType.FP32:
            return DtypeSupport(Support.NATIVE)
        if dtype in (DType.TF32, DType.FP8, DType.INT8):
            return DtypeSupport(Support.UNSUPPORTED, f"{dtype} matmul is not offered on the cpu")
        if self._flags is None:
            return DtypeSupport(Support.UNKNOWN, "cpu features unknown on this platform")
        # x86: AVX512-BF16 / AMX-BF16 (and AVX512-FP16 / AMX-FP16) compute in the format; without
        # them torch converts to fp32 element by element, about 1 GFLOP/s on a 2-core AVX2 host.
        # Arm: FEAT_BF16 shows as "bf16", half-precision arithmetic as "asimdhp".
        native = {
            DType.BF16: {"avx512_bf16", "amx_bf16", "bf16"},
            DType.FP16: {"avx512_fp16", "amx_fp16", "asimdhp"},
        }[dtype]
        found = sorted(native & self._flags)
        allowed = _ONEDNN_BF16 if dtype is DType.BF16 else _ONEDNN_FP16
        if found and self._isa_cap and self._isa_cap not in allowed:
            reason = f"ONEDNN_MAX_CPU_ISA={self._isa_cap} keeps torch from the cpu's {found[0]}"
            return DtypeSupport(Support.EMULATED, f"{reason}: {dtype} is emulated")
        if found:
            return DtypeSupport(Support.NATIVE, "cpu has " + ", ".join(found))
        wanted = "/".join(sorted(native))
        return DtypeSupport(Support.EMULATED, f"no {wanted} on this cpu: {dtype} is emulated")


def _nothing_queued() -> None:
    return None


def _last_level_cache(root: Path) -> int | None:
    """The largest cache the kernel lists for cpu0 (sysfs sizes read like "491520K")."""
    sizes = []
    for size_file in root.glob("index*/size"):
        match = re.fullmatch(r"(\d+)([KMG]?)", size_file.read_text().strip())
        if match:
            scale = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}[match.group(2)]
            sizes.append(int(match.group(1)) * scale)
    return max(sizes, default=None)


def _flags(text: str | None) -> frozenset[str] | None:
    """The feature flags of the given /proc/cpuinfo text, else this machine's; None if unknown."""
    info = machine_cpu() if text is None else (parse_cpuinfo(text) if text else None)
    return info.flags if info is not None and info.flags else None
