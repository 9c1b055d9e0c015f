from __future__ import annotations

import json
from pathlib import Path

import pytest
from factories import environment

from subsidybench.dtypes import DType
from subsidybench.errors import UserError
from subsidybench.results.context import DeviceRecord
from subsidybench.results.frame import to_dataframe
from subsidybench.results.record import (
    SCHEMA_VERSION,
    RunResult,
    RunState,
    Status,
    WorkloadResult,
    load_run,
    save_run,
)
from subsidybench.timing import Measurement, TimingPolicy, Verdict
from subsidybench.work import Work

ENV = environment(python="3.11.7", os="Linux", cpu_model="Test CPU", device_names=("Test CPU",))


def ok_result() -> WorkloadResult:
    return WorkloadResult(
        id="matmul[n=4]/fp32",
        workload="matmul",
        family="primitive",
        params={"n": 4},
        dtype=DType.FP32,
        status=Status.OK,
        work=Work(flops=128.0, bytes=192.0, items=1.0, item_unit="matmul"),
        measurement=Measurement((2e-6, 1e-6, 3e-6), 1000, 5, 0.2, True),
        verdict=Verdict(False, ("spread too wide",)),
        policy=TimingPolicy(budget_s=0.5),
        metrics={"loss_first": 2.0},
    )


def sample_run() -> RunResult:
    skipped = WorkloadResult(
        id="matmul[n=4]/bf16",
        workload="matmul",
        family="primitive",
        params={"n": 4},
        dtype=DType.BF16,
        status=Status.SKIPPED,
        reason="emulated",
    )
    return RunResult(
        suite="ci",
        suite_version=1,
        device=DeviceRecord("cpu", None, "Test CPU"),
        environment=ENV,
        started="2026-01-01T00:00:00+00:00",
        state=RunState.COMPLETE,
        results=(ok_result(), skipped),
    )


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    run = sample_run()
    save_run(run, path)
    assert load_run(path) == run
    doc = json.loads(path.read_text())
    assert doc["schema_version"] == SCHEMA_VERSION
    assert doc["method_version"] >= 1
    stats = doc["results"][0]["measurement"]["statistics"]
    assert stats["median_s"] == 2e-6 and stats["n"] == 3
    assert doc["results"][0]["throughput"]["flops_per_s"] == pytest.approx(128 / 2e-6)


def test_save_is_atomic_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    save_run(sample_run(), path)
    save_run(sample_run(), path)
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]


def test_rates_come_from_the_median() -> None:
    r = ok_result()
    assert r.seconds_per_step == 2e-6
    assert r.flops_per_s == pytest.approx(64e6)
    assert r.items_per_s == pytest.approx(5e5)


def test_ok_result_must_be_complete_and_skip_must_say_why() -> None:
    with pytest.raises(ValueError, match="needs work"):
        WorkloadResult("x", "x", "primitive", {}, DType.FP32, Status.OK)
    with pytest.raises(ValueError, match="must say why"):
        WorkloadResult("x", "x", "primitive", {}, DType.FP32, Status.FAILED)


def write(tmp_path: Path, doc: object) -> Path:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    return path


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    doc = sample_run().to_dict()
    doc["schema_version"] = SCHEMA_VERSION + 1
    with pytest.raises(UserError, match=r"schema_version: .* newer than this subsidybench reads"):
        load_run(write(tmp_path, doc))


def test_bad_field_names_file_and_field(tmp_path: Path) -> None:
    doc = sample_run().to_dict()
    doc["results"][0]["measurement"]["samples_s"][1] = "fast"
    with pytest.raises(UserError, match=r"bad.json: results\[0\].measurement.samples_s\[1\]"):
        load_run(write(tmp_path, doc))
    doc = sample_run().to_dict()
    doc["results"][1]["dtype"] = "fp64"
    with pytest.raises(UserError, match=r"results\[1\].dtype: 'fp64' is not one of"):
        load_run(write(tmp_path, doc))
    doc = sample_run().to_dict()
    del doc["environment"]["torch_version"]
    with pytest.raises(UserError, match=r"environment.torch_version: required field is missing"):
        load_run(write(tmp_path, doc))


def test_inconsistent_record_is_a_user_error(tmp_path: Path) -> None:
    doc = sample_run().to_dict()
    doc["results"][0]["measurement"]["samples_s"] = [1.0, -1.0]
    where = r"results\[0\].measurement.samples_s\[1\]"
    with pytest.raises(UserError, match=where + r": -1.0 is out of range"):
        load_run(write(tmp_path, doc))


def test_not_json_is_a_user_error(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text("{not json")
    with pytest.raises(UserError, match=r"x\.json: not valid JSON"):
        load_run(path)
    with pytest.raises(UserError, match="no such file"):
        load_run(tmp_path / "missing.json")


def test_dataframe_has_one_row_per_result() -> None:
    df = to_dataframe(sample_run())
    assert list(df["dtype"]) == ["fp32", "bf16"]
    assert list(df["status"]) == ["ok", "skipped"]
    ok = df.iloc[0]
    assert ok["median_s"] == 2e-6 and ok["n"] == 3 and not ok["valid"]
    assert ok["flops_per_s"] == pytest.approx(64e6)
    assert ok["metric.loss_first"] == 2.0
