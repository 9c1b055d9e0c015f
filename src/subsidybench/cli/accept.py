"""`subsidybench accept`: a contract's promised figures against what runs measured."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

EXIT_NOT_ACCEPTED = 3

app = typer.Typer(help="Check a contract against runs.", no_args_is_help=True)


@app.command("accept", no_args_is_help=True)
def accept(
    contract: Annotated[Path, typer.Argument(help="The contract (TOML): promised figures.")],
    files: Annotated[
        list[Path], typer.Argument(help="Run result files (JSON); their samples are pooled.")
    ],
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write the verdicts as JSON to this file.")
    ] = None,
) -> None:
    """Check a contract clause by clause against runs; exit 3 when a clause fails.

    Each measured figure is tested against its promise by a one-sided sign test on the runs'
    pooled raw samples (one per timed block); a clause nothing measured fails unless the
    contract marks it optional.
    """
    from rich.markup import escape

    from subsidybench.report.acceptance_view import acceptance_table, summary
    from subsidybench.report.terminal import console as render_console
    from subsidybench.results.acceptance import accept as check
    from subsidybench.results.compare import labels_for
    from subsidybench.results.contract import load_contract
    from subsidybench.results.record import load_run

    terms = load_contract(contract)
    labels = labels_for([str(p) for p in files])
    runs = [(label, load_run(p)) for label, p in zip(labels, files, strict=True)]
    result = check(terms, runs)
    if json_path is not None:  # written before printing: a closed stdout never costs it
        from subsidybench.cli.output import wrote
        from subsidybench.datafile import write_atomic

        text = json.dumps(result.to_dict(), indent=2, allow_nan=False) + "\n"
        write_atomic(json_path, text, "--json")
        wrote(json_path)
    console = render_console()
    table, footnotes = acceptance_table(result)
    console.print(table)
    for i, line in enumerate(footnotes, 1):
        console.print(f"[{i}] {escape(line)}", highlight=False)
    for note in result.notes:
        console.print(f"note: {escape(note)}", highlight=False)
    console.print(summary(result), highlight=False)
    if not result.accepted:
        raise typer.Exit(EXIT_NOT_ACCEPTED)
