"""One loop for a single device and for a torchrun group: the same save, interrupt and failure
behaviour, tested once against both (a one-rank gloo group stands in for a launch)."""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from subsidybench.devices import Device, resolve_device
from subsidybench.dtypes import DType
from subsidybench.measure.distributed import Group, Launch
from subsidybench.measure.runner import Ranks, Solo, Terminated, new_run, run_tasks
from subsidybench.measure.tasks import plan
from subsidybench.results.record import RunResult, RunState, Status, WorkloadResult, load_run
from subsidybench.suites import load_suite

CPU = resolve_device("cpu")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(params=["solo", "group"])
def ranks(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Ranks]:
    if request.param == "solo":
        yield Solo(CPU)
        return
    env = {"RANK": "0", "WORLD_SIZE": "1", "MASTER_ADDR": "127.0.0.1"}
    for key, value in {**env, "MASTER_PORT": str(_free_port())}.items():
        monkeypatch.setenv(key, value)
    group = Group(Launch(0, 1, 0, 1), CPU, "gloo", timeout_s=30)
    group.start()
    try:
        yield group
    finally:
        group.stop()


class Act:
    """An observer that does something once `n` tasks have finished."""

    def __init__(self, n: int, action: str) -> None:
        self.n, self.action = n, action

    def planned(self, ids: list[str]) -> None:
        pass

    def started(self, id: str) -> None:
        pass

    def finished(self, result: WorkloadResult) -> None:
        self.n -= 1
        if self.n == 0 and self.action == "ctrl-c":
            raise KeyboardInterrupt
        if self.n == 0 and self.action == "sigterm":
            os.kill(os.getpid(), signal.SIGTERM)


def _start(
    tiny_suite: Path, device: Device, ranks: Ranks, observer: Act | None, out: Path
) -> RunResult:
    suite = load_suite(str(tiny_suite))
    tasks = plan(suite, [DType.FP32])
    return run_tasks(tasks, ranks, new_run(suite, device, None), out, observer=observer)


@pytest.mark.parametrize(
    ("action", "raised"), [("ctrl-c", KeyboardInterrupt), ("sigterm", Terminated)]
)
def test_a_stop_saves_an_interrupted_file_with_what_finished(
    ranks: Ranks, tiny_suite: Path, tmp_path: Path, action: str, raised: type[BaseException]
) -> None:
    out = tmp_path / "run.json"
    previous = signal.getsignal(signal.SIGTERM)
    with pytest.raises(raised):
        _start(tiny_suite, CPU, ranks, Act(1, action), out)
    assert signal.getsignal(signal.SIGTERM) == previous  # the loop's handler is gone again
    saved = load_run(out)
    assert saved.state is RunState.INTERRUPTED and saved.finished
    assert [r.status for r in saved.results] == [Status.OK]


def test_a_failing_task_is_recorded_and_the_loop_goes_on(
    ranks: Ranks, tiny_suite: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from subsidybench.workloads.bandwidth import Copy

    def broken(self: Copy, device: Device, dtype: DType) -> None:
        raise RuntimeError("backend exploded")

    monkeypatch.setattr(Copy, "prepare", broken)
    out = tmp_path / "run.json"
    run = _start(tiny_suite, CPU, ranks, None, out)
    assert run.state is RunState.COMPLETE and load_run(out) == run
    statuses = {r.workload: r.status for r in run.results}
    assert statuses == {"matmul": Status.OK, "copy": Status.FAILED, "mlp_train": Status.OK}
    assert next(r for r in run.results if r.workload == "copy").reason == (
        "RuntimeError: backend exploded"
    )
