"""Lists as tables that fit the terminal, and as CSV or JSON for everything else.

A table narrower than its cells folds words into fragments ("Bei jin g", "202 3-1 0"). `fit`
gives every column at least its longest word, drops whole columns by priority until the rest fit,
and names what it dropped, so that a reader knows the table is not all there and where the rest
is (`--csv`, `--json`, a wider terminal).
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.table import Table

from subsidybench.errors import UserError


@dataclass(frozen=True, slots=True)
class Column:
    """A column of a fitted table: `drop` 0 is never dropped; the highest goes first."""

    key: str
    header: str
    drop: int = 0
    justify: str = "left"

    def __post_init__(self) -> None:
        if self.drop < 0:
            raise ValueError(f"column {self.key}: drop must be >= 0, got {self.drop}")


def _longest_word(text: str) -> int:
    return max((len(word) for word in text.split()), default=0)


# Rich draws a border and a space either side of every cell: 3 columns per column, 1 more.
def _width(widths: Sequence[int]) -> int:
    return sum(w + 3 for w in widths) + 1


def fit(
    columns: Sequence[Column],
    rows: Sequence[Mapping[str, str]],
    width: int | None,
    title: str | None = None,
) -> tuple[Table, list[str]]:
    """A table of `rows` (plain text, escaped here) in at most `width` columns where it can be:
    no word broken; columns dropped highest `drop` first; the headers of those dropped."""
    least = {
        c.key: max(_longest_word(c.header), *(_longest_word(r.get(c.key, "")) for r in rows))
        for c in columns
    }
    kept = list(columns)
    dropped: list[str] = []
    while width is not None and _width([least[c.key] for c in kept]) > width:
        droppable = [c for c in kept if c.drop > 0]
        if not droppable:
            break  # what is left is wider than the terminal: it scrolls, no word is broken
        gone = max(droppable, key=lambda c: c.drop)
        kept.remove(gone)
        dropped.append(gone.header)
    given = allot(kept, rows, width, least)
    table = Table(title=None if title is None else escape(title), title_justify="left")
    for c in kept:
        table.add_column(
            escape(c.header),
            justify=c.justify,  # type: ignore[arg-type]
            width=given[c.key] if given else None,
            min_width=least[c.key],
        )
    for r in rows:
        table.add_row(*(escape(r.get(c.key, "")) for c in kept))
    return table, dropped


def allot(
    columns: Sequence[Column],
    rows: Sequence[Mapping[str, str]],
    width: int | None,
    least: Mapping[str, int],
) -> dict[str, int]:
    """Fixed widths for `columns` ({} for no width): each its `least`, then what is left of the
    width to each column in turn, up to its longest cell. Fixed, so that rich never shrinks a
    column below its longest word (rich narrows the widest column first)."""
    if width is None:
        return {}
    given = {c.key: least[c.key] for c in columns}
    spare = width - _width(list(given.values()))
    for c in columns:
        longest = max(len(c.header), *(len(r.get(c.key, "")) for r in rows))
        more = max(0, min(spare, longest - given[c.key]))
        given[c.key] += more
        spare -= more
    return given


def dropped_line(dropped: Sequence[str], width: int, flags: str) -> str | None:
    """The line under a table that says which columns did not fit, and where they are."""
    if not dropped:
        return None
    return (
        f"not shown at {width} columns: {', '.join(dropped)} (in {flags},"
        " or in a wider terminal: COLUMNS=N)"
    )


def _flat(record: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flat(value, f"{name}."))
        elif isinstance(value, list | tuple):
            out[name] = "; ".join(str(v) for v in value)
        else:
            out[name] = value
    return out


def records_text(records: Sequence[Mapping[str, Any]], kind: str) -> str:
    """The records as CSV (nested fields as a.b columns, lists joined by '; ') or JSON."""
    if kind == "json":
        return json.dumps(list(records), indent=2, allow_nan=False, default=str) + "\n"
    flat = [_flat(r) for r in records]
    fields = list(dict.fromkeys(k for r in flat for k in r))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(flat)
    return buffer.getvalue()


def write_records(
    records: Sequence[Mapping[str, Any]], csv_path: Path | None, json_path: Path | None
) -> tuple[list[Path], bool]:
    """Write the records to the files asked for; `-` writes to stdout instead of a table.
    Returns the files written and whether stdout was taken."""
    from subsidybench.datafile import write_atomic

    paths = [(p, k) for p, k in ((csv_path, "csv"), (json_path, "json")) if p is not None]
    if sum(str(p) == "-" for p, _ in paths) > 1:
        raise UserError("--csv - and --json - both ask for stdout: write one of them to a file")
    written: list[Path] = []
    to_stdout = False
    # Files first: what goes to stdout may meet a reader that has gone (cli.output).
    for path, kind in sorted(paths, key=lambda pk: str(pk[0]) == "-"):
        text = records_text(records, kind)
        if str(path) == "-":
            sys.stdout.write(text)
            to_stdout = True
        else:
            write_atomic(path, text, f"--{kind}")
            written.append(path)
    return written, to_stdout
