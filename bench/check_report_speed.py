"""How long `subsidybench report` takes on 1 run and on 40: CPU and wall time, tree against tree.

    python bench/check_report_speed.py                                # this tree
    python bench/check_report_speed.py --tree before=/tmp/main/src     # and another, paired

The runs are copies of one real run file (tests/data/ci-v3-quiet-run.json: the ci suite's 23
workloads on this machine's CPU), named run-01.json, run-02.json, ...: a report labels a run by
its file name, so 40 copies are 40 runs to the report. Each round starts the report once per
tree and run count, as a fresh process, beside `python -c "import numpy, typer"` (the
baseline), in an order that turns round by round; the CPU time (user + system) comes from the
kernel's accounting of the child (os.wait4). Prints the median CPU and wall seconds of each,
their spread, and the median of each round's ratio to the baseline (check_startup.report).

To see where the time goes in one of them:

    python -m cProfile -s cumtime -m subsidybench report /tmp/runs/run-*.json --price 2 \
        --currency USD --out /tmp/rep | head -60

(--keep DIR leaves the copies there.) On a machine with a second CPU a forked child draws the bar
charts and half of the bootstraps (report/alongside.py), and cProfile sees only the parent:
`taskset -c 0 python -m cProfile ...` keeps every part in one process.

Not a unit test: a machine's figures for a person; quote them with the host's state printed at
the start and the end.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from check_startup import BASELINE, ROOT, Probe, add_tree_option, measure_and_report, trees_given

RUN = ROOT / "tests" / "data" / "ci-v3-quiet-run.json"
ARGS = "--price 2 --currency USD"


def copies(source: Path, n: int, into: Path) -> list[Path]:
    """`n` copies of `source` in `into`, one file name each."""
    into.mkdir(parents=True, exist_ok=True)
    paths = [into / f"run-{i:02d}.json" for i in range(1, n + 1)]
    for path in paths:
        shutil.copyfile(source, path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=5, help="rounds (default 5; medians of these)")
    parser.add_argument("--runs", default="1,40", help="run counts to report on (default 1,40)")
    add_tree_option(parser)
    parser.add_argument(
        "--run-file", type=Path, default=RUN, help=f"the run file copied (default {RUN})"
    )
    parser.add_argument("--args", default=ARGS, help=f"report's other arguments (default: {ARGS})")
    parser.add_argument("--keep", type=Path, default=None, help="leave the copies in this folder")
    args = parser.parse_args()
    if args.n < 4:
        parser.error("-n: at least 4 rounds (a median and quartiles)")
    counts = [int(c) for c in args.runs.split(",")]
    trees = trees_given(parser, args.tree)
    work = Path(tempfile.mkdtemp(prefix="report-speed-"))
    runs_dir = args.keep or work / "runs"
    files = copies(args.run_file, max(counts), runs_dir)
    probes = [Probe("baseline", (sys.executable, "-c", BASELINE), None, sys.executable)]
    probes += [
        Probe(
            f"{name}, {count} run{'s' if count > 1 else ''}",
            (
                sys.executable,
                "-m",
                "subsidybench",
                "report",
                *map(str, files[:count]),
                *args.args.split(),
                "--out",
                str(work / f"out-{name}-{count}"),
            ),
            src,
            sys.executable,
        )
        for count in counts
        for name, src in trees.items()
    ]
    print(f"report {args.args} on copies of {args.run_file.name}")
    for name, src in trees.items():
        print(f"tree {name}: {src}")
    measure_and_report(probes, args.n)
    print(f"outputs in {work}")


if __name__ == "__main__":
    main()
