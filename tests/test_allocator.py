"""The C allocator held steady while measuring (measure/allocator.py).

The check is on page faults, not time: a step whose buffers are mapped and zeroed again each
step faults thousands of pages whatever the machine's load; a step whose buffers stay in the
heap faults none.
"""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from subsidybench.datafile import Fields
from subsidybench.devices import resolve_device
from subsidybench.measure import allocator
from subsidybench.measure.runner import new_run
from subsidybench.results.context import Environment
from subsidybench.suites import load_suite


def _glibc() -> bool:
    try:
        ctypes.CDLL(None).mallopt  # noqa: B018 (the lookup is the test)
    except (AttributeError, OSError):
        return False
    return True


needs_glibc = pytest.mark.skipif(not _glibc(), reason="no glibc mallopt on this platform")

# One process: the allocator as `how` says, then the median page faults of nine steps of cnn_infer
# fp32 at the ci size (its 21 MiB of activations are what glibc's moving threshold maps and
# unmaps). The median, not the mean: on a loaded host the kernel reclaims and refaults a few pages
# in the odd step (a mean of 153.6 a step once, where quiet steps fault none).
_FAULTS = textwrap.dedent(
    """
    import ctypes, json, resource, sys
    how = sys.argv[1]
    from subsidybench.measure import allocator
    if how == "held":
        said = allocator.hold_steady()
    else:  # the pathological case on purpose: every block past 128 KiB mapped and unmapped
        libc = ctypes.CDLL(None)
        libc.mallopt(-3, 128 << 10)
        libc.mallopt(-1, 128 << 10)
        said = "low"
    import torch
    torch.set_num_threads(1)
    from subsidybench.devices import resolve_device
    from subsidybench.dtypes import DType
    from subsidybench.workloads.cnn import CnnInfer
    w = CnnInfer(batch=64, image=32, width=16, stages=3, blocks=1, classes=10)
    step = w.prepare(resolve_device("cpu"), DType.FP32)
    for _ in range(3):
        step.run()
    faults = []
    for _ in range(9):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        step.run()
        faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    print(json.dumps({"said": said, "faults_per_step": sorted(faults)[4]}))
    """
)


def _faults(how: str) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if k not in allocator._USER_SETTINGS}
    env["PYTHONPATH"] = str(Path(allocator.__file__).parents[2])  # this tree's package
    done = subprocess.run(
        [sys.executable, "-c", _FAULTS, how], capture_output=True, text=True, env=env, check=True
    )
    return json.loads(done.stdout.splitlines()[-1])


@needs_glibc
def test_held_thresholds_keep_a_steps_buffers_in_the_heap() -> None:
    held = _faults("held")
    assert str(held["said"]).startswith("glibc, thresholds fixed: mmap 32 MiB")
    assert float(held["faults_per_step"]) < 500  # measured 0
    # The same count sees the slow mode where blocks are mapped each step (measured 5,400+).
    assert float(_faults("low")["faults_per_step"]) > 2500


def test_the_users_own_allocator_settings_stand(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(allocator, "_held", None)
    jemalloc = "/usr/lib/libjemalloc.so.2"
    monkeypatch.setenv("LD_PRELOAD", jemalloc)
    assert allocator.hold_steady() == f"as the environment set it: LD_PRELOAD={jemalloc}"
    assert allocator.described() == allocator.hold_steady()


def test_not_held_is_said(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(allocator, "_held", None)
    assert allocator.described() == "not held: the C library's defaults"


@needs_glibc
def test_a_runs_header_holds_it_and_records_it() -> None:
    run = new_run(load_suite("ci"), resolve_device("cpu"), None)
    assert run.environment.allocator == allocator.described()
    assert run.environment.allocator.startswith(("glibc", "as the environment set it"))
    again = Environment.from_fields(_fields(run.environment.to_dict()))
    assert again == run.environment


def test_a_file_from_before_it_was_recorded_reads_as_unknown() -> None:
    doc = new_run(load_suite("ci"), resolve_device("cpu"), None).environment.to_dict()
    del doc["allocator"]
    assert Environment.from_fields(_fields(doc)).allocator is None


def _fields(doc: dict[str, object]) -> Fields:
    return Fields(doc, "environment")


def test_show_says_the_allocator() -> None:
    from subsidybench.report.terminal import run_header

    run = new_run(load_suite("ci"), resolve_device("cpu"), None)
    assert f"\nallocator: {run.environment.allocator}" in run_header(run, "x.json")
