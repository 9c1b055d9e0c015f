"""pytest-benchmark JSON (as bench/ writes it) read back as a run result."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from subsidybench.cli import app
from subsidybench.errors import UserError
from subsidybench.results.ingest import from_pytest_benchmark, load_pytest_benchmark
from subsidybench.results.record import RunResult, Status, load_run, save_run

DATA = Path(__file__).parent / "data" / "pytest-benchmark-ci.json"
MATMUL = "matmul[n=1024,m=1024,k=1024]/fp32"


def _doc() -> dict[str, Any]:
    return json.loads(DATA.read_text())


def test_fixture_becomes_a_valid_run() -> None:
    run = load_pytest_benchmark(DATA)
    doc = _doc()
    assert (run.suite, run.suite_version, run.device.type) == ("ci", 2, "cpu")
    assert run.environment.plugins["pytest-benchmark"] == doc["version"]
    assert [r.id for r in run.results] == [MATMUL, "copy[mib=128]/fp32", run.results[2].id]
    matmul = run.results[0]
    stats = doc["benchmarks"][0]["stats"]
    m = matmul.measurement
    assert m is not None and matmul.status is Status.OK
    # The raw rounds are the samples; statistics follow from them, as pytest-benchmark's do.
    assert m.samples_s == tuple(stats["data"])
    assert m.iterations_per_block == stats["iterations"]
    assert m.median == pytest.approx(stats["median"])
    assert matmul.flops_per_s == pytest.approx(2 * 1024**3 / stats["median"])
    assert matmul.verdict is not None and matmul.verdict.valid
    assert matmul.reason == ""  # nothing to footnote: the run's environment names the tool
    decode = run.results[2]
    assert decode.metrics["token_latency_p50_s"] > 0


def test_round_trip_through_a_result_file(tmp_path: Path) -> None:
    run = load_pytest_benchmark(DATA)
    path = tmp_path / "ci.run.json"
    save_run(run, path)
    again = load_run(path)
    assert again == run
    assert RunResult.from_dict(json.loads(path.read_text()), "x") == run


def test_statistics_only_is_kept_but_not_measured() -> None:
    doc = _doc()
    for b in doc["benchmarks"]:
        del b["stats"]["data"]
    run = from_pytest_benchmark(doc, "saved.json")
    r = run.results[0]
    assert r.status is Status.SKIPPED and r.measurement is None
    assert "--benchmark-save-data" in r.reason
    assert r.metrics["pytest_benchmark.median"] == doc["benchmarks"][0]["stats"]["median"]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda d: d["machine_info"].pop("subsidybench"),
            r"f\.json: machine_info\.subsidybench: missing: this file was not written",
        ),
        (
            lambda d: d["benchmarks"][1]["extra_info"].clear(),
            r"f\.json: benchmarks\[1\]\.extra_info: no subsidybench workload",
        ),
        (
            lambda d: d["benchmarks"][0]["extra_info"].update(flops="many"),
            r"f\.json: benchmarks\[0\]\.extra_info\.flops: expected a number",
        ),
        (
            lambda d: d["benchmarks"][0]["stats"]["data"].pop(),
            r"benchmarks\[0\]\.stats\.data: has \d+ values for \d+ rounds",
        ),
        (
            lambda d: d["benchmarks"][0]["stats"]["data"].append(-1.0),
            r"f\.json: benchmarks\[0\]\.stats\.data\[\d+\]: -1.0 is out of range",
        ),
        (
            lambda d: d["benchmarks"].append(copy.deepcopy(d["benchmarks"][0])),
            r"f\.json: benchmarks: workload matmul\S+ appears twice",
        ),
    ],
)
def test_bad_files_name_the_field(edit: Any, message: str) -> None:
    doc = _doc()
    edit(doc)
    with pytest.raises(UserError, match=message):
        from_pytest_benchmark(doc, "f.json")


def test_cli_ingest_writes_and_refuses_to_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "ci.run.json"
    runner = CliRunner()
    result = runner.invoke(app, ["ingest", str(DATA), "--out", str(out)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.stdout and "matmul" in result.stdout
    assert f"measured by pytest-benchmark {_doc()['version']}" in result.stdout
    assert load_run(out).results[0].id == MATMUL
    again = runner.invoke(app, ["ingest", str(DATA), "--out", str(out)])
    assert again.exit_code == 1 and "exists" in again.stderr
    assert runner.invoke(app, ["ingest", str(DATA), "--out", str(out), "--force"]).exit_code == 0


def test_bench_output_ingests(tmp_path: Path) -> None:
    """bench/ and ingest agree on the format: one real benchmark, written and read back."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(root / "bench"),
            "-q",
            "-p",
            "no:cacheprovider",
            "-k",
            "(matmul and fp32) or reference",
            "--ci-budget",
            "0.3",
            f"--benchmark-json={out}",
        ],
        cwd=root,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    run = load_pytest_benchmark(out)
    (result,) = run.results
    assert result.id == MATMUL and result.status is Status.OK
    assert result.measurement is not None and result.measurement.n >= 5
    assert (run.suite, run.device.type) == ("ci", "cpu")
    # The reference step, a benchmark of its own first in every round, is the run's reference.
    assert run.reference is not None and run.reference.measurement is not None
    assert run.reference.measurement.round_count == run.rounds == 3


def _reference_benchmark(round_: int, scale: float = 1.0) -> dict[str, Any]:
    return {
        "name": f"test_ci_workload[reference-round{round_ + 1}]",
        "fullname": "bench/test_ci_suite.py::test_ci_workload[reference-round1]",
        "extra_info": {
            "reference": "fp32 matmul 512x512x512",
            "round": round_,
            "warmup_iterations": 10,
            "warmup_s": 0.05,
            "synchronized": True,
        },
        "stats": {"rounds": 3, "iterations": 20, "data": [0.002 * scale, 0.0021, 0.0019]},
    }


def test_reference_benchmarks_become_the_runs_reference() -> None:
    doc = _doc()
    doc["machine_info"]["subsidybench"]["schema_version"] = 2
    doc["machine_info"]["subsidybench"]["rounds"] = 2
    doc["benchmarks"] = [_reference_benchmark(1, 1.1), *doc["benchmarks"], _reference_benchmark(0)]
    run = from_pytest_benchmark(doc, "ref.json")
    assert [r.id for r in run.results] == [r.id for r in load_pytest_benchmark(DATA).results]
    assert run.reference is not None and run.reference.step == "fp32 matmul 512x512x512"
    m = run.reference.measurement
    assert m is not None and m.rounds == (0, 0, 0, 1, 1, 1)
    assert m.samples_s[3] == pytest.approx(0.0022)
    doc["benchmarks"].append(_reference_benchmark(1))
    with pytest.raises(UserError, match=r"extra_info\.round: the reference step twice in round 1"):
        from_pytest_benchmark(doc, "ref.json")
    doc["benchmarks"].pop()
    doc["benchmarks"][0]["extra_info"]["flops"] = 1.0
    with pytest.raises(UserError, match=r"benchmarks\[0\]\.extra_info\.flops: unknown field"):
        from_pytest_benchmark(doc, "ref.json")
    # A file whose first reference is round 2 (round 1 deselected) keeps its round.
    doc = _doc()
    doc["benchmarks"].append(_reference_benchmark(1))
    ref = from_pytest_benchmark(doc, "ref.json").reference
    assert ref is not None and ref.measurement is not None and ref.measurement.rounds == (1, 1, 1)


def test_a_busy_machine_makes_the_rounds_invalid() -> None:
    doc = _doc()
    doc["benchmarks"][0]["extra_info"]["foreign_cpu"] = 0.4
    doc["benchmarks"][1]["extra_info"]["foreign_cpu"] = 0.01
    run = from_pytest_benchmark(doc, "busy.json")
    busy, quiet = run.results[0], run.results[1]
    assert busy.foreign_cpu == 0.4 and busy.verdict is not None and not busy.verdict.valid
    assert any("machine busy" in r for r in busy.verdict.reasons)
    assert quiet.verdict is not None and quiet.verdict.valid


def test_a_run_result_is_not_ingested_again(run_file: Path) -> None:
    with pytest.raises(UserError, match="already a subsidybench run result"):
        load_pytest_benchmark(run_file)


def test_rounds_of_one_workload_join_into_one_result() -> None:
    doc = _doc()
    doc["machine_info"]["subsidybench"]["schema_version"] = 2
    doc["machine_info"]["subsidybench"]["rounds"] = 2
    first = doc["benchmarks"][0]
    later = copy.deepcopy(first)
    later["extra_info"]["round"] = 1
    later["stats"]["data"] = [x * 1.01 for x in first["stats"]["data"]]
    doc["benchmarks"].append(later)
    run = from_pytest_benchmark(doc, "rounds.json")
    assert run.rounds == 2 and run.results[0].id == MATMUL
    m = run.results[0].measurement
    assert m is not None and m.round_count == 2
    assert m.n == 2 * len(first["stats"]["data"])
    doc["benchmarks"].append(copy.deepcopy(later))
    with pytest.raises(UserError, match="appears twice in round 1"):
        from_pytest_benchmark(doc, "rounds.json")
    later["stats"]["iterations"] += 1
    doc["benchmarks"].pop()
    with pytest.raises(UserError, match="blocks of the same length"):
        from_pytest_benchmark(doc, "rounds.json")
