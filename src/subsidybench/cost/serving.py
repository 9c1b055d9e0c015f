"""Serving costed from a measured curve: cost per million tokens at the point an SLO allows.

`cost --serve TOKENS --run RUN` on a run with a serving curve (results.serving) costs the curve's
goodput point: the point that meets the SLO (TTFT, TPOT, tokens/s per user) with the most output
tokens/s per device, as vLLM's benchmark defines goodput. Without an SLO it is the point with
the most output tokens/s per device, and the answer says so. TOKENS are output tokens; the
prompts come with them at the curve's prompt : reply ratio.

Two ways to quote the same bill, both per million tokens:

- all-in: the whole device-hour charged to output tokens (prompts' prefill included), what a
  device-hour buys at the measured output tokens/s per device;
- priced apart, as vendors quote input and output: each device-hour is split between prefill
  and decode by the measured phase times of a served batch. A batch spends TTFT (p50) on the
  prefill of the prompts, first token included, and (N - 1) x TPOT (p50) decoding the other
  N - 1 tokens; the prefill share f = TTFT / (TTFT + (N - 1) x TPOT) of the device time is
  charged to the input tokens, the rest to the output tokens. So per million input tokens =
  all-in x f x N / P and per million output tokens = all-in x (1 - f), for prompts of P tokens
  and replies of N: at the curve's own P : N the two prices bill exactly the all-in total.

A subsidy scales every figure by the share of the bill left to pay (net / gross of serving
TOKENS at that point: caps and rate windows apply as to any job). Curves derived from a few
layers of a deeper model are costed as the whole model's, labelled derived, never measured.
Torch-free, like the rest of cost/.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from subsidybench.cost.throughput import Throughput, WorkUnit
from subsidybench.errors import UserError, named
from subsidybench.provenance import Assumption, Basis
from subsidybench.results.serving import PERCENTILES, Curve, CurvePoint, Slo, curves, goodput
from subsidybench.units import MILLION, Array

if TYPE_CHECKING:
    from subsidybench.cost.answer import Estimate
    from subsidybench.results.record import RunResult

SPLIT_RULE = (
    "each device-hour split by a served batch's phase times: prefill share f = TTFT p50 /"
    " (TTFT p50 + (N - 1) x TPOT p50); input pays f, output 1 - f"
)


# ---------------------------------------------------------------------------------------------
# The arithmetic, vectorised over the points of a curve


def prefill_share(ttft_s: ArrayLike, tpot_s: ArrayLike, new_tokens: ArrayLike) -> Array:
    """The share of a served batch's device time spent on prefill: TTFT / (TTFT + (N-1) TPOT)."""
    ttft = np.asarray(ttft_s, dtype=np.float64)
    decode = (np.asarray(new_tokens, dtype=np.float64) - 1.0) * np.asarray(tpot_s, np.float64)
    return ttft / (ttft + decode)


def all_in_per_million(price_per_hour: ArrayLike, output_tokens_per_s: ArrayLike) -> Array:
    """Cost per million output tokens with the whole device-hour charged to them."""
    per_hour = np.asarray(output_tokens_per_s, dtype=np.float64) * 3600.0
    return np.asarray(price_per_hour, dtype=np.float64) * MILLION / per_hour


def split_per_million(
    all_in: ArrayLike, share: ArrayLike, prompt: ArrayLike, new_tokens: ArrayLike
) -> tuple[Array, Array]:
    """(per million input tokens, per million output tokens) priced apart by `share`.

    A batch of C requests costs all_in x C·N / 1e6; input pays `share` of it over C·P tokens,
    output the rest over C·N tokens."""
    cost = np.asarray(all_in, dtype=np.float64)
    f = np.asarray(share, dtype=np.float64)
    ratio = np.asarray(new_tokens, dtype=np.float64) / np.asarray(prompt, dtype=np.float64)
    return cost * f * ratio, cost * (1.0 - f)


# ---------------------------------------------------------------------------------------------
# Which curve and which point


def describe_slo(slo: Slo) -> str:
    q = slo.percentile
    parts = []
    if slo.ttft_s is not None:
        parts.append(f"TTFT p{q} <= {slo.ttft_s * 1000:g} ms")
    if slo.tpot_s is not None:
        parts.append(f"TPOT p{q} <= {slo.tpot_s * 1000:g} ms")
    if slo.tokens_per_s_per_user is not None:
        parts.append(f">= {slo.tokens_per_s_per_user:g} tokens/s per user")
    return ", ".join(parts)


def curve_label(curve: Curve) -> str:
    p = curve.points[0]
    label = f"{curve.workload} {curve.dtype} {p.prompt} in / {p.new_tokens} out"
    if curve.derived:
        assert p.derived_from_layers is not None
        measured, model = p.derived_from_layers
        label += f" (whole {model}-layer model derived from {measured})"
    return label


def point_figures(p: CurvePoint, q: int = 99) -> str:
    """A point's figures in one line, for messages and the assumptions."""
    return (
        f"concurrency {p.concurrency}: {p.tokens_per_s_per_user:,.4g} tokens/s per user,"
        f" {p.output_tokens_per_s:,.4g} output tokens/s per device, TTFT p{q}"
        f" {p.ttft_s.at(q) * 1000:,.4g} ms, TPOT p{q} {p.tpot_s.at(q) * 1000:,.4g} ms"
    )


@dataclass(frozen=True, slots=True)
class ServingPick:
    """A run's serving curve and the point costed on it, with why."""

    curve: Curve
    point: CurvePoint
    slo: Slo | None
    why: str
    where: str
    device: str
    left_out: tuple[CurvePoint, ...] = ()
    """Points whose verdict is invalid, left out of the choice (none when forced)."""
    forced: bool = False

    def __post_init__(self) -> None:
        if self.point not in self.curve.points:
            raise ValueError("the point costed must be on the curve")

    @property
    def basis(self) -> Basis:
        return Basis.DERIVED if self.curve.derived else Basis.MEASURED

    def throughput(self) -> Throughput:
        """The point's output tokens/s per device, as the cost model takes a rate."""
        p = self.point
        verb = "derived" if self.curve.derived else "measured"
        source = f"{verb}: run {self.where} serving point {p.result_id} on {self.device}"
        if not p.valid:
            source += "; FORCED despite an invalid verdict"
        return Throughput(p.output_tokens_per_s, WorkUnit.TOKENS, self.basis, source)

    def assumptions(self) -> list[Assumption]:
        """What the pick rests on; the inputs it names (errors.named) are the question's to say."""
        p, q = self.point, 99 if self.slo is None else self.slo.percentile
        out = [
            Assumption("serving curve", curve_label(self.curve), self.basis, self.where),
            Assumption(
                "serving point", f"{point_figures(p, q)}: {self.why}", self.basis, p.result_id
            ),
            Assumption(
                "tokens served",
                f"output tokens; each request's {p.prompt} prompt tokens come with its"
                f" {p.new_tokens} output tokens",
                Basis.GIVEN,
                named("serve"),
            ),
            Assumption("input and output priced apart", SPLIT_RULE, Basis.DERIVED),
        ]
        if self.left_out:
            levels = ", ".join(str(x.concurrency) for x in self.left_out)
            out.append(
                Assumption(
                    "points left out",
                    f"concurrency {levels}: invalid verdict ({named('force')} counts them)",
                    Basis.NOT_APPLIED,
                )
            )
        if self.curve.derived:
            out.append(
                Assumption(
                    "whole model",
                    "times x model layers / measured layers, rates by the inverse",
                    Basis.DERIVED,
                    "results.serving.curve_point",
                )
            )
        return out


def _choose(points: Sequence[CurvePoint], slo: Slo | None, label: str) -> tuple[CurvePoint, str]:
    if slo is None:
        best = max(points, key=lambda p: (p.output_tokens_per_s, -p.concurrency))
        return best, "no SLO given: the point with the most output tokens/s per device"
    good = goodput(points, slo)
    if good.point is None:
        # The most interactive point comes nearest an SLO on speed or latency: name its figures.
        near = max(points, key=lambda p: (p.tokens_per_s_per_user, -p.concurrency))
        raise UserError(
            f"no point of {label} meets the SLO ({describe_slo(slo)}); the nearest,"
            f" {point_figures(near, slo.percentile)}, misses: {'; '.join(slo.misses(near))}"
        )
    return good.point, (
        f"the goodput point: meets {describe_slo(slo)} with the most output tokens/s per device"
        f" ({len(good.missed)} of {len(points)} points miss the SLO)"
    )


def pick(
    run: RunResult,
    where: str,
    workload: str | None,
    slo: Slo | None,
    force: bool,
    profile: str | None = None,
) -> ServingPick | None:
    """The curve and point to cost, or None when the run's picked workload is no serving curve.

    With `workload` (a point's id, or the curve's workload name) its curve; without, the run's
    only curve. Invalid points are left out of the choice unless `force`.
    """
    found = curves(run.results, whole_model=True)
    if not found:
        return None
    if workload is not None:
        names = {workload} & {n for c in found for n in (c.workload, *_ids(c))}
        if not names:
            return None  # another workload of the run: costed as a single rate
    elif len(found) > 1 and any(not _in_curve(r.id, found) for r in run.results if r.ok):
        return None  # several curves among other workloads: the caller asks for a workload
    from subsidybench.results.query import pick_one  # the run record: only for a run

    curve = pick_one(
        found,
        workload,
        lambda c: (c.workload, *_ids(c)),
        curve_label,
        where=where,
        what="serving curves",
        one="serving curve",
        flag=f"{named('workload')} (a point's id)",
    )
    if profile is not None and run.profile is not None and run.profile != profile and not force:
        raise UserError(
            f"{where} was measured on {run.device.name} (profile {run.profile}), not on"
            f" {profile}: cost a run of that device, or pass {named('force')} to price this"
            " one as if it were"
        )
    label = curve_label(curve)
    candidates = list(curve.points) if force else [p for p in curve.points if p.valid]
    left_out = tuple(p for p in curve.points if p not in candidates)
    if not candidates:
        raise UserError(
            f"{where}: every point of {label} has an invalid verdict; a cost on them would not"
            f" hold (pass {named('force')} to cost them anyway, marked as forced)"
        )
    point, why = _choose(candidates, slo, label)
    device = f"{run.device.name} ({run.device})"
    return ServingPick(curve, point, slo, why, where, device, left_out, force)


def _ids(curve: Curve) -> tuple[str, ...]:
    return tuple(p.result_id for p in curve.points)


def _in_curve(rid: str, found: Sequence[Curve]) -> bool:
    return any(rid in _ids(c) for c in found)


# ---------------------------------------------------------------------------------------------
# The answer: the chosen point and every point of the curve, before and after the subsidy


@dataclass(frozen=True, slots=True)
class CurveCosts:
    """Per-point figures of a costed curve, one array entry per point (by rising concurrency).

    Money arrays are None when no price was given."""

    points: tuple[CurvePoint, ...]
    share: Array
    """Prefill share of the device time (the split rule)."""
    on_front: Array
    meets_slo: Array | None
    chosen: int | None
    """Index of the costed (or SLO) point; None when no point is."""
    all_in: tuple[Array, Array] | None = None
    """(before, after the subsidy) cost per million output tokens, prompts included."""
    input: tuple[Array, Array] | None = None
    output: tuple[Array, Array] | None = None

    def __post_init__(self) -> None:
        n = len(self.points)
        if self.chosen is not None and not 0 <= self.chosen < n:
            raise ValueError(f"chosen must index a point, got {self.chosen} of {n}")
        for name in ("share", "on_front"):
            if np.shape(getattr(self, name)) != (n,):
                raise ValueError(f"{name} must have one entry per point")

    def rows(self) -> list[dict[str, Any]]:
        """One plain record per point, for the terminal, JSON and CSV."""
        out = []
        for i, p in enumerate(self.points):
            row: dict[str, Any] = {
                "concurrency": p.concurrency,
                "result_id": p.result_id,
                "tokens_per_s_per_user": p.tokens_per_s_per_user,
                "output_tokens_per_s_per_device": p.output_tokens_per_s,
                "input_tokens_per_s_per_device": p.input_tokens_per_s,
                **{f"ttft_p{q}_s": p.ttft_s.at(q) for q in PERCENTILES},
                **{f"tpot_p{q}_s": p.tpot_s.at(q) for q in PERCENTILES},
                "prefill_share": float(self.share[i]),
                "pareto_front": bool(self.on_front[i]),
                "meets_slo": None if self.meets_slo is None else bool(self.meets_slo[i]),
                "costed_point": i == self.chosen,
                "valid": p.valid,
            }
            for key, pair in (("all_in", self.all_in), ("input", self.input)):
                name = "per_million_output_all_in" if key == "all_in" else "per_million_input"
                row[f"gross_{name}"] = None if pair is None else float(pair[0][i])
                row[f"net_{name}"] = None if pair is None else float(pair[1][i])
            row["gross_per_million_output"] = None if self.output is None else self.output[0][i]
            row["net_per_million_output"] = None if self.output is None else self.output[1][i]
            out.append({k: _plain(v) for k, v in row.items()})
        return out


def _plain(value: Any) -> Any:
    """numpy floats as floats; a point left uncosted (NaN) as None, never a made-up number."""
    if isinstance(value, float | np.floating):
        return None if np.isnan(value) else float(value)
    return value


@dataclass(frozen=True, slots=True)
class ServingAnswer:
    """What serving TOKENS output tokens costs at the picked point, and the whole curve."""

    estimate: Estimate
    pick: ServingPick
    costs: CurveCosts

    @property
    def chosen(self) -> dict[str, Any]:
        assert self.costs.chosen is not None
        return self.costs.rows()[self.costs.chosen]

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "serving",
            "curve": curve_label(self.pick.curve),
            "basis": self.pick.basis.value,
            "slo": None if self.pick.slo is None else describe_slo(self.pick.slo),
            "split_rule": SPLIT_RULE,
            "point": self.chosen,
            **self.estimate.to_dict(),
            "points": self.costs.rows(),
        }
