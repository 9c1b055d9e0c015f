"""Hostile inputs for every command, and the one rule every outcome must follow.

The rule (issue 13): a command either exits 0 with finite figures, or exits non-zero with ONE
line on stderr (an `error:` line, after any `warning:`/`note:` lines) and no traceback; it never
hangs, and it never leaves a temporary or half-written file behind.

Inputs are made by mutating real files (the shipped catalogue, the golden run result, the
pytest-benchmark sample) at one place each, so every generated file is valid but for the one
hostile value, and the error a command gives must name it. Commands run in-process through
typer's CliRunner (fast); only inputs that could exhaust this machine (/dev/zero) run in a
subprocess under a memory limit.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import resource
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import strategies as st
from typer.testing import CliRunner

from subsidybench.cli import app

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
PROFILES = ROOT / "profiles"

CASE_TIMEOUT_S = 90
"""Per case: a hang (a FIFO read, an unbounded loop) fails the case instead of the suite. A hang
never answers; an answer may be slow: with two CPU burners beside the suite on 2 shared cores, a
subprocess that imports torch took over 20 s to refuse its flags."""

# Numbers a careless or hostile user types, as the text of a flag or a data file's literal.
HOSTILE_NUMBERS = (
    "nan",
    "inf",
    "-inf",
    "0",
    "-0",
    "-1",
    "-1e-300",
    "1e-300",
    "1e300",
    "1e308",
    "1.5",
    "100000",
    "1e12",
    "0.5",
    "2",
    "3",
)
HOSTILE_LITERALS = (*HOSTILE_NUMBERS, '"x"', "[]", "{}", "true", '""')

_NUMBER = re.compile(r"(?m)(=\s*)(-?[\d_]+(?:\.[\d_]+)?(?:[eE][+-]?\d+)?)(?=\s*(?:$|,|}|#|\]))")


@dataclass
class Outcome:
    """What one command did, classified."""

    kind: str
    """clean, traceback, many-lines, not-finite, partial-file, hang, accepted-invalid"""
    detail: str = ""
    code: int = 0


@dataclass
class Tally:
    """Counts across a session: inputs tried, handled cleanly, defects by kind."""

    tried: int = 0
    clean: int = 0
    defects: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)

    def add(self, label: str, outcome: Outcome) -> None:
        self.tried += 1
        if outcome.kind == "clean":
            self.clean += 1
            return
        self.defects[outcome.kind] += 1
        self.examples.setdefault(f"{outcome.kind}: {label}", outcome.detail[:300])


TALLY = Tally()

REPORT_ONLY = bool(os.environ.get("SUBSIDYBENCH_ADVERSARIAL_REPORT"))
"""Count defects instead of failing on the first: for the before/after counts of issue 13."""


def examples(default: int) -> int:
    """How many examples each property draws: bounded for CI (the directory inside ~60 s),
    SUBSIDYBENCH_ADVERSARIAL_EXAMPLES for more (that many per property)."""
    return int(os.environ.get("SUBSIDYBENCH_ADVERSARIAL_EXAMPLES", default))


class Hang(BaseException):
    """Not an Exception: a command's own `except Exception` (the runner's, around a task) must
    not swallow the alarm and carry on."""


@contextlib.contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    def alarm(signum: int, frame: Any) -> None:
        raise Hang(f"no answer in {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


_NOT_FINITE = re.compile(r"(?i)(?<![\w.-])-?(nan|inf|infinity)(?![\w])")


def classify(code: int, stdout: str, stderr: str, exc: BaseException | None) -> Outcome:
    if exc is not None and not isinstance(exc, SystemExit):
        return Outcome("traceback", f"{type(exc).__name__}: {exc}")
    if "Traceback (most recent call last)" in stderr + stdout:
        return Outcome("traceback", stderr[-300:])
    if code == 0:
        if m := _NOT_FINITE.search(stdout):
            start = max(m.start() - 60, 0)
            return Outcome("not-finite", stdout[start : m.end() + 20])
        return Outcome("clean")
    clean = Outcome("clean", code=code)
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    errors = [ln for ln in lines if not ln.startswith(("warning:", "note:", "regression:"))]
    if code == 3 and not errors:  # compare's regression gate: warnings and regressions only
        return clean
    if len(errors) != 1:
        return Outcome("many-lines", "\n".join(lines[-5:]) or f"(no message, exit {code})")
    return clean


def leftovers(directory: Path) -> list[str]:
    """Temporary files a failed write left behind."""
    return sorted(p.name for p in directory.rglob("*") if ".tmp" in p.name)


_runner = CliRunner()


def invoke(args: list[str], cwd: Path) -> tuple[int, str, str, BaseException | None]:
    old = Path.cwd()
    os.chdir(cwd)
    try:
        with time_limit(CASE_TIMEOUT_S):
            r = _runner.invoke(app, args, catch_exceptions=True)
        return r.exit_code, r.stdout, r.stderr, r.exception
    except Hang as e:
        return -1, "", str(e), e
    finally:
        os.chdir(old)


def invoke_bounded(args: list[str], cwd: Path, memory_mb: int = 1500) -> tuple[int, str, str]:
    """In a subprocess under a memory limit: for inputs that could exhaust the machine."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory_mb << 20, memory_mb << 20))

    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    try:
        p = subprocess.run(
            [sys.executable, "-m", "subsidybench", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=CASE_TIMEOUT_S,
            preexec_fn=limit,
            env=env,
        )
    except subprocess.TimeoutExpired:
        return -1, "", "hang"
    if p.returncode < 0:  # killed by a signal (a segfault): a crash, not an answer
        return (
            p.returncode,
            p.stdout,
            p.stderr + f"\nTraceback (most recent call last): signal {-p.returncode}",
        )
    return p.returncode, p.stdout, p.stderr


def run_case(args: list[str], cwd: Path, must_not_exist: Path | None = None) -> Outcome:
    """Run one command in-process and classify what it did (no recording)."""
    code, out, err, exc = invoke(args, cwd)
    outcome = Outcome("hang", str(exc)) if isinstance(exc, Hang) else classify(code, out, err, exc)
    if outcome.kind == "clean" and (left := leftovers(cwd)):
        outcome = Outcome("partial-file", ", ".join(left))
    failed_but_wrote = must_not_exist is not None and must_not_exist.is_file()
    if outcome.kind == "clean" and code != 0 and failed_but_wrote:
        outcome = Outcome("partial-file", f"{must_not_exist} written by a failed command")
    return outcome


def check(label: str, args: list[str], cwd: Path, must_not_exist: Path | None = None) -> Outcome:
    """Run one command and judge it; in report mode only count, else assert."""
    outcome = run_case(args, cwd, must_not_exist)
    record(label + " " + " ".join(args), outcome)
    return outcome


def record(label: str, outcome: Outcome) -> None:
    """Count `outcome`; fail on a defect unless only counting."""
    TALLY.add(label, outcome)
    if not REPORT_ONLY:
        assert outcome.kind == "clean", f"{label}: {outcome.kind}: {outcome.detail}"


# --- mutations of real files -------------------------------------------------------------------


def mutate_toml(text: str, index: int, literal: str) -> str:
    """Replace the index-th numeric literal (mod their count) with `literal`."""
    numbers = list(_NUMBER.finditer(text))
    if not numbers:
        return text
    m = numbers[index % len(numbers)]
    return text[: m.start(2)] + literal + text[m.end(2) :]


def _leaves(doc: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(doc, dict):
        return [p for k, v in doc.items() for p in _leaves(v, (*path, k))]
    if isinstance(doc, list):
        return [p for i, v in enumerate(doc) for p in _leaves(v, (*path, i))] or [path]
    return [path]


def numeric_leaves(doc: Any) -> list[tuple[Any, ...]]:
    out = []
    for p in _leaves(doc):
        value = doc
        for k in p:
            value = value[k]
        if isinstance(value, int | float) and not isinstance(value, bool):
            out.append(p)
    return out


JSON_VALUES: tuple[Any, ...] = (
    float("nan"),
    float("inf"),
    -1,
    0,
    -1e300,
    1e300,
    1e308,
    "x",
    None,
    [],
    {},
    True,
    10**30,
)


def mutate_json(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    doc = json.loads(json.dumps(doc))
    target = doc
    for k in path[:-1]:
        target = target[k]
    if path:
        target[path[-1]] = value
    return doc


def dump_json(doc: Any) -> str:
    return json.dumps(doc, allow_nan=True)


def profile_texts() -> list[tuple[str, str]]:
    return [(p.name, p.read_text()) for p in sorted((PROFILES / "devices").glob("*.toml"))]


def subsidy_texts() -> list[tuple[str, str]]:
    return [(p.name, p.read_text()) for p in sorted((PROFILES / "subsidies").glob("*.toml"))]


TINY_SUITE = """
name = "tiny"
version = 1
description = "hostile test suite"
budget_s = 0.02

[[workloads]]
name = "copy"
params = { mib = 1 }
"""

# Strategies: which file, which place in it, which hostile value.
hostile_number = st.sampled_from(HOSTILE_NUMBERS)
hostile_literal = st.sampled_from(HOSTILE_LITERALS)
place = st.integers(min_value=0, max_value=10_000)
json_value = st.sampled_from(range(len(JSON_VALUES)))
