"""The data of a report: tables of plain numbers, each row saying where its numbers come from.

A report reads one or more run results and, where a price is known (given by hand, or a device
profile's rent), costs their work through the cost model (cost.model, cost.sweep):
cost per PFLOP-hour of useful work before and after a subsidy, and the same across a sweep of
subsidy rates. Tables hold raw numbers (seconds, FLOP/s, money); the renderers format them.
Nothing here imports torch or matplotlib.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from subsidybench import __version__, bounds
from subsidybench.errors import UserError
from subsidybench.provenance import Assumption, Basis
from subsidybench.results.record import RunResult, WorkloadResult
from subsidybench.results.utilisation import utilisation

if TYPE_CHECKING:
    import pandas as pd

    from subsidybench.catalogue.subsidies import Programme

DEFAULT_RATES = tuple(round(0.1 * i, 1) for i in range(11))
"""Subsidy rates of the sweep: 0% to 100% in steps of 10%, the range the programmes span."""

_PRICE = re.compile(r"^(?:(?P<target>[^=]+)=)?(?P<amount>[0-9.eE+-]+)$")


@dataclass(frozen=True, slots=True)
class PriceSpec:
    """A rent per device-hour given by hand: for every run, or for the runs whose label or
    device profile is `target`."""

    amount: float
    currency: str
    target: str | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.amount) and self.amount > 0):
            raise UserError(f"--price: a rent must be a number > 0, got {self.amount:g}")
        if not re.fullmatch(r"[A-Z]{3}", self.currency):
            raise UserError(
                f"--currency: expected a code such as USD or CNY, got {self.currency!r}"
            )


def parse_price(text: str, currency: str | None) -> PriceSpec:
    """'2.5' (every run) or 'h100-sxm=2.5' (runs of that profile, or the run labelled so)."""
    m = _PRICE.match(text.strip())
    if m is None:
        raise UserError(f"--price: expected AMOUNT or RUN=AMOUNT (e.g. h100-sxm=2.9), got {text!r}")
    try:
        amount = float(m["amount"])
    except ValueError:
        raise UserError(f"--price: {m['amount']!r} is not a number") from None
    bounds.MONEY.check(amount, "--price")
    if currency is None:
        raise UserError("--price needs --currency (e.g. --currency USD)")
    target = m["target"].strip() if m["target"] else None
    return PriceSpec(amount, currency.upper(), target)


@dataclass(frozen=True, slots=True)
class ReportOptions:
    """What a report costs with: prices, a programme, the currency and the sweep."""

    prices: tuple[PriceSpec, ...] = ()
    programme: Programme | None = None
    small_firm: bool = False
    currency: str | None = None
    """The report's currency; default: the programme's, else the first price's."""
    fx: float | None = None
    """An exchange rate given by hand, as the profiles/fx file states it (CNY per USD)."""
    rates: tuple[float, ...] = DEFAULT_RATES
    sweep_workload: str | None = None
    """The workload (id or name) whose cost the rate sweep follows; default the best matmul."""
    profiles_dirs: tuple[Path, ...] = ()


@dataclass(frozen=True, slots=True)
class LabelledRun:
    """A run and the short name the report calls it by."""

    label: str
    path: str
    run: RunResult


@dataclass(frozen=True, slots=True)
class Report:
    """Every table of a report, with the facts a reader needs to trust them."""

    title: str
    generated: str
    toolkit_version: str
    currency: str | None
    runs: pd.DataFrame
    results: pd.DataFrame
    utilisation: pd.DataFrame
    costs: pd.DataFrame
    sweep: pd.DataFrame
    assumptions: pd.DataFrame
    notes: tuple[str, ...] = ()
    programme: str | None = None
    programme_rates: dict[str, float] = field(default_factory=dict)
    """The programme's rate for each run's device (run label -> rate), for the sweep chart."""

    def tables(self) -> dict[str, pd.DataFrame]:
        """Name -> table, in reading order (CSV files and workbook sheets take these names)."""
        return {
            "runs": self.runs,
            "results": self.results,
            "utilisation": self.utilisation,
            "costs": self.costs,
            "sweep": self.sweep,
            "assumptions": self.assumptions,
        }


def label_runs(paths: Sequence[Path]) -> list[LabelledRun]:
    """Load run files, naming each by its file name without .json (the path where two clash)."""
    from subsidybench.results.compare import labels_for
    from subsidybench.results.record import load_run

    labels = labels_for([str(p) for p in paths])
    return [LabelledRun(label, str(p), load_run(p)) for label, p in zip(labels, paths, strict=True)]


# ---------------------------------------------------------------------------------------------
# Measured and derived tables


def _runs_table(runs: Sequence[LabelledRun]) -> pd.DataFrame:
    import pandas as pd

    rows = []
    for lr in runs:
        r, env = lr.run, lr.run.environment
        rows.append(
            {
                "run": lr.label,
                "file": Path(lr.path).name,
                "suite": r.suite,
                "suite_version": r.suite_version,
                "method_version": r.method_version,
                "state": r.state.value,
                "started": r.started,
                "device": str(r.device),
                "device_name": r.device.name,
                "profile": r.profile or "",
                "torch": env.torch_version,
                "threads": env.torch_threads,
                "cpu_model": env.cpu_model,
                "os": env.os,
                "toolkit_version": env.toolkit_version,
                "measured_by": ", ".join(f"{k} {v}" for k, v in env.plugins.items())
                if "pytest-benchmark" in env.plugins
                else "subsidybench run",
            }
        )
    return pd.DataFrame(rows)


def _results_table(runs: Sequence[LabelledRun]) -> pd.DataFrame:
    import pandas as pd

    rows = []
    for lr in runs:
        for r in lr.run.results:
            m, w, v = r.measurement, r.work, r.verdict
            rows.append(
                {
                    "run": lr.label,
                    "id": r.id,
                    "workload": r.workload,
                    "dtype": r.dtype.value,
                    "compiled": r.compiled,
                    "status": r.status.value,
                    "n": m.n if m else None,
                    "median_s": m.median if m else None,
                    "q1_s": m.q1 if m else None,
                    "q3_s": m.q3 if m else None,
                    "spread": m.spread if m else None,
                    "flops_per_s": r.flops_per_s if w and w.flops else None,
                    "bytes_per_s": r.bytes_per_s if w and w.bytes else None,
                    "items_per_s": r.items_per_s,
                    "item_unit": w.item_unit if w else "",
                    "valid": v.valid if v else None,
                    "verdict": str(v) if v else "",
                    "basis": Basis.MEASURED.value if r.ok else "",
                    "note": r.reason,
                }
            )
    return pd.DataFrame(rows, columns=_RESULT_COLUMNS)


_RESULT_COLUMNS = [
    "run",
    "id",
    "workload",
    "dtype",
    "compiled",
    "status",
    "n",
    "median_s",
    "q1_s",
    "q3_s",
    "spread",
    "flops_per_s",
    "bytes_per_s",
    "items_per_s",
    "item_unit",
    "valid",
    "verdict",
    "basis",
    "note",
]


def _utilisation_table(runs: Sequence[LabelledRun]) -> pd.DataFrame:
    import pandas as pd

    rows = []
    for lr in runs:
        valid = {r.id: bool(r.verdict and r.verdict.valid) for r in lr.run.results}
        for rid, u in utilisation(lr.run).items():
            peak = u.peak
            known = peak is not None and peak.value is not None
            rows.append(
                {
                    "run": lr.label,
                    "id": rid,
                    "flops_per_s": u.flops_per_s,
                    "valid": valid[rid],
                    "peak_flops_per_s": peak.value * 1e12 if known and peak else None,
                    "peak_basis": peak.basis.value if peak else "not in the profile",
                    "peak_source": (peak.source or peak.note) if peak else "",
                    "of_peak": u.of_peak,
                    "best_matmul_flops_per_s": u.best_matmul_flops_per_s,
                    "of_best_matmul": u.of_best_matmul,
                    "basis": f"{Basis.DERIVED.value}: measured rate / peak"
                    if known
                    else f"{Basis.DERIVED.value}: measured rate / best matmul of the run",
                }
            )
    columns = [
        "run",
        "id",
        "flops_per_s",
        "valid",
        "peak_flops_per_s",
        "peak_basis",
        "peak_source",
        "of_peak",
        "best_matmul_flops_per_s",
        "of_best_matmul",
        "basis",
    ]
    return pd.DataFrame(rows, columns=columns)


# ---------------------------------------------------------------------------------------------
# Prices and costs


@dataclass(frozen=True, slots=True)
class _Price:
    amount: float
    currency: str
    basis: Basis
    source: str


def _profile(run: RunResult, dirs: tuple[Path, ...]) -> Any:
    from subsidybench.catalogue.profiles import load_profile

    if run.profile is None:
        return None
    try:
        return load_profile(run.profile, dirs)
    except UserError:
        return None  # a profile of another machine's catalogue: said in the notes by the caller


def _price_for(
    lr: LabelledRun, options: ReportOptions, profile: Any, notes: list[str]
) -> _Price | None:
    specific = [p for p in options.prices if p.target in {lr.label, lr.run.profile}]
    general = [p for p in options.prices if p.target is None]
    if specific or general:
        p = (specific or general)[0]
        flag = f"--price {p.target}=" if p.target else "--price "
        return _Price(p.amount, p.currency, Basis.GIVEN, f"{flag}{p.amount:g} {p.currency}")
    if lr.run.profile is not None and profile is None:
        notes.append(
            f"{lr.label}: profile {lr.run.profile} is not in the catalogue: no rent to cost with"
            " (give --price or --profiles-dir)"
        )
        return None
    point = profile.rent_per_hour() if profile is not None else None
    if point is None:
        where = f"profile {profile.id} has no rent" if profile is not None else "no profile"
        notes.append(f"{lr.label}: not costed: {where}; give --price {lr.label}=AMOUNT")
        return None
    basis = point.basis
    source = f"{profile.id} rent seen {point.date}: {point.source}"
    return _Price(point.amount, point.currency, basis, source)


def _currency(options: ReportOptions, prices: list[_Price]) -> str | None:
    if options.currency:
        return options.currency.upper()
    if options.programme is not None:
        return options.programme.currency
    return prices[0].currency if prices else None


class _Converter:
    """Money into the report's currency, at a dated (or given) rate said among the assumptions."""

    def __init__(self, target: str, options: ReportOptions) -> None:
        self.target = target
        self.options = options
        self.used: dict[tuple[str, str], Assumption] = {}

    def factor(self, source: str) -> float:
        from subsidybench.catalogue.fx import load_fx

        if source == self.target:
            return 1.0
        rate = load_fx(source, self.target, self.options.profiles_dirs, self.options.fx)
        key = (rate.base, rate.quote)
        if key not in self.used:
            given = self.options.fx is not None
            self.used[key] = Assumption(
                "exchange rate",
                f"{rate.describe()} ({rate.date})",
                Basis.GIVEN if given else Basis.DATA,
                "--fx" if given else rate.source,
            )
        return rate.factor(source, self.target)


def _costable(r: WorkloadResult) -> bool:
    return bool(r.ok and r.verdict and r.verdict.valid and r.work and r.work.flops > 0)


def _sweep_result(lr: LabelledRun, wanted: str | None) -> WorkloadResult | None:
    costable = [r for r in lr.run.results if _costable(r)]
    if wanted is not None:
        return next((r for r in costable if wanted in (r.id, r.workload)), None)
    matmuls = [r for r in costable if r.workload == "matmul"]
    return max(matmuls or costable, key=lambda r: r.flops_per_s or 0.0, default=None)


def _costs(
    runs: Sequence[LabelledRun], options: ReportOptions, notes: list[str]
) -> tuple[str | None, Any, Any, list[tuple[str, Assumption]], dict[str, float]]:
    """The cost and sweep tables, the assumptions behind them, and the programme's rates."""
    import pandas as pd

    from subsidybench.catalogue.subsidies import Spend
    from subsidybench.cost import model as model
    from subsidybench.cost.sweep import sweep
    from subsidybench.cost.throughput import TOKEN_UNITS, WorkUnit, from_run

    names = {lr.label for lr in runs} | {lr.run.profile for lr in runs if lr.run.profile}
    for spec in options.prices:
        if spec.target is not None and spec.target not in names:
            raise UserError(
                f"--price {spec.target}=...: no run is labelled {spec.target!r} or was measured"
                f" on profile {spec.target!r} (runs: {', '.join(lr.label for lr in runs)})"
            )
    priced = []
    for lr in runs:
        profile = _profile(lr.run, options.profiles_dirs)
        price = _price_for(lr, options, profile, notes)
        if price is not None:
            priced.append((lr, profile, price))
    priced_labels = {lr.label for lr, _, _ in priced}
    unpriced = [lr.label for lr in runs if lr.label not in priced_labels]
    if options.programme is not None and unpriced:
        # A note at the bottom of a long page is missed: a reader would take the report as
        # costed under the programme. Refused, naming the runs and the fix.
        raise UserError(
            f"--subsidy {options.programme.id}: no price for {', '.join(unpriced)}, so the"
            f" subsidy cannot be applied to it; give --price {unpriced[0]}=AMOUNT (and"
            " --currency), or leave out --subsidy"
        )
    currency = _currency(options, [p for _, _, p in priced])
    cost_rows: list[dict[str, Any]] = []
    sweep_frames = []
    assumptions: list[tuple[str, Assumption]] = []
    programme_rates: dict[str, float] = {}
    if currency is None:
        return None, pd.DataFrame(), pd.DataFrame(), assumptions, programme_rates
    convert = _Converter(currency, options)
    for lr, profile, price in priced:
        amount = price.amount * convert.factor(price.currency)
        source = price.source
        if price.currency != currency:
            source += f" (= {amount:,.4g} {currency})"
        hourly = model.HourlyPrice.rent(amount, currency, price.basis, source)
        domestic = bool(profile.domestic) if profile is not None else False
        terms = None
        if options.programme is not None:
            terms = model.terms_from_programme(
                options.programme,
                spend=Spend.COMPUTE_RENT,
                domestic=domestic,
                small_firm=options.small_firm,
                to_job_currency=convert.factor(options.programme.currency),
                job_currency=currency,
            )
            programme_rates[lr.label] = terms.rate
            origin = "domestic" if domestic else "not domestic"
            assumptions.append(
                (
                    lr.label,
                    Assumption(
                        "chip origin",
                        origin,
                        Basis.DATA if profile is not None else Basis.GIVEN,
                        f"profile {profile.id}"
                        if profile is not None
                        else "no profile: taken as not domestic",
                    ),
                )
            )
        one_hour = model.HoursJob(1.0)
        excluded = []
        for r in lr.run.results:
            if not (r.ok and r.work and r.work.flops > 0):
                continue
            if not _costable(r):
                excluded.append(r.id)
                continue
            tp = from_run(lr.run, lr.label, r.id)
            est = model.estimate(one_hour, hourly, tp, terms=terms)
            net_per_mtok = None
            if r.work.item_unit in TOKEN_UNITS:
                tok = from_run(lr.run, lr.label, r.id, WorkUnit.TOKENS)
                net_per_mtok = model.estimate(
                    one_hour, hourly, tok, terms=terms
                ).net_per_million_tokens
            pflop_hours = (est.flops or 0.0) / model.PFLOP_HOUR
            cost_rows.append(
                {
                    "run": lr.label,
                    "id": r.id,
                    "dtype": r.dtype.value,
                    "flops_per_s": tp.per_second,
                    "throughput_basis": tp.basis.value,
                    "price_per_hour": hourly.amount,
                    "price_basis": hourly.basis.value,
                    "subsidy_rate": est.subsidy.rate if est.subsidy else 0.0,
                    "rate_basis": Basis.PROGRAMME.value if terms else "no subsidy",
                    "net_price_per_hour": est.effective_price,
                    "gross_per_pflop_hour": hourly.amount / pflop_hours,
                    "net_per_pflop_hour": est.net_per_pflop_hour,
                    "net_per_million_tokens": net_per_mtok,
                    "currency": currency,
                    "basis": f"{Basis.DERIVED.value}: price / measured throughput",
                }
            )
            for a in est.assumptions:
                # Throughput is in the table beside each cost; the job is one device-hour.
                if a.name not in {"throughput", "device-hours", "devices"}:
                    assumptions.append((lr.label, a))
        if excluded:
            notes.append(f"{lr.label}: not costed, their verdict is invalid: {', '.join(excluded)}")
        headline = _sweep_result(lr, options.sweep_workload)
        if headline is None:
            if options.sweep_workload is not None:
                notes.append(
                    f"{lr.label}: no valid measured workload {options.sweep_workload!r}"
                    " to sweep the subsidy rate on"
                )
            continue
        frame = sweep(
            device_hours=1.0,
            price_per_hour=hourly.amount,
            per_second=headline.flops_per_s,
            rate=np.asarray(options.rates, dtype=np.float64),
        )
        if "rate" not in frame:  # one rate given: not an axis of the grid
            frame["rate"] = options.rates[0]
        sweep_frames.append(
            pd.DataFrame(
                {
                    "run": lr.label,
                    "id": headline.id,
                    "rate": frame["rate"],
                    "price_per_hour": frame["price_per_hour"],
                    "net_price_per_hour": frame["effective_price"],
                    "net_per_pflop_hour": frame["net_per_pflop_hour"],
                    "currency": currency,
                    "basis": f"{Basis.DERIVED.value}: price x (1 - rate) / measured throughput",
                }
            )
        )
    for a in convert.used.values():
        assumptions.append(("all runs", a))
    if sweep_frames:
        assumptions.append(
            (
                "sweep",
                Assumption(
                    "caps and pools in the sweep",
                    "not applied: they limit a contract's total, not the cost of a unit of work",
                    Basis.NOT_APPLIED,
                ),
            )
        )
    costs = pd.DataFrame(cost_rows)
    sweeps = pd.concat(sweep_frames, ignore_index=True) if sweep_frames else pd.DataFrame()
    return currency, costs, sweeps, assumptions, programme_rates


def _assumptions_table(
    runs: Sequence[LabelledRun], cost_assumptions: list[tuple[str, Assumption]]
) -> pd.DataFrame:
    import pandas as pd

    rows: list[dict[str, str]] = []
    seen: set[tuple[str, ...]] = set()

    def add(scope: str, a: Assumption) -> None:
        key = (scope, a.name, a.value, a.basis.value, a.source)
        if key not in seen:
            seen.add(key)
            rows.append({"applies_to": scope, **a.to_dict()})

    for lr in runs:
        add(
            lr.label,
            Assumption(
                "throughput",
                "median seconds per step of the run's raw samples; work per step counted"
                " analytically by each workload",
                Basis.MEASURED,
                f"{Path(lr.path).name}: {lr.run.device.name} ({lr.run.device}),"
                f" suite {lr.run.suite} v{lr.run.suite_version}",
            ),
        )
        for dtype, fig in lr.run.peak_tflops.items():
            if fig.known:
                add(
                    lr.label,
                    Assumption(
                        f"{dtype} dense peak",
                        f"{fig.value:,.6g} TFLOP/s ({fig.basis.value})",
                        fig.basis,
                        f"profile {lr.run.profile}: {fig.source or fig.note}",
                    ),
                )
    for scope, a in cost_assumptions:
        add(scope, a)
    return pd.DataFrame(rows, columns=["applies_to", "name", "value", "basis", "source"])


def build_report(
    runs: Sequence[LabelledRun],
    options: ReportOptions | None = None,
    *,
    title: str | None = None,
    generated: str | None = None,
) -> Report:
    """Every table of a report on `runs`, costed where a price is known."""
    if not runs:
        raise UserError("a report needs at least one run file")
    options = options or ReportOptions()
    notes: list[str] = []
    for lr in runs:
        if lr.run.state.value != "complete":
            notes.append(f"{lr.label}: the run's file says {lr.run.state.value}: it may be partial")
    currency, costs, sweeps, cost_assumptions, rates = _costs(runs, options, notes)
    if title is None:
        title = "subsidybench report: " + ", ".join(lr.label for lr in runs)
    return Report(
        title=title,
        generated=generated or datetime.now(UTC).isoformat(timespec="seconds"),
        toolkit_version=__version__,
        currency=currency,
        runs=_runs_table(runs),
        results=_results_table(runs),
        utilisation=_utilisation_table(runs),
        costs=costs,
        sweep=sweeps,
        assumptions=_assumptions_table(runs, cost_assumptions),
        notes=tuple(notes),
        programme=options.programme.id if options.programme else None,
        programme_rates=rates,
    )
