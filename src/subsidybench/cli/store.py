"""`subsidybench store`: keep runs in a results database, and read one workload's history."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from subsidybench.errors import UserError

StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        metavar="DB",
        envvar="SUBSIDYBENCH_STORE",
        help="The results store: a SQLite file, or an SQLAlchemy URL"
        " (postgresql+psycopg://user@host/db). Default: $XDG_DATA_HOME/subsidybench/"
        "history.sqlite (~/.local/share/...).",
        show_default=False,
    ),
]
CommitOption = Annotated[
    str | None,
    typer.Option("--commit", help="The git commit the run measured, kept with it."),
]
TimeOption = Annotated[
    str | None,
    typer.Option(
        "--time",
        help="When to place the run in its history (ISO 8601; default: when the run started).",
    ),
]

app = typer.Typer(help="Keep runs in a results database and read their history.")


def add_to_store(
    files: list[Path], store: str | None, commit: str | None, when: str | None
) -> None:
    """Add run files and say, run by run, what happened; shared with `ingest --store`."""
    from subsidybench.results.store import Store, add_files

    with Store.open(store) as db:
        done = add_files(db, files, commit=commit, when=when)
        for a in done:
            what = f"added as run {a.run_id}" if a.new else f"already stored as run {a.run_id}"
            typer.echo(f"{a.source}: {what} (machine {a.machine})")
        new = sum(a.new for a in done)
        typer.echo(f"{db.where}: {new} added, {len(done) - new} already there")


@app.command("add", no_args_is_help=True)
def add(
    files: Annotated[list[Path], typer.Argument(help="Run result files (JSON).")],
    store: StoreOption = None,
    commit: CommitOption = None,
    when: TimeOption = None,
) -> None:
    """Add run results to the store; a run already there is left as it is.

    Every file is checked first: if one fails validation nothing is added. Each run is then
    written whole in one transaction, with its raw samples.
    """
    add_to_store(files, store, commit, when)


@app.command("query")
def query(
    workload: Annotated[
        str, typer.Option("--workload", help="The workload's result id, as `show` prints it.")
    ],
    store: StoreOption = None,
    machine: Annotated[
        str | None,
        typer.Option("--machine", metavar="FP", help="Machine fingerprint (or its start)."),
    ] = None,
    csv: Annotated[
        Path | None, typer.Option("--csv", metavar="FILE", help="Also write the table as CSV.")
    ] = None,
) -> None:
    """The history of one workload on one machine, oldest first."""
    from rich.markup import escape
    from rich.table import Table

    from subsidybench.report.terminal import console as render_console
    from subsidybench.report.terminal import seconds
    from subsidybench.results.store import Store

    with Store.open(store) as db:
        frame = db.history(workload=workload, machine=machine)
        if frame.empty:
            known = db.workload_ids()
            near = [w for w in known if w.split("[")[0] == workload.split("[")[0]]
            hint = f"; stored ids like it: {', '.join(near[:5])}" if near else ""
            where = f" on machine {machine}" if machine else ""
            raise UserError(f"--workload: no results for {workload!r}{where} in {db.where}{hint}")
    machines = list(dict.fromkeys(frame["machine"]))
    if len(machines) > 1:
        listing = ", ".join(
            f"{m} ({frame.loc[frame['machine'] == m, 'machine_label'].iloc[0]})" for m in machines
        )
        raise UserError(f"--machine: {workload} was run on {len(machines)} machines: {listing}")
    frame = frame.drop(columns=["machine_label"])
    if csv is not None:
        try:
            frame.to_csv(csv, index=False)
        except OSError as e:
            raise UserError(f"--csv: cannot write {csv}: {e.strerror}") from None
    label = escape(str(machines[0]))
    table = Table(title=f"{escape(workload)} on machine {label}", title_justify="left")
    for col in ("run", "time", "commit", "suite", "median", "IQR", "n", "verdict"):
        table.add_column(col, justify="right" if col in ("run", "median", "IQR", "n") else "left")
    for r in frame.itertuples():
        ok = r.status == "ok"
        verdict = r.status if not ok else ("valid" if r.valid else f"invalid: {r.reasons}")
        table.add_row(
            str(r.run),
            f"{r.time:%Y-%m-%d %H:%M:%S}",
            (r.commit or "-")[:10],
            f"{r.suite} v{r.suite_version}",
            seconds(r.median_s) if ok else "-",
            f"{seconds(r.q1_s)}-{seconds(r.q3_s)}" if ok else "-",
            str(int(r.n)) if ok else "-",
            escape(verdict),
        )
    render_console().print(table)
    if csv is not None:
        typer.echo(f"wrote {csv}")


@app.command("machines")
def machines(store: StoreOption = None) -> None:
    """The machines in the store, with their fingerprints and run counts."""
    from rich.markup import escape
    from rich.table import Table

    from subsidybench.report.terminal import console as render_console
    from subsidybench.results.store import Store

    with Store.open(store) as db:
        frame = db.machines()
        where = db.where
    table = Table(title=f"machines in {escape(where)}", title_justify="left")
    for col in ("machine", "label", "runs", "first", "last"):
        table.add_column(col)
    for r in frame.itertuples():
        span = (f"{r.first:%Y-%m-%d %H:%M}", f"{r.last:%Y-%m-%d %H:%M}") if r.runs else ("-", "-")
        table.add_row(r.machine, escape(r.label), str(r.runs), *span)
    render_console().print(table)
