"""`subsidybench show`: a saved run as a table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from subsidybench.report.terminal import console as render_console
from subsidybench.report.terminal import run_header, run_table
from subsidybench.results.record import load_run


def show(
    files: Annotated[list[Path], typer.Argument(help="Run result files (JSON) to show.")],
    csv: Annotated[
        bool, typer.Option("--csv", help="Print the results as CSV instead of a table.")
    ] = False,
) -> None:
    """Show saved run results: what was measured, how, and the verdict on each figure."""
    console = render_console()
    for path in files:
        run = load_run(path)
        if csv:
            from subsidybench.results.frame import to_dataframe

            typer.echo(to_dataframe(run).to_csv(index=False), nl=False)
            continue
        console.print(run_header(run, str(path)))
        table, notes = run_table(run, width=console.width)
        console.print(table)
        for line in notes:
            console.print(line, highlight=False)
