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
from subsidybench.digits import figure, money, share
from subsidybench.report.core_words import core_text
from subsidybench.report.i18n import ENGLISH, Messages

if TYPE_CHECKING:
    from subsidybench.cost.model import Estimate, Reach
    from subsidybench.cost.uncertainty import Ranges
    from subsidybench.provenance import Assumption


def flat(doc: dict[str, Any]) -> dict[str, Any]:
    """One CSV row: nested subsidy figures as subsidy_*, lists left out."""
    flat = {k: v for k, v in doc.items() if not isinstance(v, list | dict)}
    subsidy = doc.get("subsidy")
    if isinstance(subsidy, dict):
        flat.update({f"subsidy_{k}": v for k, v in subsidy.items()})
    return flat


def money_text(value: float | None, currency: str) -> str:
    if value is None:
        return "-"
    if not math.isfinite(value):
        return "no limit"
    return f"{money(value)} {currency}"


def assumption_table(
    assumptions: tuple[Assumption, ...] | list[Assumption], m: Messages = ENGLISH
) -> Any:
    """Inputs, values and bases in a table; sources as numbered notes below it, so that at 80
    columns a long citation reads as one line of text instead of folding into fragments."""
    from rich.console import Group
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    table = Table(title=m("answer.assumptions"))
    table.add_column(m("col.input"), overflow="fold", ratio=2)
    table.add_column(m("col.value"), overflow="fold", ratio=4)
    table.add_column(m("col.basis"), overflow="fold", ratio=1)
    table.add_column(m("col.src"), justify="right", no_wrap=True)
    seen = set()
    sources: dict[str, int] = {}
    for a in assumptions:
        key = (a.name, a.value)
        if key in seen:
            continue
        seen.add(key)
        ref = ""
        if a.source:
            ref = f"[{sources.setdefault(a.source, len(sources) + 1)}]"
        table.add_row(
            escape(m.input_name(a.name)),
            escape(core_text(a.value, m)),
            m.basis(a.basis.value),
            escape(ref),
        )
    notes = [
        Text(f"[{n}] {core_text(source, m)}", overflow="fold") for source, n in sources.items()
    ]
    return Group(table, *notes)


def _days(hours: float, m: Messages = ENGLISH) -> str:
    days = hours / 24.0
    if days >= 2 * 365.25:
        return m("days.years", days=f"{days:,.0f}", years=f"{days / 365.25:,.1f}")
    return m("days.hours", days=figure(days), hours=figure(hours))


def print_estimate(e: Estimate, m: Messages = ENGLISH) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    c = e.currency or ""
    job = core_text(e.job.describe(), m)
    table = Table(title=escape(m("answer.cost_of", job=job)), show_header=False)
    table.add_column("quantity", style="bold")
    table.add_column("value", justify="right")
    if e.wall_hours is None and e.device_hours is None:
        pass  # money alone (a contract with no price): no hours, so no wall time to ask for
    elif e.wall_hours is None:
        table.add_row(m("row.wall_time"), m("answer.wall_unknown"))
    elif e.devices is None:
        table.add_row(m("row.wall_time"), m("answer.wall_given", days=_days(e.wall_hours, m)))
    else:
        table.add_row(
            m("row.wall_time"),
            m("answer.wall_on", days=_days(e.wall_hours, m), devices=f"{e.devices:,}"),
        )
    if e.device_hours is not None:  # a contract with no price buys no known hours
        table.add_row(m("row.device_hours"), figure(e.device_hours))
    throughput = next((a for a in e.assumptions if a.name == "throughput"), None)
    if throughput is not None:
        basis = m.basis(throughput.basis.value)
        table.add_row(m("row.throughput"), escape(f"{throughput.value} ({basis})"))
    if e.tokens_per_s is not None:
        table.add_row(m("row.tokens_per_s"), f"{e.tokens_per_s:,.4g}")
    if e.implied_mfu is not None and e.peak is not None:
        mfu = m("answer.of_peak", share=share(e.implied_mfu), peak=e.peak.describe())
        if e.scaling_efficiency != 1.0:
            mfu += m("answer.mfu_scaled", eff=f"{e.scaling_efficiency:.0%}")
        table.add_row(m("row.implied_mfu"), mfu)
    if e.cluster_pflops is not None:
        cluster = m("answer.cluster", pflops=f"{e.cluster_pflops:,.4g}")
        if e.hardware_per_model is not None:
            hardware = f"{e.cluster_pflops * e.hardware_per_model:,.4g}"
            cluster += m("answer.cluster_hardware", pflops=hardware)
        table.add_row(m("row.cluster"), cluster)
    if e.flops is not None:
        table.add_row(
            m("row.useful_work"),
            m("answer.useful_work", flops=f"{e.flops:.4g}", pflop_days=figure(e.pflop_days)),
        )
    if e.tokens is not None:
        table.add_row(m("row.tokens"), f"{e.tokens:.4g}")
    if e.device_hours_per_trillion_tokens is not None:
        table.add_row(m("row.hours_per_t_tokens"), figure(e.device_hours_per_trillion_tokens))
    if e.gross is None:
        table.add_row(m("row.money"), m("answer.no_price"))
    else:
        _money_rows(table, e, c, m)
    console = Console()
    console.print(table)
    console.print(assumption_table(e.assumptions, m))


def _money_rows(table: Any, e: Estimate, c: str, m: Messages) -> None:
    if e.price is not None:
        table.add_row(m("row.price"), m.price(e.price.amount, c))
    table.add_row(m("row.gross"), m.amount(e.gross, c))
    s = e.subsidy
    if s is not None:
        rule = m.input_name(s.cap_rule)
        if s.cap == 0:
            table.add_row(m("row.subsidy"), m("answer.cap_zero", rule=rule))
        else:
            table.add_row(
                m("row.subsidy"),
                m("answer.subsidy", amount=m.amount(s.amount, c), share=share(s.effective_rate)),
            )
            table.add_row(m("row.rate_before_caps"), share(s.rate_before_caps))
            binding = m("answer.binds") if s.cap_binds else m("answer.does_not_bind")
            table.add_row(rule, f"{m.amount(s.cap, c)}: {binding}")
            if math.isfinite(s.binds_above):
                table.add_row(
                    m("row.binds_above", rule=rule),
                    m(
                        "answer.binds_above",
                        amount=m.amount(s.binds_above, c),
                        rule=rule,
                        rate=share(s.rate_before_caps),
                    ),
                )
        for year, part, before, after in s.years:
            table.add_row(
                m("row.by_year", year=year, share=share(part)),
                m("answer.by_year", amount=m.amount(after, c), before=m.amount(before, c)),
            )
        if s.calendar is not None:
            table.add_row(
                m("row.validity"),
                m(
                    "answer.validity",
                    status=s.calendar.status,
                    start=str(s.calendar.start),
                    share=share(s.paid_share),
                ),
            )
        if s.present_value is not None:
            table.add_row(m("row.present_value"), m.amount(s.present_value, c))
    if e.power_subsidy is not None:
        table.add_row(
            m("row.power_subsidy"),
            m(
                "answer.subsidy",
                amount=m.amount(e.power_subsidy.amount, c),
                share=share(e.power_subsidy.effective_rate),
            ),
        )
    table.add_row(m("row.net"), m.amount(e.net, c))
    if e.effective_price is not None:
        table.add_row(m("row.effective_price"), m.price(e.effective_price, c))
    if e.net_per_pflop_hour is not None:
        table.add_row(m("row.net_per_pflop_hour"), m.price(e.net_per_pflop_hour, c))
    if e.net_per_million_tokens is not None:
        table.add_row(m("row.net_per_million_tokens"), m.price(e.net_per_million_tokens, c))


def print_compare(ranked: list[Estimate], m: Messages = ENGLISH) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from subsidybench.cost.model import HOURS_PER_DAY
    from subsidybench.provenance import Assumption

    c = ranked[0].currency
    tokens = ranked[0].net_per_pflop_hour is None
    unit = m("col.net_per_m_tokens") if tokens else m("col.net_per_pflop_hour")
    table = Table(
        title=escape(m("answer.compare", job=ranked[0].job.describe(), currency=m.currency(c)))
    )
    columns = ("#", "option", "throughput", "price_h", "subsidy", "wall_days", "net")
    for column in columns:
        table.add_column(
            m(f"col.{column}") if column != "#" else "#",
            justify="right" if column not in ("option", "throughput") else "left",
        )
    table.add_column(unit, justify="right")
    for i, e in enumerate(ranked, start=1):
        per_unit = e.net_per_million_tokens if tokens else e.net_per_pflop_hour
        throughput = next((a.value for a in e.assumptions if a.name == "throughput"), "-")
        table.add_row(
            str(i),
            escape(e.label),
            escape(throughput),
            f"{e.price.amount:,.4g}",
            share(e.subsidy.effective_rate) if e.subsidy else "-",
            "-" if e.wall_hours is None else figure(e.wall_hours / HOURS_PER_DAY),
            m.amount(e.net, None, 0),
            f"{per_unit:,.4g}" if per_unit is not None else "-",
        )
    console = Console()
    console.print(table)
    labelled = [
        Assumption(f"{e.label}: {a.name}", a.value, a.basis, a.source)
        for e in ranked
        for a in e.assumptions
    ]
    console.print(assumption_table(labelled, m))


def print_reach(r: Reach, m: Messages = ENGLISH) -> None:
    from rich.console import Console
    from rich.table import Table

    c = r.currency
    title = m("answer.reach", amount=m.amount(r.amount, c), label=r.amount_label)
    table = Table(title=title, show_header=False)
    table.add_column("quantity", style="bold")
    table.add_column("value", justify="right")
    table.add_row(m("row.rate"), f"{r.rate:.0%}")
    if r.effective_rate is not None and r.contract_size is not None:
        table.add_row(
            m("row.subsidy_per_firm", share=f"{r.effective_rate:.1%}"),
            m.amount(r.effective_rate * r.contract_size, c),
        )
    table.add_row(m("row.contract_value"), m.amount(r.contract_value, c))
    table.add_row(m("row.firm_pays"), m.amount(r.firm_pays, c))
    table.add_row(m("row.device_hours"), figure(r.device_hours))
    if r.pflop_days is not None:
        table.add_row(m("row.pflop_days"), figure(r.pflop_days))
    if r.tokens is not None:
        table.add_row(m("row.tokens"), f"{r.tokens:.4g}")
    if r.training_runs is not None:
        table.add_row(m("row.training_runs"), f"{r.training_runs:,.3g}")
    if r.firms_covered is not None:
        table.add_row(
            m("row.firms_covered", size=m.amount(r.contract_size, c)), figure(r.firms_covered)
        )
    console = Console()
    console.print(table)
    console.print(assumption_table(r.assumptions, m))


# Figures of a range as rows: (figure, catalogue key of its label, money kind or None).
_RANGE_ROWS = (
    ("net", "row.net", "amount"),
    ("gross", "row.gross", "amount"),
    ("subsidy", "row.subsidy", "amount"),
    ("effective_rate", "row.effective_rate", "share"),
    ("effective_price", "row.effective_price", "price"),
    ("net_per_pflop_hour", "row.net_per_pflop_hour", "price"),
    ("net_per_million_tokens", "row.net_per_million_tokens", "price"),
    ("device_hours", "row.device_hours", None),
    ("wall_days", "row.wall_days", None),
    ("contract_value", "row.contract_value", "amount"),
    ("firm_pays", "row.firm_pays", "amount"),
    ("pflop_days", "row.pflop_days", None),
    ("tokens", "row.tokens", None),
    ("training_runs", "row.training_runs", None),
    ("firms_covered", "row.firms_covered_plain", None),
)


def range_cell(value: float, kind: str | None, currency: str | None, m: Messages) -> str:
    """One figure of a range as the answer table writes it."""
    if kind == "amount":
        return m.amount(value, currency)
    if kind == "price":
        return m.price(value, currency)
    if kind == "share":
        return share(value)
    return _cell(value)


def print_ranges(r: Ranges | None, m: Messages = ENGLISH) -> None:
    """P10 / P50 / P90 beside each point figure, the inputs they rest on, and the tornado."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console()
    if r is None:
        console.print(m("range.none"))
        return
    c = r.currency
    table = Table(title=m("range.title", draws=f"{r.draws:,}", seed=r.seed))
    table.add_column(m("col.figure"))
    for key in ("col.point", "col.p10", "col.p50", "col.p90"):
        table.add_column(m(key), justify="right")
    for name, key, kind in _RANGE_ROWS:
        if name not in r.figures:
            continue
        values = r.figures[name]
        table.add_row(m(key), *(range_cell(v, kind, c, m) for v in values))
    console.print(table)
    inputs = Table(title=m("range.inputs"))
    inputs.add_column(m("col.input"))
    inputs.add_column(m("col.distribution"), overflow="fold")
    inputs.add_column(m("col.basis"))
    for s in r.sources:
        inputs.add_row(escape(s.label), escape(s.describe), m.basis(s.basis))
    console.print(inputs)
    label = next(key for name, key, _ in _RANGE_ROWS if name == r.headline)
    kind = next(k for name, _, k in _RANGE_ROWS if name == r.headline)
    tornado = Table(title=m("range.tornado", figure=m(label)))
    for key in ("col.input", "col.input_p10", "col.input_p90", "col.at_p10", "col.at_p90"):
        tornado.add_column(m(key), justify="left" if key == "col.input" else "right")
    tornado.add_column(m("col.swing"), justify="right")
    for b in r.tornado:
        tornado.add_row(
            escape(b.label),
            _cell(b.low),
            _cell(b.high),
            range_cell(b.at_low, kind, c, m),
            range_cell(b.at_high, kind, c, m),
            range_cell(b.swing, kind, c, m),
        )
    console.print(tornado)
    console.print(m("range.seed", seed=r.seed, draws=f"{r.draws:,}", ms=f"{r.seconds * 1e3:,.0f}"))


# Sweep columns as printed, headed by the catalogue's sweep.<column> (every column goes to
# --csv/--json under its own name).
_HEADERS = (
    "work",
    "device_hours_given",
    "contract_value",
    "price_per_hour",
    "capex",
    "lifetime_years",
    "cost_of_capital",
    "power_w",
    "pue",
    "tariff_per_kwh",
    "hosting_per_year",
    "utilisation",
    "per_second",
    "mfu",
    "devices",
    "scaling_efficiency",
    "rate",
    "rate_before_caps",
    "effective_rate",
    "wall_hours",
    "gross",
    "subsidy",
    "net",
    "effective_price",
    "cap_binds",
    "net_per_pflop_hour",
    "net_per_million_tokens",
)
_OUTPUTS = (
    "gross",
    "subsidy",
    "effective_rate",
    "net",
    "effective_price",
    "cap_binds",
    "net_per_pflop_hour",
    "net_per_million_tokens",
)


def print_sweep(
    frame: Any,
    axes: list[str],
    currency: str,
    rows: int,
    assumptions: list[Assumption],
    m: Messages = ENGLISH,
) -> None:
    from rich.console import Console
    from rich.table import Table

    inputs = [
        c
        for c in frame.columns
        if c in _HEADERS
        and c not in _OUTPUTS
        and c not in ("wall_hours", "rate_before_caps")
        and frame[c].nunique() > 1
    ]
    if "devices" in inputs or "per_second" in inputs or "mfu" in inputs:
        inputs.append("wall_hours")
    columns = [*inputs, *(c for c in _OUTPUTS if c in frame.columns)]
    title = m("answer.sweep", axes=", ".join(axes), count=f"{len(frame):,}", currency=currency)
    table = Table(title=title)
    for column in columns:
        table.add_column(m(f"sweep.{column}"), justify="right")
    for record in frame[columns].head(rows).itertuples(index=False):
        table.add_row(*(_cell(v, m) for v in record))
    console = Console()
    console.print(table)
    if len(frame) > rows:
        console.print(m("answer.more_rows", count=f"{len(frame) - rows:,}"))
    if assumptions:
        console.print(assumption_table(assumptions, m))


def _cell(value: Any, m: Messages = ENGLISH) -> str:
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return m("word.yes") if value else m("word.no")
    number = float(value)
    if not math.isfinite(number):
        return "inf"
    if number != 0 and (abs(number) >= 1e12 or abs(number) < 1e-3):
        return f"{number:.3e}"
    if abs(number) >= 100:
        return f"{number:,.0f}"
    return f"{number:,.4g}"


def write(
    json_path: Path | None, csv_path: Path | None, doc: dict[str, Any], frame: Any
) -> list[Path]:
    """Write the answer as JSON and/or CSV (each whole or not at all); the paths written."""
    written: list[Path] = []
    if json_path is not None:
        if frame is not None:
            doc = {**doc, "rows": json.loads(frame.to_json(orient="records"))}
        text = json.dumps(_finite(doc), indent=2, allow_nan=False) + "\n"
        write_atomic(json_path, text, "--json")
        written.append(json_path)
    if csv_path is not None:
        import pandas as pd

        if frame is None:
            frame = pd.DataFrame([flat(doc)])
        write_atomic(csv_path, frame.to_csv(index=False), "--csv")
        written.append(csv_path)
    return written


def _finite(value: Any) -> Any:
    """JSON has no infinity or NaN: an unlimited cap or an undefined ratio is written as null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value
