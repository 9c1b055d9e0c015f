"""The parity answer of `cost --vs` in the terminal: one line, then what each side rests on."""

from __future__ import annotations

import typer

from subsidybench.cost.answer import Estimate
from subsidybench.cost.parity import Parity


def _side(name: str, rent: str, e: Estimate, currency: str) -> list[str]:
    out = [f"{name}: rent {rent}"]
    if e.gross is not None and e.net is not None:
        subsidy = e.gross - e.net
        out.append(
            f"  gross {e.gross:,.2f} {currency}, subsidy {subsidy:,.2f}, net {e.net:,.2f};"
            f" {e.device_hours:,.6g} device-hours"
        )
    for a in e.assumptions:
        if a.name in ("throughput", "subsidy rate", "chip origin", "price", "device"):
            source = f" [{a.source}]" if a.source else ""
            out.append(f"  {a.name}: {a.value} ({a.basis}){source}")
    return out


def print_parity(p: Parity) -> None:
    """The parity rent in one line, then the priced side's rent and source and both answers."""
    typer.echo(p.line())
    if len(p.crossings) > 1:
        typer.echo(
            "more than one crossing: the programme's subsidy does not grow steadily with the"
            " spend (a cap or a tier), so which device is cheaper changes more than once"
        )
    typer.echo(f"compared on {p.per_unit}; work: {p.work_basis}")
    vs_rent = f"{p.vs_rent:,.4g} {p.currency} per device-hour, {p.vs_rent_source}"
    for line in _side(p.vs, vs_rent, p.vs_answer, p.currency):
        typer.echo(line)
    if p.answer is not None and p.rent is not None:
        rent = f"{p.rent:,.4g} {p.currency} per device-hour (parity, solved for)"
        for line in _side(p.device, rent, p.answer, p.currency):
            typer.echo(line)
