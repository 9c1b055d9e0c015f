"""Every command's help renders its texts as written: no emoji, no markup eaten or raised."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import typer
from rich._emoji_codes import EMOJI
from rich.text import Text
from typer.testing import CliRunner

from subsidybench.cli import app
from subsidybench.cli.helptext import escape_help

EMOJI_CHARS = {v for v in EMOJI.values() if len(v) == 1}
BOX = re.compile(r"[\u2500-\u257f]")


def _commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, (*path, name))


COMMANDS = list(_commands(typer.main.get_command(app)))


def _plain(text: str) -> str:
    return " ".join(BOX.sub(" ", text).split())


def _texts(command: Any) -> list[str]:
    texts = [p.help for p in command.params if getattr(p, "help", None) and not p.hidden]
    if command.help:
        texts.extend(command.help.split("\f")[0].split("\n\n"))
    return texts


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_help_renders_every_text_as_written(path: tuple[str, ...], command: Any) -> None:
    # Wide enough that no word is folded; the texts are read back with boxes and wraps removed.
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "1000"})
    assert result.exit_code == 0, result.output
    shown = _plain(result.stdout)
    written = _texts(command)
    assert written or not path, f"{' '.join(path)} has no help text"
    for text in written:
        assert _plain(text) in shown, f"{' '.join(path)}: help text not shown as written: {text!r}"
    stray = {c for c in result.stdout if c in EMOJI_CHARS} - set("".join(written))
    assert not stray, f"{' '.join(path)}: emoji in the help: {stray}"


@pytest.mark.parametrize(
    "text",
    ["A list or a:b:step sweeps", "a:b:c:x:end:", "[default] and [/b] stay", ":smile: :nope:"],
)
def test_escaped_help_renders_as_itself(text: str) -> None:
    assert Text.from_markup(escape_help(text)).plain == text
