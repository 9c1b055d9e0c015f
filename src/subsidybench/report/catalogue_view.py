"""The catalogue in the terminal: device profiles and subsidy programmes as rich tables.

Torch-free: a finance user checks what a profile or a programme claims, and where each number
comes from, without an accelerator or torch. Printing is the caller's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from subsidybench.catalogue.profiles import DeviceProfile
from subsidybench.catalogue.subsidies import Programme, Term
from subsidybench.dtypes import DType
from subsidybench.provenance import Basis, Figure
from subsidybench.report.listing import Column

# One letter per basis in the list table; `profiles show` spells them out.
_LETTER = {
    Basis.VENDOR: "V",
    Basis.ESTIMATE: "E",
    Basis.MEASURED: "M",
    Basis.DERIVED: "D",
}
PROFILE_LEGEND = "V vendor claim, E estimate, M measured, D derived; peaks are dense TFLOP/s."
TERM_LEGEND = "'none': the programme has no such rule; 'unknown': the sources do not say."


def _short(fig: Figure | None) -> str:
    if fig is None:
        return "-"
    if fig.value is None:
        return "unknown"
    return f"{fig.value:g} {_LETTER[fig.basis]}"


def _rent(profile: DeviceProfile) -> str:
    price = profile.rent_per_hour()
    if price is None:
        return "-"
    return f"{price.amount:,.2f} {price.currency}/h {_LETTER[price.basis]} ({price.date})"


# Columns of `profiles list`, dropped highest first at a narrow terminal (report.listing).
PROFILE_COLUMNS = (
    Column("id", "id"),
    Column("name", "name", 6),
    Column("vendor", "vendor", 5),
    Column("backend", "backend", 7),
    Column("domestic", "domestic", 3),
    Column("bf16", "bf16 TFLOP/s", 0, "right"),
    Column("fp16", "fp16 TFLOP/s", 8, "right"),
    Column("memory", "memory GB", 2, "right"),
    Column("bandwidth", "bandwidth GB/s", 4, "right"),
    Column("rent", "rent", 1),
)


def profile_rows(profiles: Sequence[DeviceProfile]) -> list[dict[str, str]]:
    """One row a profile: dense 16-bit peaks, memory, bandwidth and default rent, as text."""
    return [
        {
            "id": p.id,
            "name": p.name,
            "vendor": p.vendor,
            "backend": p.backend,
            "domestic": "yes" if p.domestic else "no",
            "bf16": _short(p.peak(DType.BF16)),
            "fp16": _short(p.peak(DType.FP16)),
            "memory": _short(p.memory_gb),
            "bandwidth": _short(p.memory_bandwidth_gbs),
            "rent": _rent(p),
        }
        for p in profiles
    ]


def _figure_record(fig: Figure | None) -> dict[str, Any]:
    if fig is None or fig.value is None:
        return {"value": None, "basis": None if fig is None else fig.basis.value}
    return {"value": fig.value, "basis": fig.basis.value, "source": fig.source}


def profile_records(profiles: Sequence[DeviceProfile]) -> list[dict[str, Any]]:
    """The same profiles as numbers with their basis and source, for --csv and --json."""
    out = []
    for p in profiles:
        rent = p.rent_per_hour()
        out.append(
            {
                "id": p.id,
                "name": p.name,
                "vendor": p.vendor,
                "backend": p.backend,
                "domestic": bool(p.domestic),
                "bf16_tflops": _figure_record(p.peak(DType.BF16)),
                "fp16_tflops": _figure_record(p.peak(DType.FP16)),
                "memory_gb": _figure_record(p.memory_gb),
                "memory_bandwidth_gbs": _figure_record(p.memory_bandwidth_gbs),
                "rent": None
                if rent is None
                else {
                    "amount": rent.amount,
                    "currency": rent.currency,
                    "term": rent.term.value,
                    "date": rent.date,
                    "basis": rent.basis.value,
                    "source": rent.source,
                },
            }
        )
    return out


def figure_table(title: str, rows: Sequence[tuple[str, Figure]]) -> Table:
    """Figures with their basis, source and note."""
    table = Table("field", "value", "basis", "source", "note", title=title, title_justify="left")
    for name, fig in rows:
        value = "unknown" if fig.value is None else f"{fig.value:g}"
        table.add_row(name, value, fig.basis.value, fig.source or "-", fig.note or "")
    return table


def profile_details(p: DeviceProfile) -> list[RenderableType]:
    """Every figure and price of a profile with its basis and source."""
    module = f" (module {p.module})" if p.module else ""
    patterns = ", ".join(p.match) if p.match else "none: never matched to a device automatically"
    domestic = "yes" if p.domestic else "no"
    out: list[RenderableType] = [
        Text.from_markup(f"[bold]{escape(p.label)}[/bold]  id {p.id}"),
        Text(f"vendor {p.vendor}; backend {p.backend}{module}; domestic: {domestic}"),
        Text(f"matches device names: {patterns}"),
    ]
    if p.note:
        out.append(Text(f"note: {p.note}"))
    out.append(figure_table("Figures (peaks in dense TFLOP/s)", p.figures()))
    searched = f" Searched: {p.prices_searched}" if p.prices_searched else ""
    if not p.prices:
        out.append(Text(f"Prices: none recorded.{searched}"))
        return out
    prices = Table("kind", "amount", "currency", "date", "basis", "source", "note")
    prices.title, prices.title_justify = "Prices", "left"
    for price in p.prices:
        prices.add_row(
            price.kind.value,
            f"{price.amount:,.2f}",
            price.currency,
            price.date,
            price.basis.value,
            price.source,
            price.note,
        )
    out.append(prices)
    return out


def _money(term: Term, currency: str) -> str:
    return f"{term.value:,.0f} {currency}" if term.value is not None else str(term.state)


def _rate(term: Term) -> str:
    return f"{term.value:.0%}" if term.value is not None else str(term.state)


def _until(p: Programme) -> str:
    return f"{p.valid_until} (expired)" if p.expired() else p.valid_until


# Columns of `subsidies list`, dropped highest first at a narrow terminal (report.listing).
PROGRAMME_COLUMNS = (
    Column("id", "id"),
    Column("region", "region", 4),
    Column("issued", "issued", 8),
    Column("pays", "pays towards", 6),
    Column("rate", "rate"),
    Column("cap_contract", "cap/contract", 5),
    Column("cap_firm", "cap/firm/yr", 2),
    Column("pool", "pool", 7),
    Column("until", "valid until", 3),
)


def programme_rows(programmes: Sequence[Programme]) -> list[dict[str, str]]:
    """One row a programme: headline rate (rates and caps are maxima), caps and pool."""
    rows = []
    for p in programmes:
        rates = _rate(p.rates.base)
        if p.rates.domestic.stated:
            rates += f" ({_rate(p.rates.domestic)} domestic)"
        if p.rates.small_firm.stated:
            rates += f" ({_rate(p.rates.small_firm)} small firms)"
        rows.append(
            {
                "id": p.id,
                "region": p.region,
                "issued": p.issued,
                "pays": ", ".join(spend.value for spend in p.eligible),
                "rate": rates,
                "cap_contract": _money(p.caps.per_contract, p.currency),
                "cap_firm": _money(p.caps.per_firm_year, p.currency),
                "pool": f"{_money(p.pool, p.currency)} ({p.pool_period})",
                "until": _until(p),
            }
        )
    return rows


def programme_details(p: Programme) -> list[RenderableType]:
    """One programme: every figure, what the sources leave unsaid, its notes and sources."""
    table = Table(title=escape(f"{p.name} [{p.id}]"), show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    rows = [
        ("region", p.region),
        ("issuer", p.issuer),
        ("document", p.document),
        ("issued", p.issued),
        ("valid from", p.valid_from),
        ("valid until", _until(p)),
        ("pays towards", ", ".join(p.eligible)),
        ("excluded", "; ".join(p.excluded) or "-"),
        ("pool", f"{_money(p.pool, p.currency)} ({p.pool_period})"),
        ("base rate", _rate(p.rates.base)),
        ("domestic-chip rate", _rate(p.rates.domestic)),
        ("small-firm rate", _rate(p.rates.small_firm)),
        ("small-firm rate lasts", f"{p.rates.small_firm_months} months"),
    ]
    rows += [(f"rate for {s}", _rate(t)) for s, t in p.rates.by_spend]
    if p.domestic_only:
        rows.append(("domestic chips only", ", ".join(p.domestic_only)))
    rows += [
        ("cap per contract", _money(p.caps.per_contract, p.currency)),
        ("cap per firm per year", _money(p.caps.per_firm_year, p.currency)),
        ("payment", p.payment),
        ("payment lag", f"{p.payment_lag_months} months"),
        ("stacks with others", p.stacking),
        ("file", str(p.path) if p.path else "-"),
    ]
    for field, value in rows:
        table.add_row(field, escape(value))
    out: list[RenderableType] = [table, Text(TERM_LEGEND)]
    if p.notes:
        out.append(Text.from_markup("[bold]Notes[/bold]"))
        out += [Text(f"  - {note}") for note in p.notes]
    out.append(Text.from_markup("[bold]Sources[/bold]"))
    out += [
        Text(f"  - {s.title} ({s.published})\n    {s.url}\n    says: {s.says}") for s in p.sources
    ]
    return out
