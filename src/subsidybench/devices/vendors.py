"""Vendor backends: one small adapter each, on top of torch's device-generic API.

Synchronisation and memory come from torch.accelerator (AcceleratorBackend), so an adapter only
says what torch cannot: the module that adds the device, which dtypes run natively, versions, and
anything the backend needs to actually execute queued work. None of this hardware is on the
project's CI machines; tests drive the adapters' logic through a fake backend.
"""

from __future__ import annotations

import importlib
import importlib.util
import platform
import subprocess
from collections.abc import Callable

import torch

from subsidybench.devices.base import AcceleratorBackend, DtypeSupport, PluginBackend, Support
from subsidybench.devices.energy import EnergyReader, NoEnergy
from subsidybench.dtypes import DType
from subsidybench.errors import UserError

_NOT_OFFERED = (DType.TF32, DType.FP8, DType.INT8)


def _common_support(device_module: object, dtype: DType, backend: str) -> DtypeSupport:
    """fp32 and fp16 run natively on every accelerator below; bf16 is asked of the backend."""
    if dtype in (DType.FP32, DType.FP16):
        return DtypeSupport(Support.NATIVE)
    if dtype is DType.BF16:
        probe = getattr(device_module, "is_bf16_supported", None)
        if probe is None:
            return DtypeSupport(Support.UNKNOWN, f"{backend} does not say whether bf16 is native")
        try:
            native = bool(probe())
        except (RuntimeError, TypeError):
            return DtypeSupport(Support.UNKNOWN, f"{backend}'s bf16 probe failed")
        if native:
            return DtypeSupport(Support.NATIVE)
        return DtypeSupport(Support.UNSUPPORTED, f"this {backend} device has no bf16")
    return DtypeSupport(Support.UNSUPPORTED, f"{dtype} workloads are not offered on {backend}")


class AscendBackend(PluginBackend):
    """Huawei Ascend through torch_npu (needs the CANN toolkit installed)."""

    type = "npu"
    module = "torch_npu"

    def dtype_support(self, index: int, dtype: DType) -> DtypeSupport:
        if dtype is DType.TF32:
            # Ascend's own reduced-precision fp32 (HF32) is not tf32 and is not measured here.
            return DtypeSupport(Support.UNSUPPORTED, "tf32 is not an Ascend format")
        return _common_support(self._module(), dtype, "npu")

    def energy_reader(self, index: int) -> EnergyReader | NoEnergy:
        return NoEnergy(
            "no energy reader for Ascend yet: npu-smi info -t power reports watts, but no reader"
            " has been checked on Ascend hardware"
        )

    def _cann(self, component: str) -> str | None:
        try:
            utils = importlib.import_module("torch_npu.npu.utils")
            return str(utils.get_cann_version(module=component))
        except (ImportError, AttributeError, RuntimeError):
            return None

    def version(self) -> str | None:
        cann = self._cann("CANN")
        return f"CANN {cann}" if cann else None

    def driver(self) -> str | None:
        return self._cann("DRIVER")


class CambriconBackend(PluginBackend):
    """Cambricon MLU through torch_mlu (needs the Neuware toolkit installed)."""

    type = "mlu"
    module = "torch_mlu"

    def energy_reader(self, index: int) -> EnergyReader | NoEnergy:
        return NoEnergy(
            "no energy reader for Cambricon yet: cnmon reports board power, but no reader has"
            " been checked on Cambricon hardware"
        )

    def dtype_support(self, index: int, dtype: DType) -> DtypeSupport:
        return _common_support(self._module(), dtype, "mlu")


class MooreThreadsBackend(PluginBackend):
    """Moore Threads MUSA GPUs through torch_musa."""

    type = "musa"
    module = "torch_musa"

    def dtype_support(self, index: int, dtype: DType) -> DtypeSupport:
        return _common_support(self._module(), dtype, "musa")


class EnflameBackend(PluginBackend):
    """Enflame GCUs (CloudBlazer, S60) through torch_gcu (needs the TopsRider stack installed)."""

    type = "gcu"
    module = "torch_gcu"

    def dtype_support(self, index: int, dtype: DType) -> DtypeSupport:
        return _common_support(self._module(), dtype, "gcu")


class BirenBackend(PluginBackend):
    """Biren GPUs through torch_supa, or torch_br where the SDK ships it under that name.

    Biren publishes torch_supa for BR2xx parts (github.com/BIRENSUPA/torch-supa). A BR1xx host
    (Biren106M, SDK 1.11) had torch_br and no torch_supa, and importing torch_br registered
    torch.supa just the same (a third-party porting log); LMCache's supa device spec and Biren's
    own vLLM plugin (vllm_br) import torch_br as well. So the first of the two installed loads.
    The collective name under torch_br was not found; "bccl" is torch_supa's.
    """

    type = "supa"
    module = "torch_supa"
    _ALTERNATE = "torch_br"

    def _installed(self) -> str | None:
        for name in (self.module, self._ALTERNATE):
            if importlib.util.find_spec(name) is not None:
                return name
        return None

    def is_installed(self) -> bool:
        return self._installed() is not None

    def load(self) -> None:
        name = self._installed()
        if name is None or name == self.module:
            super().load()  # the UserError that names torch_supa, if neither is there
            return
        try:
            importlib.import_module(name)
        except ImportError as e:
            raise UserError(
                f"device 'supa' needs the torch_supa or torch_br package: {e}"
                " (install Biren's PyTorch plugin, then run again)"
            ) from None

    def dtype_support(self, index: int, dtype: DType) -> DtypeSupport:
        return _common_support(self._module(), dtype, "supa")


class GaudiBackend(PluginBackend):
    """Intel Gaudi through habana_frameworks.

    In Gaudi's default lazy mode, ops are only queued until mark_step(); synchronising without it
    would time the queuing, not the work, so the synchronizer marks the step first.
    """

    type = "hpu"
    module = "habana_frameworks.torch"

    def synchronizer(self, index: int) -> Callable[[], None] | None:
        core = importlib.import_module("habana_frameworks.torch.core")
        device = torch.device(self.type, index)

        def sync() -> None:
            core.mark_step()
            torch.accelerator.synchronize(device)

        return sync

    def dtype_support(self, index: int, dtype: DType) -> DtypeSupport:
        if dtype in (DType.FP32, DType.BF16, DType.FP16):
            return DtypeSupport(Support.NATIVE)
        return DtypeSupport(Support.UNSUPPORTED, f"{dtype} workloads are not offered on hpu")


class IntelXpuBackend(AcceleratorBackend):
    """Intel GPUs (Data Center GPU Max, Arc) through torch.xpu, built into torch since 2.4."""

    type = "xpu"

    def is_available(self) -> bool:
        return torch.xpu.is_available()

    def dtype_support(self, index: int, dtype: DType) -> DtypeSupport:
        return _common_support(torch.xpu, dtype, "xpu")


class AppleMpsBackend(AcceleratorBackend):
    """Apple silicon GPUs through Metal Performance Shaders (torch.backends.mps)."""

    type = "mps"

    def is_available(self) -> bool:
        return torch.backends.mps.is_available()

    def device_count(self) -> int:
        return 1

    def device_name(self, index: int) -> str:
        # torch.mps has no device name; the chip's is the SoC's ("Apple M3 Max").
        try:
            out = subprocess.run(
                ["sysctl", "-n", "machdep.cpu.brand_string"],
                capture_output=True,
                text=True,
                timeout=5,
            )
        except (OSError, subprocess.TimeoutExpired):
            return f"Apple GPU ({platform.machine()})"
        return out.stdout.strip() or f"Apple GPU ({platform.machine()})"

    def dtype_support(self, index: int, dtype: DType) -> DtypeSupport:
        if dtype is DType.BF16:
            return DtypeSupport(Support.UNKNOWN, "bf16 on mps depends on the macOS version")
        return _common_support(torch.mps, dtype, "mps")


VENDOR_BACKENDS = (
    AscendBackend,
    CambriconBackend,
    MooreThreadsBackend,
    EnflameBackend,
    BirenBackend,
    GaudiBackend,
    IntelXpuBackend,
    AppleMpsBackend,
)
