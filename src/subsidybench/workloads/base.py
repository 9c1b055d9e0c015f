"""The workload interface: a step to time, and the work that step does, stated analytically.

A workload is a frozen dataclass of its parameters (sizes), registered under a name. Adding one
is one small module: subclass Workload, give it a name, a family and the dtypes it runs, count its
work, and build its step. The runner handles timing, dtype support, failures and saving.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar, TypeVar

import torch

from subsidybench.devices import Device
from subsidybench.dtypes import DType
from subsidybench.errors import UserError
from subsidybench.work import Work


class Family(StrEnum):
    PRIMITIVE = "primitive"
    TRAINING = "training"
    INFERENCE = "inference"


# The dtypes a model trains and runs in: fp32, and bf16 and fp16 (mixed precision to train).
MODEL_DTYPES = frozenset({DType.FP32, DType.BF16, DType.FP16})

TORCH_DTYPES: dict[DType, torch.dtype] = {
    DType.FP32: torch.float32,
    DType.TF32: torch.float32,  # stored as fp32; tf32 is how matmuls compute (see precision())
    DType.BF16: torch.bfloat16,
    DType.FP16: torch.float16,
}


class SanityError(Exception):
    """A workload's output is not what the computation must give (not finite, loss not falling)."""


class SkipWorkload(Exception):
    """Raised by prepare() when a workload has no meaning on a device (host-to-device copies on
    the cpu, whose memory is the host's): the result is skipped with the reason, not failed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Step:
    """What the harness times, and what it checks once timing is done."""

    run: Callable[[], object]
    check: Callable[[], Mapping[str, float]] | None = None
    """Raises SanityError if the outputs are wrong; returns metrics to keep with the result."""
    timed_start: Callable[[], None] | None = None
    """Called when warm-up is over, for steps that record figures of their own (latencies)."""


class Workload(ABC):
    """Base of every workload. Subclasses are frozen dataclasses whose fields are the sizes."""

    name: ClassVar[str]
    family: ClassVar[Family]
    dtypes: ClassVar[frozenset[DType]]
    description: ClassVar[str]
    compilable: ClassVar[bool] = False
    """True if prepare(..., compiled=True) builds the step around a torch.compile'd model."""
    data_parallel: ClassVar[bool] = False
    """True if prepare(..., wrap=...) takes a DDP wrapper: `run --distributed` scales it."""

    @abstractmethod
    def work(self, dtype: DType) -> Work:
        """FLOPs, bytes and items of one step, counted by hand from the sizes."""

    @abstractmethod
    def prepare(self, device: Device, dtype: DType) -> Step:
        """Allocate inputs and the model on `device`; return the step. Not timed."""

    def params(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    def label(self) -> str:
        """ "matmul[n=1024]": the name and the sizes, as suites and results show it."""
        inner = ",".join(f"{k}={v}" for k, v in self.params().items())
        return f"{self.name}[{inner}]"


class Infers:
    """Base of a model's inference workload (listed before its shape: `class X(Infers, XShape)`):
    runs in every model dtype, and torch.compile can build it unless a subclass says not."""

    family = Family.INFERENCE
    dtypes = MODEL_DTYPES
    compilable = True


WORKLOADS: dict[str, type[Workload]] = {}


def register(cls: type[Workload]) -> type[Workload]:
    """Class decorator: make a workload available to suites under its name."""
    if cls.name in WORKLOADS:
        raise ValueError(f"workload {cls.name!r} registered twice")
    WORKLOADS[cls.name] = cls
    return cls


def make_workload(name: str, params: Mapping[str, Any], where: str) -> Workload:
    """Build a registered workload from a suite entry; errors name the suite file and entry."""
    cls = WORKLOADS.get(name)
    if cls is None:
        raise UserError(
            f"{where}: unknown workload {name!r} (known: {', '.join(sorted(WORKLOADS))})"
        )
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    for key, value in params.items():
        if key not in fields:
            raise UserError(f"{where}: {name} has no parameter {key!r} (has: {', '.join(fields)})")
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise UserError(f"{where}: {name}.{key}: expected a number or string, got {value!r}")
        if isinstance(value, float) and not math.isfinite(value):
            raise UserError(f"{where}: {name}.{key}: expected a finite number, got {value!r}")
    try:
        return cls(**params)
    except (TypeError, ValueError) as e:
        raise UserError(f"{where}: {name}: {e}") from None


def maybe_compile(model: torch.nn.Module, compiled: bool) -> torch.nn.Module:
    """The model itself, or torch.compile of it: compile pays at the first calls (warm-up)."""
    return torch.compile(model) if compiled else model  # type: ignore[return-value]


def positive(obj: object, *names: str) -> None:
    """For __post_init__: every named size must be a positive integer."""
    for name in names:
        value = getattr(obj, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


@contextlib.contextmanager
def precision(dtype: DType) -> Iterator[None]:
    """Make fp32 matmuls compute in tf32 for DType.TF32 and in full fp32 otherwise.

    Torch's default (allow_tf32 off for matmul) already means full fp32; the setting is forced
    here so a user's global setting cannot turn an fp32 figure into a tf32 one.
    """
    matmul = torch.backends.cuda.matmul
    before = matmul.allow_tf32
    matmul.allow_tf32 = dtype is DType.TF32
    try:
        yield
    finally:
        matmul.allow_tf32 = before


# Rotation sets stop here whatever the cache: past a GiB of copies the inputs cost more memory
# than the benchmark is worth, and 64 sets already cut any one set's reuse to 1 in 64.
_ROTATION_MAX_SETS = 64
_ROTATION_MAX_BYTES = 1 << 30

T = TypeVar("T")


def rotation_sets(device: Device, set_bytes: int, make: Callable[[int], T]) -> list[T]:
    """Independent input sets for a step to cycle through, so it reads memory, not cache.

    A small kernel called again and again on the same inputs finds them in cache and reports a
    rate memory could never feed. Enough sets to fill twice the device's last-level cache break
    that reuse; `make(seed)` builds one set. One set where the cache size is not known.
    """
    cache = device.cache_bytes()
    if cache is None or set_bytes <= 0:
        count = 1
    else:
        count = math.ceil(2 * cache / set_bytes)
        count = min(count, _ROTATION_MAX_SETS, max(1, _ROTATION_MAX_BYTES // set_bytes))
    return [make(seed) for seed in range(max(1, count))]


def random_tensor(shape: tuple[int, ...], dtype: DType, device: Device, seed: int) -> torch.Tensor:
    """Normal(0, 1) values made on the cpu from a fixed seed: every device sees the same input."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g, dtype=torch.float32).to(
        device.torch_device, TORCH_DTYPES[dtype]
    )


def require_finite(**tensors: torch.Tensor) -> None:
    for name, t in tensors.items():
        if not bool(torch.isfinite(t).all()):
            raise SanityError(f"{name} has values that are not finite")


# Largest relative error, ||got - want|| / ||want||, that an output may show against a float64
# reference of the same inputs. Sanity bounds, not accuracy figures: rounding the output alone
# costs up to 2^-8 (bf16), 2^-11 (fp16) and 2^-11 (tf32 inputs); a wrong kernel is off by ~1.
CLOSE_TOLERANCE: dict[DType, float] = {
    DType.FP32: 1e-4,
    DType.TF32: 1e-2,
    DType.BF16: 5e-2,
    DType.FP16: 1e-2,
}


def host_float64(t: torch.Tensor) -> torch.Tensor:
    """A float64 copy on the cpu, converted there: some devices (Apple's MPS) have no float64."""
    return t.detach().cpu().to(torch.float64)


def require_close(name: str, got: torch.Tensor, want: torch.Tensor, dtype: DType) -> float:
    """Raise SanityError unless `got` matches the reference `want`; return the relative error."""
    got64, want64 = host_float64(got), host_float64(want)
    if got64.shape != want64.shape:
        raise SanityError(f"{name} has shape {tuple(got64.shape)}, expected {tuple(want64.shape)}")
    require_finite(**{name: got64})
    error = float(torch.linalg.vector_norm(got64 - want64) / torch.linalg.vector_norm(want64))
    if not error <= CLOSE_TOLERANCE[dtype]:
        raise SanityError(
            f"{name} is off from the reference by {error:.2e} (relative), more than"
            f" {CLOSE_TOLERANCE[dtype]:.0e} allows at {dtype}"
        )
    return error


def finite_float(value: float, name: str) -> float:
    if not math.isfinite(value):
        raise SanityError(f"{name} is not finite ({value})")
    return value
