"""Find and drive a compute device through one small interface.

Only this module touches torch.cuda, torch.accelerator and vendor plugins (torch_npu, torch_mlu,
...). Everything else asks a `Device` for its name, a synchronize function, memory figures and
whether a dtype runs natively. A backend is one `Backend` subclass registered in BACKENDS; vendor
backends that plug into torch's PrivateUse1 slot are `PluginBackend`s naming their module.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import platform
import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import ClassVar

import torch

from subsidybench.dtypes import DType
from subsidybench.errors import UserError


class Support(StrEnum):
    NATIVE = "native"
    EMULATED = "emulated"  # runs, but in software: its rate says nothing of the hardware
    UNSUPPORTED = "unsupported"
    UNKNOWN = "unknown"  # cannot tell: measure it, bounded by the time budget


@dataclass(frozen=True, slots=True)
class DtypeSupport:
    support: Support
    reason: str = ""


class Backend(ABC):
    """One family of devices, addressed by torch device type ("cpu", "cuda", "npu", ...)."""

    type: ClassVar[str]
    module: ClassVar[str | None] = None
    """The package that adds this backend to torch (torch_npu, ...); None if built in."""

    @abstractmethod
    def is_available(self) -> bool: ...

    @abstractmethod
    def device_count(self) -> int: ...

    @abstractmethod
    def device_name(self, index: int) -> str: ...

    @abstractmethod
    def synchronizer(self, index: int) -> Callable[[], None] | None:
        """A function that waits for all queued work on the device; None if there is none."""

    def memory_allocated(self, index: int) -> int | None:
        return None

    def max_memory_allocated(self, index: int) -> int | None:
        return None

    def reset_peak_memory(self, index: int) -> None:
        return None

    def empty_cache(self, index: int) -> None:
        return None

    @abstractmethod
    def dtype_support(self, index: int, dtype: DType) -> DtypeSupport: ...

    def version(self) -> str | None:
        """The backend's runtime version (CUDA, HIP, CANN, ...) as torch reports it."""
        return None

    def driver(self) -> str | None:
        return None


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
        self._flags = _cpu_flags(cpuinfo if cpuinfo is not None else _read_cpuinfo())
        if isa_cap is None:
            isa_cap = os.environ.get("ONEDNN_MAX_CPU_ISA") or os.environ.get("DNNL_MAX_CPU_ISA")
        self._isa_cap = isa_cap.upper() if isa_cap else None

    def is_available(self) -> bool:
        return True

    def device_count(self) -> int:
        return 1

    def device_name(self, index: int) -> str:
        return cpu_model()

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


def _read_cpuinfo() -> str | None:
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return None


def _cpu_flags(cpuinfo: str | None) -> frozenset[str] | None:
    """CPU feature flags from /proc/cpuinfo text ("flags" on x86, "Features" on Arm)."""
    if not cpuinfo:
        return None
    match = re.search(r"^(?:flags|Features)\s*:\s*(.*)$", cpuinfo, re.MULTILINE)
    return frozenset(match.group(1).split()) if match else None


def cpu_model() -> str:
    """The CPU's marketing name, as the OS reports it."""
    info = _read_cpuinfo() or ""
    match = re.search(r"^model name\s*:\s*(.*)$", info, re.MULTILINE)
    if match:
        return match.group(1).strip()
    return platform.processor() or platform.machine() or "unknown cpu"


class AcceleratorBackend(Backend):
    """A backend that torch's device-generic API (torch.accelerator) drives.

    torch.accelerator synchronizes and reports memory for whichever backend is the current
    accelerator, so vendor backends need no code of their own for it.
    """

    def _module(self) -> object:
        return torch.get_device_module(self.type)

    def is_available(self) -> bool:
        accelerator = torch.accelerator.current_accelerator(check_available=True)
        return accelerator is not None and accelerator.type == self.type

    def device_count(self) -> int:
        return torch.accelerator.device_count()

    def device_name(self, index: int) -> str:
        get_name = getattr(self._module(), "get_device_name", None)
        return str(get_name(index)) if get_name else f"{self.type}:{index}"

    def synchronizer(self, index: int) -> Callable[[], None] | None:
        device = torch.device(self.type, index)
        return lambda: torch.accelerator.synchronize(device)

    def memory_allocated(self, index: int) -> int | None:
        return _optional_int(lambda: torch.accelerator.memory_allocated(index))

    def max_memory_allocated(self, index: int) -> int | None:
        return _optional_int(lambda: torch.accelerator.max_memory_allocated(index))

    def reset_peak_memory(self, index: int) -> None:
        _optional_int(lambda: torch.accelerator.reset_peak_memory_stats(index))

    def empty_cache(self, index: int) -> None:
        _optional_int(torch.accelerator.empty_cache)

    def dtype_support(self, index: int, dtype: DType) -> DtypeSupport:
        if dtype is DType.FP32:
            return DtypeSupport(Support.NATIVE)
        return DtypeSupport(Support.UNKNOWN, f"{self.type} does not say whether {dtype} is native")


def _optional_int(read: Callable[[], object]) -> int | None:
    """Memory statistics some backends lack: a missing figure is None, never a made-up 0."""
    try:
        value = read()
    except (RuntimeError, AttributeError, TypeError):  # NotImplementedError is a RuntimeError
        return None
    return int(value) if isinstance(value, int) else None


class CudaBackend(AcceleratorBackend):
    """NVIDIA CUDA, and AMD ROCm, which PyTorch also exposes as the "cuda" device type."""

    type = "cuda"

    def is_available(self) -> bool:
        return torch.cuda.is_available()

    def device_name(self, index: int) -> str:
        return torch.cuda.get_device_name(index)

    def dtype_support(self, index: int, dtype: DType) -> DtypeSupport:
        major, minor = torch.cuda.get_device_capability(index)
        rocm = torch.version.hip is not None
        if dtype is DType.FP32:
            return DtypeSupport(Support.NATIVE)
        if dtype is DType.FP16:
            return DtypeSupport(Support.NATIVE)
        if dtype is DType.BF16:
            if torch.cuda.is_bf16_supported(including_emulation=False):
                return DtypeSupport(Support.NATIVE)
            return DtypeSupport(Support.EMULATED, "bf16 needs compute capability 8.0 or later")
        if dtype is DType.TF32:
            if rocm:
                return DtypeSupport(Support.UNKNOWN, "tf32 support on ROCm depends on the GPU")
            if major >= 8:
                return DtypeSupport(Support.NATIVE)
            return DtypeSupport(Support.UNSUPPORTED, "tf32 needs compute capability 8.0 or later")
        if dtype is DType.FP8 and not rocm and (major, minor) >= (8, 9):
            return DtypeSupport(Support.NATIVE)
        return DtypeSupport(Support.UNSUPPORTED, f"{dtype} workloads are not offered on this GPU")

    def version(self) -> str | None:
        if torch.version.hip:
            return f"HIP {torch.version.hip}"
        return f"CUDA {torch.version.cuda}" if torch.version.cuda else None

    def driver(self) -> str | None:
        # The NVIDIA kernel module states its version here; torch has no public call for it.
        try:
            text = Path("/proc/driver/nvidia/version").read_text()
        except OSError:
            return None
        match = re.search(r"Kernel Module\s+(\S+)", text)
        return match.group(1) if match else None


class PluginBackend(AcceleratorBackend):
    """A vendor backend that an out-of-tree package adds to torch (its PrivateUse1 slot).

    Only one such package can hold the slot in a process, so the first one imported wins; the
    module is imported only when the user asks for its device, or `auto` finds it installed.
    """

    module: ClassVar[str]

    def load(self) -> None:
        try:
            importlib.import_module(self.module)
        except ImportError as e:
            raise UserError(
                f"device {self.type!r} needs the {self.module} package: {e}"
                f" (install the vendor's PyTorch plugin, then run again)"
            ) from None

    def is_installed(self) -> bool:
        return importlib.util.find_spec(self.module) is not None


BACKENDS: dict[str, type[Backend]] = {"cpu": CpuBackend, "cuda": CudaBackend}


def register_backend(cls: type[Backend]) -> type[Backend]:
    """Add a backend (a decorator), replacing any of the same device type."""
    BACKENDS[cls.type] = cls
    return cls


@dataclass(frozen=True, slots=True)
class Device:
    """One device of a backend: what the harness and workloads are given."""

    backend: Backend
    index: int | None

    @property
    def type(self) -> str:
        return self.backend.type

    @property
    def torch_device(self) -> torch.device:
        return (
            torch.device(self.type) if self.index is None else torch.device(self.type, self.index)
        )

    @property
    def _index(self) -> int:
        return self.index or 0

    @property
    def name(self) -> str:
        return self.backend.device_name(self._index)

    def synchronizer(self) -> Callable[[], None] | None:
        return self.backend.synchronizer(self._index)

    def dtype_support(self, dtype: DType) -> DtypeSupport:
        return self.backend.dtype_support(self._index, dtype)

    def peak_memory(self) -> int | None:
        return self.backend.max_memory_allocated(self._index)

    def reset_peak_memory(self) -> None:
        self.backend.reset_peak_memory(self._index)

    def release_memory(self) -> None:
        self.backend.empty_cache(self._index)

    def __str__(self) -> str:
        return str(self.torch_device)


_SPEC = re.compile(r"^(?P<type>[a-z_][a-z0-9_]*)(?::(?P<index>\d+))?$")


def resolve_device(spec: str) -> Device:
    """Turn "auto", "cpu", "cuda", "cuda:1", "npu:0", ... into a Device, or a UserError."""
    spec = spec.strip().lower()
    if spec == "auto":
        return auto_device()
    match = _SPEC.match(spec)
    if not match or match["type"] not in BACKENDS:
        known = ", ".join(["auto", *sorted(BACKENDS)])
        raise UserError(f"--device: unknown device {spec!r} (known: {known})")
    backend = BACKENDS[match["type"]]()
    if isinstance(backend, PluginBackend):
        backend.load()
    if not backend.is_available():
        raise UserError(f"--device: no {backend.type} device is available on this machine")
    if backend.type == "cpu":
        if match["index"] not in (None, "0"):
            raise UserError(f"--device: {spec!r}: the cpu is one device, cpu or cpu:0")
        return Device(backend, None)
    index = int(match["index"] or 0)
    count = backend.device_count()
    if index >= count:
        raise UserError(
            f"--device: {spec!r}: only {count} {backend.type} device(s), 0..{count - 1}"
        )
    return Device(backend, index)


def auto_device() -> Device:
    """The best accelerator present, else the cpu: cuda first, then installed vendor plugins."""
    cuda = CudaBackend()
    if cuda.is_available():
        return Device(cuda, 0)
    for cls in BACKENDS.values():
        backend = cls()
        if isinstance(backend, PluginBackend) and backend.is_installed():
            backend.load()
            if backend.is_available():
                return Device(backend, 0)
    accelerator = torch.accelerator.current_accelerator(check_available=True)
    if accelerator is not None and accelerator.type in BACKENDS and accelerator.type != "cpu":
        return Device(BACKENDS[accelerator.type](), 0)
    return Device(CpuBackend(), None)


def present_devices() -> list[Device]:
    """Every device of every registered backend that is usable now (plugins not imported)."""
    found = [Device(CpuBackend(), None)]
    for cls in BACKENDS.values():
        backend = cls()
        if backend.type == "cpu" or isinstance(backend, PluginBackend):
            continue
        if backend.is_available():
            found.extend(Device(backend, i) for i in range(backend.device_count()))
    return found
