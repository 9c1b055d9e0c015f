"""Help texts read as written: rich markup and emoji codes in them are escaped once, for all.

typer renders every help text as rich markup, so `[default]` in a text vanishes as a tag, an
unbalanced `[/x]` raises, and `a:b:step` turns `:b:` into an emoji. Help texts here are prose, not
markup: `escape_tree` escapes every command's and option's help before it is rendered, so that no
command module has to remember to.
"""

from __future__ import annotations

import re
from typing import Any

from rich.markup import escape

# Rich's emoji pattern (rich._emoji_replace). Rich has no escape for emoji codes; it replaces them
# per run of text between markup tags, so an empty style span between the colons keeps the code
# as text and renders as nothing.
_EMOJI_CODE = re.compile(r":(\S*?)(?:-(?:emoji|text))?:")
_BREAK = "[bold][/bold]"
_DONE = "_subsidybench_help_escaped"


def escape_help(text: str) -> str:
    """`text` as rich markup that renders exactly as `text`."""
    from rich._emoji_codes import EMOJI

    out, rest = "", escape(text)
    # Scan as rich does: a code that is no emoji is passed over whole; after one that is, rich's
    # next run of text starts at its closing colon.
    while (match := _EMOJI_CODE.search(rest)) is not None:
        if match.group(1).lower() in EMOJI:
            out += rest[: match.end() - 1] + _BREAK
            rest = rest[match.end() - 1 :]
        else:
            out += rest[: match.end()]
            rest = rest[match.end() :]
    return out + rest


def escape_tree(command: Any) -> None:
    """Escape the help of `command`, its parameters and every subcommand, once each."""
    if getattr(command, _DONE, False):
        return
    setattr(command, _DONE, True)
    if getattr(command, "rich_markup_mode", "rich") is None:
        return  # rendered by click as plain text: nothing to escape
    for name in ("help", "short_help", "epilog"):
        text = getattr(command, name, None)
        if isinstance(text, str):
            setattr(command, name, escape_help(text))
    for param in getattr(command, "params", ()):
        text = getattr(param, "help", None)
        if isinstance(text, str):
            param.help = escape_help(text)
    for sub in getattr(command, "commands", {}).values():
        escape_tree(sub)
