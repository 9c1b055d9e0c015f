"""Faults around the result file: concurrent runs, SIGTERM, a save that fails at each step, and
files whose stored figures their raw samples do not support."""

from __future__ import annotations

import errno
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostile import CASE_TIMEOUT_S, invoke_bounded, time_limit
from typer.testing import CliRunner

from subsidybench import datafile
from subsidybench.cli import app
from subsidybench.errors import UserError
from subsidybench.results.record import RunState, load_run

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"

TWO_TASKS = """
name = "two"
version = 1
budget_s = 0.02

[[workloads]]
name = "copy"
params = { mib = 1 }

[[workloads]]
name = "matmul"
params = { n = 32 }
"""

_WORKER = """
import json, sys, time
from pathlib import Path
from typer.testing import CliRunner
from subsidybench.cli import app

d, me, rounds = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
runner = CliRunner()
for i in range(rounds):
    (d / f"ready-{i}-{me}").touch()
    while not (d / f"go-{i}").exists():
        time.sleep(0.0005)
    args = ["run", "--suite", str(d / "suite.toml"), "--device", "cpu",
            "--out", str(d / f"out-{i}.json")]
    r = runner.invoke(app, args)
    (d / f"result-{i}-{me}").write_text(json.dumps({"code": r.exit_code, "err": r.stderr}))
"""

ROUNDS = 20


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1"}


def test_two_runs_to_one_out_one_wins_twenty_times_in_a_row(tmp_path: Path) -> None:
    """Two processes start a run to the same --out at the same instant, 20 rounds: each round
    exactly one completes and the other refuses in one line; the file is the winner's, whole.

    The processes start once and meet at a file barrier every round, so the runs race from
    their first line and the test costs two interpreter start-ups, not forty."""
    (tmp_path / "suite.toml").write_text(TWO_TASKS.split('[[workloads]]\nname = "matmul"')[0])
    worker = tmp_path / "worker.py"
    worker.write_text(_WORKER)
    procs = [
        subprocess.Popen(
            [sys.executable, str(worker), str(tmp_path), me, str(ROUNDS)],
            env=_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for me in ("a", "b")
    ]
    try:
        for i in range(ROUNDS):
            deadline = time.monotonic() + 120
            while not all((tmp_path / f"ready-{i}-{me}").exists() for me in "ab"):
                assert time.monotonic() < deadline, "workers did not reach the barrier"
                assert all(p.poll() is None for p in procs), procs[0].stderr.read()  # type: ignore[union-attr]
                time.sleep(0.005)
            (tmp_path / f"go-{i}").touch()
        for p in procs:
            assert p.wait(timeout=300) == 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for i in range(ROUNDS):
        results = [json.loads((tmp_path / f"result-{i}-{me}").read_text()) for me in "ab"]
        codes = sorted(r["code"] for r in results)
        assert codes == [0, 1], f"round {i}: {results}"
        (loser,) = [r for r in results if r["code"] == 1]
        lines = loser["err"].strip().splitlines()
        # Refused either before measuring (the file was there) or at the claim (both passed that
        # check at once): the same answer, one line.
        assert len(lines) == 1 and lines[0].startswith("error: ") and " exists" in lines[0], lines
        run = load_run(tmp_path / f"out-{i}.json")
        assert run.state is RunState.COMPLETE and len(run.results) == 1


def test_sigterm_marks_the_file_interrupted_with_what_finished(tmp_path: Path) -> None:
    """`subsidybench run` in a real process, sent SIGTERM after its first workload."""
    suite = tmp_path / "suite.toml"
    # The second workload is long enough (2 s budget) to be sure the signal lands inside it.
    suite.write_text(TWO_TASKS.replace("params = { n = 32 }", "params = { n = 32 }\nbudget_s = 2"))
    out = tmp_path / "run.json"
    p = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "subsidybench",
            "run",
            "--suite",
            str(suite),
            "--device",
            "cpu",
            "--out",
            str(out),
        ],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            assert time.monotonic() < deadline and p.poll() is None, "run ended before SIGTERM"
            try:
                if json.loads(out.read_text())["results"]:
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.02)
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 143
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("interrupted (stopped by signal 15)"), err
    assert "Traceback" not in err
    run = load_run(out)
    assert run.state is RunState.INTERRUPTED
    assert [r.workload for r in run.results] == ["copy"]
    assert run.stopped is not None and "signal 15" in run.stopped


class _Killed(BaseException):
    """The process dies here: nothing after runs (simulated: an exception no handler takes)."""


class Faults:
    """Make the n-th save of a result file fail at one step: open, write, or the rename."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, step: str, at: int, once: bool) -> None:
        self.step, self.at, self.once = step, at, once
        self.saves = 0
        self.fd = -1
        real_open, real_write, real_replace = os.open, os.write, os.replace

        def opener(path: object, flags: int, mode: int = 0o777, **kw: object) -> int:
            if ".tmp" in str(path) and flags & os.O_CREAT:
                self.saves += 1
                if step == "open" and self.now():
                    raise PermissionError(errno.EACCES, "Permission denied", str(path))
                self.fd = real_open(path, flags, mode, **kw)  # type: ignore[arg-type]
                return self.fd
            return real_open(path, flags, mode, **kw)  # type: ignore[arg-type]

        def writer(fd: int, data: bytes) -> int:
            if fd == self.fd and step == "write" and self.now():
                # Half of it first, as a full disk does.
                real_write(fd, bytes(data[: len(data) // 2]))
                raise OSError(errno.ENOSPC, "No space left on device")
            return real_write(fd, data)

        def replacer(src: object, dst: object) -> None:
            if step == "replace" and self.now():
                raise _Killed()
            real_replace(src, dst)  # type: ignore[arg-type]

        monkeypatch.setattr(datafile.os, "open", opener)
        monkeypatch.setattr(datafile.os, "write", writer)
        monkeypatch.setattr(datafile.os, "replace", replacer)

    def now(self) -> bool:
        return self.saves == self.at if self.once else self.saves >= self.at


@pytest.fixture
def two_tasks(tmp_path: Path) -> Path:
    path = tmp_path / "two.toml"
    path.write_text(TWO_TASKS)
    return path


def _run(suite: Path, out: Path) -> tuple[int, str, str, BaseException | None]:
    r = CliRunner().invoke(
        app, ["run", "--suite", str(suite), "--device", "cpu", "--out", str(out)]
    )
    return r.exit_code, r.stdout, r.stderr, r.exception


# Saves of a two-task run: 1 the header (claims the file), 2 after copy, 3 after matmul,
# 4 complete. The faults below strike save 3: copy is in the file, matmul only in memory.
@pytest.mark.parametrize(("step", "reason"), [("write", "No space left"), ("open", "Permission")])
def test_a_save_that_fails_once_stops_the_run_and_keeps_every_task(
    monkeypatch: pytest.MonkeyPatch, two_tasks: Path, tmp_path: Path, step: str, reason: str
) -> None:
    out = tmp_path / "run.json"
    Faults(monkeypatch, step, at=3, once=True)
    code, stdout, stderr, exc = _run(two_tasks, out)
    assert code == 1 and isinstance(exc, SystemExit)
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and reason in lines[0], stderr
    assert f"{out} keeps every finished task, marked interrupted" in lines[0]
    assert "copy" in stdout and "matmul" in stdout  # the results in memory are shown
    run = load_run(out)
    assert run.state is RunState.INTERRUPTED
    assert [r.workload for r in run.results] == ["copy", "matmul"]
    assert run.stopped is not None and reason in run.stopped
    assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name]


@pytest.mark.parametrize("step", ["write", "open"])
def test_a_save_that_keeps_failing_leaves_the_last_good_file(
    monkeypatch: pytest.MonkeyPatch, two_tasks: Path, tmp_path: Path, step: str
) -> None:
    out = tmp_path / "run.json"
    Faults(monkeypatch, step, at=3, once=False)
    code, stdout, stderr, _ = _run(two_tasks, out)
    assert code == 1
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and f"the last good save of {out} is kept" in lines[0], stderr
    assert "matmul" in stdout  # not in the file, but reported
    run = load_run(out)  # the previous file, whole
    assert run.state is RunState.RUNNING
    assert [r.workload for r in run.results] == ["copy"]
    assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name]


def test_a_kill_between_the_temporary_file_and_the_rename_keeps_the_previous_file(
    monkeypatch: pytest.MonkeyPatch, two_tasks: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run.json"
    Faults(monkeypatch, "replace", at=3, once=True)
    with pytest.raises(_Killed):
        _run(two_tasks, out)
    run = load_run(out)  # whole, as save 2 left it; "running" is what a dead run says
    assert run.state is RunState.RUNNING
    assert [r.workload for r in run.results] == ["copy"]


def test_report_files_are_whole_or_the_previous_ones(
    monkeypatch: pytest.MonkeyPatch, run_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "rep"
    args = ["report", str(run_file), "--out", str(out)]
    assert CliRunner().invoke(app, args).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    Faults(monkeypatch, "write", at=2, once=False)  # a file is written, then the next fails
    r = CliRunner().invoke(app, [*args, "--title", "again"])
    assert r.exit_code == 1 and r.stderr.count("\n") == 1
    failed = re.search(r"could not write (\S+): No space left on device", r.stderr)
    assert failed, r.stderr
    name = Path(failed.group(1)).name
    assert (out / name).read_bytes() == before[name]  # the previous file, whole
    assert not [p for p in out.iterdir() if ".tmp" in p.name]


# --- the writing helper ------------------------------------------------------------------------


def test_written_files_get_the_users_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        datafile.write_atomic(tmp_path / "a.json", "{}")
        datafile.write_atomic(tmp_path / "b.json", "{}", exclusive=True)
    finally:
        os.umask(old)
    for name in ("a.json", "b.json"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o644


def test_write_errors_are_one_line_naming_the_path(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"--json: .*/missing: no such directory"):
        datafile.write_atomic(tmp_path / "missing" / "x.json", "{}", "--json")
    (tmp_path / "d").mkdir()
    with pytest.raises(UserError, match=r"--csv: .*/d is a directory, not a file"):
        datafile.write_atomic(tmp_path / "d", "x", "--csv")
    (tmp_path / "x").write_text("old")
    with pytest.raises(UserError, match=r"--out: .*/x exists"):
        datafile.write_atomic(tmp_path / "x", "new", "--out", exclusive=True)
    assert (tmp_path / "x").read_text() == "old"


def test_the_default_result_path_does_not_blame_out(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from subsidybench.cli import run as run_cli

    monkeypatch.chdir(tmp_path)
    path = run_cli._result_path(None, "ci-cpu")
    assert path.parent.is_dir()  # the default folder is the tool's to make; --out's is not
    path.write_text("{}")
    with pytest.raises(UserError) as e:
        run_cli._result_path(None, "ci-cpu")
    assert "--out:" not in str(e.value) and "give --out" in str(e.value)


# --- reading -----------------------------------------------------------------------------------


@pytest.fixture
def odd_files(tmp_path: Path) -> Iterator[dict[str, Path]]:
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    (tmp_path / "latin1.json").write_bytes(b'{"name": "caf\xe9"}')
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (tmp_path / "deep-ok-syntax.json").write_text("[" * 100 + "]" * 100)
    (tmp_path / "dir.json").mkdir()
    (tmp_path / "nan.json").write_text('{"x": NaN}')
    yield {p.stem: p for p in tmp_path.iterdir()}


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("fifo", "not a regular file"),
        ("latin1", "not UTF-8 text"),
        ("deep", "nested too deeply"),
        ("deep-ok-syntax", "nested deeper than 64 levels"),
        ("dir", "is a directory"),
        ("nan", "NaN is not a number JSON allows"),
    ],
)
def test_odd_files_are_one_line_naming_the_file(
    odd_files: dict[str, Path], name: str, message: str
) -> None:
    with time_limit(CASE_TIMEOUT_S):  # a FIFO read by mistake blocks forever
        r = CliRunner().invoke(app, ["show", str(odd_files[name])])
    assert r.exit_code == 1
    assert r.stderr == f"error: {odd_files[name]}: {message}" + r.stderr.split(message, 1)[1]
    assert r.stderr.count("\n") == 1


def test_endless_and_huge_files_are_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Run apart under a memory limit: read by mistake, /dev/zero would fill this machine.
    code, _, err = invoke_bounded(["show", "/dev/zero"], tmp_path)
    assert code == 1 and "not a regular file" in err
    big = tmp_path / "big.json"
    big.write_text(" " * (2 << 20) + "{}")
    monkeypatch.setenv("SUBSIDYBENCH_MAX_FILE_MB", "1")
    r = CliRunner().invoke(app, ["show", str(big)])
    assert r.exit_code == 1
    assert "larger than the 1 MB limit" in r.stderr and "SUBSIDYBENCH_MAX_FILE_MB" in r.stderr
    monkeypatch.setenv("SUBSIDYBENCH_MAX_FILE_MB", "nan")
    r = CliRunner().invoke(app, ["show", str(big)])
    assert r.exit_code == 1 and "SUBSIDYBENCH_MAX_FILE_MB: expected a number" in r.stderr


def test_show_of_pytest_benchmark_output_says_ingest_first() -> None:
    data = ROOT / "tests" / "data" / "pytest-benchmark-ci.json"
    r = CliRunner().invoke(app, ["show", str(data)])
    assert r.exit_code == 1
    assert "this is pytest-benchmark output: run `subsidybench ingest" in r.stderr


# --- stored figures against raw samples --------------------------------------------------------


def _edit(path: Path, edit: object) -> Path:
    doc = json.loads(path.read_text())
    edit(doc)  # type: ignore[operator]
    path.write_text(json.dumps(doc))
    return path


def test_a_valid_verdict_the_samples_do_not_support_is_flagged_and_not_costed(
    run_file: Path,
) -> None:
    def widen(doc: dict) -> None:  # type: ignore[type-arg]
        gemm = doc["results"][0]
        assert gemm["id"] == "gemm-bf16" and gemm["verdict"]["valid"] is True
        gemm["measurement"]["samples_s"] = [0.01, 0.02, 0.03, 0.04, 0.05]
        del gemm["measurement"]["statistics"], gemm["throughput"]

    _edit(run_file, widen)
    gemm = load_run(run_file).results[0]
    assert gemm.verdict is not None and not gemm.verdict.valid
    assert "the file says valid, but its raw samples are not" in str(gemm.verdict)
    cost = ["cost", "--train", "1e9:1e10", "--run", str(run_file), "--workload", "gemm-bf16"]
    r = CliRunner().invoke(app, [*cost, "--price", "2", "--currency", "USD"])
    assert r.exit_code == 1 and "--force" in r.stderr


def test_stored_statistics_that_disagree_with_the_samples_are_flagged(run_file: Path) -> None:
    def faster(doc: dict) -> None:  # type: ignore[type-arg]
        doc["results"][0]["measurement"]["statistics"]["median_s"] = 0.001
        doc["results"][1]["throughput"]["flops_per_s"] = 1e18

    _edit(run_file, faster)
    gemm, lm = load_run(run_file).results[:2]
    assert gemm.verdict is not None and "statistics.median_s" in str(gemm.verdict)
    assert lm.verdict is not None and "throughput.flops_per_s" in str(lm.verdict)
    assert not gemm.verdict.valid and not lm.verdict.valid


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("peak_tflops", "bf16", "value"), -31.0, "peak_tflops.bf16.value"),
        (("peak_tflops", "bf16", "value"), 1e-300, "peak_tflops.bf16.value"),
        (("results", 0, "work", "flops"), 1e30, r"results\[0\].work.flops"),
        (("results", 0, "work", "flops"), -1.0, r"results\[0\].work.flops"),
        (("method_version",), 99, "method_version"),
    ],
)
def test_absurd_figures_in_a_result_are_refused_naming_the_field(
    run_file: Path, path: tuple[object, ...], value: float, field: str
) -> None:
    def put(doc: dict) -> None:  # type: ignore[type-arg]
        if path[0] == "peak_tflops":
            doc["peak_tflops"] = {"bf16": {"basis": "vendor", "value": 1.0, "source": "x"}}
        target = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    _edit(run_file, put)
    with pytest.raises(UserError, match=field):
        load_run(run_file)


# --- flags -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["compare", "{run}", "{run}", "--fail-on-regression", "nan"],
        ["compare", "{run}", "{run}", "--alpha", "0"],
        ["run", "--device", "cpu", "--threads", "100000"],
        ["run", "--device", "cpu", "--budget", "inf"],
        ["report", "{run}", "--fx", "nan"],
        ["report", "{run}", "--price", "1e308", "--currency", "USD"],
    ],
)
def test_meaningless_numbers_are_refused(run_file: Path, args: list[str]) -> None:
    r = CliRunner().invoke(app, [a.replace("{run}", str(run_file)) for a in args])
    assert r.exit_code in (1, 2), r.stdout
    assert r.stderr.count("\n") == 1 and "out of range" in r.stderr


def test_a_subsidy_on_runs_without_a_price_is_refused(run_file: Path, tmp_path: Path) -> None:
    r = CliRunner().invoke(
        app, ["report", str(run_file), "--out", str(tmp_path / "r"), "--subsidy", "hangzhou-2024"]
    )
    assert r.exit_code == 1
    assert r.stderr.startswith("error: --subsidy hangzhou-2024: no price for run")
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("bf16 = { value = 989.4,", "bf16 = { value = 1e300,", r"peak_tflops\.bf16\.value"),
        ("amount = 2.90\n", "amount = 1e308\n", r"prices\[0\]\.amount"),
        ("bf16 = { value = 989.4,", "bf16 = { value = nan,", r"peak_tflops\.bf16\.value"),
    ],
)
def test_profiles_validate_refuses_absurd_figures(
    tmp_path: Path, old: str, new: str, field: str
) -> None:
    text = (ROOT / "profiles" / "devices" / "h100-sxm.toml").read_text()
    assert old in text
    path = tmp_path / "devices" / "h100-sxm.toml"
    path.parent.mkdir()
    path.write_text(text.replace(old, new, 1))
    r = CliRunner().invoke(app, ["profiles", "validate", str(path)])
    assert r.exit_code == 1 and r.stderr.count("\n") == 1
    assert re.search(f"h100-sxm.toml: {field}: ", r.stderr), r.stderr
