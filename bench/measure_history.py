"""How long the results store and the history site take at scale: N runs (default 1,000).

    python bench/measure_history.py [--runs 1000] [--store URL] [--keep DIR]

Builds N synthetic runs of the ci suite from a quiet run's raw samples (tests/
history_runs.py: resampled, 2% per-run noise, 15% steps planted in two workloads at N*0.4 and
N*0.7), writes them as run files, then times, separately: adding every file to a fresh store
(validation included, one transaction per run, as `store add` does), reading the history back,
finding steps, and rendering the site. Prints the steps found, so a reader sees whether the
detector held up at this length. Each figure is wall time and, in brackets, this process's CPU
time: on a shared machine the second is the one that does not depend on the neighbours. Not a
test: the figures depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

from history_runs import synthetic_runs  # noqa: E402

from subsidybench.report.history_site import render_site  # noqa: E402
from subsidybench.results.history import StepMethod, detect_steps  # noqa: E402
from subsidybench.results.record import save_run  # noqa: E402
from subsidybench.results.store import Store, add_files  # noqa: E402
from subsidybench.results.store_keys import store_url  # noqa: E402

MATMUL = "matmul[n=1024,m=1024,k=1024]/fp32"
GPT = "gpt_train[batch=8,seq=128,layers=2,heads=4,dim=128,vocab=2048]/bf16"


class Clock:
    """Wall and CPU seconds since the last `lap`."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def lap(self) -> str:
        wall, cpu = time.perf_counter(), time.process_time()
        text = f"{wall - self.wall:.1f} s (CPU {cpu - self.cpu:.1f} s)"
        self.wall, self.cpu = wall, cpu
        return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--store", default=None, help="an SQLAlchemy URL (default: a new SQLite)")
    parser.add_argument("--keep", type=Path, default=None, help="keep files and site here")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="subsidybench-history-"))
    runs_dir = work / "runs"
    n = args.runs
    steps = {GPT: (int(n * 0.4), 1.15), MATMUL: (int(n * 0.7), 1.15)}

    clock = Clock()
    paths = []
    for k, (_, run) in enumerate(synthetic_runs(n, steps=steps)):
        path = runs_dir / f"{k:05d}.json"
        save_run(run, path)
        paths.append(path)
    print(f"{n} run files written in {clock.lap()} (not part of the add)")

    url = args.store or store_url(work / "history.sqlite")
    with Store(url) as store:
        clock.lap()
        added = add_files(store, paths)
        assert all(a.new for a in added)
        print(f"store add: {n} runs in {clock.lap()}, validation included, into {store.where}")
        again = add_files(store, paths[:100])
        print(
            f"store add again: 100 runs already there in {clock.lap()},"
            f" {sum(a.new for a in again)} added"
        )
        frame = store.history()
        print(f"history read: {len(frame)} rows in {clock.lap()}")
    method = StepMethod()
    clock.lap()
    found = detect_steps(frame, method)
    print(f"steps found in {clock.lap()} ({method.describe()}):")
    for s in found:
        print(f"  {s.workload}: run {s.run}, {s.describe()}, p={s.p_value:.2g}")
    print(f"  planted: {GPT} at run {steps[GPT][0] + 1}, {MATMUL} at run {steps[MATMUL][0] + 1}")
    clock.lap()
    site = render_site(frame, found, method, work / "site", source=url)
    took = clock.lap()
    size = sum(p.stat().st_size for p in site.pages) / 2**20
    print(
        f"site: {site.charts} charts, {len(site.pages)} pages, {size:.1f} MiB, rendered in"
        f" {took}: {site.pages[0]}"
    )


if __name__ == "__main__":
    main()
