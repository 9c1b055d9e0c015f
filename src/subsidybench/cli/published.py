"""`subsidybench published`: the catalogue of published results, and cross-device claims.

`list` prints one line a result, `show ID` every field with its source, and `claim A B` the ratio
of two devices' rates on the same model and phase from the best evidence the catalogue has
(cost.claims). The catalogue is subsidybench.catalogue.published; this module renders it.
"""

from __future__ import annotations

from typing import Annotated

import typer

from subsidybench.cli.options import ProfilesDir

app = typer.Typer(
    help="Published results (others' measurements) kept as evidence, and claims checked on them.",
    no_args_is_help=True,
)


@app.command("list")
def list_command(profiles_dir: ProfilesDir = None) -> None:
    """One line a result: id, device or system, model, phase, figure per device, date."""
    from subsidybench.catalogue.published import list_published

    results = list_published(profiles_dir or [])
    for r in results:
        typer.echo(r.line())
    typer.echo(f"{len(results)} published results (basis: published; not measured by this tool)")


@app.command()
def show(
    result_id: Annotated[str, typer.Argument(help="Result id or path to a TOML file.")],
    profiles_dir: ProfilesDir = None,
) -> None:
    """Every field of a published result, its conditions and its source."""
    from subsidybench.catalogue.published import load_published

    r = load_published(result_id, profiles_dir or [])
    rows = [
        ("title", r.title),
        ("figure", f"{r.figure_text()} (basis: published)"),
        ("as published", r.as_published),
        ("device", r.device + (f" (in system {r.system})" if r.system else "")),
        ("model", r.model),
        ("phase", str(r.phase)),
        ("precision", r.precision),
        ("parallelism", r.parallelism),
        ("devices", "not stated" if r.hardware_count is None else f"{r.hardware_count:,}"),
        ("TPOT bound", "none stated" if r.tpot_ms is None else f"<= {r.tpot_ms:g} ms"),
        ("TTFT bound", "none stated" if r.ttft_ms is None else f"<= {r.ttft_ms:g} ms"),
        ("conditions", r.conditions or "-"),
        ("published", f"{r.published} by {r.publisher}"),
        ("checked", r.checked),
        ("source", r.source),
        ("note", r.note or "-"),
    ]
    for name, value in rows:
        typer.echo(f"{name:>12}: {value}")


@app.command()
def claim(
    device: Annotated[str, typer.Argument(help="The device the claim is about (ascend-910c).")],
    against: Annotated[str, typer.Argument(help="The device it is measured against (h100-sxm).")],
    model: Annotated[str, typer.Option(help="The model both ran (deepseek-r1).")],
    phase: Annotated[str, typer.Option(help="prefill, decode, offline or train.")] = "decode",
    share: Annotated[
        float | None, typer.Option(help="The claimed share (0.65 for 'about 65%') to check.")
    ] = None,
    profiles_dir: ProfilesDir = None,
) -> None:
    """The ratio of DEVICE's rate to AGAINST's on one model and phase, from the best evidence."""
    from subsidybench.cost.claims import check_claim

    c = check_claim(device, against, model, phase, share, tuple(profiles_dir or ()))
    for line in c.lines():
        typer.echo(line)
