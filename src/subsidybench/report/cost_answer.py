"""Rendering cost answers: rich tables for the terminal, JSON and CSV files for the record.

Every table of an answer is followed by the table of assumptions it rests on. Files carry the
same figures: JSON with the assumptions, CSV as one row per answer (or per sweep scenario).
Infinite caps and undefined ratios are written as null, never as a made-up number.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from subsidybench.datafile import write_atomic

if TYPE_CHECKING:
    from subsidybench.cost.model import Estimate, Reach
    from subsidybench.provenance import Assumption


def flat(doc: dict[str, Any]) -> dict[str, Any]:
    """One CSV row: nested subsidy figures as subsidy_*, lists left out."""
    flat = {k: v for k, v in doc.items() if not isinstance(v, list | dict)}
    subsidy = doc.get("subsidy")
    if isinstance(subsidy, dict):
        flat.update({f"subsidy_{k}": v for k, v in subsidy.items()})
    return flat


def _money(value: float | None, currency: str) -> str:
    if value is None:
        return "-"
    if not math.isfinite(value):
        return "no limit"
    return f"{value:,.2f} {currency}"


def _assumption_table(assumptions: tuple[Assumption, ...] | list[Assumption]) -> Any:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="Assumptions (what the answer rests on)")
    for column in ("input", "value", "basis", "source"):
        table.add_column(column, overflow="fold")
    seen = set()
    for a in assumptions:
        key = (a.name, a.value)
        if key in seen:
            continue
        seen.add(key)
        table.add_row(escape(a.name), escape(a.value), a.basis.value, escape(a.source))
    return table


def print_estimate(e: Estimate) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from subsidybench.cost.model import HOURS_PER_DAY

    c = e.currency
    table = Table(title=escape(f"Cost of {e.job.describe()}"), show_header=False)
    table.add_column("quantity", style="bold")
    table.add_column("value", justify="right")
    table.add_row(
        "devices x wall time",
        f"{e.devices} x {e.wall_hours / HOURS_PER_DAY:,.2f} days ({e.wall_hours:,.1f} h)",
    )
    table.add_row("device-hours", f"{e.device_hours:,.0f}")
    throughput = next((a for a in e.assumptions if a.name == "throughput"), None)
    if throughput is not None:
        table.add_row("throughput", escape(f"{throughput.value} ({throughput.basis})"))
    if e.flops is not None:
        table.add_row("useful work", f"{e.flops:.4g} FLOPs = {e.pflop_days:,.2f} PFLOP-days")
    if e.tokens is not None:
        table.add_row("tokens", f"{e.tokens:.4g}")
    table.add_row("price per device-hour", _money(e.price.amount, c))
    table.add_row("gross cost", _money(e.gross, c))
    s = e.subsidy
    if s is not None:
        table.add_row("subsidy", f"{_money(s.amount, c)} ({s.rate:.1%} average rate)")
        binding = "binds" if s.cap_binds else "does not bind"
        table.add_row(f"{s.cap_rule}", f"{_money(s.cap, c)}: {binding}")
        if math.isfinite(s.binds_above):
            table.add_row(f"{s.cap_rule} binds above a contract of", _money(s.binds_above, c))
        if s.present_value is not None:
            table.add_row("subsidy, worth today (paid late)", _money(s.present_value, c))
    table.add_row("net cost", _money(e.net, c))
    table.add_row("effective price per device-hour", _money(e.effective_price, c))
    if e.net_per_pflop_hour is not None:
        table.add_row("net cost per useful PFLOP-hour", _money(e.net_per_pflop_hour, c))
    if e.net_per_million_tokens is not None:
        table.add_row("net cost per million tokens", _money(e.net_per_million_tokens, c))
    console = Console()
    console.print(table)
    console.print(_assumption_table(e.assumptions))


def print_compare(ranked: list[Estimate]) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from subsidybench.cost.model import HOURS_PER_DAY
    from subsidybench.provenance import Assumption

    c = ranked[0].currency
    tokens = ranked[0].net_per_pflop_hour is None
    unit = "net per M tokens" if tokens else "net per PFLOP-hour"
    table = Table(
        title=escape(f"{ranked[0].job.describe()}: cheapest per unit of work first ({c})")
    )
    for column in ("#", "option", "throughput", "price/h", "subsidy", "wall days", "net", unit):
        table.add_column(
            column, justify="right" if column not in ("option", "throughput") else "left"
        )
    for i, e in enumerate(ranked, start=1):
        per_unit = e.net_per_million_tokens if tokens else e.net_per_pflop_hour
        throughput = next((a.value for a in e.assumptions if a.name == "throughput"), "-")
        table.add_row(
            str(i),
            escape(e.label),
            escape(throughput),
            f"{e.price.amount:,.4g}",
            f"{e.subsidy.rate:.0%}" if e.subsidy else "-",
            f"{e.wall_hours / HOURS_PER_DAY:,.1f}",
            f"{e.net:,.0f}",
            f"{per_unit:,.4g}" if per_unit is not None else "-",
        )
    console = Console()
    console.print(table)
    labelled = [
        Assumption(f"{e.label}: {a.name}", a.value, a.basis, a.source)
        for e in ranked
        for a in e.assumptions
    ]
    console.print(_assumption_table(labelled))


def print_reach(r: Reach) -> None:
    from rich.console import Console
    from rich.table import Table

    c = r.currency
    table = Table(title=f"How far {_money(r.amount, c)} ({r.amount_label}) goes", show_header=False)
    table.add_column("quantity", style="bold")
    table.add_column("value", justify="right")
    table.add_row("rate", f"{r.rate:.0%}")
    table.add_row("contract value it supports", _money(r.contract_value, c))
    table.add_row("the firm pays", _money(r.firm_pays, c))
    table.add_row("device-hours", f"{r.device_hours:,.0f}")
    if r.pflop_days is not None:
        table.add_row("PFLOP-days", f"{r.pflop_days:,.2f}")
    if r.tokens is not None:
        table.add_row("tokens", f"{r.tokens:.4g}")
    if r.training_runs is not None:
        table.add_row("training runs of the given job", f"{r.training_runs:,.3g}")
    if r.firms_covered is not None:
        table.add_row(
            f"firms covered at {_money(r.contract_size, c)} each", f"{r.firms_covered:,.1f}"
        )
    console = Console()
    console.print(table)
    console.print(_assumption_table(r.assumptions))


# Sweep columns as printed (every column goes to --csv/--json under its own name).
_HEADERS = {
    "work": "work",
    "device_hours_given": "device-h",
    "contract_value": "contract",
    "price_per_hour": "price/h",
    "capex": "capex",
    "lifetime_years": "years",
    "cost_of_capital": "capital %",
    "power_w": "W",
    "pue": "PUE",
    "tariff_per_kwh": "tariff",
    "hosting_per_year": "hosting/y",
    "utilisation": "util.",
    "per_second": "per s",
    "mfu": "MFU",
    "devices": "devices",
    "scaling_efficiency": "scaling",
    "rate": "rate",
    "wall_hours": "wall h",
    "gross": "gross",
    "subsidy": "subsidy",
    "net": "net",
    "effective_price": "net/device-h",
    "cap_binds": "cap binds",
    "net_per_pflop_hour": "net/PFLOP-h",
    "net_per_million_tokens": "net/M tok",
}
_OUTPUTS = (
    "gross",
    "subsidy",
    "net",
    "effective_price",
    "cap_binds",
    "net_per_pflop_hour",
    "net_per_million_tokens",
)


def print_sweep(
    frame: Any, axes: list[str], currency: str, rows: int, assumptions: list[Assumption]
) -> None:
    from rich.console import Console
    from rich.table import Table

    inputs = [
        c
        for c in frame.columns
        if c in _HEADERS
        and c not in _OUTPUTS
        and c not in ("wall_hours",)
        and frame[c].nunique() > 1
    ]
    if "devices" in inputs or "per_second" in inputs or "mfu" in inputs:
        inputs.append("wall_hours")
    columns = [*inputs, *(c for c in _OUTPUTS if c in frame.columns)]
    table = Table(title=f"Sweep over {', '.join(axes)}: {len(frame):,} scenarios ({currency})")
    for column in columns:
        table.add_column(_HEADERS[column], justify="right")
    for record in frame[columns].head(rows).itertuples(index=False):
        table.add_row(*(_cell(v) for v in record))
    console = Console()
    console.print(table)
    if len(frame) > rows:
        console.print(f"{len(frame) - rows:,} more rows: write them all with --csv or --json")
    if assumptions:
        console.print(_assumption_table(assumptions))


def _cell(value: Any) -> str:
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return "yes" if value else "no"
    number = float(value)
    if not math.isfinite(number):
        return "inf"
    if number != 0 and (abs(number) >= 1e12 or abs(number) < 1e-3):
        return f"{number:.3e}"
    if abs(number) >= 100:
        return f"{number:,.0f}"
    return f"{number:,.4g}"


def write(json_path: Path | None, csv_path: Path | None, doc: dict[str, Any], frame: Any) -> None:
    if json_path is not None:
        if frame is not None:
            doc = {**doc, "rows": json.loads(frame.to_json(orient="records"))}
        text = json.dumps(_finite(doc), indent=2, allow_nan=False) + "\n"
        write_atomic(json_path, text, "--json")
    if csv_path is not None:
        import pandas as pd

        if frame is None:
            frame = pd.DataFrame([flat(doc)])
        write_atomic(csv_path, frame.to_csv(index=False), "--csv")


def _finite(value: Any) -> Any:
    """JSON has no infinity or NaN: an unlimited cap or an undefined ratio is written as null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value
