"""A compute contract's promised figures, read from a TOML file and checked as it is read.

A contract lists clauses, each a figure the supplier promised (a minimum): per-device matmul
TFLOP/s at a dtype, memory bandwidth, all-reduce bus bandwidth at a message size, GPT training
MFU, the device count and the memory per device. `results.acceptance` checks the clauses against
runs. The file is data: parsed with tomllib, validated field by field, never executed; every
error names the file and the field. Torch-free.

    contract = "8 x H100 SXM, cluster A"
    confidence = 0.95                 # how sure a shortfall must be before a clause fails
    benefit_of_doubt = "supplier"     # or "buyer": a clause passes only when shown to be met

    [[clause]]
    figure = "matmul_tflops"
    dtype = "bf16"
    min = 700
"""

from __future__ import annotations

import datetime
import math
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from subsidybench.datafile import Fields, checked, read_toml
from subsidybench.dtypes import DType


class Quantity(StrEnum):
    """What a clause promises, in the unit its `min` is written in."""

    MATMUL_TFLOPS = "matmul_tflops"
    """Dense matmul on one device at `dtype`, TFLOP/s (10^12)."""
    MEMORY_BANDWIDTH_GBS = "memory_bandwidth_gbs"
    """Device memory bandwidth from the copy and triad workloads, GB/s (10^9 bytes)."""
    ALLREDUCE_BUSBW_GBS = "allreduce_busbw_gbs"
    """All-reduce bus bandwidth (nccl-tests' definition) at `bytes` per message, GB/s."""
    GPT_TRAIN_MFU = "gpt_train_mfu"
    """GPT training FLOP/s over the run's profile peak at `dtype`, a fraction (0.4 = 40%)."""
    DEVICES = "devices"
    """Devices in the group: the torchrun world size, or the devices the host reported."""
    MEMORY_GB_PER_DEVICE = "memory_gb_per_device"
    """Memory on one device, GB (10^9 bytes)."""

    @property
    def unit(self) -> str:
        return _UNITS[self]


_UNITS = {
    Quantity.MATMUL_TFLOPS: "TFLOP/s",
    Quantity.MEMORY_BANDWIDTH_GBS: "GB/s",
    Quantity.ALLREDUCE_BUSBW_GBS: "GB/s",
    Quantity.GPT_TRAIN_MFU: "MFU",
    Quantity.DEVICES: "devices",
    Quantity.MEMORY_GB_PER_DEVICE: "GB",
}

# Fields each kind of clause may carry beyond the common ones; anything else is refused, so a
# typo ("dtpye") cannot silently drop a condition.
_COMMON = {"figure", "min", "optional", "ref"}
_EXTRA = {
    Quantity.MATMUL_TFLOPS: {"dtype", "workload"},
    Quantity.MEMORY_BANDWIDTH_GBS: {"workload"},
    Quantity.ALLREDUCE_BUSBW_GBS: {"bytes", "world_size"},
    Quantity.GPT_TRAIN_MFU: {"dtype", "workload"},
    Quantity.DEVICES: set(),
    Quantity.MEMORY_GB_PER_DEVICE: set(),
}


class Doubt(StrEnum):
    """Who gets the benefit of the doubt when the samples cannot tell."""

    SUPPLIER = "supplier"
    """A clause fails only when a shortfall is shown at the contract's confidence."""
    BUYER = "buyer"
    """A clause passes only when meeting the promise is shown at the contract's confidence."""


@dataclass(frozen=True, slots=True)
class Clause:
    """One promised figure: at least `minimum` of `quantity`."""

    quantity: Quantity
    minimum: float
    dtype: DType | None = None
    workload: str | None = None
    """A result id or workload name that measures it; default: chosen as `acceptance` says."""
    nbytes: int | None = None
    """All-reduce message size in bytes."""
    world_size: int | None = None
    """All-reduce ranks; default: the largest group measured at `nbytes`."""
    optional: bool = False
    """Not measured is then not a failure."""
    ref: str = ""
    """Where the contract says it ("schedule 2, item 3"), for the reader."""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.minimum) and self.minimum > 0):
            raise ValueError(f"min must be a finite number > 0, got {self.minimum:g}")
        if self.quantity is Quantity.GPT_TRAIN_MFU and self.minimum > 1:
            raise ValueError(f"an MFU is a fraction of peak (0.4 for 40%), got {self.minimum:g}")
        if self.quantity in (Quantity.MATMUL_TFLOPS, Quantity.GPT_TRAIN_MFU) and not self.dtype:
            raise ValueError(f"a {self.quantity} clause needs a dtype")
        if self.quantity is Quantity.ALLREDUCE_BUSBW_GBS and not self.nbytes:
            raise ValueError("an all-reduce clause needs the message size in bytes")
        if self.nbytes is not None and self.nbytes < 1:
            raise ValueError(f"bytes must be >= 1, got {self.nbytes}")
        if self.world_size is not None and self.world_size < 2:
            raise ValueError(f"world_size must be >= 2 for a collective, got {self.world_size}")

    def describe(self) -> str:
        """'matmul_tflops bf16 >= 700 TFLOP/s', as the table shows it."""
        what = str(self.quantity)
        if self.dtype is not None:
            what += f" {self.dtype}"
        if self.nbytes is not None:
            what += f" at {_size_text(self.nbytes)}"
        if self.world_size is not None:
            what += f" on {self.world_size} ranks"
        if self.quantity is Quantity.GPT_TRAIN_MFU:
            return f"{what} >= {self.minimum:.1%}"
        if self.quantity is Quantity.DEVICES:
            return f"{what} >= {self.minimum:g}"
        return f"{what} >= {self.minimum:,.6g} {self.quantity.unit}"


@dataclass(frozen=True, slots=True)
class Contract:
    """A contract's clauses and how sure a verdict on them must be."""

    name: str
    source: str
    clauses: tuple[Clause, ...]
    confidence: float = 0.95
    doubt: Doubt = Doubt.SUPPLIER
    supplier: str = ""
    signed: str = ""

    def __post_init__(self) -> None:
        if not 0.5 <= self.confidence < 1:
            raise ValueError(f"confidence must be in [0.5, 1), got {self.confidence:g}")
        if not self.clauses:
            raise ValueError("a contract needs at least one [[clause]]")


_SIZE = re.compile(r"^\s*(\d+)\s*(B|KiB|MiB|GiB)?\s*$")
_SCALE = {None: 1, "B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}


def _size_text(nbytes: int) -> str:
    for unit in ("GiB", "MiB", "KiB"):
        if nbytes % _SCALE[unit] == 0:
            return f"{nbytes // _SCALE[unit]} {unit}"
    return f"{nbytes} B"


def _nbytes(f: Fields, key: str) -> int | None:
    if not f.has(key):
        return None
    value = f.data[key]
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    m = _SIZE.match(value) if isinstance(value, str) else None
    if m is None:
        raise f.error(key, f"expected bytes as a whole number or e.g. '256MiB', got {value!r}")
    return int(m[1]) * _SCALE[m[2]]


def _clause(f: Fields) -> Clause:
    quantity = f.choice("figure", {q.value: q for q in Quantity})
    f.reject_unknown(_COMMON | _EXTRA[quantity])
    dtype = f.choice("dtype", {d.value: d for d in DType}, None)
    return checked(
        f,
        lambda: Clause(
            quantity=quantity,
            minimum=f.float("min"),
            dtype=dtype,
            workload=f.str("workload", None),
            nbytes=_nbytes(f, "bytes"),
            world_size=f.int("world_size", None),
            optional=f.bool("optional", False),
            ref=f.str("ref", ""),
        ),
    )


def parse_contract(data: object, source: str) -> Contract:
    """A contract from parsed TOML; UserError naming `source` and the field on any mistake."""
    f = Fields(data, source)
    f.reject_unknown({"contract", "supplier", "signed", "confidence", "benefit_of_doubt", "clause"})
    clauses = tuple(_clause(c) for c in f.tables("clause", []))
    return checked(
        f,
        lambda: Contract(
            name=f.str("contract"),
            source=source,
            clauses=clauses,
            confidence=f.float("confidence", 0.95),
            doubt=f.choice("benefit_of_doubt", {d.value: d for d in Doubt}, Doubt.SUPPLIER),
            supplier=f.str("supplier", ""),
            signed=_date_text(f, "signed"),
        ),
    )


def _date_text(f: Fields, key: str) -> str:
    # TOML has a date type: `signed = 2026-01-15` arrives as a date, `"2026-01-15"` as text.
    value = f.data.get(key, "")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return f.str(key, "")


def load_contract(path: Path) -> Contract:
    """Read and check a contract file."""
    return parse_contract(read_toml(path), str(path))
