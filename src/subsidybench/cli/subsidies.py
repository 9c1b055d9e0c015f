"""`subsidybench subsidies`: list the subsidy programmes in the catalogue, or show one in full."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Annotated

import typer

from subsidybench.catalogue.subsidies import Programme, list_programmes, load_programme, valid_on
from subsidybench.cli.options import ProfilesDir
from subsidybench.cli.output import wrote
from subsidybench.errors import UserError
from subsidybench.report.catalogue_view import PROGRAMME_COLUMNS, programme_details, programme_rows
from subsidybench.report.listing import dropped_line, fit, write_records
from subsidybench.report.terminal import console as render_console

app = typer.Typer(
    help="Subsidy programmes: rates, caps, pools and their sources.", no_args_is_help=True
)

CsvOption = Annotated[
    Path | None,
    typer.Option(
        "--csv", metavar="FILE", help="Also write the list as CSV; '-' prints it instead."
    ),
]
JsonOption = Annotated[
    Path | None,
    typer.Option(
        "--json", metavar="FILE", help="Also write the list as JSON; '-' prints it instead."
    ),
]


@app.command("list")
def list_command(
    profiles_dir: ProfilesDir = None,
    valid_on_text: Annotated[
        str | None,
        typer.Option(
            "--valid-on",
            metavar="DATE",
            help="Only programmes whose stated dates do not exclude DATE (YYYY-MM-DD); those"
            " whose sources give no start or end are listed and counted.",
        ),
    ] = None,
    csv_path: CsvOption = None,
    json_path: JsonOption = None,
) -> None:
    """List every programme with its headline rate, caps and pool."""
    programmes = list_programmes(profiles_dir or [])
    notes: list[str] = []
    if valid_on_text is not None:
        programmes, notes = _valid_on(programmes, valid_on_text)
    written, printed = write_records([p.to_dict() for p in programmes], csv_path, json_path)
    for path in written:
        wrote(path)
    if printed:
        return
    console = render_console()
    title = "Subsidy programmes (rates and caps are maxima)"
    table, dropped = fit(PROGRAMME_COLUMNS, programme_rows(programmes), console.width, title)
    console.print(table)
    line = dropped_line(dropped, console.width, "--csv FILE, --json FILE or 'subsidies show ID'")
    for text in [*notes, *([line] if line else [])]:
        console.print(text, highlight=False, markup=False)


def _valid_on(programmes: list[Programme], text: str) -> tuple[list[Programme], list[str]]:
    try:
        day = datetime.date.fromisoformat(text)
    except ValueError:
        raise UserError(f"--valid-on: expected a date YYYY-MM-DD, got {text!r}") from None
    verdicts = [(p, valid_on(p, day)) for p in programmes]
    kept = [p for p, v in verdicts if v is not False]
    out = [p.id for p, v in verdicts if v is False]
    unknown = [p.id for p, v in verdicts if v is None]
    notes = [f"--valid-on {day}: {len(kept)} of {len(programmes)} programmes listed."]
    if out:
        notes.append(
            f"Left out (not yet valid, or ended, by their stated dates): {', '.join(out)}."
        )
    if unknown:
        notes.append(
            f"{len(unknown)} listed state no start or no end in their sources, so they are not"
            f" known to be valid on {day}: {', '.join(unknown)}."
        )
    return kept, notes


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
