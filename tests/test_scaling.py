"""Bus bandwidth and scaling efficiency by hand, the distributed record in result files, and the
cost model taking a measured efficiency. No processes are started here (see test_distributed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from factories import environment
from typer.testing import CliRunner

from subsidybench.cli import app
from subsidybench.cost.jobs import Cluster
from subsidybench.dtypes import DType
from subsidybench.errors import UserError
from subsidybench.provenance import Basis
from subsidybench.results.context import DeviceRecord, Distributed, Environment
from subsidybench.results.record import (
    RunResult,
    RunState,
    Status,
    WorkloadResult,
    load_run,
    save_run,
)
from subsidybench.results.scaling import (
    Collective,
    bus_bandwidth,
    bus_factor,
    collective_points,
    efficiency_for,
    scaling_efficiency,
    scaling_series,
)
from subsidybench.timing import Measurement, TimingPolicy, Verdict, measure
from subsidybench.work import Work

GIB = 1 << 30


@pytest.mark.parametrize(
    ("op", "ranks", "factor"),
    [
        # nccl-tests doc/PERFORMANCE.md: 2(n-1)/n, (n-1)/n, (n-1)/n, 1.
        (Collective.ALL_REDUCE, 2, 1.0),
        (Collective.ALL_REDUCE, 4, 1.5),
        (Collective.ALL_REDUCE, 8, 1.75),
        (Collective.ALL_REDUCE, 1, 0.0),
        (Collective.ALL_GATHER, 4, 0.75),
        (Collective.ALL_GATHER, 8, 0.875),
        (Collective.REDUCE_SCATTER, 2, 0.5),
        (Collective.REDUCE_SCATTER, 8, 0.875),
        (Collective.BROADCAST, 2, 1.0),
        (Collective.BROADCAST, 8, 1.0),
    ],
)
def test_bus_factor_is_nccl_tests(op: Collective, ranks: int, factor: float) -> None:
    assert bus_factor(op, ranks) == pytest.approx(factor)


def test_bus_bandwidth_by_hand() -> None:
    # 1 GiB all-reduced by 8 ranks in 10 ms: algbw 107.4 GB/s, busbw x 14/8 = 187.9 GB/s.
    assert bus_bandwidth(Collective.ALL_REDUCE, GIB, 0.01, 8) == pytest.approx(187.904819e9)
    # 1 GiB gathered (each of 4 ranks gives 256 MiB) in 20 ms: algbw 53.7, busbw x 3/4 = 40.3.
    assert bus_bandwidth(Collective.ALL_GATHER, GIB, 0.02, 4) == pytest.approx(40.2653184e9)
    with pytest.raises(ValueError):
        bus_factor(Collective.ALL_REDUCE, 0)


def test_scaling_efficiency_by_hand() -> None:
    # One device 1,000 tokens/s; four devices 3,600 tokens/s together: 3,600 / 4,000 = 90%.
    assert scaling_efficiency(3600, 1000, 4) == pytest.approx(0.9)
    assert scaling_efficiency(1000, 1000, 1) == 1.0
    with pytest.raises(ValueError):
        scaling_efficiency(0, 1000, 2)


def test_agreed_durations_drive_every_decision_and_sample() -> None:
    # Each step takes 1 ms on this rank's clock; the partner rank is twice as slow. Every sample
    # is the partner's time, and the budget is spent on the agreed (slower) times.
    now = [0.0]
    seen: list[float] = []

    def step() -> None:
        now[0] += 1e-3

    def agree(seconds: float) -> float:
        seen.append(seconds)
        return 2 * seconds

    policy = TimingPolicy(budget_s=0.05, min_block_s=0.004, warmup_s=0.0)
    m = measure(step, lambda: None, policy, clock=lambda: now[0], agree=agree)
    assert m.first_call_s == pytest.approx(2e-3)
    assert m.samples_s == pytest.approx((2e-3,) * m.n)
    # Calibration stops at the first block of >= 4 ms agreed: 2 steps, 2 ms local.
    assert m.iterations_per_block == 2
    assert m.n == 13  # 13 blocks of 4 ms pass the 50 ms budget; 25 would, on local times
    assert len(seen) > m.n


def _env() -> Environment:
    return environment(torch_threads=1)


def _measured(
    rid: str, workload: str, family: str, params: dict, work: Work, seconds: float, valid: bool
) -> WorkloadResult:
    verdict = Verdict(True) if valid else Verdict(False, ("spread too wide",))
    return WorkloadResult(
        id=rid,
        workload=workload,
        family=family,
        params=params,
        dtype=DType.FP32,
        status=Status.OK,
        work=work,
        measurement=Measurement((seconds,) * 5, 1, 3, 0.2, True),
        verdict=verdict,
        policy=TimingPolicy(),
    )


def _train(ws: int, seconds: float, valid: bool = True) -> WorkloadResult:
    # 1,000 tokens a step per rank.
    work = Work(flops=6e9, bytes=1e6, items=1000.0, item_unit="token")
    params = {"batch": 4, "world_size": ws}
    return _measured(
        f"gpt_train[batch=4,world_size={ws}]/fp32", "gpt_train", "training", params, work,
        seconds, valid,
    )  # fmt: skip


def distributed_run(*results: WorkloadResult) -> RunResult:
    return RunResult(
        suite="ci",
        suite_version=2,
        device=DeviceRecord("cpu", None, "test cpu"),
        environment=_env(),
        started="2025-09-01T00:00:00+00:00",
        state=RunState.COMPLETE,
        results=results,
        distributed=Distributed(
            world_size=4,
            backend="gloo",
            backend_version=None,
            node_count=2,
            ranks_per_node=(2, 2),
            timeout_s=300.0,
        ),
    )


# 10,000 tokens/s on one rank; 8,000 per rank on two (80%); 5,000 per rank on four (50%).
SCALED = (_train(1, 0.1), _train(2, 0.125), _train(4, 0.2))


def test_scaling_series_efficiency_by_hand() -> None:
    [series] = scaling_series(distributed_run(*SCALED))
    assert series.key == "gpt_train[batch=4]/fp32"
    assert [p.world_size for p in series.points] == [1, 2, 4]
    assert [p.per_device for p in series.points] == pytest.approx([10_000, 8_000, 5_000])
    assert [p.total for p in series.points] == pytest.approx([10_000, 16_000, 20_000])
    assert [p.efficiency for p in series.points] == pytest.approx([1.0, 0.8, 0.5])


def test_collective_points_carry_both_bandwidths() -> None:
    work = Work(flops=0.0, bytes=float(GIB), items=1.0, item_unit="op")
    r = _measured(
        f"all_reduce[bytes={GIB},world_size=4]/fp32", "all_reduce", "collective",
        {"bytes": GIB, "world_size": 4}, work, 0.05, True,
    )  # fmt: skip
    [p] = collective_points(distributed_run(r))
    assert p.algbw == pytest.approx(GIB / 0.05)
    assert p.busbw == pytest.approx(GIB / 0.05 * 1.5)


def test_measured_efficiency_at_the_job_size() -> None:
    m = efficiency_for(distributed_run(*SCALED), "run.json", 2)
    assert m.value == pytest.approx(0.8) and m.exact and m.basis is Basis.MEASURED
    assert m.source.startswith("measured: run run.json, world size 2")


def test_nearest_measured_size_is_labelled() -> None:
    run = distributed_run(*SCALED)
    tie = efficiency_for(run, "run.json", 3)  # 2 and 4 are as near: take the larger
    assert tie.world_size == 4 and tie.value == pytest.approx(0.5)
    assert tie.basis is Basis.ESTIMATE and "not measured at 3" in tie.source
    beyond = efficiency_for(run, "run.json", 64)
    assert beyond.world_size == 4 and "largest measured" in beyond.source


def test_one_rank_alone_says_nothing_about_a_cluster() -> None:
    with pytest.raises(UserError, match="no scaling measured beyond one rank"):
        efficiency_for(distributed_run(_train(1, 0.1)), "run.json", 8)


def test_invalid_verdict_is_refused_unless_forced() -> None:
    run = distributed_run(_train(1, 0.1), _train(2, 0.125, valid=False))
    with pytest.raises(UserError, match="--force"):
        efficiency_for(run, "run.json", 2)
    assert "FORCED" in efficiency_for(run, "run.json", 2, force=True).source


def test_no_scaling_results_is_an_error() -> None:
    with pytest.raises(UserError, match="no data-parallel scaling"):
        efficiency_for(distributed_run(), "run.json", 2)


def test_distributed_record_round_trips(tmp_path: Path) -> None:
    run = distributed_run(*SCALED)
    path = tmp_path / "run.json"
    save_run(run, path)
    assert load_run(path) == run
    doc = json.loads(path.read_text())
    assert doc["distributed"]["ranks_per_node"] == [2, 2]
    # Host names are not kept in any form.
    assert "host" not in json.dumps(doc["distributed"])


def test_single_process_file_has_no_distributed_record(tmp_path: Path, run_file: Path) -> None:
    doc = json.loads(run_file.read_text())
    assert "distributed" not in doc
    assert load_run(run_file).distributed is None


def test_bad_distributed_record_names_the_field(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    save_run(distributed_run(*SCALED), path)
    doc = json.loads(path.read_text())
    doc["distributed"]["ranks_per_node"] = [2, 1]
    path.write_text(json.dumps(doc))
    with pytest.raises(UserError, match=r"run.json: distributed: .*sum to world_size 4"):
        load_run(path)


def test_cluster_says_where_its_efficiency_comes_from() -> None:
    given = Cluster(8, 0.9).assumptions()[-1]
    assert given.source == "an assumption, not measured" and given.value.startswith("90%")
    measured = Cluster(2, 0.835, Basis.MEASURED, "measured: run r.json, world size 2")
    row = measured.assumptions()[-1]
    assert row.basis is Basis.MEASURED and row.value.startswith("83.5%")


runner = CliRunner()
COST = ["cost", "--train", "7e9:2e12", "--tokens-per-s", "1000", "--price", "2", "--currency"]


@pytest.fixture
def scaled_file(tmp_path: Path) -> Path:
    path = tmp_path / "scaled.json"
    save_run(distributed_run(*SCALED), path)
    return path


def test_cost_takes_the_measured_efficiency(scaled_file: Path) -> None:
    args = [*COST, "USD", "--devices", "2", "--scaling-from", str(scaled_file)]
    result = runner.invoke(app, args, env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.stderr
    assert f"measured: run {scaled_file}, world size 2" in result.stdout
    assert "80.0% of 2 x one device" in result.stdout
    # 2e12 tokens at 1,000 tokens/s x 80%: 694,444 device-hours.
    assert "694,444" in result.stdout


def test_cost_labels_the_nearest_size(scaled_file: Path) -> None:
    args = [*COST, "USD", "--devices", "16", "--scaling-from", str(scaled_file)]
    result = runner.invoke(app, args, env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.stderr
    assert "world size 4" in result.stdout and "not measured at 16" in result.stdout
    assert "estimate" in result.stdout


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--devices", "2", "--scaling-efficiency", "0.9"], "not both"),
        (["--devices", "2,4"], "one --devices value"),
    ],
)
def test_cost_scaling_from_misuse(scaled_file: Path, extra: list[str], message: str) -> None:
    args = [*COST, "USD", "--scaling-from", str(scaled_file), *extra]
    result = runner.invoke(app, args)
    assert result.exit_code == 1 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_scaling_from_never_imports_torch(scaled_file: Path) -> None:
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from subsidybench.cli import app\n"
        f"args = {[*COST, 'USD', '--devices', '2', '--scaling-from', str(scaled_file)]!r}\n"
        "r = CliRunner().invoke(app, args)\n"
        "assert r.exit_code == 0, r.output\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    src = str(Path(__file__).resolve().parents[1] / "src")
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONPATH": src, "PATH": ""},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
