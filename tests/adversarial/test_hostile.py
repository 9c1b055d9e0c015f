"""Every command under hostile input: one clean line or finite figures, never a traceback.

`SUBSIDYBENCH_ADVERSARIAL_EXAMPLES=N` draws N examples per property (default a few, to keep the
whole directory inside a minute); `SUBSIDYBENCH_ADVERSARIAL_REPORT=1` counts defects instead of
stopping at the first (the before/after counts of issue 13).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hostile import (
    DATA,
    HOSTILE_NUMBERS,
    JSON_VALUES,
    TINY_SUITE,
    Outcome,
    check,
    classify,
    dump_json,
    examples,
    hostile_literal,
    hostile_number,
    invoke_bounded,
    json_value,
    mutate_json,
    mutate_toml,
    numeric_leaves,
    place,
    profile_texts,
    record,
    run_case,
    subsidy_texts,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


# Derandomised: the same inputs on every run, so counts before and after a fix compare.
def SETTINGS(n: int) -> settings:
    return settings(
        max_examples=examples(n),
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        database=None,
    )


RUN_FILE = DATA / "run-v1.json"
PYTEST_BENCHMARK = DATA / "pytest-benchmark-ci.json"
MATMUL = "matmul[n=1024,m=1024,k=1024]/fp32"


def _tmp() -> Path:
    return Path(tempfile.mkdtemp(prefix="hostile-"))


PROFILES = profile_texts()
SUBSIDIES = subsidy_texts()


@SETTINGS(12)
@given(which=st.integers(0, len(PROFILES) - 1), where=place, literal=hostile_literal)
def test_device_profiles(which: int, where: int, literal: str) -> None:
    d = _tmp()
    name, text = PROFILES[which]
    (d / "devices").mkdir()
    path = d / "devices" / name
    path.write_text(mutate_toml(text, where, literal))
    check("profile", ["profiles", "validate", str(path)], d)
    check("profile", ["profiles", "show", str(path)], d)
    check("profile", ["cost", "--train", "1e9:1e10", "--profile", str(path), "--tflops", "100"], d)


@SETTINGS(12)
@given(which=st.integers(0, len(SUBSIDIES) - 1), where=place, literal=hostile_literal)
def test_subsidy_programmes(which: int, where: int, literal: str) -> None:
    d = _tmp()
    name, text = SUBSIDIES[which]
    path = d / name
    path.write_text(mutate_toml(text, where, literal))
    check("subsidy", ["subsidies", "show", str(path)], d)
    base = ["cost", "--train", "1e9:1e10", "--tflops", "100", "--price", "2", "--currency", "CNY"]
    check("subsidy", [*base, "--subsidy", str(path)], d)


@SETTINGS(4)
@given(where=place, literal=hostile_literal)
def test_suite_files(where: int, literal: str) -> None:
    d = _tmp()
    path = d / "suite.toml"
    path.write_text(mutate_toml(TINY_SUITE, where, literal))
    out = d / "run.json"
    check("suite", ["run", "--suite", str(path), "--device", "cpu", "--out", str(out)], d)


_RUN_DOC = json.loads(RUN_FILE.read_text())
_RUN_LEAVES = numeric_leaves(_RUN_DOC)


@SETTINGS(12)
@given(leaf=st.integers(0, len(_RUN_LEAVES) - 1), value=json_value)
def test_result_files(leaf: int, value: int) -> None:
    d = _tmp()
    path = d / "run.json"
    path.write_text(dump_json(mutate_json(_RUN_DOC, _RUN_LEAVES[leaf], JSON_VALUES[value])))
    check("result", ["show", str(path)], d)
    check("result", ["show", "--csv", str(path)], d)
    check("result", ["compare", str(RUN_FILE), str(path)], d)
    cost = ["cost", "--train", "1e9:1e10", "--run", str(path), "--workload", MATMUL]
    check("result", [*cost, "--price", "2", "--currency", "USD", "--force"], d)


_PB_DOC = json.loads(PYTEST_BENCHMARK.read_text())
_PB_LEAVES = numeric_leaves(_PB_DOC)


@SETTINGS(10)
@given(leaf=st.integers(0, len(_PB_LEAVES) - 1), value=json_value)
def test_compare_files(leaf: int, value: int) -> None:
    """pytest-benchmark output (what CI compares), ingested as a run result."""
    d = _tmp()
    path = d / "bench.json"
    path.write_text(dump_json(mutate_json(_PB_DOC, _PB_LEAVES[leaf], JSON_VALUES[value])))
    out = d / "out.json"
    check("ingest", ["ingest", str(path), "--out", str(out)], d, must_not_exist=out)


def _within(low: float, high: float, low_open: bool = True) -> Callable[[float], bool]:
    return lambda x: (x > low if low_open else x >= low) and x <= high


_POSITIVE = _within(0, math.inf)
_SHARE = _within(0, 1)  # a fraction where 0 is meaningless (an efficiency, a utilisation)
_WHOLE = _within(1, math.inf, low_open=False)
_CORES = os.cpu_count() or 1

# Commands with the numeric flags they take, and the values each must accept (stated here again,
# independently of subsidybench.bounds): a value outside is refused, never computed with.
_COST = ["cost", "--train", "1e9:1e10", "--tflops", "100", "--price", "2", "--currency", "USD"]
_COMPARE = ["compare", str(RUN_FILE), str(RUN_FILE)]
_RUN = ["run", "--suite", "SUITE", "--device", "cpu"]
_FLAGS: list[tuple[list[str], str, Callable[[float], bool]]] = [
    (_COMPARE, "--alpha", lambda x: 0 < x < 1),
    (_COMPARE, "--fail-on-regression", _within(0, 1e4, low_open=False)),
    (_COMPARE, "--warn-on-regression", _within(0, 1e4, low_open=False)),
    (_RUN, "--threads", lambda x: x == int(x) and 1 <= x <= 4 * _CORES),
    (_RUN, "--budget", _within(0, 3600)),
    (_COST, "--devices", lambda x: x == int(x) and x >= 1),
    (_COST, "--scaling-efficiency", _SHARE),
    (_COST, "--utilisation", _SHARE),
    (_COST, "--fx", _POSITIVE),
    (_COST, "--cap", _POSITIVE),
    (_COST, "--rate", _within(0, 1, low_open=False)),
    (_COST, "--mfu", _SHARE),
    ([*_COST, "--rate", "0.1:1.0:0.1"], "--rows", _WHOLE),  # a sweep, so rows are cut
    (_COST, "--layers", lambda x: x == int(x) and x >= 1),
    (_COST, "--seq-len", lambda x: x == int(x) and x >= 1),
    (_COST, "--attention-width", _POSITIVE),
    (_COST, "--hours", _POSITIVE),
    (_COST, "--peak-tflops", _within(0, 1e7)),
    (_COST, "--contract-size", _POSITIVE),
    (["cost", "--train", "1e9:1e10", "--tflops", "100", "--currency", "USD"], "--price", _POSITIVE),
    (["cost", "--tflops", "100", "--price", "2", "--currency", "USD"], "--train", _POSITIVE),
    (["cost", "--train", "1e9:1e10", "--price", "2", "--currency", "USD"], "--tflops", _POSITIVE),
]


@SETTINGS(40)
@given(which=st.integers(0, len(_FLAGS) - 1), number=hostile_number)
def test_numeric_flags(which: int, number: str) -> None:
    """In range: exit 0 with finite figures, or a clean refusal. Out of range: refused."""
    d = _tmp()
    base, flag, valid = _FLAGS[which]
    value = number
    if "SUITE" in base:
        (d / "suite.toml").write_text(TINY_SUITE)
        base = [str(d / "suite.toml") if a == "SUITE" else a for a in base]
        base = [*base, "--out", str(d / "run.json")]
    if flag == "--train":
        value = f"{number}:1e10"
    args = [*base, flag, value]
    if flag == "--threads":
        # 10^5 threads can segfault torch's OpenMP pool: never in this process.
        code, out, err = invoke_bounded(args, d, memory_mb=4000)
        outcome = classify(code, out, err, None)
    else:
        outcome = run_case(args, d)
    if outcome.kind == "clean" and outcome.code == 0 and not valid(float(number)):
        outcome = Outcome("accepted-invalid", f"{flag} {number} was accepted")
    record("flag " + " ".join(args), outcome)


@SETTINGS(3)
@given(number=st.sampled_from(HOSTILE_NUMBERS))
def test_report_flags(number: str) -> None:
    d = _tmp()
    args = ["report", str(RUN_FILE), "--out", str(d / "rep"), "--fx", number]
    outcome = run_case(args, d)
    if outcome.kind == "clean" and outcome.code == 0 and not _POSITIVE(float(number)):
        outcome = Outcome("accepted-invalid", f"--fx {number} was accepted")
    record("report " + " ".join(args), outcome)


def _kinds(d: Path) -> dict[str, Path]:
    """Paths that are not ordinary readable files."""
    (d / "a-dir").mkdir()
    fifo = d / "fifo.json"
    os.mkfifo(fifo)
    (d / "latin1.json").write_bytes(b'{"name": "caf\xe9"}')
    (d / "latin1.toml").write_bytes(b'name = "caf\xe9"\n')
    (d / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (d / "empty.json").write_text("")
    unreadable = d / "unreadable.json"
    unreadable.write_text("{}")
    unreadable.chmod(0)
    return {
        "dir": d / "a-dir",
        "fifo": fifo,
        "latin1-json": d / "latin1.json",
        "latin1-toml": d / "latin1.toml",
        "deep": d / "deep.json",
        "empty": d / "empty.json",
        "unreadable": unreadable,
    }


_FILE_COMMANDS = [
    ["show", "{}"],
    ["compare", str(RUN_FILE), "{}"],
    ["ingest", "{}", "--out", "OUT/x.json"],
    ["profiles", "validate", "{}"],
    ["profiles", "show", "{}"],
    ["subsidies", "show", "{}"],
    ["run", "--suite", "{}", "--device", "cpu", "--out", "OUT/x.json"],
    ["cost", "--train", "1e9:1e10", "--run", "{}", "--price", "2", "--currency", "USD"],
    ["report", "{}", "--out", "OUT/rep"],
]


@pytest.mark.parametrize("command", _FILE_COMMANDS, ids=lambda c: c[0] + "-" + c[1])
def test_file_kinds(command: list[str]) -> None:
    d = _tmp()
    for kind, path in _kinds(d).items():
        args = [a.replace("{}", str(path)).replace("OUT", str(d / "out")) for a in command]
        check(f"file {kind}", args, d)


_OUTPUTS = [
    ["compare", str(RUN_FILE), str(RUN_FILE), "--json", "{}"],
    ["ingest", str(PYTEST_BENCHMARK), "--out", "{}"],
    ["report", str(RUN_FILE), "--out", "{}"],
    [*_COST, "--json", "{}"],
    [*_COST, "--csv", "{}"],
]


@pytest.mark.parametrize("command", _OUTPUTS, ids=lambda c: c[0])
def test_output_paths(command: list[str]) -> None:
    """Where a command writes: a missing directory, a directory, a read-only directory."""
    d = _tmp()
    (d / "a-dir").mkdir()
    ro = d / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    for target in (d / "missing" / "sub" / "x.json", d / "a-dir", ro / "x.json"):
        check("output", [a.replace("{}", str(target)) for a in command], d)


@pytest.mark.parametrize("command", [["show", "/dev/zero"], ["profiles", "validate", "/dev/zero"]])
def test_endless_files(command: list[str]) -> None:
    """/dev/zero must be refused, not read until the machine runs out of memory."""
    code, out, err = invoke_bounded(command, _tmp())
    outcome = classify(code, out, err, None) if code != -1 else None
    if outcome is None or "MemoryError" in err:
        outcome = Outcome("hang" if code == -1 else "traceback", err[-200:])
    record(" ".join(command), outcome)
