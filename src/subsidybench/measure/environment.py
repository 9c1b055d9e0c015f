"""Capture the machine and software a run is taken on."""

from __future__ import annotations

import importlib.metadata
import platform

import torch

from subsidybench import __version__
from subsidybench.devices import Device, cpu_model
from subsidybench.measure import allocator
from subsidybench.measure.hostload import host_cpus
from subsidybench.results.context import Environment

# Vendor plugins whose versions matter to a result when installed.
_PLUGINS = (
    "torch_npu",
    "torch_mlu",
    "torch_musa",
    "intel_extension_for_pytorch",
    "habana_frameworks",
    "pytorch-triton-rocm",
    "triton",
)


def _plugin_versions() -> dict[str, str]:
    found = {}
    for name in _PLUGINS:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


def capture(device: Device) -> Environment:
    """The environment of a run on `device`."""
    backend = device.backend
    count = backend.device_count()
    names = tuple(backend.device_name(i) for i in range(count))
    return Environment(
        toolkit_version=__version__,
        python=platform.python_version(),
        os=platform.platform(),
        cpu_model=cpu_model(),
        cpu_count=host_cpus(),
        torch_version=torch.__version__,
        torch_threads=torch.get_num_threads(),
        backend=device.type,
        backend_version=backend.version(),
        driver=backend.driver(),
        device_names=names,
        device_count=count,
        plugins=_plugin_versions(),
        allocator=allocator.described(),
    )
