"""The backend interface every device family implements, and the Device the harness is given."""

from __future__ import annotations

import importlib
import importlib.util
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

import torch

from subsidybench.devices.energy import EnergyReader, NoEnergy
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

    def cache_bytes(self, index: int) -> int | None:
        """Size of the last-level cache, which small inputs must overflow to measure memory."""
        return None

    def compile_support(self) -> str | None:
        """None if torch.compile works on this backend, else why not."""
        return f"torch.compile is not known to work on {self.type}"

    @abstractmethod
    def dtype_support(self, index: int, dtype: DType) -> DtypeSupport: ...

    def version(self) -> str | None:
        """The backend's runtime version (CUDA, HIP, CANN, ...) as torch reports it."""
        return None

    def driver(self) -> str | None:
        return None

    def energy_reader(self, index: int) -> EnergyReader | NoEnergy:
        """A reader of the device's energy, or why there is none (never an estimate)."""
        return NoEnergy(f"no energy reader is written for {self.type} devices")


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
    except (RuntimeError, AttributeError, TypeError):  # RuntimeError covers "not implemented"
        return None
    return int(value) if isinstance(value, int) else None


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
        # find_spec of "a.b" raises, rather than answering None, when "a" itself is missing.
        try:
            return importlib.util.find_spec(self.module) is not None
        except ModuleNotFoundError:
            return False


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

    def cache_bytes(self) -> int | None:
        return self.backend.cache_bytes(self._index)

    def compile_support(self) -> str | None:
        return self.backend.compile_support()

    def energy_reader(self) -> EnergyReader | NoEnergy:
        return self.backend.energy_reader(self._index)

    def release_memory(self) -> None:
        self.backend.empty_cache(self._index)

    def make_current(self) -> None:
        """Make this the current device of its backend, as collective libraries expect."""
        if self.index is not None:
            torch.accelerator.set_device_index(self.index)

    def __str__(self) -> str:
        return str(self.torch_device)
