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
from rich.table import Column, Table

from subsidybench.catalogue import paths as catalogue
from subsidybench.catalogue.cpupeak import machine_model, machine_peaks
from subsidybench.catalogue.profiles import KIND, DeviceProfile, list_profiles, load_profile
from subsidybench.cli.options import ProfilesDir
from subsidybench.dtypes import DType
from subsidybench.errors import UserError
from subsidybench.provenance import Basis, Figure
from subsidybench.report.terminal import console as render_console

app = typer.Typer(
    help="Device profiles: peaks, memory, bandwidth and prices, each with its basis and source.",
    no_args_is_help=True,
)


# One letter per basis in the list table; `profiles show` spells them out.
_LETTER = {
    Basis.VENDOR: "V",
    Basis.ESTIMATE: "E",
    Basis.MEASURED: "M",
    Basis.DERIVED: "D",
}
_LEGEND = "V vendor claim, E estimate, M measured, D derived; peaks are dense TFLOP/s."


def _console() -> Console:
    """The shared console, wider in a pipe: tables of sources need more than 120 columns."""
    out = render_console()
    if not out.is_terminal and "COLUMNS" not in os.environ:
        out.width = max(out.width, 160)
    return out


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


@app.command("list")
def list_command(profiles_dir: ProfilesDir = None) -> None:
    """List the device profiles: dense 16-bit peaks, memory, bandwidth and rent."""
    profiles = list_profiles(profiles_dir or [])
    table = Table(
        Column("id", no_wrap=True),
        "name",
        "vendor",
        "backend",
        "domestic",
        "bf16 TFLOP/s",
        "fp16 TFLOP/s",
        "memory GB",
        "bandwidth GB/s",
        "rent",
    )
    for p in profiles:
        table.add_row(
            p.id,
            p.name,
            p.vendor,
            p.backend,
            "yes" if p.domestic else "no",
            _short(p.peak(DType.BF16)),
            _short(p.peak(DType.FP16)),
            _short(p.memory_gb),
            _short(p.memory_bandwidth_gbs),
            _rent(p),
        )
    console = _console()
    console.print(table)
    console.print(f"{len(profiles)} profiles. {_LEGEND}", highlight=False)


def _figure_table(title: str, rows: list[tuple[str, Figure]]) -> Table:
    table = Table("field", "value", "basis", "source", "note", title=title, title_justify="left")
    for name, fig in rows:
        value = "unknown" if fig.value is None else f"{fig.value:g}"
        table.add_row(name, value, fig.basis.value, fig.source or "-", fig.note or "")
    return table


@app.command()
def show(
    name: Annotated[str, typer.Argument(help="Profile id (e.g. h100-sxm) or path to a TOML file.")],
    profiles_dir: ProfilesDir = None,
) -> None:
    """Show every figure of a profile with its basis and source."""
    p = load_profile(name, profiles_dir or [])
    console = _console()
    module = f" (module {p.module})" if p.module else ""
    patterns = ", ".join(p.match) if p.match else "none: never matched to a device automatically"
    console.print(f"[bold]{p.label}[/bold]  id {p.id}", highlight=False)
    domestic = "yes" if p.domestic else "no"
    console.print(
        f"vendor {p.vendor}; backend {p.backend}{module}; domestic: {domestic}", highlight=False
    )
    console.print(f"matches device names: {patterns}", highlight=False)
    if p.note:
        console.print(f"note: {p.note}", highlight=False)
    console.print(_figure_table("Figures (peaks in dense TFLOP/s)", p.figures()))
    if p.prices:
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
        console.print(prices)
    else:
        console.print("Prices: none recorded.")
    if p.cpu is not None:
        model = machine_model() or "this machine"
        try:
            derived = machine_peaks(p.cpu)
        except UserError as e:
            console.print(f"On {model}: {e}", highlight=False)
        else:
            rows = [(f"peak_tflops.{d}", fig) for d, fig in derived.items()]
            console.print(_figure_table(f"Derived on this machine ({model})", rows))


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
