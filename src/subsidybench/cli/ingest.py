"""`subsidybench ingest`: a pytest-benchmark JSON file of bench/ as a run result."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from subsidybench.errors import UserError

app = typer.Typer(help="Turn pytest-benchmark results into a run result.", no_args_is_help=True)


@app.command("ingest", no_args_is_help=True)
def ingest(
    file: Annotated[
        Path,
        typer.Argument(
            help="pytest-benchmark JSON from 'pytest bench/ --benchmark-json=FILE' (or"
            " --benchmark-save with --benchmark-save-data)."
        ),
    ],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Where the run result goes (default: runs/FILE-NAME.run.json)."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite --out if it exists.")] = False,
) -> None:
    """Turn pytest-benchmark JSON from bench/ into a run result.

    show, cost, report and compare read it like any other run; each result says it was measured
    by pytest-benchmark, and its verdict is judged again from the raw rounds.
    """
    from subsidybench.report.terminal import console as render_console
    from subsidybench.report.terminal import run_header, run_table
    from subsidybench.results.ingest import load_pytest_benchmark
    from subsidybench.results.record import save_run

    target = out or Path("runs") / f"{file.stem}.run.json"
    flag = "--out" if out is not None else ""
    if target.exists() and not force:
        where = f"--out: {target}" if out is not None else f"{target} (the default --out)"
        raise UserError(f"{where} exists; choose another path or pass --force")
    run = load_pytest_benchmark(file)
    save_run(run, target, exclusive=not force, what=flag)
    console = render_console()
    console.print(run_header(run, str(target)))
    table, notes = run_table(run)
    console.print(table)
    for line in notes:
        console.print(line, highlight=False)
    typer.echo(f"wrote {target}")
