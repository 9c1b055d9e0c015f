"""What every result records of the host that took it: the toolkit, Python, the OS and the CPU,
and the versions of packages that matter to it. Torch-free: an endpoint sweep, which imports no
torch, records its client machine with the same fields as a device run (environment.capture)."""

from __future__ import annotations

import importlib.metadata
import platform
from collections.abc import Iterable
from typing import Any

from subsidybench import __version__
from subsidybench.cpuinfo import cpu_model
from subsidybench.measure.hostload import host_cpus


def host_fields() -> dict[str, Any]:
    """The host's fields of a results.context.Environment (no host name: a result travels)."""
    return {
        "toolkit_version": __version__,
        "python": platform.python_version(),
        "os": platform.platform(),
        "cpu_model": cpu_model(),
        "cpu_count": host_cpus(),
    }


def installed_versions(names: Iterable[str]) -> dict[str, str]:
    """The version of each package in `names` that is installed; the others are left out."""
    found = {}
    for name in names:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found
