"""The page's form and URLs, made from the inputs table (cost.inputs), and the page's bounds.

A URL's query string holds `subsidybench cost`'s flags by their names without the dashes
(`/cost?contract=40e6&currency=CNY&subsidy=hangzhou-2024&domestic=true`); `given` reads it into
the values the door takes (cost.door.read), and `command` writes the same question back as the
`subsidybench cost` command that answers it. A run file is uploaded, never named by a path on
the server: `run` holds an upload's id (uploads.Uploads).
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from subsidybench.cost.inputs import INPUTS, Input, Kind, Panel, flags_said, param_of
from subsidybench.errors import UserError, named

MAX_QUERY = 8 * 1024
"""Bytes of a query string: every input at a long value is under 2 KB."""
MAX_DRAWS = 200_000
"""Monte Carlo draws per answer on the page: 100,000 (the default) take tens of milliseconds;
10,000,000 (the CLI's bound) would hold a shared server for seconds."""
MAX_SCENARIOS = 100_000
"""Sweep rows on the page (the CLI's default bound is 1,000,000: a page shows the first rows)."""
MAX_OPTIONS = 4
"""Options compared side by side on one job."""
OPTION_FIELDS = (
    "label", "profile", "price", "currency", "tflops", "mfu", "tokens_per_s", "subsidy",
    "small_firm", "domestic", "devices", "scaling_efficiency",
)  # fmt: skip


def page_inputs(table: Sequence[Input] = INPUTS) -> list[Input]:
    """The inputs the page's form shows (files: only `run`, as an upload)."""
    return [i for i in table if i.page or i.name == "run"]


@dataclass(frozen=True, slots=True)
class Question:
    """A page's question: inputs by Request field (as text), uploads named, options to compare."""

    texts: dict[str, Any]
    options: tuple[dict[str, str], ...] = ()


def question(query: Sequence[tuple[str, str]], table: Sequence[Input] = INPUTS) -> Question:
    """Read a query string's pairs; an unknown parameter or a repeated one is refused."""
    by_param = {i.param: i for i in page_inputs(table)}
    by_param |= {i.name: i for i in page_inputs(table)}  # `small_firm` as well as `small-firm`
    texts: dict[str, Any] = {}
    options: dict[int, dict[str, str]] = {}
    for key, value in query:
        value = value.strip()
        if not value:
            continue
        head, dot, tail = key.partition(".")
        if dot and head[:1] == "o" and head[1:].isdigit():
            n = int(head[1:])
            if not 1 <= n <= MAX_OPTIONS or tail not in OPTION_FIELDS:
                raise UserError(f"{key}: not an option field (o1..o{MAX_OPTIONS}.field)")
            options.setdefault(n, {})[tail] = value
            continue
        i = by_param.get(key)
        if i is None:
            raise UserError(f"{key}: not an input of `subsidybench cost`")
        if i.kind is Kind.FILES:
            texts.setdefault(i.name, []).append(value)
        elif i.name in texts:
            raise UserError(f"{named(i.name)}: given twice")
        else:
            texts[i.name] = value
    return Question(texts, tuple(options[n] for n in sorted(options) if options[n]))


def bound(texts: Mapping[str, Any]) -> None:
    """The page's own bounds on what one answer may cost the server."""
    draws = texts.get("draws")
    if draws is not None:
        try:
            too_many = float(draws) > MAX_DRAWS
        except ValueError:
            too_many = False  # the door's message names it
        if too_many:
            raise UserError(
                f"{named('draws')}: at most {MAX_DRAWS:,} on the page (the CLI takes more)"
            )
    if texts.get("max_scenarios") is None:
        return
    try:
        if float(texts["max_scenarios"]) > MAX_SCENARIOS:
            raise UserError(f"{named('max_scenarios')}: at most {MAX_SCENARIOS:,} on the page")
    except ValueError:
        pass


def in_catalogue(
    texts: Mapping[str, Any],
    lists: Mapping[str, Sequence[tuple[str, str]]],
    table: Sequence[Input] = INPUTS,
) -> None:
    """Inputs that name a catalogue entry (a device, a programme) name one that is there: the
    page takes entries, never a path on the server."""
    for i in table:
        value = texts.get(i.name)
        if i.catalogue and value is not None and value not in {k for k, _ in lists[i.name]}:
            raise UserError(f"{named(i.name)}: {value!r} is not in the {i.catalogue} catalogue")


def command(
    texts: Mapping[str, Any], names: Mapping[str, str], table: Sequence[Input] = INPUTS
) -> str:
    """The `subsidybench cost` command that asks the same question (uploads by file name)."""
    words = ["subsidybench", "cost"]
    for i in table:
        value = texts.get(i.name)
        if value is None:
            continue
        if i.kind is Kind.SWITCH:
            if str(value).lower() in ("true", "1", "yes", "on"):
                words.append(i.option)
        elif i.kind is Kind.TRISTATE:
            on = str(value).lower() in ("true", "1", "yes", "on")
            words.append(i.option if on else "--not-" + i.option.removeprefix("--"))
        elif i.kind is Kind.FILES:
            for v in value:
                words += [i.option, names.get(v, v)]
        else:
            words += [i.option, str(value)]
    return " ".join(shlex.quote(w) for w in words)


def options_toml(options: Sequence[Mapping[str, str]]) -> str:
    """A comparison file (`cost --compare FILE`) holding the page's options."""
    lines: list[str] = []
    for o in options:
        lines.append("[[option]]")
        for key in OPTION_FIELDS:
            if key in o:
                value = o[key]
                if key in ("small_firm", "domestic"):
                    text = "true" if value.lower() in ("true", "1", "yes", "on") else "false"
                elif key in ("label", "profile", "currency", "subsidy"):
                    text = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
                else:
                    text = value
                lines.append(f"{key} = {text}")
        lines.append("")
    return "\n".join(lines)


def field_of(error: UserError, table: Sequence[Input] = INPUTS) -> str | None:
    """The page's field for the first input an error names (errors.named), for the page to show
    the error beside it; None where it names none the page shows."""
    shown = {i.name for i in page_inputs(table)}
    return next((key for key in error.inputs if key in shown), None)


def help_html(text: str, table: Sequence[Input] = INPUTS) -> Any:
    """A help text or a panel's title as the page shows it (HTML): the flags the CLI's help
    spells ("with --train") said as the page names those inputs, its fields' names
    (<code>train</code>); the page has no flags."""
    from markupsafe import Markup, escape

    def field(key: str) -> str:
        return f"<code>{escape(param_of(key, table))}</code>"

    return Markup(flags_said(str(escape(text)), field, table))


def sections(lang: str, table: Sequence[Input] = INPUTS) -> list[tuple[Panel, list[Input]]]:
    """The form's sections: each panel's page inputs, in the table's panel order."""
    shown = page_inputs(table)
    return [
        (p, [i for i in shown if i.panel is p]) for p in Panel if any(i.panel is p for i in shown)
    ]
