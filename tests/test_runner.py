from __future__ import annotations

import gc
import json
from pathlib import Path

import pytest

from subsidybench.devices import CpuBackend, Device, resolve_device
from subsidybench.dtypes import DType
from subsidybench.errors import UserError
from subsidybench.measure.runner import run_suite
from subsidybench.measure.tasks import plan
from subsidybench.results.record import RunState, Status, WorkloadResult, load_run
from subsidybench.suites import load_suite, select

CPU = resolve_device("cpu")
AVX2_CPU = Device(CpuBackend("flags\t: avx2 fma\n"), None)


def test_tiny_suite_runs_to_a_complete_file(tiny_suite: Path, tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    run = run_suite(load_suite(str(tiny_suite)), CPU, out)
    assert run.state is RunState.COMPLETE and run.finished
    assert load_run(out) == run
    ids = [r.id for r in run.results]
    assert ids == [
        "matmul[n=64,m=64,k=64]/fp32",
        "matmul[n=64,m=64,k=64]/bf16",
        "copy[mib=1]/fp32",
        "mlp_train[batch=16,features=8,hidden=16,layers=1,classes=4]/fp32",
    ]
    fp32 = run.results[0]
    assert fp32.status is Status.OK and fp32.flops_per_s and fp32.flops_per_s > 0
    mlp = run.results[-1]
    assert mlp.metrics["loss_last"] < mlp.metrics["loss_first"]
    assert run.environment.torch_version


def test_emulated_dtype_is_skipped_and_says_so(tiny_suite: Path, tmp_path: Path) -> None:
    run = run_suite(load_suite(str(tiny_suite)), AVX2_CPU, tmp_path / "r.json", dtypes=[DType.BF16])
    [bf16] = run.results
    assert bf16.status is Status.SKIPPED
    assert "emulated" in bf16.reason and "--include-emulated" in bf16.reason


def test_emulated_dtype_can_be_timed_on_request(tiny_suite: Path, tmp_path: Path) -> None:
    suite = load_suite(str(tiny_suite))
    run = run_suite(
        suite, AVX2_CPU, tmp_path / "r.json", dtypes=[DType.BF16], include_emulated=True
    )
    [bf16] = run.results
    # Timed (this machine may run it natively), but the result carries the emulation note.
    assert bf16.status is Status.OK and "emulated" in bf16.reason


class StopAfter:
    """An observer that presses Ctrl-C once `n` workloads have finished."""

    def __init__(self, n: int) -> None:
        self.n = n

    def planned(self, ids: list[str]) -> None:
        pass

    def started(self, id: str) -> None:
        pass

    def finished(self, result: WorkloadResult) -> None:
        self.n -= 1
        if self.n == 0:
            raise KeyboardInterrupt


def test_ctrl_c_keeps_the_finished_workloads(tiny_suite: Path, tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    with pytest.raises(KeyboardInterrupt):
        run_suite(load_suite(str(tiny_suite)), CPU, out, observer=StopAfter(2))
    saved = load_run(out)
    assert saved.state is RunState.INTERRUPTED
    assert len(saved.results) == 2
    assert all(r.status is Status.OK for r in saved.results)


def test_the_loop_freezes_what_existed_and_thaws_it_after(tiny_suite: Path, tmp_path: Path) -> None:
    # The per-round collections skip what existed before the loop (a 0.1 s scan each with
    # torch loaded); the freeze must not outlive the run, not even a stopped one.
    seen: list[int] = []

    class Watch(StopAfter):
        def finished(self, result: WorkloadResult) -> None:
            seen.append(gc.get_freeze_count())
            super().finished(result)

    run_suite(load_suite(str(tiny_suite)), CPU, tmp_path / "a.json", observer=Watch(99))
    assert seen and min(seen) > 0
    assert gc.get_freeze_count() == 0
    with pytest.raises(KeyboardInterrupt):
        run_suite(load_suite(str(tiny_suite)), CPU, tmp_path / "b.json", observer=Watch(1))
    assert gc.get_freeze_count() == 0


def test_a_crash_mid_run_leaves_a_valid_file(tiny_suite: Path, tmp_path: Path) -> None:
    class Boom(StopAfter):
        def finished(self, result: WorkloadResult) -> None:
            raise RuntimeError("power cut")

    out = tmp_path / "run.json"
    with pytest.raises(RuntimeError):
        run_suite(load_suite(str(tiny_suite)), CPU, out, observer=Boom(1))
    saved = load_run(out)
    assert saved.state is RunState.RUNNING  # never finished: readers can tell
    assert len(saved.results) == 1


def test_a_failing_workload_is_recorded_and_the_run_goes_on(
    tiny_suite: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from subsidybench.workloads.bandwidth import Copy

    def broken(self: Copy, device: Device, dtype: DType) -> None:
        raise RuntimeError("backend exploded")

    monkeypatch.setattr(Copy, "prepare", broken)
    run = run_suite(load_suite(str(tiny_suite)), CPU, tmp_path / "r.json", dtypes=[DType.FP32])
    statuses = {r.workload: r.status for r in run.results}
    assert statuses == {"matmul": Status.OK, "copy": Status.FAILED, "mlp_train": Status.OK}
    copy = next(r for r in run.results if r.workload == "copy")
    assert copy.reason == "RuntimeError: backend exploded"


def test_plan_filters_and_refuses_empty(tiny_suite: Path) -> None:
    suite = load_suite(str(tiny_suite))
    assert len(plan(suite, [DType.BF16])) == 1
    with pytest.raises(UserError, match="--dtype: suite tiny has no workload at fp16"):
        plan(suite, [DType.FP16])
    assert [e.workload for e in select(suite, ["copy"]).entries] == ["copy"]
    with pytest.raises(UserError, match="--only: conv not in suite tiny"):
        select(suite, ["conv"])


def test_suite_errors_name_file_and_field(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text('name = "s"\nversion = 1\n[[workloads]]\nname = "matmul"\ndtypes = ["fp64"]\n')
    with pytest.raises(UserError, match=r"s.toml: workloads\[0\].dtypes\[0\]: 'fp64'"):
        load_suite(str(path))
    path.write_text('name = "s"\nversion = 1\n[[workloads]]\nname = "copy"\ndtypes = ["bf16"]\n')
    with pytest.raises(UserError, match=r"workloads\[0\]: copy does not run at bf16"):
        plan(load_suite(str(path)))
    with pytest.raises(UserError, match="--suite: no suite 'huge'"):
        load_suite("huge")


def test_builtin_suites_load_and_plan() -> None:
    from subsidybench.suites import suite_names

    assert "ci" in suite_names()
    for name in suite_names():
        assert plan(load_suite(name))


def test_result_file_is_json_with_versions(tiny_suite: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    run_suite(select(load_suite(str(tiny_suite)), ["copy"]), CPU, out)
    doc = json.loads(out.read_text())
    assert {"schema_version", "method_version", "toolkit_version", "environment"} <= set(doc)


COMPILE_SUITE = """
name = "compile"
version = 1
budget_s = 0.2

[[workloads]]
name = "matmul"
params = { n = 32 }

[[workloads]]
name = "mlp_train"
params = { batch = 8, features = 8, hidden = 8, layers = 1, classes = 2 }
"""


def test_compile_adds_separate_results_for_compilable_workloads(tmp_path: Path) -> None:
    path = tmp_path / "compile.toml"
    path.write_text(COMPILE_SUITE)
    suite = load_suite(str(path))
    assert [t.id for t in plan(suite, compiled=True)] == [
        "matmul[n=32,m=32,k=32]/fp32",
        "mlp_train[batch=8,features=8,hidden=8,layers=1,classes=2]/fp32",
        "mlp_train[batch=8,features=8,hidden=8,layers=1,classes=2]/fp32/compiled",
    ]
    assert all(t.policy.budget_s == 3.0 for t in plan(suite, budget_s=3.0))


def test_compile_where_the_backend_cannot_is_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "compile.toml"
    path.write_text(COMPILE_SUITE)
    monkeypatch.setattr(CpuBackend, "compile_support", lambda self: "no compiler here")
    run = run_suite(
        select(load_suite(str(path)), ["mlp_train"]), CPU, tmp_path / "r.json", compiled=True
    )
    eager, compiled = run.results
    assert eager.status is Status.OK and not eager.compiled
    assert compiled.status is Status.SKIPPED and compiled.compiled
    assert compiled.reason == "no compiler here"


@pytest.mark.skipif(CpuBackend().compile_support() is not None, reason="no C++ compiler")
def test_compiled_training_runs_for_real(tmp_path: Path) -> None:
    path = tmp_path / "compile.toml"
    path.write_text(COMPILE_SUITE)
    run = run_suite(
        select(load_suite(str(path)), ["mlp_train"]), CPU, tmp_path / "r.json", compiled=True
    )
    compiled = run.results[1]
    assert compiled.status is Status.OK, compiled.reason
    assert compiled.id.endswith("/compiled") and compiled.compiled
    assert compiled.measurement is not None and compiled.measurement.first_call_s > 0
    assert compiled.metrics["loss_last"] < compiled.metrics["loss_first"]
    assert load_run(tmp_path / "r.json").results[1].compiled


def test_every_round_times_the_reference_step_and_the_file_keeps_it(
    tiny_suite: Path, tmp_path: Path
) -> None:
    out = tmp_path / "r.json"
    run = run_suite(load_suite(str(tiny_suite)), CPU, out, rounds=2, dtypes=[DType.FP32])
    assert run.reference is not None and run.reference.measurement is not None
    assert run.reference.measurement.round_count == 2 and not run.reference.error
    saved = load_run(out)
    assert saved.reference == run.reference
    assert json.loads(out.read_text())["reference"]["step"] == "fp32 matmul 512x512x512"


def test_a_reference_that_fails_keeps_its_rounds_and_the_run_goes_on(
    tiny_suite: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from subsidybench.measure import reference

    timed = reference._time
    calls = []

    def second_fails(device: Device, earlier: object, blocks: int | None) -> object:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("device lost\nsecond line")
        return timed(device, earlier, blocks)  # type: ignore[arg-type]

    monkeypatch.setattr(reference, "_time", second_fails)
    out = tmp_path / "r.json"
    run = run_suite(load_suite(str(tiny_suite)), CPU, out, rounds=3, dtypes=[DType.FP32])
    # The run goes on: nothing failed (a step past the budget on a busy host may skip a task).
    assert run.state is RunState.COMPLETE and not any(
        r.status is Status.FAILED for r in run.results
    )
    ref = load_run(out).reference
    assert ref is not None and ref.measurement is not None
    assert ref.measurement.round_count == 1
    assert ref.error == "round 2: device lost second line"
    assert len(calls) == 2  # not tried again after it failed
