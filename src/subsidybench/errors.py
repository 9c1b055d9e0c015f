"""The one error type a user can fix.

The library raises UserError for anything the user can put right (a bad flag, a malformed file, a
device that is not there); the CLI catches it in one place and prints it as one line. Any other
exception is a bug in subsidybench and may show a traceback.
"""


class UserError(Exception):
    """A mistake in the user's input; the message says what to fix."""
