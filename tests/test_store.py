"""The results store: identity, refusal of bad files, concurrent writers, query, and PostgreSQL."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from history_runs import synthetic_runs
from typer.testing import CliRunner

from subsidybench.cli import app
from subsidybench.errors import UserError
from subsidybench.results.record import load_run, save_run
from subsidybench.results.store import STORE_VERSION, Store, add_files
from subsidybench.results.store_keys import Machine, run_identity, store_url
from subsidybench.timing import Verdict

runner = CliRunner()
WORKER = Path(__file__).with_name("store_worker.py")


def _write_runs(folder: Path, n: int, seed: int = 0, **kwargs: object) -> list[Path]:
    paths = []
    for k, (_, run) in enumerate(synthetic_runs(n, seed=seed, **kwargs)):
        path = folder / f"run-{seed}-{k:03d}.json"
        save_run(run, path)
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def run_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return _write_runs(tmp_path_factory.mktemp("runs"), 10)


def test_adding_a_run_twice_stores_it_once(tmp_path: Path, run_files: list[Path]) -> None:
    db = tmp_path / "h.sqlite"
    first = runner.invoke(app, ["store", "add", "--store", str(db), *map(str, run_files[:3])])
    assert first.exit_code == 0, first.output
    assert "3 added, 0 already there" in first.output
    again = runner.invoke(app, ["store", "add", "--store", str(db), *map(str, run_files[:4])])
    assert again.exit_code == 0, again.output
    assert again.output.count("already stored as run") == 3
    assert "1 added, 3 already there" in again.output
    with Store.open(db) as store:
        assert store.count_runs() == 4
        frame = store.history()
        assert len(frame) == 4 * 23
        # Raw samples are kept and come back as stored.
        back = store.run(1)
    assert back.results[0].measurement == load_run(run_files[0]).results[0].measurement


def test_identity_ignores_what_a_later_version_recomputes(run_files: list[Path]) -> None:
    run = load_run(run_files[0])
    r0 = run.results[0]
    verdict = Verdict(False, ("judged again by a later version",))
    rejudged = replace(run, results=(replace(r0, verdict=verdict), *run.results[1:]))
    assert run_identity(rejudged) == run_identity(run)
    retimed = replace(run, started="2030-01-01T00:00:00+00:00")
    assert run_identity(retimed) != run_identity(run)


def test_machine_fingerprint_is_hardware_only(run_files: list[Path]) -> None:
    env = load_run(run_files[0]).environment
    fp = Machine.of(env).fingerprint
    assert Machine.of(replace(env, torch_version="2.99", python="3.14")).fingerprint == fp
    assert Machine.of(replace(env, cpu_count=4)).fingerprint != fp
    assert Machine.of(replace(env, driver="550.54")).fingerprint != fp


def test_a_file_that_fails_validation_is_refused_whole(
    tmp_path: Path, run_files: list[Path]
) -> None:
    doc = json.loads(run_files[1].read_text())
    doc["results"][5]["measurement"]["samples_s"][3] = -1.0  # one bad sample, deep inside
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    db = tmp_path / "h.sqlite"
    result = runner.invoke(app, ["store", "add", "--store", str(db), str(run_files[0]), str(bad)])
    assert result.exit_code == 1
    assert "bad.json" in result.output and "samples" in result.output
    with Store.open(db) as store:
        assert store.count_runs() == 0  # not even the good file before it


def test_a_newer_store_layout_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite"
    Store.open(db).close()
    import sqlite3

    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE meta SET value = ? WHERE key = 'store_version'", (STORE_VERSION + 1,))
    with pytest.raises(UserError, match="newer than this subsidybench reads"):
        Store.open(db)


def test_store_location(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert store_url(None) == f"sqlite:///{tmp_path / 'data' / 'subsidybench' / 'history.sqlite'}"
    assert store_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    with pytest.raises(UserError, match="is a directory"):
        store_url(tmp_path)
    with pytest.raises(UserError, match="cannot open"):
        Store("nosuchdb://x")


def test_commit_and_time_flags_are_kept(tmp_path: Path, run_files: list[Path]) -> None:
    db = tmp_path / "h.sqlite"
    args = ["store", "add", "--store", str(db), "--commit", "abc1234", str(run_files[0])]
    result = runner.invoke(app, [*args, "--time", "2027-01-02T03:04:05+01:00"])
    assert result.exit_code == 0, result.output
    with Store.open(db) as store:
        row = store.history().iloc[0]
    assert row["commit"] == "abc1234"
    assert row["time"] == pd.Timestamp("2027-01-02 02:04:05")  # kept as UTC
    bad = runner.invoke(app, [*args, "--time", "yesterday"])
    assert bad.exit_code == 1 and "ISO 8601" in bad.output


def test_ingest_adds_to_a_store(tmp_path: Path) -> None:
    data = Path(__file__).with_name("data") / "pytest-benchmark-ci.json"
    db = tmp_path / "h.sqlite"
    out = tmp_path / "ci.run.json"
    args = ["ingest", str(data), "--out", str(out), "--store", str(db), "--commit", "c0ffee"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "1 added" in result.output
    with Store.open(db) as store:
        assert store.count_runs() == 1
        assert set(store.history()["commit"]) == {"c0ffee"}
    alone = runner.invoke(
        app, ["ingest", str(data), "--out", str(tmp_path / "x.json"), "--commit", "c"]
    )
    assert alone.exit_code == 1 and "go with --store" in alone.output


def test_query_one_workload_to_csv(tmp_path: Path, run_files: list[Path]) -> None:
    db = tmp_path / "h.sqlite"
    with Store.open(db) as store:
        add_files(store, run_files)
        # The same workloads on a second machine: query must be told which.
        (_, other), *_ = synthetic_runs(1, seed=9, environment_changes={"cpu_count": 8})
        store.add(other, source="other")
    wl = "copy[mib=128]/fp32"
    ambiguous = runner.invoke(app, ["store", "query", "--store", str(db), "--workload", wl])
    assert ambiguous.exit_code == 1 and "2 machines" in ambiguous.output
    fp = Machine.of(load_run(run_files[0]).environment).fingerprint
    csv = tmp_path / "copy.csv"
    args = ["store", "query", "--store", str(db), "--workload", wl, "--machine", fp[:6]]
    result = runner.invoke(app, [*args, "--csv", str(csv)])
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(csv)
    assert len(frame) == 10
    assert list(frame["run"]) == sorted(frame["run"])
    assert set(frame["workload"]) == {wl} and set(frame["machine"]) == {fp}
    expected = [load_run(p).results[3].measurement.median for p in run_files]
    assert frame["median_s"].tolist() == pytest.approx(expected)
    typo = runner.invoke(
        app, ["store", "query", "--store", str(db), "--workload", "copy[mib=1]/fp32"]
    )
    assert typo.exit_code == 1 and "copy[mib=128]/fp32" in typo.output
    machines = runner.invoke(app, ["store", "machines", "--store", str(db)])
    assert machines.exit_code == 0 and fp in machines.output


def _concurrent_add(url: str, folder: Path) -> None:
    """Four processes, each with 3 runs of its own and the same 2 shared runs, start at once."""
    shared = _write_runs(folder, 2, seed=100)
    own = [_write_runs(folder, 3, seed=w) for w in range(4)]
    barrier = folder / "barrier"
    barrier.mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    procs = [
        subprocess.Popen(
            [sys.executable, str(WORKER), url, str(barrier), "4", *map(str, own[w] + shared)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for w in range(4)
    ]
    lines = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        lines += [json.loads(line) for line in out.splitlines()]
    assert len(lines) == 4 * 5
    # Each shared run was new for exactly one writer and already there for the others.
    for path in shared:
        mine = [x for x in lines if x["file"] == str(path)]
        assert sum(x["new"] for x in mine) == 1 and len({x["run"] for x in mine}) == 1
    with Store(url) as store:
        assert store.count_runs() == 4 * 3 + 2
        frame = store.history()
        stored = [run_identity(store.run(i)) for i in frame["run"].unique()]
    assert len(frame) == (4 * 3 + 2) * 23
    assert not frame.duplicated(["run", "workload"]).any()
    every = {run_identity(load_run(p)) for p in [*shared, *(p for paths in own for p in paths)]}
    assert len(stored) == len(set(stored)) == len(every) == 14 and set(stored) == every


def test_four_processes_add_to_sqlite_at_once(tmp_path: Path) -> None:
    _concurrent_add(store_url(tmp_path / "h.sqlite"), tmp_path)


def _postgres_bin() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return versions[-1].parent if versions else None


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL server on a Unix socket in a temporary directory, or a skip."""
    pytest.importorskip("psycopg", reason="psycopg is not installed (the postgresql extra)")
    bindir = _postgres_bin()
    if bindir is None:
        pytest.skip("no PostgreSQL server here (Debian: apt-get install postgresql)")
    root = Path(tempfile.mkdtemp(prefix="subsidybench-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:  # the server refuses to run as root
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser: cannot start PostgreSQL as another user")
        shutil.chown(root, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data = root / "data"
    try:
        subprocess.run(
            [*as_user, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
             "--no-sync", "-E", "UTF8"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        subprocess.run(
            [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w",
             "-t", "30", "-o", f"-k {root} -c listen_addresses='' -p 54329", "start"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
    except (subprocess.SubprocessError, OSError) as e:
        detail = getattr(e, "stderr", b"") or b""
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"could not start PostgreSQL: {e} {detail.decode(errors='replace')[-300:]}")
    try:
        yield f"postgresql+psycopg://postgres@/postgres?host={root}&port=54329"
    finally:
        subprocess.run(
            [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True, timeout=60,
        )  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


def test_four_processes_add_to_postgresql_at_once(postgres_url: str, tmp_path: Path) -> None:
    _concurrent_add(postgres_url, tmp_path)
    with Store(postgres_url) as store:
        again = add_files(store, [sorted(tmp_path.glob("run-100-*.json"))[0]])
    assert not again[0].new
