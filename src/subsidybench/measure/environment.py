"""Capture the machine and software a run is taken on."""

from __future__ import annotations

import torch

from subsidybench.devices import Device
from subsidybench.measure import allocator
from subsidybench.measure.host import host_fields, installed_versions
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


def capture(device: Device) -> Environment:
    """The environment of a run on `device`."""
    backend = device.backend
    count = backend.device_count()
    names = tuple(backend.device_name(i) for i in range(count))
    return Environment(
        **host_fields(),
        torch_version=torch.__version__,
        torch_threads=torch.get_num_threads(),
        backend=device.type,
        backend_version=backend.version(),
        driver=backend.driver(),
        device_names=names,
        device_count=count,
        plugins=installed_versions(_PLUGINS),
        allocator=allocator.described(),
    )
