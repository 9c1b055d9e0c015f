"""`subsidybench gate`: fail CI when the newest runs are slower than their recent history."""

from __future__ import annotations

from typing import Annotated

import typer

from subsidybench import bounds
from subsidybench.cli.compare import EXIT_REGRESSION
from subsidybench.cli.options import TestAlpha
from subsidybench.cli.store import StoreOption
from subsidybench.errors import UserError

app = typer.Typer(help="A regression gate from the results store's history.")


@app.command("gate")
def gate(
    last: Annotated[int, typer.Option("--last", metavar="N", help="The newest N runs judged.")] = 1,
    store: StoreOption = None,
    threshold: Annotated[
        float,
        typer.Option(
            "--threshold",
            metavar="PCT",
            callback=bounds.option("--threshold", bounds.PERCENT),
            help="Slowdown that fails, per cent.",
        ),
    ] = 10.0,
    alpha: TestAlpha = 0.05,
    history: Annotated[
        int,
        typer.Option(
            "--history",
            metavar="M",
            help="Valid runs before the newest that they are judged against.",
        ),
    ] = 20,
    machine: Annotated[
        str | None,
        typer.Option(
            "--machine", metavar="FP", help="Only this machine (fingerprint or its start)."
        ),
    ] = None,
) -> None:
    """Exit with status 3 when the newest --last runs of a workload are slower than the --history
    runs before them by more than --threshold per cent with the test's confidence.

    The test is a one-sided Mann-Whitney U on per-run medians; a history too short to reach
    --alpha is reported, never failed.
    """
    from rich.markup import escape
    from rich.table import Table

    from subsidybench.report.terminal import console as render_console
    from subsidybench.report.terminal import seconds
    from subsidybench.results.history import GateMethod, GateVerdict
    from subsidybench.results.history import gate as judge
    from subsidybench.results.store import Store

    try:
        method = GateMethod(last=last, history=history, threshold=threshold / 100, alpha=alpha)
    except ValueError as e:
        raise UserError(str(e)) from None
    with Store.open(store) as db:
        frame = db.history(machine=machine)
        where = db.where
    if frame.empty:
        raise UserError(f"--store: {where} holds no runs{' for that machine' if machine else ''}")
    rows = judge(frame, method)
    styles = {
        GateVerdict.SLOWER: "red",
        GateVerdict.OK: "green",
        GateVerdict.SHORT_HISTORY: "yellow",
        GateVerdict.INVALID: "yellow",
    }
    table = Table(title=f"gate ({escape(method.describe())})", title_justify="left")
    for col in ("machine", "workload", "newest", "history", "ratio", "p", "verdict"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(
            r.machine,
            escape(r.workload),
            f"{seconds(r.new_median_s)} (n={r.new_n})",
            f"{seconds(r.history_median_s)} (n={r.history_n})",
            "-" if r.ratio is None else f"{r.ratio:.3f}",
            "-" if r.p_value is None else f"{r.p_value:.2g}",
            f"[{styles[r.verdict]}]{escape(r.describe())}[/]",
        )
    render_console().print(table)
    failing = [r for r in rows if r.verdict is GateVerdict.SLOWER]
    short = sum(r.verdict is GateVerdict.SHORT_HISTORY for r in rows)
    if short:
        typer.echo(
            f"warning: {short} workload(s) have too little history to judge at alpha {alpha:g}",
            err=True,
        )
    for r in failing:
        typer.echo(
            f"regression: {r.machine}: {r.workload} {r.describe()} (p={r.p_value:.2g}),"
            f" more than {threshold:g}%",
            err=True,
        )
    if failing:
        raise typer.Exit(EXIT_REGRESSION)
