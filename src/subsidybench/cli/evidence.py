"""`subsidybench evidence` and `verify`: bundle runs for a subsidy claim, and check a bundle."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from subsidybench.cli.options import ProfilesDir
from subsidybench.errors import UserError

if TYPE_CHECKING:
    from subsidybench.results.record import WorkloadResult
    from subsidybench.work import Work

EXIT_NOT_VERIFIED = 3

app = typer.Typer(help="Evidence bundles for a subsidy claim.", no_args_is_help=True)


@app.command("evidence", no_args_is_help=True)
def evidence(
    files: Annotated[list[Path], typer.Argument(help="Run result files (JSON) to bundle.")],
    out: Annotated[Path, typer.Option("--out", help="The bundle to write (a new .zip file).")],
    subsidy: Annotated[
        str | None,
        typer.Option("--subsidy", help="Programme the report costs under; its file is bundled."),
    ] = None,
    price: Annotated[
        list[str] | None,
        typer.Option(help="Price per device-hour, AMOUNT or RUN=AMOUNT, as `report` takes it."),
    ] = None,
    currency: Annotated[str | None, typer.Option(help="Currency of --price.")] = None,
    profiles_dir: ProfilesDir = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Bundle results that are not device figures (a test hook, an emulated dtype),"
            " marked as forced.",
        ),
    ] = False,
) -> None:
    """Bundle runs (raw samples), their environment, the report and the catalogue files the
    costing used, with a manifest of SHA-256 hashes, into one zip for a claim."""
    from subsidybench.report.evidence_bundle import write_bundle

    bundle = write_bundle(
        files,
        out,
        subsidy=subsidy,
        profiles_dirs=tuple(profiles_dir or ()),
        prices=price or (),
        currency=currency,
        force=force,
    )
    for note in bundle.notes:
        typer.echo(f"note: {note}", err=True)
    for entry in bundle.manifest.files:
        typer.echo(f"  {entry.path}  {entry.bytes:,} bytes  sha256 {entry.sha256[:16]}...")
    typer.echo(f"wrote {bundle.path}: {len(bundle.manifest.files)} files and the manifest")


def _remade_work(r: WorkloadResult) -> Work | None:
    """A result's work per step from its workload and parameters, as the runner counts it; None
    for a workload this subsidybench does not know (a newer one, or an ingested benchmark)."""
    from subsidybench.workloads import WORKLOADS, make_workload

    if r.workload not in WORKLOADS:
        return None
    try:
        return make_workload(r.workload, r.params, r.id).work(r.dtype)
    except (UserError, ValueError, TypeError):
        return None


@app.command("verify", no_args_is_help=True)
def verify(
    bundle: Annotated[Path, typer.Argument(help="An evidence bundle (.zip) to check.")],
) -> None:
    """Check a bundle: member safety, manifest hashes, run schemas, every stored statistic
    recomputed from the raw samples, each result's work from its workload, and the report made
    again from the runs. Exits 3 when anything does not match; nothing in the bundle is
    extracted or executed. Says what it could not check, and what no bundle can prove."""
    from subsidybench.report.evidence_bundle import check_catalogue_file, remade_report
    from subsidybench.results.evidence import verify_bundle

    try:  # a workload's work is counted by its class, which needs torch
        import subsidybench.workloads  # noqa: F401

        work = _remade_work
    except ImportError:  # without torch: listed as not checked
        work = None
    result = verify_bundle(bundle, check_catalogue_file, work, remade_report)
    m = result.manifest
    typer.echo(
        f"{bundle}: made {m.created} by subsidybench {m.toolkit_version},"
        f" {len(m.files)} files" + (f", costed under {m.subsidy}" if m.subsidy else "")
    )
    typer.echo(
        f"checked {result.hashes_checked} hashes, {result.runs_loaded} run files,"
        f" {result.figures_recomputed} stored figures recomputed from raw samples and workloads"
    )
    for what in result.unchecked:
        typer.echo(f"not checked: {what}")
    for why in result.not_device:
        typer.echo(f"NOT A DEVICE FIGURE {why}")
    for problem in result.problems:
        typer.echo(f"MISMATCH {problem}")
    if not result.ok:
        typer.echo(
            f"error: NOT verified: {len(result.problems)} problem(s), listed above", err=True
        )
        raise typer.Exit(EXIT_NOT_VERIFIED)
    typer.echo(
        "the manifest is not signed: whoever edits a file can rewrite it, so this shows that the"
        " figures follow from the bundled samples, not that a device measured them"
    )
    forced = f"; {len(result.not_device)} not device figures" if result.not_device else ""
    partly = "; the rest by hash only" if result.unchecked else ""
    typer.echo(
        f"verified: every hash matches and every figure checked follows from the raw"
        f" samples{partly}{forced}"
    )
