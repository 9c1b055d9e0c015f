"""`subsidybench report`: runs as Markdown, HTML, CSV and Excel, with charts and assumptions."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from subsidybench import bounds
from subsidybench.cli.options import ProfilesDir

app = typer.Typer(help="Write reports of runs.", no_args_is_help=True)


@app.command("report", no_args_is_help=True)
def report(
    files: Annotated[list[Path], typer.Argument(help="Run result files (JSON) to report on.")],
    out: Annotated[
        Path,
        typer.Option("--out", help="Directory for report.md, report.html, report.xlsx and CSVs."),
    ] = Path("reports"),
    subsidy: Annotated[
        str | None,
        typer.Option(
            "--subsidy", help="Subsidy programme to cost under (see 'subsidybench subsidies list')."
        ),
    ] = None,
    small_firm: Annotated[
        bool,
        typer.Option(
            "--small-firm", help="The firm qualifies for the programme's small-firm rate."
        ),
    ] = False,
    price: Annotated[
        list[str] | None,
        typer.Option(
            "--price",
            metavar="[RUN=]AMOUNT",
            help="Rent per device-hour, for every run or for RUN (a run's file name without"
            " .json, or a device profile id); repeatable. Default: each run's profile rent.",
        ),
    ] = None,
    currency: Annotated[
        str | None, typer.Option("--currency", help="Currency of --price (USD, CNY).")
    ] = None,
    report_currency: Annotated[
        str | None,
        typer.Option(
            "--in",
            help="Currency of the report (default: the programme's, else the first price's).",
        ),
    ] = None,
    fx: Annotated[
        float | None,
        typer.Option(
            "--fx",
            callback=bounds.option("--fx", bounds.FX),
            help="Exchange rate as profiles/fx states it (USD-CNY: CNY per USD); default: the"
            " dated rate in profiles/fx.",
        ),
    ] = None,
    rates: Annotated[
        str,
        typer.Option(
            "--rates", help="Subsidy rates of the sweep: a list 0,0.3,1 or a range start:stop:step."
        ),
    ] = "0:1:0.1",
    sweep_workload: Annotated[
        str | None,
        typer.Option(
            "--sweep-workload",
            help="Workload (id or name) whose cost the sweep follows (default: the fastest valid"
            " matmul of each run).",
        ),
    ] = None,
    title: Annotated[str | None, typer.Option("--title", help="The report's title.")] = None,
    profiles_dir: ProfilesDir = None,
) -> None:
    """Write a report of runs as Markdown, HTML with charts, CSV and Excel.

    Measured results, % of peak, cost per unit of work and a subsidy-rate sweep. Every figure
    carries its basis (measured, derived, given, or a sourced figure from a profile or
    programme) and the report lists the assumptions behind it.
    """
    from subsidybench.cost.sweep import parse_values
    from subsidybench.errors import UserError
    from subsidybench.report import ReportOptions, build_report, label_runs, parse_price
    from subsidybench.report.files import write_report

    start = time.perf_counter()
    dirs = tuple(profiles_dir or ())
    programme = None
    if subsidy is not None:
        from subsidybench.catalogue.subsidies import load_programme

        programme = load_programme(subsidy, dirs)
    elif small_firm:
        raise UserError("--small-firm needs --subsidy")
    values = parse_values(rates, "--rates")
    for v in values:
        bounds.RATE.check(float(v), "--rates")
    options = ReportOptions(
        prices=tuple(parse_price(p, currency) for p in price or ()),
        programme=programme,
        small_firm=small_firm,
        currency=report_currency,
        fx=fx,
        rates=tuple(float(v) for v in values),
        sweep_workload=sweep_workload,
        profiles_dirs=dirs,
    )
    built = build_report(label_runs(files), options, title=title)
    written = write_report(built, out)
    for note in built.notes:
        typer.echo(f"note: {note}", err=True)
    for path in written:
        typer.echo(f"wrote {path}")
    typer.echo(f"report of {len(files)} run(s) in {time.perf_counter() - start:.1f} s")
