"""The answer a reader who reads nothing else needs: per run (and per --estimate-on option) the net
cost per unit of useful work and per million tokens, the subsidy, the range, and the caveats that
change the decision (invalid figures, a programme that has ended, a price given as a range, a
partial run). Plain data; report.answer_view renders it in the reader's language."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from subsidybench.report.tables import LabelledRun, ReportOptions
    from subsidybench.report.tables.costs import Priced


@dataclass(frozen=True, slots=True)
class Caveat:
    """Something that changes the decision: a message key (answer.caveat.KEY) and its values."""

    key: str
    values: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not self.key.isidentifier():
            raise ValueError(f"a caveat key is a message key, got {self.key!r}")


@dataclass(frozen=True, slots=True)
class Answer:
    """One run's (or option's) answer; money in the report's currency, None where not costed."""

    run: str
    workload: str | None = None
    net_per_pflop_hour: float | None = None
    p10: float | None = None
    p90: float | None = None
    net_per_million_tokens: float | None = None
    tokens_workload: str | None = None
    price_per_hour: float | None = None
    price_low: float | None = None
    price_high: float | None = None
    """The price as given when it was a range a~b (price_per_hour is then its midpoint)."""
    net_price_per_hour: float | None = None
    subsidy_rate: float | None = None
    caveats: tuple[Caveat, ...] = ()

    def __post_init__(self) -> None:
        if (self.p10 is None) != (self.p90 is None):
            raise ValueError("a range has both ends or none")

    @property
    def costed(self) -> bool:
        return self.net_per_pflop_hour is not None


def _invalid(lr: LabelledRun) -> tuple[int, int, str]:
    """(invalid results, measured results, the commonest reason) of a run."""
    done = [r for r in lr.run.results if r.ok and r.verdict is not None]
    bad = [r for r in done if not r.verdict.valid]
    reasons = Counter(reason for r in bad for reason in r.verdict.reasons)
    return len(bad), len(done), reasons.most_common(1)[0][0] if reasons else ""


def answers(
    runs: Sequence[LabelledRun],
    priced: Sequence[Priced],
    costs: pd.DataFrame,
    ranges: Sequence[tuple[str, Any]],
    live: Sequence[tuple[str, Any, Any]],
    options: ReportOptions,
    caveats: Sequence[Caveat] = (),
    today: date | None = None,
) -> tuple[Answer, ...]:
    """One answer per run and per --estimate-on option, in the order the runs were given;
    `caveats` apply to every one."""
    programme = options.programme
    general: list[Caveat] = list(caveats)
    if programme is not None and programme.expired(today):
        general.append(
            Caveat("expired", (("programme", programme.id), ("until", str(programme.ends))))
        )
    by_label = {p.request.label or p.lr.label: p for p in priced}
    reference = {label: s.request.workload for label, s, _ in live}
    spread = {label: r for label, r in ranges if r is not None}
    out = []
    for lr in runs:
        labels = [lb for lb, p in by_label.items() if p.lr is lr] or [lr.label]
        bad, done, reason = _invalid(lr)
        own: list[Caveat] = []
        if lr.run.state.value != "complete":
            own.append(Caveat("partial", (("state", lr.run.state.value),)))
        if bad:
            own.append(Caveat("invalid", (("bad", str(bad)), ("of", str(done)), ("why", reason))))
        for label in labels:
            p = by_label.get(label)
            caveats = [*general, *own]
            rows = costs[costs["run"] == label] if not costs.empty else costs
            if p is None:
                caveats.insert(0, Caveat("no_price", (("run", lr.label),)))
                out.append(Answer(label, caveats=tuple(caveats)))
                continue
            if rows.empty:
                if bad and bad == done:
                    caveats = [*general, Caveat("all_invalid", (("why", reason),)), *own[:-1]]
                else:
                    caveats.insert(0, Caveat("nothing_costable"))
                out.append(Answer(label, caveats=tuple(caveats)))
                continue
            if p.estimated:
                caveats.append(Caveat("estimate", (("device", p.device or ""),)))
            wid = reference.get(label) or rows["id"].iloc[0]
            ref = rows[rows["id"] == wid]
            ref = ref if not ref.empty else rows.iloc[:1]
            row = ref.iloc[0]
            tokens = rows[rows["net_per_million_tokens"].notna()]
            best = (
                tokens.loc[tokens["net_per_million_tokens"].idxmin()] if not tokens.empty else None
            )
            figure = spread[label].figures.get("net_per_pflop_hour") if label in spread else None
            out.append(
                Answer(
                    label,
                    workload=str(row["id"]),
                    net_per_pflop_hour=float(row["net_per_pflop_hour"]),
                    p10=float(figure[1]) if figure else None,
                    p90=float(figure[3]) if figure else None,
                    net_per_million_tokens=None
                    if best is None
                    else float(best["net_per_million_tokens"]),
                    tokens_workload=None if best is None else str(best["id"]),
                    price_per_hour=float(row["price_per_hour"]),
                    price_low=_number(row.get("price_low")),
                    price_high=_number(row.get("price_high")),
                    net_price_per_hour=float(row["net_price_per_hour"]),
                    subsidy_rate=float(row["subsidy_rate"]),
                    caveats=tuple(caveats),
                )
            )
    return tuple(out)


def _number(value: Any) -> float | None:
    """A cell of the costs table as a float, None where it is empty (None or NaN)."""
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def ranges_table(spreads: Sequence[tuple[str, Any]], currency: str | None) -> pd.DataFrame:
    """Every figure's point and P10 / P50 / P90 of each run's reference result (cost.uncertainty),
    one row per run and figure, with the draws, the seed and where the spread comes from."""
    import pandas as pd

    rows = []
    for label, r in spreads:
        if r is None:
            continue
        inputs = "; ".join(f"{s.label}: {s.describe}" for s in r.sources)
        for name, (point, p10, p50, p90) in r.figures.items():
            rows.append(
                {
                    "run": label,
                    "figure": name,
                    "point": point,
                    "p10": p10,
                    "p50": p50,
                    "p90": p90,
                    "currency": currency if name in _MONEY_FIGURES else "",
                    "draws": r.draws,
                    "seed": r.seed,
                    "spread_from": inputs,
                }
            )
    columns = ["run", "figure", "point", "p10", "p50", "p90", "currency", "draws", "seed"]
    return pd.DataFrame(rows, columns=[*columns, "spread_from"])


# Figures of cost.uncertainty that are amounts of money (the others are hours, days, work).
_MONEY_FIGURES = {
    "gross",
    "subsidy",
    "net",
    "effective_price",
    "net_per_pflop_hour",
    "net_per_million_tokens",
    "present_value",
}
