"""Reading data files (TOML and JSON) with errors that name the file and the field.

Profiles, subsidy programmes, suites and run results are data: parsed, checked, never executed.
`Fields` wraps one table of a parsed file so that every typed read says where a bad value sits
("profiles/devices/h100.toml: peak_tflops.bf16: expected a number, got 'fast'").
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import stat
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from subsidybench.bounds import Range
from subsidybench.errors import UserError

T = TypeVar("T")

_MISSING: Any = object()


MAX_FILE_MB_ENV = "SUBSIDYBENCH_MAX_FILE_MB"
DEFAULT_MAX_FILE_MB = 64
"""A run of the full suite writes ~1 MB of JSON (raw samples included) and the largest
pytest-benchmark file with raw rounds a few MB; 64 MB is far past both, and still reads in a
second. /dev/zero or a wrong file must not be read until the machine runs out of memory."""

MAX_DEPTH = 64
"""The deepest data file nests ~6 levels (a run's results[i].measurement.statistics); past 64 it
is not one of ours, and Python's parsers would otherwise end in RecursionError."""


_CHUNK = 8 << 20


def max_file_bytes() -> int:
    """The size limit for one data file, raised with SUBSIDYBENCH_MAX_FILE_MB."""
    text = os.environ.get(MAX_FILE_MB_ENV)
    if text is None:
        return DEFAULT_MAX_FILE_MB << 20
    try:
        mb = float(text)
    except ValueError:
        mb = math.nan
    if not (math.isfinite(mb) and mb > 0):
        raise UserError(f"{MAX_FILE_MB_ENV}: expected a number of megabytes > 0, got {text!r}")
    return int(mb * (1 << 20))


def _os_error(path: Path, e: OSError, doing: str) -> UserError:
    return UserError(f"{path}: cannot {doing}: {e.strerror or e}")


def read_bytes(path: Path) -> bytes:
    """A regular file's bytes, bounded by max_file_bytes(); every data file is read through here.

    A directory, a FIFO, a device (/dev/zero) or a socket is refused before it is opened: a FIFO
    would block forever and a device would never end.
    """
    try:
        info = path.stat()
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except OSError as e:
        raise _os_error(path, e, "read it") from None
    if stat.S_ISDIR(info.st_mode):
        raise UserError(f"{path}: is a directory, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise UserError(f"{path}: not a regular file (a FIFO, device or socket); give a file")
    limit = max_file_bytes()
    too_big = UserError(
        f"{path}: larger than the {limit / (1 << 20):g} MB limit for data files"
        f" (raise it with {MAX_FILE_MB_ENV})"
    )
    if info.st_size > limit:
        raise too_big
    # Read in pieces up to one byte past the limit: f.read(limit + 1) allocates the whole
    # limit at once (30000 MB: MemoryError) however small the file.
    chunks, held = [], 0
    try:
        with path.open("rb") as f:
            while held <= limit and (chunk := f.read(min(limit + 1 - held, _CHUNK))):
                chunks.append(chunk)
                held += len(chunk)
    except OSError as e:
        raise _os_error(path, e, "read it") from None
    if held > limit:  # grew since the stat
        raise too_big
    return b"".join(chunks)


def read_text(path: Path) -> str:
    """A data file as UTF-8 text (bounded, regular files only)."""
    data = read_bytes(path)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise UserError(f"{path}: not UTF-8 text (byte {e.start}); data files are UTF-8") from None


def _check_depth(doc: Any, path: Path) -> None:
    """Refuse structures nested past MAX_DEPTH (walked without recursion)."""
    stack = [(doc, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise UserError(f"{path}: nested deeper than {MAX_DEPTH} levels; not a data file")
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file; a missing, unreadable, huge, non-UTF-8 or malformed one -> UserError."""
    text = read_text(path)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise UserError(f"{path}: not valid TOML: {e}") from None
    except RecursionError:
        raise UserError(f"{path}: nested too deeply; not a data file") from None
    _check_depth(doc, path)
    return doc


def _no_constant(path: Path) -> Callable[[str], Any]:
    def refuse(name: str) -> Any:
        # NaN and Infinity are not JSON; Python writes them only when asked to, and our files
        # are written with allow_nan=False, so one here was put in by hand.
        raise UserError(f"{path}: {name} is not a number JSON allows; figures must be finite")

    return refuse


def read_json(path: Path) -> Any:
    """Parse a JSON file; a missing, unreadable, huge, non-UTF-8 or malformed one -> UserError."""
    text = read_text(path)
    try:
        doc = json.loads(text, parse_constant=_no_constant(path))
    except json.JSONDecodeError as e:
        raise UserError(f"{path}: not valid JSON: {e}") from None
    except RecursionError:
        raise UserError(f"{path}: nested too deeply; not a data file") from None
    except ValueError as e:  # an integer of more than 4300 digits
        raise UserError(f"{path}: not valid JSON: {e}") from None
    _check_depth(doc, path)
    return doc


def write_atomic(
    path: Path,
    content: str | bytes | Callable[[Path], None],
    what: str = "",
    *,
    exclusive: bool = False,
    parents: bool = False,
) -> None:
    """Write a file whole or not at all: every file subsidybench writes goes through here.

    The content goes to a temporary file in the same directory, is flushed to disk (fsync), and
    is renamed over `path` (os.replace, atomic on POSIX): a crash, a kill or a full disk leaves
    the previous file, never half of one. `content` is text, bytes, or a function that writes a
    given path (a spreadsheet library). `exclusive` refuses a `path` that exists, atomically
    (os.link fails if it does), so two writers can never both think they created it. The file
    gets the user's umask, like any other. `what` names the flag in errors ("--out: ...").
    An OSError (disk full, permission, a directory in the way) becomes one UserError line.
    """
    prefix = f"{what}: " if what else ""
    directory = path.parent
    if parents:
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise UserError(f"{prefix}cannot create {directory}: {e.strerror or e}") from None
    if path.is_dir():
        raise UserError(f"{prefix}{path} is a directory, not a file")
    if not directory.is_dir():
        raise UserError(f"{prefix}{directory}: no such directory (create it first)")
    # Hidden, marked .tmp, and ending in the target's suffix (writers pick a format by it).
    # os.urandom is what secrets.token_hex reads; importing secrets (hmac, hashlib, base64)
    # was 3 ms of every start, `cost` answers that write nothing included.
    tmp = directory / f".{path.name}.{os.urandom(4).hex()}.tmp{path.suffix}"
    fd = -1
    try:
        try:
            # 0o666 less the umask, as open() gives any other file (mkstemp would give 0600).
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            if callable(content):
                os.close(fd)
                fd = -1
                content(tmp)
                fd = os.open(tmp, os.O_RDONLY)
            else:
                data = content.encode("utf-8") if isinstance(content, str) else content
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
            os.fsync(fd)
            os.close(fd)
            fd = -1
            if exclusive:
                _link_exclusive(tmp, path, prefix)
            else:
                os.replace(tmp, path)
        except OSError as e:
            where = e.filename if e.filename and str(e.filename) != str(tmp) else path
            raise UserError(
                f"{prefix}could not write {where}: {e.strerror or e}; nothing was written"
                + ("" if exclusive else " (the previous file, if any, is unchanged)")
            ) from None
    finally:
        if fd >= 0:
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(OSError):
            tmp.unlink()


def _link_exclusive(tmp: Path, path: Path, prefix: str) -> None:
    """Put `tmp` at `path` only if nothing is there, in one step (hard link, then unlink)."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise UserError(
            f"{prefix}{path} exists (another run may be writing it); choose another path"
            " or move it away"
        ) from None
    except OSError as e:
        if e.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            raise
        # A file system without hard links (FAT, some network mounts): claim the name with
        # O_EXCL, then replace the empty claim with the content.
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            raise UserError(
                f"{prefix}{path} exists (another run may be writing it); choose another path"
                " or move it away"
            ) from None
        os.replace(tmp, path)


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

    def float(self, key: str, default: Any = _MISSING, within: Range | None = None) -> Any:
        """A number; never NaN or infinite (TOML allows both), and in `within` when given."""
        value = self._get(key, default)
        if value is default and default is not _MISSING:
            return value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(key, f"expected a number, got {_type_name(value)}")
        number = float(value)
        if not math.isfinite(number):
            raise self.error(key, f"expected a finite number, got {value!r}")
        if within is not None:
            within.check(number, self.where(key))
        return number

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

    def floats(self, key: str, default: Any = _MISSING, within: Range | None = None) -> Any:
        """A list of finite numbers (each in `within` when given), as a tuple of floats."""
        value = self.list(key, default)
        if value is default and default is not _MISSING:
            return value
        for i, item in enumerate(value):
            if isinstance(item, bool) or not isinstance(item, int | float):
                raise self.error(f"{key}[{i}]", f"expected a number, got {_type_name(item)}")
            if not math.isfinite(float(item)):
                raise self.error(f"{key}[{i}]", f"expected a finite number, got {item!r}")
            if within is not None:
                within.check(float(item), self.where(f"{key}[{i}]"))
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
