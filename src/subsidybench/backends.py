"""The device types subsidybench knows: for each, the extension module that provides it and the
torch.distributed backend its collectives use. Torch-free: device profiles are checked against
it where torch cannot run.

Adding a device family is one row here and one Backend subclass in devices/.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class DeviceType:
    """One torch device type."""

    name: str
    """As torch names it: "cuda", "npu", ..."""
    module: str | None
    """The package that adds it to torch (None: built into torch), as a profile's `module`
    names it; the Backend imports it, or a submodule of it."""
    collective: str | None
    """The torch.distributed backend for its collectives (None: torch's own default, if any)."""


# The vendor entries are the names their PyTorch plugins register (torch_npu: hccl, torch_mlu:
# cncl, torch_musa: mccl, habana_frameworks: hccl); xccl is built into torch for Intel GPUs since
# 2.7, and intel_extension_for_pytorch only adds optimisations to it.
# Enflame: torch_gcu renames PrivateUse1 to "gcu" and registers "eccl" (its README, "replace cuda
# with gcu and nccl with eccl", github.com/EnflameTechnology/torch-gcu).
# Biren: torch_supa renames it to "supa" and registers "bccl" for it
# (torch_supa/distributed/distributed_c10d.py, github.com/BIRENSUPA/torch-supa); that package is
# for BR2xx parts, and BR1xx software stacks ship the same device type as torch_br (see
# devices/vendors.py). Iluvatar CoreX needs no row: its PyTorch reports "cuda".
DEVICE_TYPES: Mapping[str, DeviceType] = MappingProxyType(
    {
        t.name: t
        for t in (
            DeviceType("cpu", None, "gloo"),
            DeviceType("cuda", None, "nccl"),  # ROCm reports itself as cuda too (RCCL)
            DeviceType("npu", "torch_npu", "hccl"),
            DeviceType("mlu", "torch_mlu", "cncl"),
            DeviceType("musa", "torch_musa", "mccl"),
            DeviceType("gcu", "torch_gcu", "eccl"),
            DeviceType("supa", "torch_supa", "bccl"),
            DeviceType("hpu", "habana_frameworks", "hccl"),
            DeviceType("xpu", "intel_extension_for_pytorch", "xccl"),
            DeviceType("mps", None, None),
        )
    }
)
