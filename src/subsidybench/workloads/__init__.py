"""Workloads, one module per family, found automatically: importing this package registers them.

A new workload is one new module in this folder (a Workload subclass under @register) and a line
in a suite TOML; nothing else names it.

Imports devices and the vocabulary modules.
"""

import importlib
import pkgutil
from types import ModuleType

from subsidybench.workloads.base import WORKLOADS, Family, Step, Workload, make_workload


def discover(package: ModuleType) -> list[str]:
    """Import every module of `package`, so their @register decorators run; their names."""
    names = []
    for info in pkgutil.iter_modules(package.__path__, f"{package.__name__}."):
        importlib.import_module(info.name)
        names.append(info.name)
    return names


discover(importlib.import_module(__name__))

__all__ = ["WORKLOADS", "Family", "Step", "Workload", "discover", "make_workload"]
