"""Why do the small CPU workloads spread most? Interleaved variants of the harness, one process.

    python bench/check_spread.py                     # the five workloads, 6 interleaved reps
    python bench/check_spread.py --reps 10 --budget 0.5

Each rep measures every workload under every variant, in a shuffled order, so that drift of a
shared machine (other processes starting and stopping) falls on all variants alike; what differs
between variants is then the harness's doing. Variants:

    base       torch's default threads (2 here), 20 ms blocks, a fresh step (new tensors)
    block50    the same with 50 ms blocks
    block100   the same with 100 ms blocks: several scheduler time slices per sample
    reuse      the step of the previous rep, already warm (caches, allocator): allocation
    1thread    one torch thread, 20 ms blocks: no thread waiting for a descheduled sibling
    1thread-pin one thread, pinned to the last CPU

Prints, per workload and variant, the median over reps of IQR/median and of the median time. Not
a unit test: a machine's figures for a person (and the notes that quote them).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
from collections.abc import Callable
from dataclasses import dataclass

import torch

from subsidybench.devices import resolve_device
from subsidybench.dtypes import DType
from subsidybench.timing import TimingPolicy, TooSlow, measure
from subsidybench.workloads import make_workload
from subsidybench.workloads.base import Step

WORKLOADS = {
    "mlp_train": {"batch": 256, "features": 512, "hidden": 1024, "layers": 2, "classes": 16},
    "layernorm": {"rows": 1024, "hidden": 1024},
    "softmax": {"rows": 1024, "cols": 1024},
    "triad": {"mib": 32},
    "attention": {"batch": 1, "heads": 8, "seq": 1024, "head_dim": 64},
}


@dataclass(frozen=True)
class Variant:
    name: str
    min_block_s: float = 0.02
    threads: int | None = None
    pin: bool = False
    reuse: bool = False


VARIANTS = (
    Variant("base"),
    Variant("block50", min_block_s=0.05),
    Variant("block100", min_block_s=0.1),
    Variant("reuse", reuse=True),
    Variant("1thread", threads=1),
    Variant("1thread-pin", threads=1, pin=True),
)


def load() -> float:
    return os.getloadavg()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=6)
    parser.add_argument("--budget", type=float, default=0.5)
    parser.add_argument("--only", default="", help="variants to run, comma-separated")
    args = parser.parse_args()
    variants = [v for v in VARIANTS if not args.only or v.name in args.only.split(",")]
    device = resolve_device("cpu")
    default_threads = torch.get_num_threads()
    all_cpus = os.sched_getaffinity(0)
    steps: dict[str, Step] = {}
    spreads: dict[tuple[str, str], list[float]] = {}
    medians: dict[tuple[str, str], list[float]] = {}
    rng = random.Random(0)
    start_load = load()
    for rep in range(args.reps):
        order = [(w, v) for w in WORKLOADS for v in variants]
        rng.shuffle(order)
        for name, variant in order:
            workload = make_workload(name, WORKLOADS[name], "check_spread")
            torch.set_num_threads(variant.threads or default_threads)
            if variant.pin:
                os.sched_setaffinity(0, {max(all_cpus)})
            try:
                if variant.reuse and name in steps:
                    step = steps[name]
                else:
                    step = workload.prepare(device, DType.FP32)
                    steps[name] = step
                run: Callable[[], object] = step.run
                policy = TimingPolicy(
                    budget_s=args.budget, min_block_s=variant.min_block_s, step_limit_s=10.0
                )
                m = measure(run, device.synchronizer(), policy)
            except TooSlow:  # one call descheduled past the budget on a busy machine
                continue
            finally:
                os.sched_setaffinity(0, all_cpus)
                torch.set_num_threads(default_threads)
            spreads.setdefault((name, variant.name), []).append(m.spread)
            medians.setdefault((name, variant.name), []).append(m.median)
        print(f"rep {rep + 1}/{args.reps} done", flush=True)
    print(f"\nmedian over reps; load average {start_load:.1f} at start, {load():.1f} at end")
    print(f"{'workload':12s} {'variant':12s} {'IQR/median':>10s} {'median ms':>10s}")
    for name in WORKLOADS:
        for variant in variants:
            key = (name, variant.name)
            if key not in spreads:
                print(f"{name:12s} {variant.name:12s} {'-':>10s} {'-':>10s}  (every step too slow)")
                continue
            print(
                f"{name:12s} {variant.name:12s} {statistics.median(spreads[key]):10.1%}"
                f" {statistics.median(medians[key]) * 1e3:10.3f}  ({len(spreads[key])} reps)"
            )


if __name__ == "__main__":
    main()
