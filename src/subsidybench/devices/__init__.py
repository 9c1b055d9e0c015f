"""Find and drive a compute device through one small interface.

Only this package touches torch.cuda, torch.accelerator and vendor plugins (torch_npu, torch_mlu,
...). Everything else asks a `Device` for its name, a synchronize function, memory figures and
whether a dtype runs natively. A backend is one `Backend` subclass in BACKENDS: cpu and cuda
(which ROCm also reports as) built in, vendor adapters in vendors.py, and any that an installed
package declares under the "subsidybench.backends" entry point group.

Vendor packages take over torch's one PrivateUse1 slot and rename it ("npu", "mlu", "musa"), so
only one of them can load in a process: a plugin's module is imported only when its device is
asked for, or when `auto` finds the package installed.

Imports only the vocabulary modules.
"""

from __future__ import annotations

import functools
import importlib.metadata
import re
import sys

import torch

from subsidybench.cpuinfo import cpu_model
from subsidybench.devices.base import (
    AcceleratorBackend,
    Backend,
    Device,
    DtypeSupport,
    PluginBackend,
    Support,
)
from subsidybench.devices.cpu import CpuBackend
from subsidybench.devices.cuda import CudaBackend
from subsidybench.devices.vendors import VENDOR_BACKENDS
from subsidybench.errors import UserError

__all__ = [
    "BACKENDS",
    "AcceleratorBackend",
    "Backend",
    "CpuBackend",
    "CudaBackend",
    "Device",
    "DtypeSupport",
    "PluginBackend",
    "Support",
    "auto_device",
    "cpu_model",
    "load_entry_point_backends",
    "present_devices",
    "register_backend",
    "resolve_device",
]

ENTRY_POINT_GROUP = "subsidybench.backends"

BACKENDS: dict[str, type[Backend]] = {
    backend.type: backend for backend in (CpuBackend, CudaBackend, *VENDOR_BACKENDS)
}


def register_backend(cls: type[Backend]) -> type[Backend]:
    """Add a backend (a decorator), replacing any of the same device type."""
    BACKENDS[cls.type] = cls
    return cls


def load_entry_point_backends() -> list[str]:
    """Register backends that installed packages declare under "subsidybench.backends".

    Only packages the user installed can add a backend: no module name is ever taken from a data
    file. A plugin that fails to import, or is not a Backend class, is skipped with a warning
    naming it (BROKEN_PLUGINS keeps why): one broken package must not stop runs on the devices
    that work. Returns the device types added.
    """
    added = []
    for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            cls = entry.load()
        except Exception as e:  # any import failure of third-party code: isolate it
            _broken(entry.name, entry.value, f"{type(e).__name__}: {e}")
            continue
        if not (isinstance(cls, type) and issubclass(cls, Backend)):
            _broken(entry.name, entry.value, "not a Backend class")
            continue
        register_backend(cls)
        added.append(cls.type)
    return added


BROKEN_PLUGINS: dict[str, str] = {}
"""Entry points skipped, by name, with why."""


def _broken(name: str, value: str, why: str) -> None:
    why = " ".join(why.split())  # one line, whatever the plugin's message
    BROKEN_PLUGINS[name] = why
    # Straight to stderr: the CLI has no hook between library calls, and a plugin that silently
    # vanished would leave its user wondering where the device went.
    print(
        f"warning: backend plugin {name!r} ({value}) is skipped: {why}",
        file=sys.stderr,
    )


@functools.cache
def _with_entry_points() -> None:
    """Load entry-point backends once, at the first lookup that needs the full registry."""
    load_entry_point_backends()


_SPEC = re.compile(r"^(?P<type>[a-z_][a-z0-9_]*)(?::(?P<index>\d+))?$")


def resolve_device(spec: str) -> Device:
    """Turn "auto", "cpu", "cuda", "cuda:1", "npu:0", ... into a Device, or a UserError.

    Plugins are loaded lazily, at the first lookup of a device other than the cpu (a plugin may
    replace a built-in adapter, so any accelerator lookup loads them): `--device cpu` never
    imports a third-party package, and a broken one is skipped with a warning."""
    spec = spec.strip().lower()
    if spec == "auto":
        return auto_device()
    match = _SPEC.match(spec)
    if not match or match["type"] != "cpu":
        _with_entry_points()
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
    _with_entry_points()
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
    _with_entry_points()
    found = [Device(CpuBackend(), None)]
    for cls in BACKENDS.values():
        backend = cls()
        if backend.type == "cpu" or isinstance(backend, PluginBackend):
            continue
        if backend.is_available():
            found.extend(Device(backend, i) for i in range(backend.device_count()))
    return found
