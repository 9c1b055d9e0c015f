"""Where data files are found: the built-in catalogue and the user's own directories.

The catalogue is a directory laid out like the repository's profiles/: devices/NAME.toml and
subsidies/NAME.toml. The built-in one ships inside the wheel (as subsidybench/_profiles) and is
read from the repository's profiles/ in a source checkout. Users add directories of the same
layout with --profiles-dir or SUBSIDYBENCH_PROFILES (several joined by the OS path separator);
theirs are searched first, so a user's file wins over a built-in one of the same name.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Sequence
from pathlib import Path

from subsidybench.errors import UserError, named

ENV_VAR = "SUBSIDYBENCH_PROFILES"

_PACKAGE = Path(__file__).resolve().parents[1]


@functools.cache
def builtin_root() -> Path:
    """The built-in catalogue: inside the installed wheel, else the source checkout's profiles/.
    Found once: where the package lies does not change while it runs, and a 40-run report asked
    2,640 times (a stat and two path joins each)."""
    shipped = _PACKAGE / "_profiles"
    return shipped if shipped.is_dir() else _PACKAGE.parents[1] / "profiles"


def roots(extra: Sequence[Path] = ()) -> list[Path]:
    """Catalogue roots in search order: flags, then the environment variable, then built-in."""
    from_env = [Path(p) for p in os.environ.get(ENV_VAR, "").split(os.pathsep) if p]
    for root in (*extra, *from_env):
        if not root.is_dir():
            source = ENV_VAR if root in from_env else named("profiles_dirs")
            raise UserError(f"{source}: {root} is not a directory")
    return [*extra, *from_env, builtin_root()]


def files(kind: str, extra: Sequence[Path] = ()) -> dict[str, Path]:
    """Every `kind` file (devices, systems, subsidies) by name; earlier roots win."""
    found: dict[str, Path] = {}
    for root in roots(extra):
        for stem, path in _listing(root / kind):
            found.setdefault(stem, path)
    return found


def resolve(kind: str, name_or_path: str, extra: Sequence[Path] = (), input_key: str = "") -> Path:
    """A catalogue name ("h100-sxm") or a path to a TOML file, as a path; UserError if neither,
    naming `input_key` where a question's input gave the name (errors.named: the CLI says its
    flag, the page marks its field)."""
    said = f"{named(input_key)}: " if input_key else ""
    if name_or_path.endswith(".toml") or os.sep in name_or_path:
        path = Path(name_or_path)
        if not path.is_file():
            raise UserError(f"{said}{path}: no such file")
        return path
    known = files(kind, extra)
    if name_or_path not in known:
        names = ", ".join(sorted(known)) or "none"
        raise UserError(f"{said}no {kind} entry named {name_or_path!r} (known: {names})")
    return known[name_or_path]


# A folder's listing is kept while the folder's mtime stays as it was, but only once that mtime
# is this old: a file system may stamp times in ticks of a few milliseconds, so a folder changed
# twice within one tick keeps its mtime (git's "racy clean" entries); a young folder is listed
# afresh every time.
_SETTLED_NS = 2_000_000_000


def _listing(folder: Path) -> tuple[tuple[str, Path], ...]:
    """The *.toml files in `folder`, sorted, with their stems. A 40-run report asks for the
    same listings 2,600 times (each run's device, programme and rates by name): globbed and
    sorted every time, that was a tenth of its CPU time."""
    try:
        mtime = folder.stat().st_mtime_ns
    except OSError:
        return _glob(folder)
    if time.time_ns() - mtime < _SETTLED_NS:
        return _glob(folder)
    return _glob_settled(folder, mtime)


@functools.lru_cache(maxsize=64)
def _glob_settled(folder: Path, mtime_ns: int) -> tuple[tuple[str, Path], ...]:
    return _glob(folder)


def _glob(folder: Path) -> tuple[tuple[str, Path], ...]:
    return tuple((path.stem, path) for path in sorted(folder.glob("*.toml")))
