"""Where a command's output goes: a closed stdout is not an error, and every file is announced.

`subsidybench cost ... --json a.json | head -3` closes the pipe after three lines. A reader that
stops reading has not asked the command to stop: the command finishes, writes every file it was
asked for and exits with its own status (as `git log | head` does), the rest of its output
discarded. `wrote` says on stderr which files were written, so the line reaches the user even
when stdout goes to a pipe.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, TextIO

import typer


class QuietStdout:
    """sys.stdout, which discards what is written once its reader has gone (EPIPE)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.closed_pipe = False

    def _gone(self) -> None:
        # Point the descriptor at /dev/null too, so that the interpreter's last flush of the
        # bytes still buffered succeeds instead of reporting the broken pipe at exit.
        self.closed_pipe = True
        try:
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, self._stream.fileno())
            os.close(null)
        except (OSError, ValueError):
            pass  # no descriptor to redirect (a captured stream): writes are discarded below

    def write(self, text: str) -> int:
        if not self.closed_pipe:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._gone()
        return len(text)

    def flush(self) -> None:
        if not self.closed_pipe:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._gone()

    def __getattr__(self, name: str) -> Any:
        # encoding, errors, isatty, fileno...: click and rich decide how to write from these.
        return getattr(self._stream, name)


def quiet_stdout() -> None:
    """Make a closed stdout quiet for the rest of the process (the console-script entry)."""
    if not isinstance(sys.stdout, QuietStdout) and sys.stdout is not None:
        sys.stdout = QuietStdout(sys.stdout)  # type: ignore[assignment]


def wrote(path: Path | str, what: str = "") -> None:
    """Say on stderr that `path` was written (with what it holds, if given)."""
    typer.echo(f"wrote {path}{f' ({what})' if what else ''}", err=True)
