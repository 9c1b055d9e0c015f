"""`subsidybench compare`: runs side by side, workload by workload, and which differences hold."""

from __future__ import annotations

import glob
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperCommand

from subsidybench import bounds
from subsidybench.cli.options import IntervalAlpha, MinEffect
from subsidybench.errors import UserError

if TYPE_CHECKING:
    from subsidybench.results.compare import RunComparison
    from subsidybench.results.record import RunResult

EXIT_REGRESSION = 3
_SIDES = "\0sides"
"""What `--` becomes before click parses: click drops a bare `--`, which here separates sides."""


class _SidesCommand(TyperCommand):
    """Keeps `compare A1 A2 -- B1 B2`'s `--` as an argument, so the two sides can be told apart."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        if "--" in args:
            i = args.index("--")
            args = [*args[:i], _SIDES, *args[i + 1 :]]
        return super().parse_args(ctx, args)


app = typer.Typer(help="Compare runs workload by workload.", no_args_is_help=True)


def _expand(paths: list[str]) -> list[Path]:
    """Paths as given; a quoted glob (runs/a-*.json) expanded in order; none matched is an error."""
    out: list[Path] = []
    for p in paths:
        if any(c in p for c in "*?[") and not Path(p).exists():
            found = sorted(glob.glob(p))
            if not found:
                raise UserError(f"compare: {p} matches no file")
            out.extend(Path(f) for f in found)
        else:
            out.append(Path(p))
    return out


def _label(paths: list[Path]) -> str:
    from subsidybench.results.compare import labels_for

    names = labels_for([str(p) for p in paths])
    return names[0] if len(names) == 1 else f"{names[0]} +{len(names) - 1}"


@app.command("compare", no_args_is_help=True, cls=_SidesCommand)
def compare(
    files: Annotated[
        list[str],
        typer.Argument(
            help="Run result files (JSON), or quoted globs. `A B C`: A is the baseline, B and C"
            " are each compared with it. `A1 A2 -- B1 B2`: the runs of each side are pooled"
            " and the sides compared.",
            show_default=False,
        ),
    ],
    alpha: IntervalAlpha = 0.05,
    min_effect: MinEffect = 5.0,
    fail_on_regression: Annotated[
        float | None,
        typer.Option(
            "--fail-on-regression",
            metavar="PCT",
            callback=bounds.option("--fail-on-regression", bounds.PERCENT),
            help="Exit with status 3 if a called slowdown exceeds PCT per cent.",
        ),
    ] = None,
    warn_on_regression: Annotated[
        float | None,
        typer.Option(
            "--warn-on-regression",
            metavar="PCT",
            callback=bounds.option("--warn-on-regression", bounds.PERCENT),
            help="Print a warning for each called slowdown of more than PCT per cent that does"
            " not fail.",
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="Compare different versions of the same suite anyway."),
    ] = False,
    json_path: Annotated[
        Path | None,
        typer.Option(
            "--json", help="Also write the comparison as JSON to this file ('-': print it instead)."
        ),
    ] = None,
    csv_path: Annotated[
        Path | None,
        typer.Option(
            "--csv", help="Also write one row per workload as CSV to this file ('-': print it)."
        ),
    ] = None,
) -> None:
    """Compare runs workload by workload, and say which differences are beyond the noise.

    Workloads pair by id (workload, sizes, dtype, compiled or not). A change is called when the
    interval of the ratio of medians (a Welch t interval on the log medians of runs, or of rounds
    for one run a side) excludes 1, and the ratio is further from 1 than --min-effect.
    """
    from subsidybench.results.compare import compare_runs
    from subsidybench.results.record import load_run

    for flag, pct in (
        ("--min-effect", min_effect),
        ("--fail-on-regression", fail_on_regression),
        ("--warn-on-regression", warn_on_regression),
    ):
        if pct is not None and not (math.isfinite(pct) and pct >= 0):
            raise UserError(f"{flag}: a percentage >= 0, got {pct:g}")
    if _SIDES in files:
        i = files.index(_SIDES)
        left, right = _expand(files[:i]), _expand(files[i + 1 :])
        if _SIDES in files[i + 1 :] or not left or not right:
            raise UserError("compare A1 A2 -- B1 B2: one `--`, with run files on both sides")
        sides = [(left, right)]
    else:
        paths = _expand(files)
        if len(paths) < 2:
            raise UserError("compare needs at least two run files: a baseline and another")
        sides = [([paths[0]], [p]) for p in paths[1:]]
    loaded = {p: load_run(p) for pair in sides for side in pair for p in side}
    comparisons = [
        compare_runs(
            [loaded[p] for p in left],
            [loaded[p] for p in right],
            baseline_label=_label(left),
            other_label=_label(right),
            alpha=alpha,
            min_effect=min_effect / 100,
            force=force,
        )
        for left, right in sides
    ]
    if _write(comparisons, json_path, csv_path):
        return  # printed as CSV or JSON instead of the tables
    failed = []
    for (left, right), comparison in zip(sides, comparisons, strict=True):
        threads = threads_of(comparison.baseline, [loaded[p] for p in left])
        threads |= threads_of(comparison.other, [loaded[p] for p in right])
        print_comparison(comparison, threads)
        failing = []
        if fail_on_regression is not None:
            failing = comparison.regressions(fail_on_regression)
            failed.extend((comparison.other, r) for r in failing)
        if warn_on_regression is not None:
            for row in comparison.regressions(warn_on_regression):
                if row not in failing:
                    typer.echo(
                        f"warning: {comparison.other}: {row.id} {row.describe()}"
                        f" ({_interval(row.ci)}), more than {warn_on_regression:g}%",
                        err=True,
                    )
    if failed:
        for label, row in failed:
            typer.echo(
                f"regression: {label}: {row.id} {row.describe()} ({_interval(row.ci)}),"
                f" more than {fail_on_regression:g}%",
                err=True,
            )
        raise typer.Exit(EXIT_REGRESSION)


def _write(comparisons: list[RunComparison], json_path: Path | None, csv_path: Path | None) -> bool:
    """Write the files asked for, before any table (cli.output); True when one went to stdout."""
    import sys

    from subsidybench.cli.output import wrote
    from subsidybench.datafile import write_atomic
    from subsidybench.report.listing import records_text

    if str(json_path) == "-" and str(csv_path) == "-":
        raise UserError("--csv - and --json - both ask for stdout: write one of them to a file")
    rows = [
        {"baseline": c.baseline, "other": c.other, **row.to_dict()}
        for c in comparisons
        for row in (*c.rows, *([c.reference] if c.reference is not None else []))
    ]
    texts = {
        path: text
        for path, text in (
            (json_path, json.dumps({"comparisons": [c.to_dict() for c in comparisons]}, indent=2)),
            (csv_path, records_text(rows, "csv")),
        )
        if path is not None
    }
    for path, text in texts.items():
        if str(path) != "-":
            write_atomic(path, text.rstrip("\n") + "\n", "--json" if path is json_path else "--csv")
            wrote(path)
    for path, text in texts.items():
        if str(path) == "-":
            sys.stdout.write(text.rstrip("\n") + "\n")
            return True
    return False


def _interval(ci: tuple[float, float] | None) -> str:
    return "-" if ci is None else f"{ci[0]:.3f}-{ci[1]:.3f}"


def threads_of(label: str, runs: list[RunResult]) -> dict[str, str]:
    """A side's label -> its thread count in words, which every figure is labelled with."""
    counts = sorted({r.environment.torch_threads for r in runs})
    return {label: "/".join(map(str, counts)) + " thr"}


def print_comparison(comparison: RunComparison, threads: dict[str, str] | None = None) -> None:
    """The comparison as a table, with its warnings and footnotes: compare's and ab's."""
    threads = threads or {}
    from rich.markup import escape
    from rich.table import Table

    from subsidybench.report.terminal import console as render_console
    from subsidybench.report.terminal import seconds
    from subsidybench.results.compare import Change

    console = render_console()
    styles = {
        Change.SLOWER: "red",
        Change.FASTER: "green",
        Change.SMALL: "dim",
        Change.NOT_SIGNIFICANT: "dim",
        Change.CANNOT_TELL: "yellow",
        Change.NOT_COMPARABLE: "yellow",
    }
    for warning in comparison.warnings:
        typer.echo(f"warning: {warning}", err=True)
    confidence = f"{1 - comparison.alpha:.0%}"
    table = Table(
        title=f"{escape(comparison.other)} against {escape(comparison.baseline)}: per step, the"
        " geometric mean of the rounds' medians (of the runs' figures where a side has several);"
        f" ratio = right / left, its interval ({comparison.test}), {confidence} for all"
        f" {comparison.family} workloads together (each at {comparison.alpha_each:.2g}); a change"
        f" is called past {comparison.min_effect:.0%}; sees: the smallest change the pair could"
        " call",
        title_justify="left",
    )
    rows = list(comparison.rows)
    if comparison.reference is not None:
        # Last, apart: not a workload but the machine's own speed on either side.
        rows.append(comparison.reference)
    shown = _columns(table, comparison, rows, console.width, threads)
    notes: list[str] = []
    for row in rows:
        if row is comparison.reference:
            table.add_section()
        change = f"[{styles[row.change]}]{escape(row.describe())}[/]"
        if row.note:
            notes.append(f"{row.id}: {row.note}")
            change += f" [{len(notes)}]"
        cells = (
            escape(row.id),
            _median(seconds(row.baseline_median_s), row.baseline_n, row.baseline_groups),
            _median(seconds(row.other_median_s), row.other_n, row.other_groups),
            "-" if row.ratio is None else f"{row.ratio:.3f}",
            _interval(row.ci),
            _sees(row),
            change,
        )
        table.add_row(*(cell for i, cell in enumerate(cells) if str(i) in shown))
    console.print(table)
    if "5" not in shown:
        console.print(
            f"not shown at {console.width} columns: sees (in --json/--csv, or in a wider"
            " terminal: COLUMNS=N)",
            highlight=False,
        )
    for i, note in enumerate(notes, 1):
        console.print(f"[{i}] {escape(note)}", highlight=False)


def _sees(row: Any) -> str:
    return "-" if row.detectable is None else f"{row.detectable:.0%}"


def _columns(
    table: Any, comparison: RunComparison, rows: list[Any], width: int, threads: dict[str, str]
) -> set[str]:
    """The columns at the terminal's width: no word cut ("not significant" wraps); only an id,
    one long word, folds. The medians and the interval take what they need first; `sees` is
    left out (and said so) where it would cut a word. Each side's header carries its thread
    count. Returns the keys of the columns shown."""
    from rich.markup import escape

    from subsidybench.report.listing import Column, allot
    from subsidybench.report.terminal import seconds

    confidence = f"{1 - comparison.alpha:.0%} CI"
    sides = [
        label + (f" ({threads[label]})" if label in threads else "")
        for label in (comparison.baseline, comparison.other)
    ]
    headers = ("workload", *sides, "ratio", confidence, "sees", "change")
    columns = [Column(str(i), h, (0, 4, 3, 2, 1, 1, 0)[i]) for i, h in enumerate(headers)]
    change = [w for row in rows for w in f"{row.describe()} [9]".split()]
    # An id folds (it is one word); a median ("6.336 ms (n=39)") wraps at its spaces.
    least = {"0": 12, "1": 9, "2": 9, "3": 5, "4": 11, "5": 4}
    least["6"] = max(map(len, change), default=6)
    plain = [
        {
            "0": row.id,
            "1": _median(seconds(row.baseline_median_s), row.baseline_n, row.baseline_groups),
            "2": _median(seconds(row.other_median_s), row.other_n, row.other_groups),
            "4": _interval(row.ci),
            "5": _sees(row),
            "6": f"{row.describe()} [9]",
        }
        for row in rows
    ]
    if sum(least.values()) + 3 * len(least) + 1 > width:
        columns = [c for c in columns if c.key != "5"]
        del least["5"]
    widths = allot(columns, plain, width, least)
    for c in columns:
        table.add_column(
            escape(c.header),
            justify="left" if c.key in "06" else "right",
            overflow="fold",
            width=widths.get(c.key),
        )
    return {c.key for c in columns}


def _median(text: str, n: int, groups: int) -> str:
    if not n:
        return "-"
    return f"{text} (n={n}/{groups})" if groups > 1 else f"{text} (n={n})"
