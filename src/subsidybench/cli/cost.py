"""`subsidybench cost`: what a job costs on a device, before and after a subsidy, and why.

The command's options are made from the inputs table (cost.inputs: each input declared once);
it reads them and asks the one door into the costing core (cost.door: the same the page and
`--compare` use), then renders the answer beside every assumption it used
(report.cost_answer). It never imports torch: a finance user runs it anywhere, in well under a
second. The cost modules and pandas are imported inside the command, so `subsidybench --help`
stays fast.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import typer

from subsidybench.cost.inputs import INPUTS, Input, Kind
from subsidybench.errors import UserError

app = typer.Typer(help="Cost compute jobs before and after a subsidy.", no_args_is_help=True)

_SWEEP = " A list or a:b:step sweeps."
_RANGE = " a~b (uniform) or a~mode~b (triangular) is uncertain."
_METAVAR = {Kind.VALUES: "VALUES", Kind.NUMBER: "NUMBER", Kind.INTEGER: "INTEGER"}


def parameter(i: Input) -> inspect.Parameter:
    """The typer option of one input. Numbers come in as text and are read by cost.door, so a
    bad value gets the same one-line message here as on the page."""
    help = (
        i.help
        + (_SWEEP if i.sweepable else "")
        + (_RANGE if i.kind is Kind.VALUES and i.uncertain else "")
    )
    panel = i.panel.title()
    annotation: Any = str | None
    if i.kind is Kind.SWITCH:
        option = typer.Option(False, i.option, help=help, rich_help_panel=panel)
        annotation = bool
    elif i.kind is Kind.TRISTATE:
        flags = f"{i.option}/--not-{i.option.removeprefix('--')}"
        option = typer.Option(None, flags, help=help, rich_help_panel=panel)
        annotation = bool | None
    elif i.kind in (Kind.FILE, Kind.FILES):
        option = typer.Option(None, i.option, help=help, rich_help_panel=panel)
        annotation = Path | None if i.kind is Kind.FILE else list[Path] | None
    else:
        default = None if i.default is None else str(i.default)
        metavar = "|".join(i.choices) if i.choices else _METAVAR.get(i.kind, "TEXT")
        option = typer.Option(default, i.option, help=help, rich_help_panel=panel, metavar=metavar)
    return inspect.Parameter(
        i.name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=annotation
    )


def cost_command(**given: Any) -> None:
    """Cost a job on a device before and after a subsidy, or say how far a subsidy goes.

    A job is --train, --serve, --hours or --contract; --reach asks how far a subsidy goes.
    Any flag given a list or range (--rate 0.1:1.0:0.1) makes a sweep over every combination.
    """
    numpy_without_blas_threads()
    from subsidybench.cost import door
    from subsidybench.report import cost_answer as show
    from subsidybench.report.i18n import messages

    read = door.read(given)
    out = read.output
    json_path, csv_path, xlsx_path = out["json"], out["csv"], out["xlsx"]
    needs_openpyxl(xlsx_path)
    m = messages(out["lang"], out["units"])
    request = door.request_of(read)
    if request.vs is not None:
        parity_answer(request, json_path)
        return
    if out["compare"] is not None:
        no_xlsx(xlsx_path, "a ranking")
    outcome = door.answer(request, compare=out["compare"])
    for line in outcome.warnings:
        typer.echo(f"warning: {line}", err=True)
    if outcome.kind in ("sweep", "serving", "reach"):
        no_xlsx(
            xlsx_path,
            {"sweep": "a sweep", "serving": "a serving curve"}.get(outcome.kind, "--reach"),
        )
    # Every file asked for is written before anything is printed: a reader that stops early
    # (`| head`) never costs a file (cli.output).
    if outcome.kind == "compare":
        frame = None
        if csv_path is not None:
            import pandas as pd

            frame = pd.DataFrame([show.flat(e.to_dict()) for e in outcome.result])
        announce(show.write(json_path, csv_path, outcome.doc, frame))
        show.print_compare(outcome.result, m)
        return
    if outcome.kind == "sweep":
        scenario = outcome.scenario
        announce(show.write(json_path, csv_path, outcome.doc, outcome.frame))
        show.print_sweep(
            outcome.frame, scenario.sweeping, scenario.currency, out["rows"], list(outcome.notes), m
        )
        return
    if outcome.kind == "serving":
        from subsidybench.report import serving_view  # its tables: only a serving answer's

        curve = serving_view.curve_frame(outcome.result) if csv_path is not None else None
        written = show.write(json_path, None, outcome.doc, None)
        announce(written + show.write(None, csv_path, {}, curve))
        serving_view.print_serving(outcome.result, out["rows"])
        return
    if outcome.kind == "reach":
        announce(show.write(json_path, csv_path, outcome.doc, None))
        show.print_reach(outcome.result, m)
        show.print_ranges(outcome.spread, m)
        return
    written = show.write(json_path, csv_path, outcome.doc, None)
    if xlsx_path is not None:
        from subsidybench.report.live_workbook import write_answer_xlsx

        write_answer_xlsx(outcome.scenario, outcome.result, xlsx_path, m)
        written.append(xlsx_path)
    announce(written)
    show.print_estimate(outcome.result, m)
    show.print_ranges(outcome.spread, m)


def parity_answer(request: Any, json_path: Path | None) -> None:
    """`--vs PROFILE`: the rent at which --profile matches a priced device (cost.parity)."""
    from subsidybench.cost.parity import parity
    from subsidybench.report import cost_answer as show
    from subsidybench.report.parity_view import print_parity

    found = parity(request)
    announce(show.write(json_path, None, {"kind": "parity", **found.to_dict()}, None))
    print_parity(found)


def numpy_without_blas_threads() -> None:
    """Import numpy with OpenBLAS on one thread, where it is not imported yet and the user has
    not said how many. OpenBLAS starts a thread per core as numpy loads, and they spin before
    they sleep: 75 ms of CPU of a 0.16 s `import numpy, typer` on 2 cores, and time taken from
    the answer on a busy machine. A cost answer calls no BLAS routine (no dot, matmul or
    linalg: elementwise arithmetic, sorts and percentiles), so no figure depends on it. The
    variable is read once, as the library loads, and put back at once: nothing this process
    starts inherits it."""
    import os
    import sys

    if "numpy" in sys.modules or "OPENBLAS_NUM_THREADS" in os.environ:
        return
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    try:
        import numpy  # noqa: F401
    finally:
        del os.environ["OPENBLAS_NUM_THREADS"]


def announce(paths: list[Path]) -> None:
    from subsidybench.cli.output import wrote

    for path in paths:
        wrote(path)


def no_xlsx(path: Path | None, what: str) -> None:
    """--xlsx is one answer's live workbook: refused, not dropped, where there is none."""
    if path is not None:
        raise UserError(f"--xlsx writes one answer's live workbook; {what} has none: use --csv")


def needs_openpyxl(path: Path | None) -> None:
    if path is None:
        return
    try:
        import openpyxl  # noqa: F401
    except ImportError:
        raise UserError(
            "--xlsx needs openpyxl, which is not installed: pip install 'subsidybench[report]'"
        ) from None


# typer reads a command's options from its signature; this one's is made from the inputs table.
_PARAMETERS = [parameter(i) for i in INPUTS]
cost_command.__signature__ = inspect.Signature(_PARAMETERS)  # type: ignore[attr-defined]
cost_command.__annotations__ = {p.name: p.annotation for p in _PARAMETERS}
app.command("cost", no_args_is_help=True)(cost_command)
