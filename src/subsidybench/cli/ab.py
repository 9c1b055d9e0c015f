"""`subsidybench ab`: did this change make it slower? A and B interleaved in one job."""

from __future__ import annotations

import json
import math
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from subsidybench import bounds
from subsidybench.cli.compare import EXIT_REGRESSION
from subsidybench.cli.options import IntervalAlpha, MinEffect
from subsidybench.errors import UserError

app = typer.Typer(help="Interleaved A/B: two configurations, round by round, in one job.")


@app.command("ab")
def ab(
    suite: Annotated[str, typer.Option(help="Suite name or a suite TOML file.")] = "ci",
    device: Annotated[str, typer.Option(help="Device both sides run on.")] = "cpu",
    a_python: Annotated[
        str | None,
        typer.Option(
            "--a-python",
            metavar="PATH",
            help="A's interpreter (a venv's bin/python: the base commit's install). Default: this"
            " one.",
        ),
    ] = None,
    b_python: Annotated[
        str | None,
        typer.Option(
            "--b-python",
            metavar="PATH",
            help="B's interpreter (the head commit's install). Default: this one.",
        ),
    ] = None,
    a_env: Annotated[
        list[str] | None,
        typer.Option("--a-env", metavar="NAME=VALUE", help="Set for A's rounds; repeatable."),
    ] = None,
    b_env: Annotated[
        list[str] | None,
        typer.Option("--b-env", metavar="NAME=VALUE", help="Set for B's rounds; repeatable."),
    ] = None,
    rounds: Annotated[
        int,
        typer.Option(
            min=2,
            help="Rounds a side, each a process of its own, run A B, B A, A B, ... (10: with 5,"
            " a planted 10% slowdown was called in 3 of 5 jobs; README, Interleaved A/B).",
        ),
    ] = 10,
    budget: Annotated[
        float | None,
        typer.Option(
            callback=bounds.option("--budget", bounds.BUDGET_S),
            help="Seconds of timed blocks per workload in each round (default: the suite's).",
        ),
    ] = None,
    threads: Annotated[
        int | None,
        typer.Option(
            callback=bounds.option("--threads", bounds.threads),
            help="CPU threads for torch on both sides (default: torch's choice). 1 spreads far"
            " less than 2 on a shared 2-core machine (README, Interleaved A/B).",
        ),
    ] = None,
    only: Annotated[
        list[str] | None,
        typer.Option(help="Only these workloads of the suite; repeat or comma-separate."),
    ] = None,
    dtype: Annotated[
        list[str] | None, typer.Option(help="Only these dtypes; repeat or comma-separate.")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Folder for both sides' runs and the comparison (default: runs/ab-<time>)."
        ),
    ] = None,
    alpha: IntervalAlpha = 0.05,
    min_effect: MinEffect = 5.0,
) -> None:
    """Run A and B round by round (A B, B A, ...), each round a fresh `subsidybench run`
    process, and compare them pair by pair. Exits 3 when B is called slower on any workload.

    A and B differ by interpreter (--a-python/--b-python: two installs side by side) or by
    environment (--b-env NAME=VALUE). Writes OUT/A/<round>.json, OUT/B/<round>.json and
    OUT/comparison.json.
    """
    from subsidybench.cli.compare import print_comparison, threads_of
    from subsidybench.datafile import write_atomic
    from subsidybench.measure.ab import Side, check_python, order, parse_env, run_ab
    from subsidybench.results.ab import compare_ab
    from subsidybench.results.compare import Change

    if not math.isfinite(min_effect):
        raise UserError(f"--min-effect: a percentage >= 0, got {min_effect:g}")
    sides = {
        name: Side(name, check_python(f"--{name.lower()}-python", python or sys.executable), env)
        for name, python, env in (
            ("A", a_python, parse_env("--a-env", a_env or [])),
            ("B", b_python, parse_env("--b-env", b_env or [])),
        )
    }
    if sides["A"].to_dict() == sides["B"].to_dict():
        typer.echo(
            "warning: A and B are one configuration: an A/A run, no change expected", err=True
        )
    if out is None:
        out = Path("runs") / f"ab-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    if out.exists() and not (out.is_dir() and not any(out.iterdir())):
        raise UserError(f"--out: {out} exists and is not an empty folder")
    args = ["--suite", str(Path(suite).resolve()) if suite.endswith(".toml") else suite]
    args += ["--device", device]
    if budget is not None:
        args += ["--budget", repr(budget)]
    if threads is not None:
        args += ["--threads", str(threads)]
    for flag, values in (("--only", only), ("--dtype", dtype)):
        for value in values or []:
            args += [flag, value]
    runs = run_ab(sides, rounds, args, out, lambda line: typer.echo(line, err=True))
    comparison = compare_ab(runs["A"], runs["B"], alpha=alpha, min_effect=min_effect / 100)
    print_comparison(comparison, threads_of("A", runs["A"]) | threads_of("B", runs["B"]))
    doc = {
        "sides": {name: side.to_dict() for name, side in sides.items()},
        "run_args": args,
        "rounds": rounds,
        "order": [f"{side}{r + 1}" for r, side in order(rounds)],
        "comparison": comparison.to_dict(),
    }
    path = out / "comparison.json"
    write_atomic(path, json.dumps(doc, indent=2, allow_nan=False) + "\n", "--out")
    slower = [r for r in comparison.rows if r.change is Change.SLOWER]
    typer.echo(f"wrote {out}/A, {out}/B and {path}", err=True)
    if slower:
        for row in slower:
            typer.echo(f"slower: {row.id} {row.describe()} (B against A)", err=True)
        raise typer.Exit(EXIT_REGRESSION)
