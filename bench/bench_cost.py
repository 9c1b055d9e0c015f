"""The cost model's speed: a sweep of one million scenarios must evaluate in under a second.

One million = 10 subsidy rates x 100 prices x 10 devices (sustained FLOP/s) x 100 training jobs,
evaluated through the same vectorised functions as a single answer and returned as a DataFrame.

    python bench/bench_cost.py                                   # prints the best of 5
    python -m pytest bench/bench_cost.py --benchmark-only        # pytest-benchmark statistics
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from subsidybench.cost.sweep import sweep

TARGET_S = 1.0


def million_scenarios() -> object:
    """10 rates x 100 prices x 10 devices x 100 jobs, capped at 2M per firm (Beijing's cap)."""
    return sweep(
        work=np.linspace(1e21, 1e24, 100),  # training FLOPs of 100 jobs
        per_second=np.linspace(1e14, 1e15, 10),  # sustained FLOP/s of 10 devices
        price_per_hour=np.linspace(5.0, 50.0, 100),
        rate=np.linspace(0.1, 1.0, 10),
        devices=256,
        scaling_efficiency=0.9,
        cap=2e6,
    )


def test_million_scenario_sweep(benchmark) -> None:  # type: ignore[no-untyped-def]
    frame = benchmark(million_scenarios)
    assert len(frame) == 1_000_000  # type: ignore[arg-type]


def main() -> None:
    million_scenarios()  # first call pays for importing pandas
    times = []
    for _ in range(5):
        start = time.perf_counter()
        frame = million_scenarios()
        times.append(time.perf_counter() - start)
    best = min(times)
    print(
        f"{len(frame):,} scenarios: best {best:.3f} s, median {np.median(times):.3f} s "  # type: ignore[arg-type]
        f"(target < {TARGET_S} s)"
    )
    sys.exit(0 if best < TARGET_S else 1)


if __name__ == "__main__":
    main()
