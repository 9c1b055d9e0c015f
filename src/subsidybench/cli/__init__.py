"""The `subsidybench` command: one typer app per command group, joined here.

Errors are handled in one place (`_Group.main`): a UserError, a bad flag or (a last resort)
an operating-system error becomes one line on stderr and a non-zero exit; Ctrl-C exits 130.
Commands stay thin: parse, call the library, render.

Imports any stage; the stages never import it.
"""

from __future__ import annotations

import sys
from typing import Any

import typer
from typer.core import TyperGroup

from subsidybench import __version__
from subsidybench.errors import UserError

EXIT_USER_ERROR = 1
EXIT_INTERRUPTED = 130


class _Group(TyperGroup):
    """The top-level group: turns user mistakes into one-line messages instead of tracebacks."""

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        from subsidybench.cli.helptext import escape_tree

        command = super().get_command(ctx, cmd_name)
        if command is not None:
            escape_tree(command)  # a command loaded late is escaped as it is found (once)
        return command

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
            typer.echo(f"error: {e}", err=True)
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


# Command modules import their heavy dependencies (numpy, pandas, torch) inside the commands, so
# that `subsidybench --help` and the commands that do not measure (cost, show, profiles) start
# fast and work where torch cannot run.
from subsidybench.cli import ab as _ab  # noqa: E402
from subsidybench.cli import accept as _accept  # noqa: E402
from subsidybench.cli import catalogue as _catalogue  # noqa: E402
from subsidybench.cli import compare as _compare  # noqa: E402
from subsidybench.cli import cost as _cost  # noqa: E402
from subsidybench.cli import devices as _devices  # noqa: E402
from subsidybench.cli import evidence as _evidence  # noqa: E402
from subsidybench.cli import gate as _gate  # noqa: E402
from subsidybench.cli import history as _history  # noqa: E402
from subsidybench.cli import ingest as _ingest  # noqa: E402
from subsidybench.cli import profiles as _profiles  # noqa: E402
from subsidybench.cli import report as _report  # noqa: E402
from subsidybench.cli import run as _run  # noqa: E402
from subsidybench.cli import serve_bench as _serve_bench  # noqa: E402
from subsidybench.cli import show as _show  # noqa: E402
from subsidybench.cli import store as _store  # noqa: E402
from subsidybench.cli import subsidies as _subsidies  # noqa: E402
from subsidybench.cli import ui as _ui  # noqa: E402

app.command()(_run.run)
app.command()(_run.suites)
app.command()(_show.show)
app.command()(_devices.devices)
app.add_typer(_profiles.app, name="profiles")
app.add_typer(_cost.app)  # `subsidybench cost`: a single command, merged into the root
app.add_typer(_subsidies.app, name="subsidies")
app.add_typer(_catalogue.app, name="catalogue")
app.add_typer(_report.app)  # `subsidybench report`
app.add_typer(_compare.app)  # `subsidybench compare`
app.add_typer(_ab.app)  # `subsidybench ab`
app.add_typer(_ingest.app)  # `subsidybench ingest`
app.add_typer(_store.app, name="store")
app.add_typer(_history.app)  # `subsidybench history`
app.add_typer(_gate.app)  # `subsidybench gate`
app.add_typer(_accept.app)  # `subsidybench accept`
app.add_typer(_evidence.app)  # `subsidybench evidence` and `verify`
app.add_typer(_serve_bench.app)  # `subsidybench serve-bench`
app.add_typer(_ui.app)  # `subsidybench ui`


def main() -> None:
    """Console-script entry point."""
    from subsidybench.cli.output import quiet_stdout

    quiet_stdout()
    app()
