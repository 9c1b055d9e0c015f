"""Ranges, not points: P10 / P50 / P90 of a cost answer by Monte Carlo, and a tornado.

Where the spread comes from:
- a measured throughput: the run's raw samples bootstrapped (resampled with replacement, the
  median taken, the rate following as work / median); with several runs of the workload, each
  draw first picks a run, then resamples its samples, so the spread between runs (on a shared
  machine usually the larger part, see DESIGN.md) is in the range too;
- inputs given as uncertain: `a~b` is uniform on [a, b]; `a~m~b` is triangular, low a, mode m,
  high b (a sweep is `a:b:step`; the two are different questions and are not mixed);
- a value the user gave as one number is exact (give a~b for a range); a guess the tool makes
  itself (a rate estimate_on scales by the roofline) gets a default triangular spread
  (DEFAULT_SPREAD), centred on the point where the valid range allows, and shown as such, with
  the reason where the range cuts it to one side.

The draws go through the model's own vectorised functions (model.evaluate_work,
model.evaluate_hours, reach.reach_figures): arrays in, arrays out, no loop over draws, so 100,000
draws take a few tens of milliseconds. With every input at its point value the same functions
give the point answer; tests check that it is the Estimate's to the cent. The seed is fixed by
default (DEFAULT_SEED), printed and recorded, so an answer repeats; the seed input changes it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np

from subsidybench.cost import model
from subsidybench.cost.inputs import UNCERTAIN
from subsidybench.cost.reach import reach_figures
from subsidybench.cost.scenario import Scenario
from subsidybench.cost.spread import Spread, bootstrap_rates, parse_spread
from subsidybench.cost.throughput import TERA, WorkUnit
from subsidybench.errors import UserError, named
from subsidybench.provenance import Basis
from subsidybench.units import HOURS_PER_DAY, MILLION, PFLOP_DAY, PFLOP_HOUR, SECONDS_PER_HOUR

__all__ = [
    "DEFAULT_DRAWS",
    "DEFAULT_SEED",
    "UNCERTAIN",
    "Ranges",
    "Spread",
    "parse_spread",
    "ranges",
]

DEFAULT_DRAWS = 100_000
DEFAULT_SEED = 20_251_201
"""Fixed, so that the same command gives the same range; printed beside every range."""


DEFAULT_SPREAD = {"throughput": 0.2}
"""Relative half-width of the triangular spread a rate the tool estimates (estimate_on) gets.
A convention, not a measurement, and printed as one: an estimated rate is an MFU the tool guesses
for the target device, and published MFUs of one model on one kind of device differ by about
this much between reports (Llama 3 405B: 38-43% on H100s, Meta 2024; OPT-175B 147 TFLOP/s per
A100 against MT-NLG's 113-126)."""


def _scaled(sp: Spread, scale: float, rng: np.random.Generator, n: int) -> np.ndarray:
    return sp.draw(rng, n) * scale


@dataclass(frozen=True, slots=True)
class Source:
    """One uncertain input: how the user calls it, its point value and how it is drawn."""

    key: str
    label: str
    point: float
    """In the model's unit (FLOP/s, a share); money and exchange rates as a factor of 1."""
    draw: Callable[[np.random.Generator, int], np.ndarray]
    """A module function or a partial of one, never a closure: Ranges, which keeps its sources,
    is pickled from the process that drew them (report.tables shares a report's draws)."""
    describe: str
    basis: str
    shown: float = 1.0
    """Model units per unit the user wrote (1e12 for TFLOP/s): the tornado shows the latter."""


@dataclass(frozen=True, slots=True)
class Bar:
    """One row of a tornado: the headline at the input's P10 and at its P90, others at P50."""

    label: str
    low: float
    high: float
    at_low: float
    at_high: float

    @property
    def swing(self) -> float:
        return abs(self.at_high - self.at_low)


@dataclass(frozen=True, slots=True)
class Ranges:
    """P10 / P50 / P90 of each figure of an answer, the inputs they rest on, and a tornado."""

    seed: int
    draws: int
    seconds: float
    figures: dict[str, tuple[float, float, float, float]]
    """Name -> (point, P10, P50, P90)."""
    sources: tuple[Source, ...]
    headline: str
    tornado: tuple[Bar, ...] = ()
    currency: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "draws": self.draws,
            "figures": {
                k: {"point": v[0], "p10": v[1], "p50": v[2], "p90": v[3]}
                for k, v in self.figures.items()
            },
            "inputs": [
                {"input": s.label, "distribution": s.describe, "basis": s.basis}
                for s in self.sources
            ],
            "tornado": {
                "figure": self.headline,
                "bars": [
                    {
                        "input": b.label,
                        "p10": b.low,
                        "p90": b.high,
                        "at_p10": b.at_low,
                        "at_p90": b.at_high,
                        "swing": b.swing,
                    }
                    for b in self.tornado
                ],
            },
        }


def _samples(run: Any, label: str, workload: str | None) -> np.ndarray:
    from subsidybench.cost.throughput import run_and_label
    from subsidybench.results.query import pick_result

    loaded, where = run_and_label(run, label)
    result = pick_result(loaded, where, workload)
    assert result.measurement is not None
    return np.asarray(result.measurement.samples_s, dtype=np.float64)


def _measured_runs(s: Scenario) -> list[tuple[float, np.ndarray]]:
    """(rate, samples) of the costed run and of each further run of the same workload."""
    from subsidybench.cost.throughput import measured

    e = s.evidence
    assert s.throughput is not None and e is not None
    first = s.throughput.one().per_second
    out = [(first, _samples(e.run, e.label, e.workload))]
    unit = s.throughput.unit
    for other in e.also:
        t = measured(other, "", e.workload, unit, e.force, s.device)
        out.append((t.per_second, _samples(other, "", e.workload)))
    return out


# --------------------------------------------------------------------------------------------
# The inputs of a scenario, as points and as draws


def _exponent(s: Scenario, source: str | None) -> int:
    """Money in `source` is worth fx**e in the answer's currency: e = 1, -1, or 0 (no exchange)."""
    if s.fx_pair is None or source is None or source == s.currency:
        return 0
    return 1 if (source, s.currency) == s.fx_pair else -1


def _sources(s: Scenario) -> list[Source]:
    given = dict(s.uncertain)
    unknown = [named(k) for k in given if k not in UNCERTAIN]
    if unknown:
        raise UserError(
            f"{unknown[0]}: a range a~b is taken for {', '.join(map(named, UNCERTAIN))}"
        )
    out: list[Source] = []

    def spread(key: str, scale: float = 1.0) -> None:
        sp: Spread = given[key]
        point = sp.centre * scale
        draw = partial(_scaled, sp, scale)
        out.append(Source(key, s.name(key), point, draw, sp.describe(), Basis.GIVEN.value, scale))

    for key in ("price", "fx", "rate", "hours", "contract", "tflops", "tokens_per_s", "mfu"):
        if key not in given:
            continue
        if key == "fx" and s.fx_pair is None:
            raise UserError(f"{named('fx')}: no exchange rate enters this answer")
        if key == "hours" and s.throughput is not None and s.throughput.implied:
            raise UserError(
                f"{named('hours')}: a range of the hours that imply a rate is not taken"
            )
        if key == "rate" and s.terms is None:
            continue  # resolve has refused this already
        scale = TERA if key == "tflops" else 1.0
        if key == "mfu":
            assert s.peak is not None
            scale = s.peak.tflops * TERA
        elif key in ("price", "fx"):
            scale = 1.0 / given[key].centre  # a factor on the (converted) point figure
        spread(key, scale)
    tp = s.throughput
    if tp is not None and s.evidence is not None and "run" not in given and not s.estimated:
        runs = _measured_runs(s)
        count = sum(x.size for _, x in runs)
        what = (
            f"bootstrap of {runs[0][1].size} raw samples"
            if len(runs) == 1
            else f"{len(runs)} runs, their {count} raw samples resampled within each run"
        )
        out.append(
            Source(
                "throughput",
                "measured throughput",
                runs[0][0],
                partial(bootstrap_rates, runs),
                what,
                Basis.MEASURED.value,
                TERA if tp.unit is WorkUnit.FLOPS else 1.0,
            )
        )
    elif s.evidence is not None and s.evidence.also:
        raise UserError(
            f"more than one {named('run')}: the further runs spread a measured rate; give"
            f" {named('run')}"
        )
    if tp is not None and s.estimated and not given.keys() & {"tflops", "mfu"}:
        limit = math.inf
        if tp.unit is WorkUnit.FLOPS and s.peak is not None:
            limit = s.peak.tflops * TERA  # an estimate cannot pass the device's peak
        scale = TERA if tp.unit is WorkUnit.FLOPS else 1.0
        _default(out, "throughput", "estimated throughput", tp.one().per_second, limit, scale)
    if "scaling_efficiency" in given:
        spread("scaling_efficiency")
    return out


def _default(
    out: list[Source], key: str, label: str, value: float, limit: float, shown: float
) -> None:
    """A default triangular spread on a value the tool guessed: ±DEFAULT_SPREAD around it, made
    narrower on both sides where `limit` cuts it, so it stays centred; one-sided (and said so)
    only where the value sits at the limit."""
    half = DEFAULT_SPREAD[key] * value
    room = limit - value
    if room > 0:
        half = min(half, room)
        sp = Spread(value - half, value + half, value)
        why = ""
    else:
        sp = Spread(value - half, value, value)
        why = "; one-sided: the value is at its limit, so its range lies below it"
    text = (
        f"default ±{DEFAULT_SPREAD[key]:.0%} ({sp.describe()}): a guess of the tool's{why};"
        f" give {label} as a~b to state yours"
    )
    out.append(Source(key, label, value, sp.draw, text, Basis.ESTIMATE.value, shown))


# --------------------------------------------------------------------------------------------
# The answer's figures from arrays of inputs


def _figures(s: Scenario, v: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Every figure of the answer, from inputs that may be arrays (all of one shape)."""
    from subsidybench.cost.evaluate import cluster_of, price_of

    price = price_of(s)
    cluster = cluster_of(s)
    fx = np.asarray(v.get("fx", 1.0))  # a factor on the exchange rate used
    pay = None
    if price is not None:
        pay = price.amount * np.asarray(v.get("price", 1.0)) * fx ** _exponent(s, s.price_currency)
    per_second = v.get("throughput")
    for key in ("tflops", "tokens_per_s", "mfu"):
        per_second = v.get(key, per_second)
    if per_second is None and s.throughput is not None:
        per_second = s.throughput.one().per_second
    eff = np.asarray(v.get("scaling_efficiency", cluster.scaling_efficiency))
    devices = float(cluster.devices)
    terms = s.terms
    subsidy: dict[str, Any] = {}
    if terms is not None and s.owned is None:
        programme = s.programme.currency if s.programme is not None else None
        moved = fx ** _exponent(s, programme)
        subsidy = {
            "rate": v.get("rate", terms.rate),
            "cap": terms.cap_total * moved,
            "window_hours": terms.window_hours,
            "after_rate": terms.after_rate,
            "cap_year": terms.cap_year * moved,
            "calendar": terms.calendar,
        }
    unit = s.throughput.unit if s.throughput is not None else WorkUnit.FLOPS
    if s.kind == "reach":
        return _reach_figures(s, v, pay, per_second, eff, unit)
    job = s.job
    flops: Any = None
    tokens: Any = None
    if isinstance(job, model.TrainJob | model.ServeJob):
        flops, tokens = job.flops, job.tokens
        work = job.tokens if unit is WorkUnit.TOKENS else job.flops
        hours = model.device_hours_for(work, per_second, eff)
    elif isinstance(job, model.HoursJob):
        hours = np.asarray(v.get("hours", job.device_hours), dtype=np.float64)
    elif pay is None:
        # A contract with no price is money alone: `value` hours at 1 an hour, no hours shown.
        value = np.asarray(v.get("contract", job.value), dtype=np.float64)
        wall = 0.0 if s.wall_hours is None else s.wall_hours
        money = model.evaluate_hours(value, wall, 1.0, **subsidy)
        return {k: money[k] for k in ("gross", "subsidy", "net", "effective_rate")}
    else:
        assert isinstance(job, model.ContractJob) and pay is not None
        hours = np.asarray(v.get("contract", job.value)) / pay
    if not isinstance(job, model.TrainJob | model.ServeJob) and per_second is not None:
        done = hours * SECONDS_PER_HOUR * np.asarray(per_second) * eff
        flops, tokens = (None, done) if unit is WorkUnit.TOKENS else (done, None)
    wall: Any = None
    if s.wall_hours is not None:
        wall = s.wall_hours
    elif s.devices is not None:
        wall = hours / devices
    out: dict[str, np.ndarray] = {"device_hours": np.asarray(hours)}
    if wall is not None:
        out["wall_days"] = np.asarray(wall) / HOURS_PER_DAY
    if pay is None:
        return out
    money = model.evaluate_hours(hours, 0.0 if wall is None else wall, pay, **subsidy)
    if s.owned is not None and terms is not None:
        # A building subsidy lowers the capex, so the hourly price: as the single answer does.
        assert price is not None and price.owned is not None
        build = model.build_subsidy(price.owned, terms, cluster.devices)
        net = hours * pay * (build.price.amount / price.amount)
        money = {
            **money,
            "subsidy": money["gross"] - net,
            "net": net,
            "effective_price": net / hours,
            "effective_rate": (money["gross"] - net) / money["gross"],
        }
    if s.power_rate and price is not None and price.owned is not None:
        # The power programme's share of the energy bill, apart from the price (as one answer).
        paid = hours * price.owned.hourly()["energy"] * s.power_rate
        net = money["net"] - paid
        money = {
            **money,
            "subsidy": money["gross"] - net,
            "net": net,
            "effective_price": net / hours,
            "effective_rate": (money["gross"] - net) / money["gross"],
        }
    for key in ("gross", "subsidy", "net", "effective_price", "effective_rate"):
        out[key] = money[key]
    if flops is not None:
        out["net_per_pflop_hour"] = money["net"] / (np.asarray(flops) / PFLOP_HOUR)
    if tokens is not None:
        out["net_per_million_tokens"] = money["net"] / (np.asarray(tokens) / MILLION)
    return out


def _reach_figures(
    s: Scenario, v: Mapping[str, Any], pay: Any, per_second: Any, eff: Any, unit: WorkUnit
) -> dict[str, np.ndarray]:
    from subsidybench.cost.evaluate import one

    answer: Any = one(s)  # the amount and the firm's cap as the single answer took them
    terms = s.terms
    assert terms is not None
    job = s.job if isinstance(s.job, model.TrainJob) else None
    work_per_run = None
    if job is not None:
        work_per_run = job.tokens if unit is WorkUnit.TOKENS else job.flops
    cap = (
        terms.cap_per_firm_year
        if math.isfinite(terms.cap_per_firm_year)
        else terms.cap_per_contract
    )
    out = reach_figures(
        answer.amount,
        v.get("rate", answer.rate),
        pay,
        per_second,
        eff,
        work_per_run,
        s.contract_size,
        cap,
    )
    done = out.pop("done", None)
    if done is not None:
        if unit is WorkUnit.TOKENS:
            out["tokens"] = done
        else:
            out["pflop_days"] = done / PFLOP_DAY
    return out


_HEADLINES = (
    "net_per_pflop_hour",
    "net_per_million_tokens",
    "net",
    "pflop_days",
    "tokens",
    "device_hours",
    "wall_days",
)


def _percentiles(values: Any, n: int) -> tuple[float, float, float]:
    """P10, P50, P90 of `values` as `n` draws. A figure no uncertain input moves is one number
    (most of a report's: 6 of 7 per run); numpy's linear percentile of `n` copies of a finite
    x is x itself (x + (x - x) * t), except -0.0, whose P90 comes out +0.0. So such a figure
    skips numpy's copy and partition of `n` values: 240 of them in a 40-run report, 0.17 s."""
    if np.ndim(values) == 0:
        x = float(values)
        if math.isfinite(x) and not (x == 0.0 and math.copysign(1.0, x) < 0):
            return x, x, x
    p10, p50, p90 = np.percentile(np.broadcast_to(values, (n,)), (10, 50, 90))
    return float(p10), float(p50), float(p90)


def ranges(s: Scenario, draws: int | None = None, seed: int | None = None) -> Ranges | None:
    """P10 / P50 / P90 of every figure of the scenario's answer and the tornado of its headline;
    None when nothing in it is uncertain (every input a single value given by hand)."""
    if s.sweeping:
        return None
    if s.owned is not None and s.terms is not None and "rate" in s.uncertain:
        raise UserError(
            f"{named('rate')} a~b: a range of a building subsidy's rate is not computed"
        )
    sources = _sources(s)
    if not sources:
        return None
    n = int(draws if draws is not None else s.draws or DEFAULT_DRAWS)
    seed = int(seed if seed is not None else s.seed if s.seed is not None else DEFAULT_SEED)
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    drawn = {src.key: src.draw(rng, n) for src in sources}
    points = {src.key: src.point for src in sources}
    point = _figures(s, points)
    spread = _figures(s, drawn)
    figures = {}
    for name, values in spread.items():
        p10, p50, p90 = _percentiles(values, n)
        figures[name] = (
            float(np.asarray(point[name]).reshape(-1)[0]),
            float(p10),
            float(p50),
            float(p90),
        )
    headline = next(k for k in _HEADLINES if k in figures)
    quantiles = {k: np.percentile(x, (10, 50, 90)) for k, x in drawn.items()}
    bars = []
    for src in sources:
        held = {k: q[1] for k, q in quantiles.items()}
        lo, hi = quantiles[src.key][0], quantiles[src.key][2]
        held[src.key] = np.array([lo, hi])
        at = np.broadcast_to(_figures(s, held)[headline], (2,))
        shown = src.shown
        bars.append(
            Bar(src.label, float(lo / shown), float(hi / shown), float(at[0]), float(at[1]))
        )
    bars.sort(key=lambda b: b.swing, reverse=True)
    return Ranges(
        seed=seed,
        draws=n,
        seconds=time.perf_counter() - start,
        figures=figures,
        sources=tuple(sources),
        headline=headline,
        tornado=tuple(bars),
        currency=s.currency,
    )
