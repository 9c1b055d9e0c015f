"""`subsidybench profiles`: list, show and validate device profiles.

Torch-free: a finance user checks what a profile claims, and where each number comes from,
without an accelerator or torch.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from subsidybench.catalogue.cpupeak import machine_peaks
from subsidybench.catalogue.profiles import list_profiles, load_profile
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
    from subsidybench.cost.published import evidence

    lines = evidence(p.id, profiles_dir or [], p.vendor)
    console.print("Evidence for a rate (to choose --mfu or --published):", highlight=False)
    for line in lines or ["no published result for this device or its vendor's devices"]:
        console.print(f"  {line}", highlight=False, markup=False)
    if p.cpu is not None:
        model = cpu_model()
        try:
            derived = machine_peaks(p.cpu)
        except UserError as e:
            console.print(f"On {model}: {e}", highlight=False)
        else:
            rows = [(f"peak_tflops.{d}", fig) for d, fig in derived.items()]
            console.print(figure_table(f"Derived on this machine ({model})", rows))


@app.command()
def validate(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Catalogue files, or directories of them (a catalogue root with devices/,"
            " systems/, subsidies/ and fx/, or one such folder). Default: the whole catalogue."
        ),
    ] = None,
    profiles_dir: ProfilesDir = None,
) -> None:
    """Check catalogue files of every kind: every field known, every figure sourced and dated no
    later than today, every value sane."""
    from subsidybench.catalogue.validate import catalogue_files, given_files, read

    extra = profiles_dir or []
    files = given_files(paths) if paths else catalogue_files(extra)
    if not files:
        raise UserError("no catalogue files found")
    if len(files) == 1:  # one file: its error is the one line
        read(*files[0], extra)
        typer.echo(f"OK: 1 {files[0][0]} file valid")
        return
    bad = 0
    for kind, path in files:
        try:
            read(kind, path, extra)
        except UserError as e:
            bad += 1
            typer.echo(f"error: {e}", err=True)
    kinds = Counter(kind for kind, _ in files)
    each = ", ".join(f"{n} {kind}" for kind, n in kinds.items())
    if bad:
        raise UserError(f"{bad} of {len(files)} catalogue files invalid ({each})")
    typer.echo(f"OK: {len(files)} catalogue files valid ({each})")
