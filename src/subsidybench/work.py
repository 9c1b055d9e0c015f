"""What one step of a workload does, counted analytically, and the rates that follow from time.

Every workload states its FLOPs, bytes moved and items (samples, tokens, images) per step, so that
TFLOP/s, GB/s and items/s follow from the measured time alone. Torch-free: results and the cost
model read these records without importing torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Work:
    """Work done by one step. `bytes` counts the minimum traffic to and from device memory."""

    flops: float
    bytes: float
    items: float
    item_unit: str

    def __post_init__(self) -> None:
        for name in ("flops", "bytes", "items"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"Work.{name} must be a finite number >= 0, got {value!r}")
        if not self.item_unit:
            raise ValueError("Work.item_unit must name what an item is (sample, token, ...)")

    @property
    def arithmetic_intensity(self) -> float:
        """FLOPs per byte moved; decides whether a step is compute- or bandwidth-bound."""
        return self.flops / self.bytes if self.bytes else math.inf

    def to_dict(self) -> dict[str, float | str]:
        return {
            "flops": self.flops,
            "bytes": self.bytes,
            "items": self.items,
            "item_unit": self.item_unit,
        }
