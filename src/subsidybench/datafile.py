"""Reading data files (TOML and JSON) with errors that name the file and the field.

Profiles, subsidy programmes, suites and run results are data: parsed, checked, never executed.
`Fields` wraps one table of a parsed file so that every typed read says where a bad value sits
("profiles/devices/h100.toml: peak_tflops.bf16: expected a number, got 'fast'").
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from subsidybench.errors import UserError

T = TypeVar("T")

_MISSING: Any = object()


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file, turning a missing file or a syntax error into a UserError."""
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except tomllib.TOMLDecodeError as e:
        raise UserError(f"{path}: not valid TOML: {e}") from None


def read_json(path: Path) -> Any:
    """Parse a JSON file, turning a missing file or a syntax error into a UserError."""
    try:
        with path.open("rb") as f:
            return json.load(f)
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise UserError(f"{path}: not valid JSON: {e}") from None


def _type_name(value: object) -> str:
    return type(value).__name__


class Fields:
    """Typed reads from one table of a data file; errors name the file and the dotted field."""

    def __init__(self, data: object, source: str, prefix: str = "") -> None:
        if not isinstance(data, Mapping):
            where = f"{source}: {prefix}" if prefix else source
            raise UserError(f"{where}: expected a table, got {_type_name(data)}")
        self.data: Mapping[str, Any] = data
        self.source = source
        self.prefix = prefix

    def where(self, key: str) -> str:
        """'file: table.key', the place a message about `key` should point to."""
        return f"{self.source}: {self.prefix}{key}"

    def error(self, key: str, message: str) -> UserError:
        return UserError(f"{self.where(key)}: {message}")

    def has(self, key: str) -> bool:
        return key in self.data

    def _get(self, key: str, default: Any) -> Any:
        if key in self.data:
            return self.data[key]
        if default is _MISSING:
            raise self.error(key, "required field is missing")
        return default

    def str(self, key: str, default: Any = _MISSING) -> Any:
        value = self._get(key, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, str):
            raise self.error(key, f"expected a string, got {_type_name(value)}")
        return value

    def int(self, key: str, default: Any = _MISSING) -> Any:
        value = self._get(key, default)
        if value is default and default is not _MISSING:
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"expected an integer, got {_type_name(value)}")
        return value

    def float(self, key: str, default: Any = _MISSING) -> Any:
        value = self._get(key, default)
        if value is default and default is not _MISSING:
            return value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(key, f"expected a number, got {_type_name(value)}")
        return float(value)

    def bool(self, key: str, default: Any = _MISSING) -> Any:
        value = self._get(key, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, bool):
            raise self.error(key, f"expected true or false, got {_type_name(value)}")
        return value

    def list(self, key: str, default: Any = _MISSING) -> Any:
        value = self._get(key, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, list):
            raise self.error(key, f"expected a list, got {_type_name(value)}")
        return value

    def floats(self, key: str, default: Any = _MISSING) -> Any:
        """A list of numbers, returned as a tuple of floats."""
        value = self.list(key, default)
        if value is default and default is not _MISSING:
            return value
        for i, item in enumerate(value):
            if isinstance(item, bool) or not isinstance(item, int | float):
                raise self.error(f"{key}[{i}]", f"expected a number, got {_type_name(item)}")
        return tuple(float(v) for v in value)

    def choice(self, key: str, choices: Mapping[str, T] | set[str], default: Any = _MISSING) -> Any:
        value = self.str(key, default)
        if value is default and default is not _MISSING:
            return value
        if value not in choices:
            allowed = ", ".join(sorted(choices))
            raise self.error(key, f"{value!r} is not one of: {allowed}")
        return choices[value] if isinstance(choices, Mapping) else value

    def table(self, key: str, default: Any = _MISSING) -> Fields:
        value = self._get(key, default)
        return Fields(value, self.source, f"{self.prefix}{key}.")

    def tables(self, key: str, default: Any = _MISSING) -> list[Fields]:
        """An array of tables ([[key]] in TOML), each wrapped for further reads."""
        items = self.list(key, default)
        return [
            Fields(item, self.source, f"{self.prefix}{key}[{i}].") for i, item in enumerate(items)
        ]

    def reject_unknown(self, known: set[str]) -> None:
        """Refuse keys this reader does not know: a typo must not silently drop a setting."""
        for key in self.data:
            if key not in known:
                raise self.error(key, f"unknown field (known: {', '.join(sorted(known))})")


def checked(f: Fields, build: Callable[[], Any]) -> Any:
    """Build a record, turning its own consistency checks into errors that name the file."""
    try:
        return build()
    except ValueError as e:
        where = f"{f.source}: {f.prefix.rstrip('.')}" if f.prefix else f.source
        raise UserError(f"{where}: {e}") from None
