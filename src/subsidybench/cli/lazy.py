"""Commands loaded only when they run: click's lazy-group pattern, for typer.

`subsidybench cost` used to import all 15 command modules first (0.22 s of CPU, numpy
included, for commands that never call it). A group here holds a table of names and where
each command lives; a command's module is imported when the command is resolved, and the
group's own `--help` lists the table's one-line helps without importing anything.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from difflib import get_close_matches
from typing import Any

import typer
import typer.main
from typer.core import TyperCommand, TyperGroup


@dataclass(frozen=True, slots=True)
class Command:
    """Where a command lives: "package.module:attribute", the attribute a function or a
    typer app; "module:app.name" picks one command of an app that has several."""

    target: str
    help: str
    hidden: bool = False
    moved_to: str | None = None
    """For an old name kept as a hidden alias: the command's name now, said on stderr."""

    def __post_init__(self) -> None:
        module, _, attribute = self.target.partition(":")
        if not module or not attribute:
            raise ValueError(f"command target {self.target!r}: expected 'module:attribute'")
        if "\n" in self.help or not self.help:
            raise ValueError(f"command {self.target}: the help must be one line")

    def load(self, name: str) -> Any:
        module_name, _, attribute = self.target.partition(":")
        attribute, _, pick = attribute.partition(".")
        obj = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(obj, typer.Typer):  # a plain function: a typer app of one command
            single = typer.Typer()
            single.command(name)(obj)
            obj = single
        cmd = typer.main.get_command(obj)
        if pick:
            cmd = cmd.commands[pick]  # type: ignore[attr-defined]
        cmd.name = name
        cmd.short_help = self.help
        cmd.hidden = self.hidden
        return cmd


@dataclass(frozen=True, slots=True)
class Family:
    """A command of commands (`store add`, `store query`...), loaded one by one like the top."""

    help: str
    commands: Mapping[str, Command]
    hidden: bool = False
    moved_to: str | None = None
    default: str | None = None
    """The subcommand an old call without one meant (`evidence FILES` for `evidence bundle`)."""

    def __post_init__(self) -> None:
        if self.default is not None and self.default not in self.commands:
            raise ValueError(f"family default {self.default!r} is not one of its commands")

    def load(self, name: str) -> LazyGroup:
        group = LazyGroup(
            name=name,
            help=self.help,
            short_help=self.help,
            hidden=self.hidden,
            no_args_is_help=True,
        )
        group.table = self.commands
        group.default = self.default
        return group


Entry = Command | Family


def at_terminal() -> bool:
    return sys.stderr.isatty()


def moved(what: str) -> None:
    """Tell a person at a terminal that a name moved. Only there: a script that parses an old
    command's stderr (one line per error) keeps working until the alias goes."""
    if at_terminal():
        typer.echo(f"note: {what}; the old name goes in a later release", err=True)


class LazyGroup(TyperGroup):
    """A group whose commands come from `table`, each imported when first resolved."""

    table: Mapping[str, Entry] = {}
    default: str | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        return [*self.table, *(n for n in self.commands if n not in self.table)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        entry = self.table.get(cmd_name)
        if entry is None or cmd_name in self.commands:
            return self.commands.get(cmd_name)
        from subsidybench.cli.helptext import escape_tree

        if self._listing:
            # Help lists names and one-line helps: nothing is imported to show them.
            listed = TyperCommand(cmd_name, help=entry.help, hidden=entry.hidden)
            escape_tree(listed)
            return listed
        if entry.moved_to:
            moved(f"'{cmd_name}' is now '{entry.moved_to}'")
        self.commands[cmd_name] = cmd = entry.load(cmd_name)
        escape_tree(cmd)  # a command loaded late is escaped as it is found (once)
        return cmd

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        first = args[0] if args else None
        if (
            self.default is not None
            and first is not None
            and first not in self.table
            and first not in ctx.help_option_names
        ):
            moved(f"'{ctx.info_name} ARGS' is now '{ctx.info_name} {self.default} ARGS'")
            args = [self.default, *args]
        return super().parse_args(ctx, args)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        try:
            return self._click_resolve_command(ctx, args)
        except typer.TyperException as e:  # "No such command": suggest from the table
            if not hasattr(e, "message"):
                raise
            shown = [n for n, entry in self.table.items() if not entry.hidden]
            matches = get_close_matches(args[0], shown) if args else []
            if matches:
                e.message = f"{e.message.rstrip('.')}. Did you mean {matches[0]!r}?"
            raise
