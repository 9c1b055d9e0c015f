"""`subsidybench report`: runs as Markdown, HTML, CSV and Excel, with charts and assumptions."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from subsidybench import bounds
from subsidybench.cli.options import ProfilesDir


def _duration_range() -> bounds.Range:
    """The days `cost --duration` takes (cost.request), read when the flag is given."""
    from subsidybench.cost.request import RANGES

    return RANGES["duration_days"]


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
            " .json, or a device profile id); repeatable; LOW~HIGH gives a range (uniform)."
            " Default: each run's profile rent.",
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
    estimate_on: Annotated[
        str | None,
        typer.Option(
            "--estimate-on",
            help="Device profiles (a,b) to cost each run's results on as well: the measured rate"
            " scaled by the roofline, labelled as an estimate with its basis.",
        ),
    ] = None,
    tokens_per_user: Annotated[
        float | None,
        typer.Option(
            "--tokens-per-user", help="Serving SLO: at least this many tokens/s per user."
        ),
    ] = None,
    ttft_ms: Annotated[
        float | None, typer.Option("--ttft-ms", help="Serving SLO: time to first token, ms.")
    ] = None,
    tpot_ms: Annotated[
        float | None, typer.Option("--tpot-ms", help="Serving SLO: time per output token, ms.")
    ] = None,
    slo_percentile: Annotated[
        int | None,
        typer.Option("--slo-percentile", help="Percentile the SLO holds at: 50, 90 or 99."),
    ] = None,
    rate: Annotated[
        float | None,
        typer.Option(
            "--rate",
            callback=bounds.option("--rate", bounds.RATE),
            help="Subsidy rate [0, 1] given by hand, replacing the programme's (needed where"
            " its sources do not state one).",
        ),
    ] = None,
    duration: Annotated[
        float | None,
        typer.Option(
            "--duration",
            callback=bounds.option("--duration", _duration_range),
            help="Days the costed job runs, for programmes whose rate lasts part of a contract"
            " (the rate then follows from the days inside its window).",
        ),
    ] = None,
    title: Annotated[str | None, typer.Option("--title", help="The report's title.")] = None,
    profiles_dir: ProfilesDir = None,
    lang: Annotated[
        str | None, typer.Option("--lang", help="en or zh (default: SUBSIDYBENCH_LANG, else en).")
    ] = None,
    units: Annotated[
        str | None,
        typer.Option("--units", help="Amounts: plain, wan (万), yi (亿), auto (the zh default)."),
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Seed of the ranges' draws (default fixed).")
    ] = None,
) -> None:
    """Write a report of runs as Markdown, HTML with charts, CSV and Excel.

    Measured results, % of peak, cost per unit of work and a subsidy-rate sweep. Every figure
    carries its basis (measured, derived, given, or a sourced figure from a profile or
    programme) and the report lists the assumptions behind it.
    """
    from subsidybench.cost.sweep import parse_values
    from subsidybench.errors import UserError
    from subsidybench.report import (
        ReportOptions,
        build_report,
        label_runs,
        parse_price,
        report_title,
    )
    from subsidybench.report.files import chart_drawer, write_report
    from subsidybench.report.i18n import messages

    m = messages(lang, units)
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
        estimate_on=tuple(t.strip() for t in (estimate_on or "").split(",") if t.strip()),
        slo=_slo(tokens_per_user, ttft_ms, tpot_ms, slo_percentile),
        seed=seed,
        duration_days=duration,
        rate=rate,
    )
    with chart_drawer() as drawer:  # a child importing matplotlib while the report is built
        runs = label_runs(files)
        title = title or report_title([lr.label for lr in runs], m)
        built = build_report(runs, options, title=title)
        written = write_report(built, out, m, drawer=drawer)
    for note in built.notes:
        typer.echo(f"note: {note}", err=True)
    for path in written:
        typer.echo(f"wrote {path}")
    typer.echo(f"report of {len(files)} run(s) in {time.perf_counter() - start:.1f} s")


def _slo(
    tokens_per_user: float | None,
    ttft_ms: float | None,
    tpot_ms: float | None,
    percentile: int | None,
) -> object:
    """The serving SLO, its flags checked where cost's are (cost.request, cost.serving)."""
    from subsidybench.cost.request import Request, check
    from subsidybench.cost.throughput_inputs import slo_of

    request = Request(
        tokens_per_user=tokens_per_user,
        ttft_ms=ttft_ms,
        tpot_ms=tpot_ms,
        slo_percentile=percentile,
    )
    check(request)
    return slo_of(request)
