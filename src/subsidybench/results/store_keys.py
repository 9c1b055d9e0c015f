"""What identifies a stored run: where the store is, the machine's fingerprint, the run's
identity, and what adding a run answers. Torch-free; needs no database driver.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from subsidybench.errors import UserError
from subsidybench.results.record import Environment, RunResult

_DEFAULT_NAME = "history.sqlite"
T = TypeVar("T")


def default_location() -> Path:
    """The store used when no --store is given: the user's data directory (XDG)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "subsidybench" / _DEFAULT_NAME


def store_url(location: str | Path | None) -> str:
    """A --store value as an SQLAlchemy URL: a URL as given, a path as a SQLite file."""
    given = location is not None
    if location is None:
        location = default_location()
    text = str(location)
    if "://" in text:
        scheme, rest = text.split("://", 1)
        database = rest.removeprefix("/").split("?", 1)[0]
        if scheme.startswith("sqlite") and database in ("", ":memory:"):
            raise UserError(
                f"--store: {text} is a database in memory, lost when the command ends: give a"
                " file (a path, or sqlite:///PATH)"
            )
        return text
    path = Path(text).expanduser()
    if path.is_dir():
        raise UserError(f"--store: {path} is a directory; give a file such as {path / 'h.sqlite'}")
    if given and not path.parent.is_dir():  # as for every path a user gives: never made here
        raise UserError(f"--store: {path.parent}: no such directory (create it first)")
    try:  # the default's folder is the tool's own to make
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"--store: cannot create {path.parent}: {e.strerror}") from None
    # Quoted: a URL reads "?" as its query and "#" as its fragment ('h?x.sqlite' would be 'h').
    return f"sqlite:///{quote(str(path.resolve()), safe='/')}"


@dataclass(frozen=True, slots=True)
class Machine:
    """What makes two runs comparable hardware: the fingerprint is a hash of these fields only.

    Software versions (torch, Python, toolkit) are left out on purpose: a trend must carry on
    across an upgrade, which is often the change it is there to show.
    """

    backend: str
    cpu_model: str
    cpu_count: int
    device_names: tuple[str, ...]
    device_count: int
    driver: str | None

    @classmethod
    def of(cls, env: Environment) -> Machine:
        return cls(
            backend=env.backend,
            cpu_model=env.cpu_model,
            cpu_count=env.cpu_count,
            device_names=tuple(env.device_names),
            device_count=env.device_count,
            driver=env.driver,
        )

    @property
    def fingerprint(self) -> str:
        doc = {
            "backend": self.backend,
            "cpu_model": self.cpu_model,
            "cpu_count": self.cpu_count,
            "device_names": list(self.device_names),
            "device_count": self.device_count,
            "driver": self.driver,
        }
        return hashlib.sha256(_canonical(doc).encode()).hexdigest()[:12]

    @property
    def label(self) -> str:
        if self.backend == "cpu":
            return f"{self.cpu_model}, {self.cpu_count} cores"
        names = ", ".join(dict.fromkeys(self.device_names)) or self.backend
        driver = f", driver {self.driver}" if self.driver else ""
        return f"{self.device_count}x {names} ({self.backend}{driver}); {self.cpu_model}"


def run_identity(run: RunResult) -> str:
    """A run's identity: a hash of what was measured, where and when, never of derived figures."""
    doc = {
        "suite": [run.suite, run.suite_version],
        "method_version": run.method_version,
        "started": run.started,
        "device": [run.device.type, run.device.index, run.device.name],
        "environment": run.environment.to_dict(),
        "results": [
            [
                r.id,
                r.status.value,
                list(r.measurement.samples_s) if r.measurement else None,
            ]
            for r in run.results
        ],
    }
    return hashlib.sha256(_canonical(doc).encode()).hexdigest()


def distinct(
    items: Sequence[T], run_of: Callable[[T], RunResult], name_of: Callable[[T], str]
) -> tuple[list[T], list[str]]:
    """`items` with each run once, by identity, and a note for every repeat left out.

    A run named twice, or as a copy or a link, holds the same samples: pooled twice it would
    count each sample twice and make any promise look shown.
    """
    first: dict[str, str] = {}
    kept, notes = [], []
    for item in items:
        identity = run_identity(run_of(item))
        if identity in first:
            notes.append(
                f"{name_of(item)} is the same run as {first[identity]} (the same samples):"
                " counted once"
            )
            continue
        first[identity] = name_of(item)
        kept.append(item)
    return kept, notes


def _canonical(doc: Any) -> str:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), allow_nan=False)


def parse_time(text: str, what: str) -> datetime:
    """An ISO 8601 time as naive UTC (what the database keeps); a time without zone is UTC."""
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise UserError(
            f"{what}: {text!r} is not an ISO 8601 time (2026-11-23T02:49:29Z)"
        ) from None
    if t.tzinfo is not None:
        t = t.astimezone(UTC).replace(tzinfo=None)
    return t


@dataclass(frozen=True, slots=True)
class Added:
    """What `add` did with one run."""

    source: str
    identity: str
    machine: str
    run_id: int
    new: bool
    """False: the run was already stored, and nothing was written."""
