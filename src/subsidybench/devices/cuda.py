"""NVIDIA CUDA, and AMD ROCm, which PyTorch exposes under the same "cuda" device type."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import torch

from subsidybench.devices.base import AcceleratorBackend, DtypeSupport, Support
from subsidybench.devices.energy import EnergyReader, NoEnergy, nvml_reader
from subsidybench.dtypes import DType


class CudaBackend(AcceleratorBackend):
    """NVIDIA CUDA, and AMD ROCm, which PyTorch also exposes as the "cuda" device type."""

    type = "cuda"

    def is_available(self) -> bool:
        return torch.cuda.is_available()

    def device_name(self, index: int) -> str:
        return torch.cuda.get_device_name(index)

    def compile_support(self) -> str | None:
        # Inductor generates Triton kernels for CUDA and ROCm GPUs.
        if importlib.util.find_spec("triton") is not None:
            return None
        return "torch.compile on cuda needs the triton package"

    def cache_bytes(self, index: int) -> int | None:
        return int(torch.cuda.get_device_properties(index).L2_cache_size) or None

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
            return DtypeSupport(Support.NATIVE)  # Ada and Hopper: fp8 tensor cores
        if dtype is DType.INT8 and not rocm and major >= 8:
            return DtypeSupport(Support.NATIVE)  # torch._int_mm's cuBLASLt path, Ampere and later
        return DtypeSupport(Support.UNSUPPORTED, f"{dtype} workloads are not offered on this GPU")

    def energy_reader(self, index: int) -> EnergyReader | NoEnergy:
        if torch.version.hip:
            # torch.cuda.power_draw reads amdsmi on ROCm, but reports 0 W when amdsmi has no
            # reading; nothing here has been checked on AMD hardware, so no figure is given.
            return NoEnergy("no energy reader for ROCm GPUs yet (amdsmi is untested here)")
        return nvml_reader(index)

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
