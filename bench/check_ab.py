"""Does the interleaved A/B find a planted slowdown, and nothing else? N `subsidybench ab` jobs.

    python bench/check_ab.py                     # 5 jobs: ci, softmax planted 10% slower in B
    python bench/check_ab.py -n 3 --threads 1 --rounds 4 --budget 0.2 --out runs/ab-check

Runs `subsidybench ab --suite ci --device cpu --b-env SUBSIDYBENCH_PLANTED_SLOWDOWN=<plant>`
N times, as CI would, and prints per job: its wall time, whether the planted workload was called
slower, every other workload called changed, how many said "cannot tell", and the reference
step's spread (the machine's own noise over the job). Targets (issue 24): the planted slowdown
called in every job, at most one other workload called in all of them together.

Not a unit test: a machine's figures for a person; say how busy the machine was (the load
average is printed) when you quote them.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from subsidybench.measure import planted
from subsidybench.results.ab import compare_ab
from subsidybench.results.compare import Change
from subsidybench.results.record import load_run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=5, help="ab jobs (default 5)")
    parser.add_argument("--plant", default="softmax=0.10", help="WORKLOAD=FRACTION, in B")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--budget", type=float, default=None)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--min-effect", type=float, default=5.0)
    parser.add_argument("--only", default=None, help="only these workloads (comma-separated)")
    parser.add_argument("--out", type=Path, default=Path("runs") / "ab-check")
    args = parser.parse_args()
    planted.fraction("", {planted.ENV: args.plant})  # a bad --plant fails before any job
    target = args.plant.split("=")[0]
    stamp = time.strftime("%Y%m%d-%H%M%S")
    print(f"load average at the start: {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)")
    found = others = cannot = total = 0
    for i in range(args.n):
        out = args.out / f"{stamp}-{i + 1}"
        command = [sys.executable, "-m", "subsidybench", "ab", "--suite", "ci", "--device", "cpu"]
        command += ["--rounds", str(args.rounds), "--out", str(out)]
        command += ["--b-env", f"{planted.ENV}={args.plant}"]
        command += ["--min-effect", str(args.min_effect)]
        if args.budget is not None:
            command += ["--budget", str(args.budget)]
        if args.threads is not None:
            command += ["--threads", str(args.threads)]
        if args.only:
            command += ["--only", args.only]
        start = time.perf_counter()
        code = subprocess.run(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        ).returncode
        wall = time.perf_counter() - start
        if code not in (0, 3):
            sys.exit(f"job {i + 1}: subsidybench ab exited with status {code} ({out})")
        a = [load_run(p) for p in sorted((out / "A").glob("*.json"), key=_round)]
        b = [load_run(p) for p in sorted((out / "B").glob("*.json"), key=_round)]
        comparison = compare_ab(a, b, min_effect=args.min_effect / 100)
        hit = [r for r in comparison.rows if r.id.startswith(target)]
        called = [
            r
            for r in comparison.rows
            if not r.id.startswith(target) and r.change in (Change.SLOWER, Change.FASTER)
        ]
        unsure = sum(r.change is Change.CANNOT_TELL for r in comparison.rows)
        measured = sum(r.change is not Change.NOT_COMPARABLE for r in comparison.rows)
        found += all(r.change is Change.SLOWER for r in hit) and bool(hit)
        others += len(called)
        cannot += unsure
        total += measured
        spreads = [run.reference.measurement.spread for run in a + b if _has_reference(run)]
        floor = f", reference step spread {min(spreads):.1%}-{max(spreads):.1%}" if spreads else ""
        print(
            f"job {i + 1}: {wall:.0f} s, {target}: "
            + ", ".join(f"{r.describe()} (sees {r.detectable:.1%})" for r in hit if r.detectable)
            + f"; other calls: {', '.join(f'{r.id} {r.describe()}' for r in called) or 'none'};"
            f" cannot tell: {unsure} of {measured}{floor}; load average"
            f" {os.getloadavg()[0]:.1f}: {out}",
            flush=True,
        )
    print(
        f"planted {args.plant}: called in {found} of {args.n} jobs (target: all); other workloads"
        f" called: {others} in all {args.n} jobs (target: at most 1); 'cannot tell': {cannot} of"
        f" {total} workload verdicts"
    )
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


def _round(path: Path) -> int:
    return int(path.stem)


def _has_reference(run: object) -> bool:
    ref = getattr(run, "reference", None)
    return ref is not None and ref.measurement is not None


if __name__ == "__main__":
    main()
