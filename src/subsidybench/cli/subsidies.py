"""`subsidybench subsidies`: list the subsidy programmes in the catalogue, or show one in full."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from subsidybench.catalogue.subsidies import Programme, Term, list_programmes, load_programme
from subsidybench.cli.options import ProfilesDir
from subsidybench.report.terminal import console as render_console

app = typer.Typer(
    help="Subsidy programmes: rates, caps, pools and their sources.", no_args_is_help=True
)


def _money(term: Term, currency: str) -> str:
    return f"{term.value:,.0f} {currency}" if term.value is not None else str(term.state)


def _rate(term: Term) -> str:
    return f"{term.value:.0%}" if term.value is not None else str(term.state)


def _until(p: Programme) -> str:
    return f"{p.valid_until} (expired)" if p.expired() else p.valid_until


@app.command("list")
def list_command(profiles_dir: ProfilesDir = None) -> None:
    """List every programme with its headline rate, caps and pool."""
    table = Table(title="Subsidy programmes (rates and caps are maxima)")
    table.add_column("id", no_wrap=True)
    for column in (
        "region",
        "issued",
        "pays towards",
        "rate",
        "cap/contract",
        "cap/firm/yr",
        "pool",
        "valid until",
    ):
        table.add_column(column, overflow="fold")
    for p in list_programmes(profiles_dir or []):
        rates = _rate(p.rates.base)
        if p.rates.domestic.stated:
            rates += f" ({_rate(p.rates.domestic)} domestic)"
        if p.rates.small_firm.stated:
            rates += f" ({_rate(p.rates.small_firm)} small firms)"
        cells = (
            p.id,
            p.region,
            p.issued,
            ", ".join(spend.value for spend in p.eligible),
            rates,
            _money(p.caps.per_contract, p.currency),
            _money(p.caps.per_firm_year, p.currency),
            f"{_money(p.pool, p.currency)} ({p.pool_period})",
            _until(p),
        )
        table.add_row(*(escape(c) for c in cells))
    render_console().print(table)


@app.command("show")
def show_command(
    name: str = typer.Argument(..., help="Programme name (see 'subsidies list') or TOML path."),
    profiles_dir: ProfilesDir = None,
) -> None:
    """Show one programme: every figure, what the sources leave unsaid, and the sources."""
    _show(load_programme(name, profiles_dir or []))


def _show(p: Programme) -> None:
    console = Console()
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
    console.print(table)
    console.print("'none': the programme has no such rule; 'unknown': the sources do not say.")
    if p.notes:
        console.print("[bold]Notes[/bold]")
        for note in p.notes:
            console.print(f"  - {note}", markup=False)
    console.print("[bold]Sources[/bold]")
    for s in p.sources:
        console.print(
            f"  - {s.title} ({s.published})\n    {s.url}\n    says: {s.says}", markup=False
        )
