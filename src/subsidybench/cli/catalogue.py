"""`subsidybench catalogue check`: what in the catalogue is stale, expired, unknown or unpriced.

The checking is subsidybench.catalogue.freshness; this module renders it.
"""

from __future__ import annotations

import datetime
from typing import Annotated

import typer

from subsidybench.catalogue.freshness import MAX_AGE_DAYS, check_catalogue
from subsidybench.cli.options import ProfilesDir
from subsidybench.errors import UserError

app = typer.Typer(
    help="The catalogue as a whole: how fresh its figures, prices and programmes are.",
    no_args_is_help=True,
)


@app.command()
def check(
    max_age_days: Annotated[
        int, typer.Option(min=1, help="Flag figures and prices last seen more than N days ago.")
    ] = MAX_AGE_DAYS,
    strict: Annotated[
        bool, typer.Option(help="Exit non-zero when anything is flagged (for CI).")
    ] = False,
    today: Annotated[
        str | None, typer.Option(help="Judge as of this date (YYYY-MM-DD); default: today.")
    ] = None,
    profiles_dir: ProfilesDir = None,
) -> None:
    """List stale figures and prices, expired programmes, unknowns and unpriced profiles."""
    try:
        when = datetime.date.fromisoformat(today) if today else datetime.date.today()
    except ValueError:
        raise UserError(f"--today: expected YYYY-MM-DD, got {today!r}") from None
    result = check_catalogue(when, max_age_days, profiles_dir or [])
    counts = "; ".join(f"{k}: {v}" for k, v in result.counts.items())
    typer.echo(f"catalogue as of {when} (max age {max_age_days} days): {counts}")
    unknown = ", ".join(f"{n} {k}" for k, n in sorted(result.unknowns.items()))
    typer.echo(f"unknown (the sources do not say): {sum(result.unknowns.values())} ({unknown})")
    by_kind: dict[str, list] = {}
    for flag in result.flags:
        by_kind.setdefault(flag.kind, []).append(flag)
    for kind, flags in by_kind.items():
        typer.echo(f"\n{kind} ({len(flags)}):")
        for flag in flags:
            typer.echo(f"  {flag.where}: {flag.message}")
    if not result.flags:
        typer.echo("nothing flagged")
    elif strict:
        raise typer.Exit(1)
