"""Objects the tests build again and again, in one place."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from subsidybench.measure.environment import Environment

CPU_ENVIRONMENT = Environment(
    toolkit_version="0.1.0",
    python="3.11",
    os="linux",
    cpu_model="test cpu",
    cpu_count=2,
    torch_version="2.13.0",
    torch_threads=2,
    backend="cpu",
    backend_version=None,
    driver=None,
    device_names=("test cpu",),
    device_count=1,
)


def environment(**changes: Any) -> Environment:
    """A test machine's environment: a 2-core CPU unless `changes` say otherwise."""
    return replace(CPU_ENVIRONMENT, **changes)
