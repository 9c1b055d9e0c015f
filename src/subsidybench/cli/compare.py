"""`subsidybench compare`: runs side by side, workload by workload, and which differences hold."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from subsidybench import bounds
from subsidybench.errors import UserError

EXIT_REGRESSION = 3

app = typer.Typer(help="Compare runs workload by workload.", no_args_is_help=True)


@app.command("compare", no_args_is_help=True)
def compare(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="Run result files (JSON): the first is the baseline, the others are"
            " compared with it."
        ),
    ],
    alpha: Annotated[
        float,
        typer.Option(
            "--alpha",
            callback=bounds.option("--alpha", bounds.ALPHA),
            help="Significance level of the Mann-Whitney U test on the raw samples, in (0, 1).",
        ),
    ] = 0.05,
    fail_on_regression: Annotated[
        float | None,
        typer.Option(
            "--fail-on-regression",
            metavar="PCT",
            callback=bounds.option("--fail-on-regression", bounds.PERCENT),
            help="Exit with status 3 if a significant slowdown exceeds PCT per cent.",
        ),
    ] = None,
    warn_on_regression: Annotated[
        float | None,
        typer.Option(
            "--warn-on-regression",
            metavar="PCT",
            callback=bounds.option("--warn-on-regression", bounds.PERCENT),
            help="Print a warning for each significant slowdown of more than PCT per cent that"
            " does not fail (noise on a shared machine, or a real change to look at).",
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="Compare different versions of the same suite anyway."),
    ] = False,
    json_path: Annotated[
        Path | None,
        typer.Option("--json", help="Also write the comparison as JSON to this file."),
    ] = None,
) -> None:
    """Compare runs workload by workload, and say which differences are beyond the noise.

    Workloads pair by id (workload, sizes, dtype, compiled or not). A difference is significant
    when a two-sided Mann-Whitney U test on the two runs' raw samples gives p < --alpha;
    otherwise the row says "not significant", as pyperf does.
    """
    from rich.markup import escape
    from rich.table import Table

    from subsidybench.report.terminal import console as render_console
    from subsidybench.report.terminal import seconds
    from subsidybench.results.compare import Change, compare_runs, labels_for
    from subsidybench.results.record import load_run

    if len(files) < 2:
        raise UserError("compare needs at least two run files: a baseline and another")
    runs = [load_run(p) for p in files]
    labels = labels_for([str(p) for p in files])
    comparisons = [
        compare_runs(
            runs[0],
            run,
            baseline_label=labels[0],
            other_label=label,
            alpha=alpha,
            force=force,
        )
        for run, label in zip(runs[1:], labels[1:], strict=True)
    ]
    console = render_console()
    styles = {
        Change.SLOWER: "red",
        Change.FASTER: "green",
        Change.NOT_SIGNIFICANT: "dim",
        Change.NOT_COMPARABLE: "yellow",
    }
    failed = []
    for comparison in comparisons:
        for warning in comparison.warnings:
            typer.echo(f"warning: {warning}", err=True)
        table = Table(
            title=f"{escape(comparison.other)} against {escape(comparison.baseline)}"
            f" (Mann-Whitney U, alpha {comparison.alpha:g})",
            title_justify="left",
        )
        table.add_column("workload", overflow="fold", min_width=24)
        table.add_column(escape(comparison.baseline), justify="right")
        table.add_column(escape(comparison.other), justify="right")
        table.add_column("ratio", justify="right")
        table.add_column("p", justify="right")
        table.add_column("change")
        notes = []
        for row in comparison.rows:
            change = f"[{styles[row.change]}]{escape(row.describe())}[/]"
            if row.note:
                notes.append(f"{row.id}: {row.note}")
                change += f" [{len(notes)}]"
            table.add_row(
                escape(row.id),
                f"{seconds(row.baseline_median_s)} (n={row.baseline_n})" if row.baseline_n else "-",
                f"{seconds(row.other_median_s)} (n={row.other_n})" if row.other_n else "-",
                "-" if row.ratio is None else f"{row.ratio:.3f}",
                "-" if row.p_value is None else f"{row.p_value:.3g}",
                change,
            )
        console.print(table)
        for i, note in enumerate(notes, 1):
            console.print(f"[{i}] {escape(note)}", highlight=False)
        failing = []
        if fail_on_regression is not None:
            failing = comparison.regressions(fail_on_regression)
            failed.extend((comparison.other, r) for r in failing)
        if warn_on_regression is not None:
            for row in comparison.regressions(warn_on_regression):
                if row not in failing:
                    typer.echo(
                        f"warning: {comparison.other}: {row.id} {row.describe()}"
                        f" (p={row.p_value:.3g}), more than {warn_on_regression:g}%",
                        err=True,
                    )
    if json_path is not None:
        doc = {"comparisons": [c.to_dict() for c in comparisons]}
        from subsidybench.datafile import write_atomic

        write_atomic(json_path, json.dumps(doc, indent=2, allow_nan=False) + "\n", "--json")
    if failed:
        for label, row in failed:
            typer.echo(
                f"regression: {label}: {row.id} {row.describe()} (p={row.p_value:.3g}),"
                f" more than {fail_on_regression:g}%",
                err=True,
            )
        raise typer.Exit(EXIT_REGRESSION)
