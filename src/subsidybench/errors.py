"""The one error type a user can fix.

The library raises UserError for anything the user can put right (a bad flag, a malformed file, a
device that is not there); the CLI catches it in one place and prints it as one line. Any other
exception is a bug in subsidybench and may show a traceback.

A message names the inputs of a question by their names (`named("price")`), never by a flag: a
question comes from flags, a comparison file's keys or a page's fields, and only the front end
knows which. Each says the message its own way (`UserError.say`): the CLI by the flag
(`--price`), the page by its field's label, a comparison file by its key.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

_NAMED = re.compile(r"<input:([a-z_]+)>")


def named(key: str) -> str:
    """Input `key` (its name in the inputs table, cost.inputs) as a message names it."""
    return f"<input:{key}>"


def said(text: str, name: Callable[[str], str]) -> str:
    """`text` (an error's or an assumption's) with each input it names called `name(input)`."""
    return _NAMED.sub(lambda m: name(m.group(1)), text)


class UserError(Exception):
    """A mistake in the user's input; the message says what to fix."""

    @property
    def template(self) -> str:
        """The message with each input it names marked (`named`), for a front end to say."""
        return str(self.args[0]) if self.args else ""

    @property
    def inputs(self) -> tuple[str, ...]:
        """The inputs the message names, first named first."""
        return tuple(dict.fromkeys(_NAMED.findall(self.template)))

    def say(self, name: Callable[[str], str]) -> str:
        """The message, each input in it called `name(input)`."""
        return said(self.template, name)

    def renamed(self, names: Mapping[str, str]) -> UserError:
        """The same error with the inputs in `names` called so, the others still marked: a
        comparison file names its keys, and the CLI the flags that remain."""
        error = UserError(_NAMED.sub(lambda m: names.get(m.group(1), m.group(0)), self.template))
        error.__cause__ = self.__cause__
        return error

    def __str__(self) -> str:
        # Said by no front end (a library caller, a log): each input by its plain name.
        return self.say(lambda key: key)
