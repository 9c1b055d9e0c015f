"""`subsidybench profiles`: list, show and validate device profiles.

Torch-free: a finance user checks what a profile claims, and where each number comes from,
without an accelerator or torch.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from subsidybench.catalogue import paths as catalogue
from subsidybench.catalogue.cpupeak import machine_peaks
from subsidybench.catalogue.profiles import KIND, list_profiles, load_profile
from subsidybench.cli.options import ProfilesDir
from subsidybench.cpuinfo import cpu_model
from subsidybench.errors import UserError
from subsidybench.report.catalogue_view import (
    PROFILE_COLUMNS,
    PROFILE_LEGEND,
    figure_table,
    profile_details,
    profile_records,
    profile_rows,
)
from subsidybench.report.terminal import console as render_console

app = typer.Typer(
    help="Device profiles: peaks, memory, bandwidth and prices, each with its basis and source.",
    no_args_is_help=True,
)


def _console() -> Console:
    """The shared console, wider in a pipe: tables of sources need more than 120 columns."""
    out = render_console()
    if not out.is_terminal and "COLUMNS" not in os.environ:
        out.width = max(out.width, 160)
    return out


@app.command("list")
def list_command(
    profiles_dir: ProfilesDir = None,
    csv_path: Annotated[
        Path | None,
        typer.Option(
            "--csv", metavar="FILE", help="Also write the list as CSV; '-' prints it instead."
        ),
    ] = None,
    json_path: Annotated[
        Path | None,
        typer.Option(
            "--json", metavar="FILE", help="Also write the list as JSON; '-' prints it instead."
        ),
    ] = None,
) -> None:
    """List the device profiles: dense 16-bit peaks, memory, bandwidth and rent."""
    from subsidybench.cli.output import wrote
    from subsidybench.report.listing import dropped_line, fit, write_records

    profiles = list_profiles(profiles_dir or [])
    written, printed = write_records(profile_records(profiles), csv_path, json_path)
    for path in written:
        wrote(path)
    if printed:
        return
    console = render_console()
    table, dropped = fit(PROFILE_COLUMNS, profile_rows(profiles), console.width)
    console.print(table)
    console.print(f"{len(profiles)} profiles. {PROFILE_LEGEND}", highlight=False)
    line = dropped_line(dropped, console.width, "--csv FILE, --json FILE or 'profiles show ID'")
    if line:
        console.print(line, highlight=False, markup=False)


@app.command()
def show(
    name: Annotated[str, typer.Argument(help="Profile id (e.g. h100-sxm) or path to a TOML file.")],
    profiles_dir: ProfilesDir = None,
) -> None:
    """Show every figure of a profile with its basis and source."""
    p = load_profile(name, profiles_dir or [])
    console = _console()
    for part in profile_details(p):
        console.print(part, highlight=False)
    if p.cpu is not None:
        model = cpu_model()
        try:
            derived = machine_peaks(p.cpu)
        except UserError as e:
            console.print(f"On {model}: {e}", highlight=False)
        else:
            rows = [(f"peak_tflops.{d}", fig) for d, fig in derived.items()]
            console.print(figure_table(f"Derived on this machine ({model})", rows))


def _files(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            folder = path / KIND if (path / KIND).is_dir() else path
            found.extend(sorted(folder.glob("*.toml")))
        elif path.is_file():
            found.append(path)
        else:
            raise UserError(f"{path}: no such file or directory")
    return found


@app.command()
def validate(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Profile files, or directories of them (a catalogue root with devices/ or the"
            " devices folder itself). Default: the whole catalogue."
        ),
    ] = None,
    profiles_dir: ProfilesDir = None,
) -> None:
    """Check profiles: every field known, every figure sourced, every value sane."""
    extra = profiles_dir or []
    files = _files(paths) if paths else list(catalogue.files(KIND, extra).values())
    if not files:
        raise UserError("no profile files found")
    if len(files) == 1:  # one file: its error is the one line
        path = files[0]
        load_profile(str(path) if os.sep in str(path) else f".{os.sep}{path}", extra)
        typer.echo("OK: 1 profiles valid")
        return
    bad = 0
    for path in files:
        try:
            # A path that is neither *.toml nor has a separator would be read as a name.
            load_profile(str(path) if os.sep in str(path) else f".{os.sep}{path}", extra)
        except UserError as e:
            bad += 1
            typer.echo(f"error: {e}", err=True)
    if bad:
        raise UserError(f"{bad} of {len(files)} profiles invalid")
    typer.echo(f"OK: {len(files)} profiles valid")
