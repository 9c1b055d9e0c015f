"""`subsidybench ab`'s loop: configurations A and B measured round by round in one job.

Every round of a side is one `PYTHON -m subsidybench run --rounds 1` process with the side's
interpreter and environment: the public command, so that A and B may be two installs side by
side (a base and a head commit in two venvs) as well as one install with different settings
(`--b-env NAME=VALUE`). Rounds go A B, B A, A B, ...: each pair is taken back to back, and a
drift that is steady over a pair falls on A first in one pair and on B first in the next, so it
cancels in the paired comparison (results/ab.py). Each process is a fresh one, so the
differences between processes (allocator, thread placement, kernel choice) are in the spread,
as they are in a run's worker rounds (measure/worker.py). Torch-free: the parent only waits.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from subsidybench.errors import UserError
from subsidybench.results.record import RunResult, load_run

SIDES = ("A", "B")


@dataclass(frozen=True, slots=True)
class Side:
    """One configuration: the interpreter that runs it and the environment it adds."""

    name: str
    python: str
    env: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {"python": self.python, "env": dict(self.env)}


def parse_env(flag: str, values: Sequence[str]) -> dict[str, str]:
    """NAME=VALUE flags as a mapping; a value may itself hold '=' (softmax=0.10)."""
    env = {}
    for text in values:
        name, sep, value = text.partition("=")
        if not sep or not name.strip() or any(c.isspace() for c in name):
            raise UserError(f"{flag}: {text!r} is not NAME=VALUE")
        env[name] = value
    return env


def check_python(flag: str, path: str) -> str:
    """An interpreter given by path (a venv's bin/python), checked before any round runs."""
    p = Path(path)
    if not p.is_file() or not os.access(p, os.X_OK):
        raise UserError(f"{flag}: {path} is not an executable file (a venv's bin/python)")
    return str(p)


def order(rounds: int) -> list[tuple[int, str]]:
    """(round, side) in the order they run: A B, B A, A B, ..."""
    return [(r, s) for r in range(rounds) for s in (SIDES if r % 2 == 0 else SIDES[::-1])]


def run_ab(
    sides: Mapping[str, Side],
    rounds: int,
    run_args: Sequence[str],
    out: Path,
    tell: Callable[[str], None],
) -> dict[str, list[RunResult]]:
    """Run every round of both sides into `out`/A/<round>.json and `out`/B/...; return them.

    `run_args` are the `subsidybench run` flags both sides share (suite, device, budget,
    threads, ...). `tell` hears a line before each process, with the time left at the pace so
    far. A process that fails stops the job with one line naming it and its log; the rounds
    already run stay in `out`.
    """
    if rounds < 2:
        raise UserError("--rounds: an A/B needs at least 2 rounds a side to see its own spread")
    runs: dict[str, list[RunResult]] = {name: [] for name in SIDES}
    steps = order(rounds)
    start = time.perf_counter()
    for i, (round_, name) in enumerate(steps):
        side = sides[name]
        eta = ""
        if i:
            left = (time.perf_counter() - start) / i * (len(steps) - i)
            eta = f", about {left / 60:.1f} min left"
        tell(f"round {round_ + 1} of {rounds}: {name} ({i + 1} of {len(steps)} processes{eta})")
        folder = out / name
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise UserError(f"--out: {folder}: {e.strerror or e}") from None
        path = folder / f"{round_ + 1}.json"
        log = path.with_suffix(".log")
        command = [side.python, "-m", "subsidybench", "run", *run_args]
        command += ["--rounds", "1", "--out", str(path)]
        try:
            with log.open("w") as f:
                code = subprocess.run(
                    command, env={**os.environ, **side.env}, stdout=f, stderr=subprocess.STDOUT
                ).returncode
        except OSError as e:
            raise UserError(f"{name}: {side.python}: {e.strerror or e}") from None
        if code != 0:
            raise UserError(
                f"{name}, round {round_ + 1}: `subsidybench run` exited with status {code}:"
                f" {_last_line(log)} (whole output: {log}; earlier rounds are kept in {out})"
            )
        runs[name].append(load_run(path))
    return runs


def _last_line(log: Path) -> str:
    try:
        with log.open("rb") as f:
            f.seek(max(0, log.stat().st_size - 4096))
            lines = f.read().decode(errors="replace").strip().splitlines()
    except OSError:
        return "(no output)"
    return lines[-1] if lines else "(no output)"
