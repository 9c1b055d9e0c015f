"""What /proc/cpuinfo says about this machine's CPU, read in one place. Torch-free.

The device layer reads the feature flags (which dtypes run natively), the CPU peak derivation the
flags, clock and SMT layout, the environment record the model name.
"""

from __future__ import annotations

import contextlib
import platform
import re
from dataclasses import dataclass
from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")

# /proc/cpuinfo is a few KiB per logical CPU; 8 MiB covers thousands of them. Files under /proc
# report a size of 0, so the limit is on what is read, not on what stat says.
_MAX_BYTES = 8 << 20


@dataclass(frozen=True, slots=True)
class CpuInfo:
    """What /proc/cpuinfo says about the first processor listed."""

    model: str
    flags: frozenset[str]
    mhz: float | None
    threads_per_core: int


def parse_cpuinfo(text: str) -> CpuInfo:
    """Parse /proc/cpuinfo text (x86 "flags" or AArch64 "Features")."""
    fields: dict[str, str] = {}
    mhz: list[float] = []
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key, value = key.strip().lower(), value.strip()
        if key == "cpu mhz":
            with contextlib.suppress(ValueError):
                mhz.append(float(value))
        fields.setdefault(key, value)
    flags = fields.get("flags") or fields.get("features") or ""
    model = fields.get("model name") or fields.get("cpu model") or fields.get("hardware") or ""
    siblings, cores = _int(fields.get("siblings")), _int(fields.get("cpu cores"))
    # "siblings" counts logical CPUs per package, "cpu cores" physical ones: SMT threads share
    # a core's vector units, so they must not be counted as cores.
    threads = siblings // cores if siblings and cores and siblings >= cores else 1
    return CpuInfo(
        model=re.sub(r"\s+", " ", model).strip(),
        flags=frozenset(flags.split()),
        mhz=max(mhz) if mhz else None,
        threads_per_core=max(threads, 1),
    )


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def read_text() -> str:
    """The text of /proc/cpuinfo (bounded); OSError where it cannot be read."""
    with CPUINFO.open(encoding="utf-8", errors="replace") as f:
        return f.read(_MAX_BYTES)


def machine_cpu() -> CpuInfo | None:
    """This machine's CPU, or None where /proc/cpuinfo cannot be read (macOS, Windows)."""
    try:
        return parse_cpuinfo(read_text())
    except OSError:
        return None


def cpu_model() -> str:
    """The CPU's marketing name, as the OS reports it."""
    info = machine_cpu()
    if info is not None and info.model:
        return info.model
    return platform.processor() or platform.machine() or "unknown cpu"
