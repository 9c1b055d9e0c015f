"""How long the first answer takes: `subsidybench cost ...` beside `import numpy, typer`.

    python bench/check_startup.py                                   # this tree, 11 rounds
    python bench/check_startup.py --tree before=/tmp/main/src -n 21  # and another tree, paired

Each round starts every command once, as a fresh process (the order turns round by round, so
no command always runs first), and reads the CPU time (user + system) the process used from the
operating system (os.wait4) beside its wall time. Per command it prints the median CPU and wall
seconds over the rounds, and the median of each round's ratio to the baseline started in the
same round: the baseline is the floor any typer command over numpy pays, and the ratio moves
less with the machine's load than the seconds do.

Not a unit test: a machine's figures for a person. Quote them with the load average printed at
the start and the end, and the interpreter: each --python NAME=PATH gets its own baseline.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The first answer issue 30 times: a contract costed under a programme, no price needed.
COST = "cost --contract 40e6 --currency CNY --subsidy hangzhou-2024 --domestic"
BASELINE = "import numpy, typer"


@dataclass(frozen=True, slots=True)
class Probe:
    """One command timed each round: what it is called, the argv, and the PYTHONPATH it runs
    with (None: the baseline, which imports no subsidybench)."""

    name: str
    argv: tuple[str, ...]
    src: Path | None
    python: str

    def __post_init__(self) -> None:
        if not self.argv:
            raise ValueError(f"{self.name}: an empty command")


@dataclass(frozen=True, slots=True)
class Sample:
    cpu_s: float
    wall_s: float


def timed(probe: Probe) -> Sample:
    """Start `probe` once and wait for it; its CPU from the kernel's accounting of the child."""
    env = dict(os.environ)
    if probe.src is not None:
        env["PYTHONPATH"] = str(probe.src)
    with tempfile.TemporaryFile() as err:  # a file, not a pipe: a full pipe would block it
        start = time.perf_counter()
        child = subprocess.Popen(probe.argv, env=env, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            err.seek(0)
            text = err.read().decode(errors="replace").strip()
            sys.exit(f"{probe.name}: exit {child.returncode}: {text[-500:]}")
    return Sample(usage.ru_utime + usage.ru_stime, wall)


def probes(trees: dict[str, Path], pythons: dict[str, str], args: list[str]) -> list[Probe]:
    out: list[Probe] = []
    for python in dict.fromkeys(pythons.get(name, sys.executable) for name in trees):
        label = "baseline" if python == sys.executable else f"baseline ({python})"
        out.append(Probe(label, (python, "-c", BASELINE), None, python))
    for name, src in trees.items():
        python = pythons.get(name, sys.executable)
        out.append(Probe(name, (python, "-m", "subsidybench", *args), src, python))
    return out


def report(found: dict[str, list[Sample]], probes_: list[Probe]) -> None:
    base_of = {p.python: p.name for p in probes_ if p.src is None}
    print(f"{'command':<28} {'CPU s':>7} {'wall s':>7} {'CPU/base':>9} {'wall/base':>9}")
    for p in probes_:
        samples = found[p.name]
        cpu = statistics.median(s.cpu_s for s in samples)
        wall = statistics.median(s.wall_s for s in samples)
        if p.src is None:
            print(f"{p.name:<28} {cpu:7.3f} {wall:7.3f}")
            continue
        base = found[base_of[p.python]]
        # Ratios taken round by round: each against the baseline of its own round.
        r_cpu = statistics.median(s.cpu_s / b.cpu_s for s, b in zip(samples, base, strict=True))
        r_wall = statistics.median(s.wall_s / b.wall_s for s, b in zip(samples, base, strict=True))
        print(f"{p.name:<28} {cpu:7.3f} {wall:7.3f} {r_cpu:8.2f}x {r_wall:8.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=11, help="rounds (default 11; medians of these)")
    parser.add_argument(
        "--tree",
        action="append",
        default=[],
        metavar="NAME=SRC",
        help="a source tree to time (its src/ folder); repeatable (default: this=./src)",
    )
    parser.add_argument(
        "--python",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="the interpreter a tree runs with (default: this one), e.g. a venv's",
    )
    parser.add_argument(
        "--args", default=None, help=f"the subsidybench arguments (default: {COST})"
    )
    args = parser.parse_args()
    if args.n < 3:
        parser.error("-n: at least 3 rounds for a median")
    trees = dict(t.split("=", 1) for t in args.tree) or {"this": str(ROOT / "src")}
    pythons = dict(p.split("=", 1) for p in args.python)
    for name, src in trees.items():
        if not (Path(src) / "subsidybench" / "__init__.py").is_file():
            parser.error(f"--tree {name}: {src} holds no subsidybench package")
    for name in pythons:
        if name not in trees:
            parser.error(f"--python {name}: no --tree of that name")
    command = args.args.split() if args.args else COST.split()
    found_probes = probes({n: Path(s) for n, s in trees.items()}, pythons, command)
    print(f"subsidybench {' '.join(command)}")
    print(f"load average at the start: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")
    for p in found_probes:
        timed(p)  # one start each before the rounds: the files' pages in the cache for all
    found: dict[str, list[Sample]] = {p.name: [] for p in found_probes}
    for i in range(args.n):
        turn = i % len(found_probes)
        for p in found_probes[turn:] + found_probes[:turn]:
            found[p.name].append(timed(p))
    print(f"load average at the end: {os.getloadavg()[0]:.2f}; medians of {args.n} rounds")
    report(found, found_probes)


if __name__ == "__main__":
    main()
