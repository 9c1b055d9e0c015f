"""The `subsidybench` command: a table of commands, each loaded when it runs (cli/lazy.py).

Errors are handled in one place (`_Group.main`): a UserError, a bad flag or (a last resort)
an operating-system error becomes one line on stderr and a non-zero exit; Ctrl-C exits 130.
Commands stay thin: parse, call the library, render.

Imports any stage; the stages never import it.
"""

from __future__ import annotations

import sys
from typing import Any

import typer

from subsidybench import __version__
from subsidybench.cli.lazy import Command, Entry, Family, LazyGroup
from subsidybench.errors import UserError

EXIT_USER_ERROR = 1
EXIT_INTERRUPTED = 130

# Every command, in the order `--help` lists them: one line each, and a module imported only
# when its command runs. Old names stay as hidden aliases for one release (moved_to says where).
_M = "subsidybench.cli."
COMMANDS: dict[str, Entry] = {
    "run": Command(_M + "run:run", "Run a benchmark suite and save the result as it goes."),
    "suites": Command(_M + "run:suites", "List the built-in suites."),
    "show": Command(_M + "show:show", "Show saved runs: what was measured, how, the verdicts."),
    "devices": Command(_M + "devices:devices", "List the devices here and the dtypes each runs."),
    "cost": Command(_M + "cost:app", "Cost a job before and after a subsidy, or its reach."),
    "report": Command(_M + "report:app", "Write a report of runs: Markdown, HTML, CSV, Excel."),
    "compare": Command(_M + "compare:app", "Compare runs; say which changes are beyond noise."),
    "ab": Command(_M + "ab:app", "Did a change make it slower? A and B interleaved."),
    "accept": Command(_M + "accept:app", "Check a contract clause by clause against runs."),
    "ingest": Command(_M + "ingest:app", "Turn pytest-benchmark JSON into a run result."),
    "serve-bench": Command(_M + "serve_bench:app", "Sweep a serving endpoint over concurrency."),
    "ui": Command(_M + "ui:app", "The cost answer in a browser, on this machine."),
    "catalogue": Family(
        "Device profiles, subsidy programmes, and how fresh they are.",
        {
            "profiles": Command(_M + "profiles:app", "Device profiles: peaks, memory, rent."),
            "subsidies": Command(_M + "subsidies:app", "Subsidy programmes: rates, caps, pools."),
            "check": Command(_M + "catalogue:check", "Flag stale, expired, unknown, unpriced."),
            "published": Command(_M + "published:app", "Published results and claims on them."),
        },
    ),
    "store": Family(
        "A results database: add runs, query them, trends, a CI gate.",
        {
            "add": Command(_M + "store:app.add", "Add run results to the store."),
            "query": Command(_M + "store:app.query", "The history of one workload on a machine."),
            "machines": Command(_M + "store:app.machines", "The machines in the store."),
            "history": Command(_M + "history:app", "Trends as a static HTML site, steps marked."),
            "gate": Command(_M + "gate:app", "Exit 3 when the newest runs are slower."),
        },
    ),
    "evidence": Family(
        "Evidence bundles for a subsidy claim: write one, verify one.",
        {
            "bundle": Command(_M + "evidence:app.evidence", "Bundle runs, report and sources."),
            "verify": Command(_M + "evidence:app.verify", "Check a bundle's hashes and figures."),
        },
        default="bundle",
    ),
    # Old names, hidden, for one release.
    "profiles": Command(_M + "profiles:app", "Device profiles.", True, "catalogue profiles"),
    "subsidies": Command(_M + "subsidies:app", "Programmes.", True, "catalogue subsidies"),
    "history": Command(_M + "history:app", "Trends.", True, "store history"),
    "gate": Command(_M + "gate:app", "A CI gate.", True, "store gate"),
    "verify": Command(_M + "evidence:app.verify", "Check a bundle.", True, "evidence verify"),
    "published": Command(_M + "published:app", "Published results.", True, "catalogue published"),
}


class _Group(LazyGroup):
    """The top-level group: turns user mistakes into one-line messages instead of tracebacks."""

    table = COMMANDS

    def invoke(self, ctx: Any) -> Any:
        # typer turns a KeyboardInterrupt into a silent exit 130 before main below sees it: a
        # user who pressed Ctrl-C is told so here (a command that saves a partial file, as
        # `run` does, says what it kept and exits by itself).
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        from subsidybench.cli.helptext import escape_tree

        escape_tree(self)  # help texts are prose: rich must not read markup or emoji in them
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            rv = super().main(*args, standalone_mode=False, **kwargs)
        except typer.TyperException as e:  # bad flags and values, found by the parser
            ctx = getattr(e, "ctx", None)
            # A group called with no command. typer carries its own copy of click, so the class
            # is matched by name; get_help() renders (with rich, prints) the help: only here.
            if type(e).__name__ == "NoArgsIsHelpError" and ctx is not None:
                ctx.get_help()
                sys.exit(0)
            message = e.format_message()
            hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
            typer.echo(f"error: {message}{hint}", err=True)
            sys.exit(getattr(e, "exit_code", EXIT_USER_ERROR))
        except UserError as e:
            # The library names inputs (errors.named); the CLI says each as its flag.
            from subsidybench.cost.inputs import flag_of

            typer.echo(f"error: {e.say(flag_of)}", err=True)
            sys.exit(EXIT_USER_ERROR)
        except OSError as e:
            # A last resort: operating-system errors become UserErrors where they enter (datafile
            # reads and writes); one that slips past still names its path in one line.
            where = f"{e.filename}: " if e.filename else ""
            typer.echo(f"error: {where}{e.strerror or e}", err=True)
            sys.exit(EXIT_USER_ERROR)
        except (typer.Abort, KeyboardInterrupt):
            typer.echo("interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        sys.exit(rv if isinstance(rv, int) else 0)


app = typer.Typer(
    cls=_Group,
    name="subsidybench",
    help="Measure what an accelerator really does, then cost how far a compute subsidy goes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"subsidybench {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Measure what an accelerator really does, then cost how far a compute subsidy goes."""


def main() -> None:
    """Console-script entry point."""
    from subsidybench.cli.output import quiet_stdout

    quiet_stdout()
    app()
