"""Where and how a run was taken: the machine and software, the device, the torchrun group.

Parts of the run record (results.record), kept apart so the record's own module stays about
results. Torch-free.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from subsidybench.datafile import Fields, checked


@dataclass(frozen=True, slots=True)
class Environment:
    """The machine and software a run was taken on."""

    toolkit_version: str
    python: str
    os: str
    cpu_model: str
    cpu_count: int
    torch_version: str
    torch_threads: int
    backend: str
    backend_version: str | None
    driver: str | None
    device_names: tuple[str, ...]
    device_count: int
    plugins: Mapping[str, str] = field(default_factory=dict)
    # How the C allocator was held while measuring (measure/allocator.py); None in a file from
    # before it was recorded.
    allocator: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "toolkit_version": self.toolkit_version,
            "python": self.python,
            "os": self.os,
            "cpu_model": self.cpu_model,
            "cpu_count": self.cpu_count,
            "torch_version": self.torch_version,
            "torch_threads": self.torch_threads,
            "backend": self.backend,
            "backend_version": self.backend_version,
            "driver": self.driver,
            "device_names": list(self.device_names),
            "device_count": self.device_count,
            "plugins": dict(self.plugins),
            # Left out where unknown, so a file from before it was recorded reads back as it was.
            **({"allocator": self.allocator} if self.allocator is not None else {}),
        }

    @classmethod
    def from_fields(cls, f: Fields) -> Environment:
        plugins = f.table("plugins", {})
        return cls(
            toolkit_version=f.str("toolkit_version"),
            python=f.str("python"),
            os=f.str("os"),
            cpu_model=f.str("cpu_model"),
            cpu_count=f.int("cpu_count"),
            torch_version=f.str("torch_version"),
            torch_threads=f.int("torch_threads"),
            backend=f.str("backend"),
            backend_version=f.str("backend_version", None),
            driver=f.str("driver", None),
            device_names=tuple(f.list("device_names")),
            device_count=f.int("device_count"),
            plugins={k: plugins.str(k) for k in plugins.data},
            allocator=f.str("allocator", None),
        )


@dataclass(frozen=True, slots=True)
class Distributed:
    """A run taken by a group of processes (torchrun ranks), one device each.

    Rank 0 writes the file for the whole group: `device` and `environment` are rank 0's, and
    every timed sample is the slowest rank's time for that block. Host names are not kept: a
    result file travels to colleagues and vendors, and an unsalted hash of a guessable name
    (gpu-node-07) is no anonymity; the node count and ranks per node are all a reader needs.
    """

    world_size: int
    backend: str
    """The torch.distributed backend: gloo, nccl, hccl, xccl, ..."""
    backend_version: str | None
    node_count: int
    ranks_per_node: tuple[int, ...]
    """Ranks on each node, largest first; sums to world_size."""
    timeout_s: float
    """How long a rank waited for the others in one collective before the group gave up."""
    stopped: str = ""
    """Why the group stopped before the end (a rank died or hung); empty if it did not."""

    def __post_init__(self) -> None:
        if self.world_size < 1:
            raise ValueError(f"world_size must be >= 1, got {self.world_size}")
        if not self.backend:
            raise ValueError("a distributed run must name its backend")
        if self.node_count < 1 or len(self.ranks_per_node) != self.node_count:
            raise ValueError("ranks_per_node must give one count per node")
        if any(n < 1 for n in self.ranks_per_node) or sum(self.ranks_per_node) != self.world_size:
            raise ValueError(
                f"ranks_per_node {list(self.ranks_per_node)} must sum to world_size "
                f"{self.world_size}"
            )
        if not (math.isfinite(self.timeout_s) and self.timeout_s > 0):
            raise ValueError(f"timeout_s must be > 0, got {self.timeout_s}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "world_size": self.world_size,
            "backend": self.backend,
            "backend_version": self.backend_version,
            "node_count": self.node_count,
            "ranks_per_node": list(self.ranks_per_node),
            "timeout_s": self.timeout_s,
            "stopped": self.stopped,
        }

    @classmethod
    def from_fields(cls, f: Fields) -> Distributed:
        f.reject_unknown(
            {
                "world_size",
                "backend",
                "backend_version",
                "node_count",
                "ranks_per_node",
                "timeout_s",
                "stopped",
            }
        )
        per_node = f.list("ranks_per_node")
        for i, n in enumerate(per_node):
            if isinstance(n, bool) or not isinstance(n, int):
                raise f.error(f"ranks_per_node[{i}]", f"expected a whole number, got {n!r}")
        return checked(
            f,
            lambda: cls(
                world_size=f.int("world_size"),
                backend=f.str("backend"),
                backend_version=f.str("backend_version", None),
                node_count=f.int("node_count"),
                ranks_per_node=tuple(per_node),
                timeout_s=f.float("timeout_s"),
                stopped=f.str("stopped", ""),
            ),
        )


@dataclass(frozen=True, slots=True)
class DeviceRecord:
    """The device a run measured: torch device type and index, and the name it reported."""

    type: str
    index: int | None
    name: str

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"
