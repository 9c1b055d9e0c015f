"""Do the verdicts and comparisons hold on this machine? N back-to-back ci runs, all pairs compared.

    python bench/check_noise.py                    # N=10, softmax planted 10% slower in odd runs
    python bench/check_noise.py -n 4 --plant layernorm=0.10 --out runs/noise

Runs `subsidybench run --suite ci --device cpu` N times, one process each, as a user would; in
every second run (2, 4, ...) the planted workload is made slower by SUBSIDYBENCH_PLANTED_SLOWDOWN
(measure/planted.py). Then it prints:

- per run: the wall time and how many figures are valid;
- over all pairs of runs: how many pair-workloads `compare` called changed, the planted workload
  left out where exactly one run of the pair was slowed (target: none in 95% or more);
- over the pairs where exactly one run was slowed: whether the planted slowdown was called
  (target: in every pair).

Not a unit test: a machine's figures for a person (and the notes that quote them); say how busy
the machine was (the load average is printed) when you quote them.
"""

from __future__ import annotations

import argparse
import itertools
import os
import subprocess
import sys
import time
from pathlib import Path

from subsidybench.measure import planted
from subsidybench.results.compare import DEFAULT_MIN_EFFECT, Change, compare_runs
from subsidybench.results.detectable import detectable_alone
from subsidybench.results.record import RunResult, load_run


def run_ci(out: Path, plant: str | None, threads: int | None) -> float:
    env = dict(os.environ)
    env.pop(planted.ENV, None)
    if plant:
        env[planted.ENV] = plant
    command = [sys.executable, "-m", "subsidybench", "run", "--suite", "ci", "--device", "cpu"]
    if threads is not None:
        command += ["--threads", str(threads)]
    start = time.perf_counter()
    subprocess.run([*command, "--out", str(out)], check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=10, help="back-to-back runs (default 10)")
    parser.add_argument("--plant", default="softmax=0.10", help="WORKLOAD=FRACTION, odd runs")
    parser.add_argument("--min-effect", type=float, default=DEFAULT_MIN_EFFECT * 100)
    parser.add_argument("--out", type=Path, default=Path("runs") / "noise")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: its)")
    args = parser.parse_args()
    if args.n < 2:
        parser.error("-n: at least 2 runs to compare")
    planted.fraction("", {planted.ENV: args.plant})  # a bad --plant fails before any run
    target = args.plant.split("=")[0]
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    print(f"load average at the start: {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)")
    runs: list[tuple[RunResult, bool]] = []
    for i in range(args.n):
        slowed = i % 2 == 1
        path = args.out / f"{stamp}-{i + 1}.json"
        wall = run_ci(path, args.plant if slowed else None, args.threads)
        run = load_run(path)
        measured = [r for r in run.results if r.verdict is not None]
        valid = sum(r.verdict.valid for r in measured if r.verdict is not None)
        sees = [detectable_alone(r.measurement) for r in measured if r.measurement is not None]
        seen = sorted(d for d in sees if d is not None)
        small = sum(d <= args.min_effect / 100 for d in seen)
        mark = f" ({target} planted slower)" if slowed else ""
        ref = run.reference.measurement if run.reference else None
        floor = (
            f", reference step spread {ref.spread:.0%} (rounds {ref.round_spread:.0%} apart)"
            if ref
            else ""
        )
        print(
            f"run {i + 1}: {wall:.1f} s wall, {valid} of {len(measured)} figures valid{floor},"
            f" {small} of {len(seen)} see {args.min_effect:g}% or less"
            f" (median sees {seen[len(seen) // 2] if seen else float('nan'):.1%}),"
            f" load average {os.getloadavg()[0]:.1f}{mark}: {path}",
            flush=True,
        )
        runs.append((run, slowed))
    called = total = found = mixed = machine = called_with_machine = unsure = 0
    for (a, sa), (b, sb) in itertools.combinations(runs, 2):
        comparison = compare_runs(a, b, min_effect=args.min_effect / 100)
        moved = comparison.reference is not None and comparison.reference.change in (
            Change.SLOWER,
            Change.FASTER,
        )
        machine += moved
        for row in comparison.rows:
            if row.change is Change.NOT_COMPARABLE:
                continue
            if row.id.startswith(target) and sa != sb:
                mixed += 1
                expected = Change.SLOWER if sb else Change.FASTER
                found += row.change is expected
                if row.change is not expected:
                    print(f"  missed: {row.id} {row.describe()} ci {row.ci}")
                continue
            total += 1
            unsure += row.change is Change.CANNOT_TELL
            if row.change in (Change.SLOWER, Change.FASTER):
                called += 1
                called_with_machine += moved
                print(f"  called: {row.id} {row.describe()} ci {row.ci}")
    pairs = args.n * (args.n - 1) // 2
    share = 1 - called / total if total else float("nan")
    print(
        f"{pairs} pairs: {called} of {total} pair-workloads called changed; {share:.1%} not"
        f" (target >= 95%); {unsure} said 'cannot tell'"
    )
    print(f"planted {args.plant}: found in {found} of {mixed} pair-workloads (target: all)")
    print(
        f"the machine itself changed speed (the reference step) in {machine} of {pairs} pairs;"
        f" {called_with_machine} of the {called} changes called came with such a warning"
    )
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
