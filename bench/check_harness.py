"""Check the timing harness against a plain loop, and the ci suite against itself.

    python bench/check_harness.py overhead      # harness vs a plain timed loop of torch.matmul
    python bench/check_harness.py repeat        # two back-to-back ci runs: time and agreement

Not a unit test: these are speed and stability figures of this machine, printed for a person
(and for the notes that quote them). Ratios are taken within one process, medians of rounds.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from subsidybench.devices import resolve_device
from subsidybench.dtypes import DType
from subsidybench.results.record import load_run
from subsidybench.timing import TimingPolicy, measure
from subsidybench.workloads.matmul import Matmul


def plain_loop_gflops(n: int, seconds: float) -> float:
    """What a hand-written loop reaches: time `seconds` of back-to-back matmuls."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    out = torch.empty(n, n)
    for _ in range(3):
        torch.matmul(a, b, out=out)
    count = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        torch.matmul(a, b, out=out)
        count += 1
    return 2 * n**3 * count / (time.perf_counter() - start) / 1e9


def harness_gflops(n: int, seconds: float) -> float:
    device = resolve_device("cpu")
    workload = Matmul(n=n)
    step = workload.prepare(device, DType.FP32)
    m = measure(step.run, device.synchronizer(), TimingPolicy(budget_s=seconds))
    return workload.work(DType.FP32).flops / m.median / 1e9


def overhead(n: int = 1024, rounds: int = 5, seconds: float = 1.0) -> None:
    ratios = []
    for i in range(rounds):
        # Alternate the order so that drift on a shared machine does not favour one side.
        if i % 2:
            loop, harness = plain_loop_gflops(n, seconds), harness_gflops(n, seconds)
        else:
            harness, loop = harness_gflops(n, seconds), plain_loop_gflops(n, seconds)
        ratios.append(harness / loop)
        print(f"round {i + 1}: plain loop {loop:.1f} GFLOP/s, harness {harness:.1f} GFLOP/s")
    print(f"harness / plain loop, median of {rounds}: {statistics.median(ratios):.3f}")


def repeat() -> None:
    """Two back-to-back `subsidybench run --suite ci` processes, as a user starts them."""
    with tempfile.TemporaryDirectory() as tmp:
        paths = [Path(tmp) / f"{i}.json" for i in range(2)]
        for i, path in enumerate(paths):
            command = [sys.executable, "-m", "subsidybench", "run", "--suite", "ci"]
            start = time.perf_counter()
            subprocess.run(
                [*command, "--device", "cpu", "--out", str(path)],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            print(f"run {i + 1}: {time.perf_counter() - start:.1f} s wall, process start included")
        first, second = ({r.id: r for r in load_run(p).results if r.ok} for p in paths)
    diffs = []
    for id_, a in first.items():
        b = second.get(id_)
        if b is None or a.measurement is None or b.measurement is None:
            continue
        t1, t2 = a.measurement.median * 1e3, b.measurement.median * 1e3
        diffs.append(abs(t2 / t1 - 1))
        valid = (
            "" if a.verdict and a.verdict.valid and b.verdict and b.verdict.valid else " invalid"
        )
        print(f"{id_:70s} {t1:9.3f} ms {t2:9.3f} ms {t2 / t1 - 1:+7.1%}{valid}")
    print(f"largest difference {max(diffs):.1%}, median {statistics.median(diffs):.1%}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("check", choices=["overhead", "repeat"], nargs="?", default="overhead")
    {"overhead": overhead, "repeat": repeat}[parser.parse_args().check]()
