"""`subsidybench history`: a results store's trends as a static HTML site, and the steps in them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from subsidybench import bounds
from subsidybench.cli.options import TestAlpha
from subsidybench.cli.store import StoreOption
from subsidybench.errors import UserError

app = typer.Typer(help="Trends of a results store as a static HTML site.")


@app.command("history")
def history(
    out: Annotated[Path, typer.Option("--out", help="Directory for the site (index.html).")],
    store: StoreOption = None,
    machine: Annotated[
        str | None,
        typer.Option(
            "--machine", metavar="FP", help="Only this machine (fingerprint or its start)."
        ),
    ] = None,
    window: Annotated[
        int, typer.Option("--window", help="Runs on each side of a candidate step.")
    ] = 6,
    alpha: TestAlpha = 0.01,
    min_step: Annotated[
        float,
        typer.Option(
            "--min-step",
            metavar="PCT",
            callback=bounds.option("--min-step", bounds.PERCENT),
            help="Smallest step called, per cent of the median.",
        ),
    ] = 5.0,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write the steps found as JSON.")
    ] = None,
) -> None:
    """Write a self-contained HTML site: a trend per workload per machine, steps marked.

    A step is a change in the median that holds over several runs: a Mann-Whitney U test between
    the --window valid runs before and after each point, confirmed over the whole segments
    between steps. Invalid results are shown apart and never used.
    """
    from rich.markup import escape
    from rich.table import Table

    from subsidybench.report.history_site import render_site
    from subsidybench.report.terminal import console as render_console
    from subsidybench.report.terminal import seconds
    from subsidybench.results.history import StepMethod, detect_steps
    from subsidybench.results.store import Store

    try:
        method = StepMethod(window=window, alpha=alpha, min_step=min_step / 100)
    except ValueError as e:
        raise UserError(f"history: {e}") from None
    if out.exists() and not out.is_dir():
        raise UserError(f"--out: {out} is a file; give a directory")
    with Store.open(store) as db:
        frame = db.history(machine=machine)
        where = db.where
    if frame.empty and machine is not None:
        raise UserError(f"--machine: no runs of a machine {machine!r} in {where}")
    steps = detect_steps(frame, method)
    site = render_site(frame, steps, method, out, source=where)
    if json_path is not None:  # written before printing: a closed stdout never costs it
        from subsidybench.cli.output import wrote
        from subsidybench.datafile import write_atomic

        doc = {"method": method.describe(), "steps": [s.to_dict() for s in steps]}
        write_atomic(json_path, json.dumps(doc, indent=2, allow_nan=False) + "\n", "--json")
        wrote(json_path)
    table = Table(title=f"steps found ({escape(method.describe())})", title_justify="left")
    for col in ("machine", "workload", "first run after", "before", "after", "change", "p"):
        table.add_column(col, overflow="fold")
    for s in steps:
        commit = f" {s.commit[:10]}" if s.commit else ""
        table.add_row(
            s.machine,
            escape(s.workload),
            f"run {s.run}{commit}",
            seconds(s.before_median_s),
            seconds(s.after_median_s),
            f"[{'red' if s.slower else 'green'}]{s.describe()}[/]",
            f"{s.p_value:.2g}",
        )
    console = render_console()
    if steps:
        console.print(table)
    else:
        console.print(f"no step found ({escape(method.describe())})", highlight=False)
    typer.echo(f"wrote {site.pages[0]} ({len(site.pages) - 1} machine pages, {site.charts} charts)")
