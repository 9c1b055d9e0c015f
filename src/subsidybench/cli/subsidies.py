"""`subsidybench subsidies`: list the subsidy programmes in the catalogue, or show one in full."""

from __future__ import annotations

import typer

from subsidybench.catalogue.subsidies import Programme, list_programmes, load_programme
from subsidybench.cli.options import ProfilesDir
from subsidybench.report.catalogue_view import programme_details, programmes_table
from subsidybench.report.terminal import console as render_console

app = typer.Typer(
    help="Subsidy programmes: rates, caps, pools and their sources.", no_args_is_help=True
)


@app.command("list")
def list_command(profiles_dir: ProfilesDir = None) -> None:
    """List every programme with its headline rate, caps and pool."""
    table = programmes_table(list_programmes(profiles_dir or []))
    render_console().print(table)


@app.command("show")
def show_command(
    name: str = typer.Argument(..., help="Programme name (see 'subsidies list') or TOML path."),
    profiles_dir: ProfilesDir = None,
) -> None:
    """Show one programme: every figure, what the sources leave unsaid, and the sources."""
    _show(load_programme(name, profiles_dir or []))


def _show(p: Programme) -> None:
    console = render_console()
    for part in programme_details(p):
        console.print(part, highlight=False)
