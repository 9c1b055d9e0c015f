"""`subsidybench ingest`: a pytest-benchmark JSON file of bench/ as a run result."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from subsidybench.cli.store import CommitOption, TimeOption
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
    store: Annotated[
        str | None,
        typer.Option(
            "--store",
            metavar="DB",
            help="Also add the run to this results store (see 'store add --help').",
        ),
    ] = None,
    commit: CommitOption = None,
    when: TimeOption = None,
) -> None:
    """Turn pytest-benchmark JSON from bench/ into a run result.

    show, cost, report and compare read it like any other run; each result says it was measured
    by pytest-benchmark, and its verdict is judged again from the raw rounds.
    """
    from subsidybench.report.terminal import console as render_console
    from subsidybench.report.terminal import run_header, run_table
    from subsidybench.results.ingest import load_pytest_benchmark
    from subsidybench.results.record import save_run

    if store is None and (commit is not None or when is not None):
        raise UserError("--commit and --time go with --store")
    if store is not None:  # every flag is checked before anything is written
        from subsidybench.results.store_keys import parse_time, store_url

        store_url(store)
        if when is not None:
            parse_time(when, "--time")
    target = out or Path("runs") / f"{file.stem}.run.json"
    flag = "--out" if out is not None else ""
    if target.exists() and not force:
        where = f"--out: {target}" if out is not None else f"{target} (the default --out)"
        raise UserError(f"{where} exists; choose another path or pass --force")
    run = load_pytest_benchmark(file)
    if out is None:  # the default folder is the tool's to make; a folder --out names is not
        try:
            target.parent.mkdir(exist_ok=True)
        except OSError as e:
            raise UserError(f"cannot create {target.parent}: {e.strerror or e}") from None
    save_run(run, target, exclusive=not force, what=flag)
    console = render_console()
    console.print(run_header(run, str(target)))
    table, notes = run_table(run, width=console.width)
    console.print(table)
    for line in notes:
        console.print(line, highlight=False)
    typer.echo(f"wrote {target}")
    if store is not None:
        from subsidybench.cli.store import add_to_store

        add_to_store([target], store, commit, when)
