"""Reading a device's energy: a hardware counter where there is one, else its power.

A backend either gives an `EnergyReader` or a `NoEnergy` that says why it cannot; nothing is ever
estimated in place of a reading. Readers here:

- RAPL (Linux powercap, /sys/class/powercap/intel-rapl:N/energy_uj): the CPU packages' energy
  counters, Intel since Sandy Bridge and AMD since Linux 5.8. They wrap at max_energy_range_uj,
  and since CVE-2020-8694 most distributions let only root read them.
- NVML (nvidia-ml-py's pynvml, imported only when asked): the GPU's total energy counter in mJ on
  Volta and later; on older GPUs, power (nvmlDeviceGetPowerUsage, mW) sampled and integrated.
  Zeus (ml-energy/zeus) and codecarbon read the same two sources; both drag in far more than two
  calls' worth of dependencies, so the readers are written here.

The readers are torch-free except for the one call that maps a CUDA device index to an NVML
index (torch.cuda knows CUDA_VISIBLE_DEVICES); vendor accelerators without a reader say so.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from pathlib import Path

POWERCAP = Path("/sys/class/powercap")


@dataclass(frozen=True, slots=True)
class NoEnergy:
    """Why a device's energy cannot be read here."""

    why: str

    def __post_init__(self) -> None:
        if not self.why:
            raise ValueError("NoEnergy must say why")


class EnergyReader:
    """Reads one device's cumulative energy, its power, or both."""

    method: str
    """How energy is read, as results record it ("nvml energy counter", ...)."""
    has_counter: bool
    """True if energy_j() reads a hardware counter; else energy is integrated from power_w()."""

    def energy_j(self) -> float:
        """Joules since some fixed origin (monotonic, wraparound handled); needs has_counter."""
        raise RuntimeError(f"{self.method} has no energy counter: read power_w() instead")

    def power_w(self) -> float | None:
        """Watts now, or None if the reader has no power sensor (the counter's slope is used)."""
        return None


class RaplReader(EnergyReader):
    """The sum of every CPU package's RAPL counter, with each counter's wraparound undone."""

    has_counter = True

    def __init__(self, domains: list[Path]) -> None:
        self._files = [d / "energy_uj" for d in domains]
        self._ranges = [int((d / "max_energy_range_uj").read_text()) for d in domains]
        self._last = [self._raw(i) for i in range(len(domains))]
        self._total_uj = 0
        names = ", ".join(d.name for d in domains)
        self.method = f"rapl package energy counter ({names})"

    def _raw(self, i: int) -> int:
        return int(self._files[i].read_text())

    def energy_j(self) -> float:
        for i in range(len(self._files)):
            raw = self._raw(i)
            delta = raw - self._last[i]
            if delta < 0:  # the counter wrapped past max_energy_range_uj back to 0
                delta += self._ranges[i] + 1
            self._total_uj += delta
            self._last[i] = raw
        return self._total_uj / 1e6


_PACKAGE = re.compile(r"^intel-rapl:\d+$")  # packages; intel-rapl:0:0 etc. are parts of one


def rapl_reader(root: Path = POWERCAP) -> RaplReader | NoEnergy:
    """The CPU packages' RAPL counters, or why they cannot be read."""
    if not root.is_dir():
        return NoEnergy(f"no {root}: this kernel exposes no RAPL counters (a VM or container?)")
    domains = sorted(d for d in root.iterdir() if _PACKAGE.match(d.name))
    if not domains:
        return NoEnergy(f"no intel-rapl:N package domains under {root}")
    try:
        return RaplReader(domains)
    except PermissionError:
        return NoEnergy(
            f"{domains[0]}/energy_uj is readable by root only (since CVE-2020-8694);"
            " run as root or grant read access"
        )
    except (OSError, ValueError) as e:
        return NoEnergy(f"cannot read RAPL under {root}: {e}")


class NvmlReader(EnergyReader):
    """One NVIDIA GPU through NVML: the total energy counter (Volta+), and power in watts."""

    def __init__(self, nvml: object, handle: object, has_counter: bool) -> None:
        self._nvml = nvml
        self._handle = handle
        self.has_counter = has_counter
        self.method = (
            "nvml total energy counter" if has_counter else "nvml power samples, integrated"
        )

    def energy_j(self) -> float:
        # Millijoules since the driver was last loaded.
        return self._nvml.nvmlDeviceGetTotalEnergyConsumption(self._handle) / 1e3  # type: ignore[attr-defined]

    def power_w(self) -> float | None:
        # Milliwatts; on A100 and later NVML averages this over about a second.
        return self._nvml.nvmlDeviceGetPowerUsage(self._handle) / 1e3  # type: ignore[attr-defined]


def nvml_reader(index: int) -> NvmlReader | NoEnergy:
    """CUDA device `index` through NVML, or why not (no nvidia-ml-py, no driver, no sensor)."""
    try:
        nvml = importlib.import_module("pynvml")
    except ImportError:
        return NoEnergy("nvidia-ml-py (pynvml) is not installed: pip install nvidia-ml-py")
    try:
        import torch

        # torch maps the CUDA index to NVML's, minding CUDA_VISIBLE_DEVICES (it calls nvmlInit).
        handle = torch.cuda._get_pynvml_handler(index)  # type: ignore[attr-defined]
    except Exception as e:  # NVML raises its own error classes
        return NoEnergy(f"NVML cannot open cuda:{index}: {type(e).__name__}: {e}")
    try:
        nvml.nvmlDeviceGetTotalEnergyConsumption(handle)
        counter = True
    except Exception:  # NVMLError_NotSupported before Volta
        counter = False
    reader = NvmlReader(nvml, handle, counter)
    if not counter:
        try:
            reader.power_w()
        except Exception as e:  # any NVMLError
            return NoEnergy(f"NVML has neither an energy counter nor power for cuda:{index}: {e}")
    return reader
