"""How long the first answer takes: `subsidybench cost ...` beside `import numpy, typer`.

    python bench/check_startup.py                                   # this tree, 11 rounds
    python bench/check_startup.py --tree before=/tmp/main/src -n 21  # and another tree, paired
    python bench/check_startup.py --args "cost --help" --args "--help"   # other commands

A tree may run under its own interpreter (--python NAME=PATH, e.g. a virtual environment with
another typer): each interpreter gets its own baseline, and a tree's ratios are to its own.

Each round starts every command once, as a fresh process (the order turns round by round, so
no command always runs first), and reads the CPU time (user + system) the process used from the
operating system (os.wait4) beside its wall time. Per command it prints the median CPU and wall
seconds over the rounds, and the median of each round's ratio to the baseline started in the
same round: the baseline is the floor any typer command over numpy pays, and the ratio moves
less with the machine's load than the seconds do.

The children run with bytecode caching on (PYTHONDONTWRITEBYTECODE removed), and one start of
each before the rounds writes the .pyc files: an installed package has them, and compiling 60
modules from source would add about 70 ms to every start.

Not a unit test: a machine's figures for a person. Quote them with the host's state printed at
the start and the end: the load average, and the share of the CPUs other processes used while
the rounds ran.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The first answer timed: README's first costing example (Costing, finance teams).
COST = (
    "cost --train 7e9:2e12 --profile ascend-910b --tflops 250 --price 90 --currency CNY"
    " --subsidy hangzhou-2024 --devices 256 --scaling-efficiency 0.85"
)
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
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: modules load from cached bytecode
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


class Host:
    """The host's state around the rounds: load average, and the CPU time other processes used
    (/proc/stat's busy time less this process's and its children's), over the CPUs' capacity."""

    def __init__(self) -> None:
        self.start = self._sample()

    @staticmethod
    def _sample() -> tuple[float, float | None, float]:
        own = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        ours = own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
        busy: float | None = None
        try:
            fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
            # user nice system irq softirq steal: all but idle and iowait
            ticks = sum(int(fields[i]) for i in (0, 1, 2, 5, 6, 7))
            busy = ticks / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            pass
        return time.monotonic(), busy, ours

    @staticmethod
    def line(when: str) -> str:
        one, five, fifteen = os.getloadavg()
        cpus = len(os.sched_getaffinity(0))
        return f"load average {when}: {one:.2f} {five:.2f} {fifteen:.2f} ({cpus} CPUs)"

    def others(self) -> str:
        """The share of the CPUs other processes used since the start, as a line."""
        (t0, b0, o0), (t1, b1, o1) = self.start, self._sample()
        if b0 is None or b1 is None or t1 <= t0:
            return "other processes' CPU: unknown (no /proc/stat)"
        cpus = len(os.sched_getaffinity(0))
        share = max(0.0, (b1 - b0) - (o1 - o0)) / ((t1 - t0) * cpus)
        return f"other processes used {share:.0%} of the {cpus} CPUs during the rounds"


def probes(trees: dict[str, Path], pythons: dict[str, str], commands: list[str]) -> list[Probe]:
    out: list[Probe] = []
    for name in trees:
        python = pythons.get(name, sys.executable)
        if all(p.python != python for p in out):  # one baseline per interpreter
            label = "baseline" if python == sys.executable else f"baseline ({name})"
            out.append(Probe(label, (python, "-c", BASELINE), None, python))
    for n, command in enumerate(commands, 1):
        for name, src in trees.items():
            python = pythons.get(name, sys.executable)
            label = name if len(commands) == 1 else f"{name} #{n}"
            out.append(Probe(label, (python, "-m", "subsidybench", *command.split()), src, python))
    return out


def spread(values: list[float]) -> float:
    """The interquartile range over the median: how far apart the rounds were."""
    q1, _, q3 = statistics.quantiles(values, n=4)
    return (q3 - q1) / statistics.median(values)


def rounds(probes_: list[Probe], n: int) -> dict[str, list[Sample]]:
    """`n` rounds, each starting every probe once, in an order that turns round by round."""
    for p in probes_:
        timed(p)  # one start each first: .pyc written, the files' pages in the cache for all
    found: dict[str, list[Sample]] = {p.name: [] for p in probes_}
    for i in range(n):
        turn = i % len(probes_)
        for p in probes_[turn:] + probes_[:turn]:
            found[p.name].append(timed(p))
    return found


def report(found: dict[str, list[Sample]], probes_: list[Probe]) -> None:
    """Per probe: median CPU and wall seconds, their spread, and the median of each round's ratio
    to its own interpreter's baseline."""
    base_of = {p.python: p.name for p in probes_ if p.src is None}
    print(
        f"{'command':<24} {'CPU s':>6} {'wall s':>6} {'IQR/med':>13}"
        f" {'CPU/base':>8} {'wall/base':>9}"
    )
    print(f"{'':<24} {'median':>6} {'median':>6} {'CPU   wall':>13} {'median of rounds':>18}")
    for p in probes_:
        samples = found[p.name]
        cpus, walls = [s.cpu_s for s in samples], [s.wall_s for s in samples]
        row = (
            f"{p.name:<24} {statistics.median(cpus):6.3f} {statistics.median(walls):6.3f}"
            f" {spread(cpus):6.0%} {spread(walls):6.0%}"
        )
        if p.src is not None:
            base = found[base_of[p.python]]
            # Ratios taken round by round: each against the baseline of its own round.
            r_cpu = statistics.median(s.cpu_s / b.cpu_s for s, b in zip(samples, base, strict=True))
            r_wall = statistics.median(
                s.wall_s / b.wall_s for s, b in zip(samples, base, strict=True)
            )
            row += f" {r_cpu:7.2f}x {r_wall:8.2f}x"
        print(row)


def measure_and_report(probes_: list[Probe], n: int) -> None:
    """The host's state before and after, `n` paired rounds of the probes, and their table."""
    print(Host.line("at the start"))
    host = Host()
    found = rounds(probes_, n)
    print(Host.line("at the end"))
    print(f"{host.others()}; medians of {n} rounds")
    report(found, probes_)


def add_tree_option(parser: argparse.ArgumentParser) -> None:
    """--tree NAME=SRC, repeatable: the source trees timed side by side."""
    parser.add_argument(
        "--tree",
        action="append",
        default=[],
        metavar="NAME=SRC",
        help="a source tree to time (its src/ folder); repeatable (default: this=./src)",
    )


def trees_given(parser: argparse.ArgumentParser, given: list[str]) -> dict[str, Path]:
    """The --tree values by name, each checked to hold the package (default: this tree)."""
    trees = {name: Path(src) for name, src in (t.split("=", 1) for t in given)}
    trees = trees or {"this": ROOT / "src"}
    for name, src in trees.items():
        if not (src / "subsidybench" / "__init__.py").is_file():
            parser.error(f"--tree {name}: {src} holds no subsidybench package")
    return trees


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=11, help="rounds (default 11; medians of these)")
    add_tree_option(parser)
    parser.add_argument(
        "--python",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="the interpreter a tree runs with (default: this one), e.g. a venv's",
    )
    parser.add_argument(
        "--args",
        action="append",
        default=[],
        help=f"subsidybench arguments; repeatable (default: {COST})",
    )
    args = parser.parse_args()
    if args.n < 4:
        parser.error("-n: at least 4 rounds (a median and quartiles)")
    trees = trees_given(parser, args.tree)
    pythons = dict(p.split("=", 1) for p in args.python)
    for name in pythons:
        if name not in trees:
            parser.error(f"--python {name}: no --tree of that name")
    commands = args.args or [COST]
    found_probes = probes(trees, pythons, commands)
    for n, command in enumerate(commands, 1):
        print(f"#{n}: subsidybench {command}" if len(commands) > 1 else f"subsidybench {command}")
    for name, src in trees.items():
        print(f"tree {name}: {src} with {pythons.get(name, sys.executable)}")
    measure_and_report(found_probes, args.n)


if __name__ == "__main__":
    main()
