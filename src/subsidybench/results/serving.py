"""The throughput-interactivity curve of a run's serving points, its Pareto front, and goodput.

A serving result (workloads/serving.py) is one point: at a concurrency, the time to first token
(TTFT), time per output token (TPOT), tokens per second per user (1 / median TPOT) and output
tokens per second per device. The points of one model, dtype and prompt/reply lengths make a
curve, as InferenceMAX draws it: throughput per device against interactivity per user.

Goodput follows vLLM's benchmark (benchmarks/benchmark_serving.py, --goodput): the requests that
meet every SLO (TTFT, TPOT) per second. The requests of one point run in lock-step, so they meet
an SLO together; an SLO taken at percentile p holds for at least p% of the tokens and batches
timed. Goodput is then the point that meets the SLO with the most throughput, and its rate.

Torch-free: the cost model and reports read the curve where torch cannot run.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from subsidybench.errors import UserError

if TYPE_CHECKING:  # names for annotations: `cost --serve` reads no run record
    from subsidybench.results.record import ParamValue, WorkloadResult

PERCENTILES = (50, 90, 99)
_POINT_PARAMS = ("concurrency", "prompt", "new_tokens")
_POINT_METRICS = (
    *(f"{kind}_p{p}_s" for kind in ("ttft", "tpot") for p in PERCENTILES),
    "tokens_per_s_per_user",
)


def _positive(value: float, name: str) -> None:
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")


@dataclass(frozen=True, slots=True)
class Percentiles:
    """A latency at the 50th, 90th and 99th percentiles, in seconds."""

    p50: float
    p90: float
    p99: float

    def __post_init__(self) -> None:
        for p in PERCENTILES:
            _positive(getattr(self, f"p{p}"), f"p{p}")
        if not self.p50 <= self.p90 <= self.p99:
            raise ValueError(f"percentiles must not fall: {self.p50}, {self.p90}, {self.p99}")

    def at(self, percentile: int) -> float:
        if percentile not in PERCENTILES:
            raise ValueError(f"percentile must be one of {PERCENTILES}, got {percentile}")
        return float(getattr(self, f"p{percentile}"))

    def scaled(self, factor: float) -> Percentiles:
        return Percentiles(self.p50 * factor, self.p90 * factor, self.p99 * factor)


@dataclass(frozen=True, slots=True)
class CurvePoint:
    """One concurrency of a serving sweep, as measured (or derived, see `derived_from_layers`)."""

    result_id: str
    concurrency: int
    prompt: int
    new_tokens: int
    ttft_s: Percentiles
    tpot_s: Percentiles
    tokens_per_s_per_user: float
    """Interactivity: 1 / median TPOT, the speed at which one user's reply streams."""
    output_tokens_per_s: float
    """Per device: concurrency x new_tokens over the median time of a served batch."""
    input_tokens_per_s: float
    """Per device: concurrency x prompt over the same time."""
    peak_memory_bytes: int | None
    """None where the device does not report it (the cpu), and for derived points."""
    valid: bool
    """The measurement's verdict: False means the figure is not fit to be costed."""
    derived_from_layers: tuple[int, int] | None = None
    """(measured layers, model layers) when the figures are scaled from a few layers to the
    whole model; None when they are the measured model's own."""

    def __post_init__(self) -> None:
        for name in ("concurrency", "prompt", "new_tokens"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        for name in ("tokens_per_s_per_user", "output_tokens_per_s", "input_tokens_per_s"):
            _positive(getattr(self, name), name)
        if self.peak_memory_bytes is not None and self.peak_memory_bytes < 0:
            raise ValueError("peak_memory_bytes must be >= 0")
        if self.derived_from_layers is not None:
            measured, model = self.derived_from_layers
            if measured < 1 or model < 1:
                raise ValueError(f"layer counts must be >= 1, got {self.derived_from_layers}")

    @property
    def requests_per_s(self) -> float:
        return self.output_tokens_per_s / self.new_tokens

    def dominates(self, other: CurvePoint) -> bool:
        """At least as fast for the user and for the device, and faster for one of them."""
        user, device = self.tokens_per_s_per_user, self.output_tokens_per_s
        o_user, o_device = other.tokens_per_s_per_user, other.output_tokens_per_s
        return user >= o_user and device >= o_device and (user > o_user or device > o_device)


def is_serving_result(result: WorkloadResult) -> bool:
    """A measured result that is a curve point: it has a concurrency and TTFT/TPOT metrics."""
    return (
        result.ok
        and all(k in result.params for k in _POINT_PARAMS)
        and all(k in result.metrics for k in _POINT_METRICS)
    )


def curve_point(result: WorkloadResult, whole_model: bool = False) -> CurvePoint:
    """The point a serving result gives.

    `whole_model` scales a result that measured a few layers of a deeper model (the metrics
    `measured_layers` and `derived_model_layers` say so) to the whole model: times by
    model / measured layers, rates by the inverse. The figures are then derived, and say so.
    """
    if not is_serving_result(result):
        raise UserError(
            f"{result.id}: not a measured serving point (needs concurrency, TTFT and TPOT)"
        )
    assert result.measurement is not None
    m = result.metrics
    step_s = result.measurement.median
    concurrency, prompt, new_tokens = (_int_param(result, k) for k in _POINT_PARAMS)
    scale, layers = 1.0, None
    # An endpoint measured across several devices (serve-bench --devices N): its throughput is
    # the endpoint's; per device is that over N. Interactivity is each user's, not divided.
    devices = m.get("endpoint_devices", 1.0)
    if not (math.isfinite(devices) and devices >= 1):
        raise UserError(f"{result.id}: metrics.endpoint_devices must be >= 1, got {devices!r}")
    if whole_model and "derived_model_layers" in m and "measured_layers" in m:
        measured, model = int(m["measured_layers"]), int(m["derived_model_layers"])
        if measured != model:  # a run of every layer is the whole model's own figure
            layers, scale = (measured, model), model / measured
    try:
        return CurvePoint(
            result_id=result.id,
            concurrency=concurrency,
            prompt=prompt,
            new_tokens=new_tokens,
            ttft_s=Percentiles(*(m[f"ttft_p{q}_s"] for q in PERCENTILES)).scaled(scale),
            tpot_s=Percentiles(*(m[f"tpot_p{q}_s"] for q in PERCENTILES)).scaled(scale),
            tokens_per_s_per_user=m["tokens_per_s_per_user"] / scale,
            output_tokens_per_s=concurrency * new_tokens / step_s / scale / devices,
            input_tokens_per_s=concurrency * prompt / step_s / scale / devices,
            peak_memory_bytes=None if layers else result.peak_memory_bytes,
            valid=result.verdict is not None and result.verdict.valid,
            derived_from_layers=layers,
        )
    except ValueError as e:
        raise UserError(f"{result.id}: {e}") from None


def _int_param(result: WorkloadResult, key: str) -> int:
    value = result.params[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise UserError(f"{result.id}: params.{key} must be a whole number, got {value!r}")
    return value


def pareto_front(points: Iterable[CurvePoint]) -> tuple[CurvePoint, ...]:
    """The points no other point dominates, fastest for the user first."""
    pts = list(points)
    front = [p for p in pts if not any(q.dominates(p) for q in pts)]
    return tuple(sorted(front, key=lambda p: (-p.tokens_per_s_per_user, p.concurrency)))


@dataclass(frozen=True, slots=True)
class Slo:
    """A service-level objective: each target given must be met at `percentile`.

    ttft_s and tpot_s are upper bounds on latency; tokens_per_s_per_user a lower bound on
    interactivity (20 tokens/s per user, say, as InferenceMAX quotes).
    """

    ttft_s: float | None = None
    tpot_s: float | None = None
    tokens_per_s_per_user: float | None = None
    percentile: int = 99

    def __post_init__(self) -> None:
        targets = (self.ttft_s, self.tpot_s, self.tokens_per_s_per_user)
        if all(t is None for t in targets):
            raise ValueError("an SLO needs at least one target (TTFT, TPOT or tokens/s per user)")
        for name in ("ttft_s", "tpot_s", "tokens_per_s_per_user"):
            value = getattr(self, name)
            if value is not None:
                _positive(value, name)
        if self.percentile not in PERCENTILES:
            raise ValueError(f"percentile must be one of {PERCENTILES}, got {self.percentile}")

    def misses(self, point: CurvePoint) -> tuple[str, ...]:
        """Why `point` fails the SLO; empty when it meets it."""
        q = self.percentile
        why = []
        if self.ttft_s is not None and point.ttft_s.at(q) > self.ttft_s:
            why.append(f"TTFT p{q} {point.ttft_s.at(q):.4g} s > {self.ttft_s:g} s")
        if self.tpot_s is not None and point.tpot_s.at(q) > self.tpot_s:
            why.append(f"TPOT p{q} {point.tpot_s.at(q):.4g} s > {self.tpot_s:g} s")
        target = self.tokens_per_s_per_user
        if target is not None and point.tokens_per_s_per_user < target:
            why.append(f"{point.tokens_per_s_per_user:.4g} tokens/s per user < {target:g}")
        return tuple(why)


@dataclass(frozen=True, slots=True)
class Goodput:
    """The point that meets an SLO with the most output tokens/s per device (None if none does)."""

    slo: Slo
    point: CurvePoint | None
    missed: tuple[tuple[int, tuple[str, ...]], ...]
    """(concurrency, reasons) of every point that failed the SLO."""

    def __post_init__(self) -> None:
        if self.point is not None and self.slo.misses(self.point):
            raise ValueError("the goodput point must meet the SLO")

    @property
    def output_tokens_per_s(self) -> float:
        """Goodput in output tokens/s per device; 0 when no point meets the SLO."""
        return self.point.output_tokens_per_s if self.point else 0.0

    @property
    def requests_per_s(self) -> float:
        """Goodput as vLLM reports it: requests meeting the SLO per second; 0 when none."""
        return self.point.requests_per_s if self.point else 0.0


def goodput(points: Iterable[CurvePoint], slo: Slo) -> Goodput:
    """The best point under `slo`: most output tokens/s per device, ties to lower concurrency."""
    best: CurvePoint | None = None
    missed = []
    for p in sorted(points, key=lambda p: p.concurrency):
        why = slo.misses(p)
        if why:
            missed.append((p.concurrency, why))
        elif best is None or p.output_tokens_per_s > best.output_tokens_per_s:
            best = p
    return Goodput(slo=slo, point=best, missed=tuple(missed))


@dataclass(frozen=True, slots=True)
class Curve:
    """The points of one model, dtype and prompt/reply lengths, by rising concurrency."""

    workload: str
    dtype: str
    model: Mapping[str, ParamValue]
    """The result's parameters but concurrency: what every point shares."""
    points: tuple[CurvePoint, ...]
    compiled: bool = False

    def __post_init__(self) -> None:
        if not self.points:
            raise ValueError("a curve needs at least one point")
        levels = [p.concurrency for p in self.points]
        if levels != sorted(set(levels)):
            raise ValueError(f"concurrencies must rise without repeats, got {levels}")
        lengths = {(p.prompt, p.new_tokens) for p in self.points}
        if len(lengths) != 1:
            raise ValueError(f"every point must share prompt and reply lengths, got {lengths}")
        if len({p.derived_from_layers for p in self.points}) != 1:
            raise ValueError("points measured and derived must not mix in one curve")

    @property
    def derived(self) -> bool:
        return self.points[0].derived_from_layers is not None

    def pareto_front(self) -> tuple[CurvePoint, ...]:
        return pareto_front(self.points)

    def goodput(self, slo: Slo) -> Goodput:
        return goodput(self.points, slo)


def curves(results: Iterable[WorkloadResult], whole_model: bool = False) -> list[Curve]:
    """The curves of a run's serving results, in the order their first point appears.

    Results that are not measured serving points (other workloads, skipped, failed) are left
    out. Two results at the same concurrency of the same curve are an error: the run file is
    not one sweep.
    """
    groups: dict[tuple[object, ...], list[CurvePoint]] = {}
    heads: dict[tuple[object, ...], tuple[str, str, dict[str, ParamValue], bool]] = {}
    for r in results:
        if not is_serving_result(r):
            continue
        model = {k: v for k, v in r.params.items() if k != "concurrency"}
        key = (r.workload, r.dtype.value, r.compiled, tuple(sorted(model.items())))
        point = curve_point(r, whole_model)
        same = [p for p in groups.get(key, []) if p.concurrency == point.concurrency]
        if same:
            raise UserError(
                f"{point.result_id}: concurrency {point.concurrency} measured twice"
                f" (also {same[0].result_id})"
            )
        groups.setdefault(key, []).append(point)
        heads.setdefault(key, (r.workload, r.dtype.value, model, r.compiled))
    out = []
    for key, points in groups.items():
        workload, dtype, model, compiled = heads[key]
        ordered = tuple(sorted(points, key=lambda p: p.concurrency))
        out.append(Curve(workload, dtype, model, ordered, compiled))
    return out
