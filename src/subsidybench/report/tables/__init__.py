"""The data of a report: tables of plain numbers, each row saying where its numbers come from.

A report reads one or more run results and, where a price is known (given by hand, or a device
profile's rent), costs their work through the one costing core (cost.scenario, cost.evaluate):
cost per PFLOP-hour of useful work before and after a subsidy, and the same across a sweep of
subsidy rates, and each run's serving curve. One module per table (runs, results, utilisation,
costs, serving, sweep, assumptions); this one holds the report's options and record and puts the
tables together. Tables hold raw numbers (seconds, FLOP/s, money); the renderers format them.
Nothing here imports torch or matplotlib.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from subsidybench import __version__, bounds
from subsidybench.errors import UserError
from subsidybench.results.record import RunResult

if TYPE_CHECKING:
    import pandas as pd

    from subsidybench.catalogue.subsidies import Programme
    from subsidybench.report.i18n import Messages
    from subsidybench.results.serving import Slo

DEFAULT_RATES = tuple(round(0.1 * i, 1) for i in range(11))
"""Subsidy rates of the sweep: 0% to 100% in steps of 10%, the range the programmes span."""

_PRICE = re.compile(r"^(?:(?P<target>[^=]+)=)?(?P<amount>[0-9.eE+~-]+)$")


@dataclass(frozen=True, slots=True)
class PriceSpec:
    """A rent per device-hour given by hand: for every run, or for the runs whose label or
    device profile is `target`."""

    amount: float
    currency: str
    target: str | None = None
    spread: Any = None
    """A cost.uncertainty.Spread when the rent was given as a range a~b (amount: its centre)."""

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
    from subsidybench.cost.uncertainty import parse_spread

    spread = parse_spread(m["amount"], "--price")
    try:
        amount = spread.centre if spread is not None else float(m["amount"])
    except ValueError:
        raise UserError(f"--price: {m['amount']!r} is not a number") from None
    bounds.MONEY.check(amount, "--price")
    if currency is None:
        raise UserError("--price needs --currency (e.g. --currency USD)")
    target = m["target"].strip() if m["target"] else None
    return PriceSpec(amount, currency.upper(), target, spread)


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
    estimate_on: tuple[str, ...] = ()
    """Device profiles to cost each run's results on too, scaled by the roofline (estimates)."""
    slo: Slo | None = None
    """A serving SLO: each serving curve's goodput point is marked (report.tables.serving)."""
    seed: int | None = None
    """Seed of the ranges' draws (None: cost.uncertainty's fixed default)."""
    rate: float | None = None
    """A subsidy rate given by hand (--rate), replacing the programme's (or with none)."""
    duration_days: float | None = None
    """Days the costed job runs, for programmes whose rate lasts part of a contract: the rate
    then depends on the job's wall time. (Devices would give it too, but a per-device rate on
    several devices needs a scaling efficiency the report does not have.)"""


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
    serving: pd.DataFrame | None = None
    """Every point of each run's serving curve (None or empty: no run has one)."""
    serving_slo: str = ""
    """The SLO the serving table marks, as text ("" when none was given)."""
    programme_names: dict[str, str] = field(default_factory=dict)
    """The programme's name by language (en, zh where its file gives one)."""
    live: tuple[tuple[str, Any, Any], ...] = ()
    """(run label, Scenario, Estimate) of each run's reference result: the workbook's live
    cost sheets and the report's ranges start from these."""
    ranges: tuple[tuple[str, Any], ...] = ()
    """(run label, cost.uncertainty.Ranges or None) of each live sheet's answer."""
    answers: tuple[Any, ...] = ()
    """report.tables.answer.Answer of each run and option: the report's first section."""

    def tables(self) -> dict[str, pd.DataFrame]:
        """Name -> table, in reading order (CSV files and workbook sheets take these names)."""
        from subsidybench.report.tables.answer import ranges_table

        return {
            "runs": self.runs,
            "results": self.results,
            "utilisation": self.utilisation,
            "costs": self.costs,
            **({"serving": self.serving} if self.serving is not None else {}),
            "ranges": ranges_table(self.ranges, self.currency),
            "sweep": self.sweep,
            "assumptions": self.assumptions,
        }


def label_runs(paths: Sequence[Path]) -> list[LabelledRun]:
    """Load run files, naming each by its file name without .json (the path where two clash)."""
    from subsidybench.results.compare import labels_for
    from subsidybench.results.record import load_run

    labels = labels_for([str(p) for p in paths])
    return [LabelledRun(label, str(p), load_run(p)) for label, p in zip(labels, paths, strict=True)]


TITLE_RUNS = 7
"""A report's title names this many runs at most; of more, the first, the last and how many."""


def report_title(labels: Sequence[str], m: Messages) -> str:
    """The title `report` gives: its runs, or of many (a heading of 40 names ran to 6 lines)
    how many, the first and the last. build_report's own default, which an evidence bundle's
    report has and `evidence verify` makes again, stays every name, so that a bundle made
    before still verifies."""
    if len(labels) <= TITLE_RUNS:
        return m("report.title", runs=", ".join(labels))
    runs = m("report.title_many", n=len(labels), first=labels[0], last=labels[-1])
    return m("report.title", runs=runs)


def build_report(
    runs: Sequence[LabelledRun],
    options: ReportOptions | None = None,
    *,
    title: str | None = None,
    generated: str | None = None,
) -> Report:
    """Every table of a report on `runs`, costed where a price is known."""
    import pandas as pd

    from subsidybench.cost.serving import describe_slo
    from subsidybench.report.tables.answer import Caveat, answers
    from subsidybench.report.tables.assumptions import assumptions_table
    from subsidybench.report.tables.costs import costs_table, priced_runs
    from subsidybench.report.tables.results import results_table
    from subsidybench.report.tables.runs import runs_table
    from subsidybench.report.tables.serving import serving_table
    from subsidybench.report.tables.sweep import sweep_table
    from subsidybench.report.tables.utilisation import utilisation_table

    if not runs:
        raise UserError("a report needs at least one run file")
    options = options or ReportOptions()
    notes: list[str] = []
    for lr in runs:
        if lr.run.state.value != "complete":
            notes.append(f"{lr.label}: the run's file says {lr.run.state.value}: it may be partial")
    general = []
    programme = options.programme
    if programme is not None and "compute-rent" not in programme.eligible:
        # A report costs device-hours of rent; a programme paying towards something else (the
        # power bill of owned compute, datasets, model services) is said at the top, and the
        # rent is costed without it rather than refused: `cost` answers those spends.
        covers = ", ".join(programme.eligible)
        general.append(Caveat("not_rent", (("programme", programme.id), ("covers", covers))))
        notes.append(f"{programme.id} pays towards {covers}, not compute rent: not applied")
        options = replace(options, programme=None, small_firm=False)
    elif programme is not None and options.rate is None:
        # Every rate a programme's text states is a maximum ("最高"): the grant may be less.
        general.append(Caveat("maximum", (("programme", programme.id),)))
    currency, priced = priced_runs(runs, options, notes)
    costs, sweeps, cost_assumptions, rates = pd.DataFrame(), pd.DataFrame(), [], {}
    live: list[tuple[str, Any, Any]] = []
    if currency is not None:
        costs, cost_assumptions, rates = costs_table(priced, options, notes, live)
        sweeps, sweep_assumptions = sweep_table(
            priced, options.rates, options.sweep_workload, notes
        )
        cost_assumptions += sweep_assumptions
    serving, serving_assumptions = serving_table(runs, priced, options.slo, notes)
    cost_assumptions += serving_assumptions
    if title is None:
        title = "subsidybench report: " + ", ".join(lr.label for lr in runs)
    spreads = tuple(zip([label for label, _, _ in live], _spreads(live, options.seed), strict=True))
    return Report(
        title=title,
        generated=generated or datetime.now(UTC).isoformat(timespec="seconds"),
        toolkit_version=__version__,
        currency=currency,
        runs=runs_table(runs),
        results=results_table(runs),
        utilisation=utilisation_table(runs),
        costs=costs,
        sweep=sweeps,
        assumptions=assumptions_table(runs, cost_assumptions),
        notes=tuple(notes),
        programme=programme.id if programme else None,
        programme_rates=rates,
        serving=None if serving.empty else serving,
        serving_slo="" if options.slo is None else describe_slo(options.slo),
        programme_names=_names(programme),
        live=tuple(live),
        ranges=spreads,
        answers=answers(runs, priced, costs, spreads, live, options, general),
    )


def _names(programme: Programme | None) -> dict[str, str]:
    if programme is None:
        return {}
    names = {"en": programme.name}
    if programme.name_zh:
        names["zh"] = programme.name_zh
    return names


def _spreads(live: list[tuple[str, Any, Any]], seed: int | None) -> list[Any]:
    """Each costed scenario's P10 / P50 / P90 (cost.uncertainty.ranges): a bootstrap of every
    run's samples, half of a 40-run report's build. Of four or more, a forked child draws the
    first half while this process draws the rest (report.alongside); each is seeded alone,
    so the figures are the same either way."""
    from subsidybench.report.alongside import Alongside

    scenarios = [s for _, s, _ in live]
    half = len(scenarios) // 2
    with Alongside(fork=None if half >= 2 else False) as first:
        first.send(_ranges_of, scenarios[:half], seed)
        rest = _ranges_of(scenarios[half:], seed)
        return [*first.result(), *rest]


def _ranges_of(scenarios: list[Any], seed: int | None) -> list[Any]:
    from subsidybench.cost.uncertainty import ranges

    return [ranges(s, seed=seed) for s in scenarios]
