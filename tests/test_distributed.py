"""The distributed runner for real: torchrun, two gloo processes on the cpu, tiny sizes.

Each launch is a subprocess bounded by a timeout, so a hang fails the test instead of stalling
the suite. A rank that hangs or dies must end the run with a one-line error and keep what
finished. NCCL runs only where two GPUs are present.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from subsidybench.cli import app
from subsidybench.errors import UserError
from subsidybench.measure.distributed import (
    Launch,
    backend_for,
    launch_from_env,
    one_line,
)
from subsidybench.measure.distributed_plan import (
    default_sizes,
    default_world_sizes,
    parse_size,
    plan_distributed,
)
from subsidybench.results.record import RunState, load_run
from subsidybench.results.scaling import Collective, bus_bandwidth, scaling_series
from subsidybench.suites import load_suite

ROOT = Path(__file__).resolve().parents[1]
WORKER = Path(__file__).resolve().parent / "distributed_worker.py"

GPT_SUITE = """
name = "tiny-gpt"
version = 1
budget_s = 0.1

[[workloads]]
name = "gpt_train"
params = { batch = 2, seq = 16, layers = 1, heads = 2, dim = 16, vocab = 64 }
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def torchrun(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`torchrun --nproc-per-node 2 ARGS` with this checkout on the path, bounded in time."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "COLUMNS": "200"}
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc-per-node",
        "2",
        "--master-addr",
        "127.0.0.1",
        "--master-port",
        str(_free_port()),
        *args,
    ]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT
    )


def test_backend_table() -> None:
    assert backend_for("cpu") == "gloo"
    assert backend_for("cuda") == "nccl"
    assert backend_for("npu") == "hccl"
    with pytest.raises(UserError, match="--backend"):
        backend_for("nosuchdevice")


def test_launch_needs_torchrun() -> None:
    with pytest.raises(UserError, match="torchrun"):
        launch_from_env({})
    env = {
        "RANK": "1",
        "WORLD_SIZE": "2",
        "LOCAL_RANK": "1",
        "MASTER_ADDR": "x",
        "MASTER_PORT": "1",
    }
    assert launch_from_env(env) == Launch(1, 2, 1, 2)
    with pytest.raises(UserError, match="outside WORLD_SIZE"):
        launch_from_env({**env, "RANK": "2"})


def test_one_line_drops_gloo_decoration() -> None:
    e = RuntimeError(
        "[/x/gloo/transport/tcp/pair.cc:537] Read error [127.0.0.1]:1: Connection reset by "
        "peer. This is typically caused by a remote worker hanging. GLHF!\nmore"
    )
    assert one_line(e) == "Read error [127.0.0.1]:1: Connection reset by peer"


def test_sizes_and_world_sizes() -> None:
    assert parse_size("4096") == 4096
    assert parse_size("64KiB") == 64 << 10
    assert parse_size("256MiB") == 256 << 20
    with pytest.raises(UserError, match="--sizes"):
        parse_size("64MB")
    assert default_sizes("cpu")[-1] == 256 << 20
    assert default_sizes("cuda")[-1] == 4 << 30
    assert default_world_sizes(1) == (1,)
    assert default_world_sizes(6) == (1, 2, 4, 6)
    assert default_world_sizes(8) == (1, 2, 4, 8)


def test_plan(tmp_path: Path) -> None:
    suite_file = tmp_path / "gpt.toml"
    suite_file.write_text(GPT_SUITE)
    suite = load_suite(str(suite_file))
    tasks = plan_distributed(suite, 2, "cpu", sizes=[1024, 4096])
    ids = [t.id for t in tasks]
    assert len(ids) == 4 * 2 + 2
    assert ids[0] == "all_reduce[bytes=1024,world_size=2]/fp32"
    assert ids[-1].startswith("gpt_train[") and ids[-1].endswith(",world_size=2]/fp32")
    only = plan_distributed(suite, 2, "cpu", only=["broadcast"], sizes=[1024])
    assert [t.id for t in only] == ["broadcast[bytes=1024,world_size=2]/fp32"]
    with pytest.raises(UserError, match="cannot run distributed"):
        plan_distributed(suite, 2, "cpu", only=["matmul"])
    with pytest.raises(UserError, match=r"outside 1\.\.2"):
        plan_distributed(suite, 2, "cpu", world_sizes=[3])


def test_run_distributed_outside_torchrun_is_one_line() -> None:
    unset = dict.fromkeys(("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"))
    result = CliRunner().invoke(app, ["run", "--distributed"], env=unset)
    assert result.exit_code == 1
    assert "runs under torchrun (RANK, WORLD_SIZE" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_distributed_options_need_distributed() -> None:
    result = CliRunner().invoke(app, ["run", "--sizes", "1KiB"])
    assert result.exit_code == 1 and "only apply with --distributed" in result.stderr


def test_two_gloo_ranks_sweep_collectives_and_scale(tmp_path: Path) -> None:
    suite_file = tmp_path / "gpt.toml"
    suite_file.write_text(GPT_SUITE)
    out = tmp_path / "dist.json"
    done = torchrun(
        "-m", "subsidybench", "run", "--distributed", "--suite", str(suite_file),
        "--sizes", "4KiB,64KiB", "--budget", "0.05", "--timeout", "30", "--out", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    run = load_run(out)
    assert run.state is RunState.COMPLETE
    d = run.distributed
    assert d is not None and d.world_size == 2 and d.backend == "gloo"
    assert d.node_count == 1 and d.ranks_per_node == (2,) and not d.stopped
    collectives = [r for r in run.results if r.family == "collective"]
    assert [r.workload for r in collectives[::2]] == [c.value for c in Collective]
    for r in collectives:
        assert r.ok, r.reason
        assert r.measurement is not None and r.work is not None
        op, size = Collective(r.workload), int(r.params["bytes"])
        assert size in (4096, 65536) and r.work.bytes == size
        busbw = bus_bandwidth(op, size, r.measurement.median, 2)
        assert r.metrics["bus_bandwidth_bytes_per_s"] == pytest.approx(busbw)
    [series] = scaling_series(run)
    assert [p.world_size for p in series.points] == [1, 2]
    two = series.points[1]
    assert two.efficiency is not None and two.efficiency > 0
    # Efficiency is computed from the results when read (results.scaling), never stored twice.
    assert "scaling_efficiency" not in two.result.metrics
    assert two.efficiency == pytest.approx(two.per_device * 2 / (2 * series.points[0].per_device))
    assert two.result.metrics["loss_last"] < two.result.metrics["loss_first"]
    # Rank 0 alone prints the tables.
    assert done.stdout.count("collectives") == 1 and "data-parallel scaling" in done.stdout


@pytest.mark.parametrize(
    ("mode", "cause"),
    [("sleep", "Timed out"), ("exit", "")],
)
def test_a_rank_that_hangs_or_dies_stops_the_run_and_keeps_results(
    tmp_path: Path, mode: str, cause: str
) -> None:
    out = tmp_path / "partial.json"
    done = torchrun(str(WORKER), str(out), mode, "3", timeout=45)
    assert done.returncode != 0
    lines = done.stderr.splitlines()
    errors = [line for line in lines if line.startswith("error: rank 0")]
    # A dead rank races two ways to rank 0: its failed collective, or torchrun's SIGTERM to the
    # survivors. Either stops the run with one line and keeps what finished.
    stopped = [line for line in lines if line.startswith("rank 0: stopped by signal 15")]
    if mode == "exit" and stopped and not errors:
        assert len(stopped) == 1, done.stderr[-3000:]
    else:
        assert len(errors) == 1, done.stderr[-3000:]
        assert "a collective failed" in errors[0] and cause in errors[0]
        assert f"saved in {out}" in errors[0]
    run = load_run(out)
    assert run.state is RunState.INTERRUPTED
    assert [r.id for r in run.results] == ["all_reduce[bytes=4096,world_size=2]/fp32"]
    assert run.results[0].ok
    assert run.distributed is not None and "misbehaving" in run.distributed.stopped
    doc = json.loads(out.read_text())
    assert doc["distributed"]["stopped"]


@pytest.mark.gpu
@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two CUDA GPUs")
def test_two_nccl_ranks(tmp_path: Path) -> None:
    out = tmp_path / "nccl.json"
    done = torchrun(
        "-m", "subsidybench", "run", "--distributed", "--device", "cuda", "--only",
        "all_reduce", "--sizes", "1MiB,64MiB", "--budget", "0.1", "--out", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    run = load_run(out)
    assert run.distributed is not None and run.distributed.backend == "nccl"
    assert all(r.ok for r in run.results)
