"""A synthetic history built from real raw samples, resampled: tests/data/ci-v3-quiet-run.json,
the ci suite (v3) on a quiet 2-core Xeon (2026-11), every verdict valid.

Each run draws every workload's samples with replacement from the baseline's own samples and
scales them by a per-run factor (lognormal, `run_noise`), the between-process noise a real
history has on top of the within-run spread. Steps are planted by scaling one workload's samples
from a given run on. Also used by bench/measure_history.py.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from subsidybench.results.record import RunResult, RunState, load_run
from subsidybench.timing import TimingPolicy, judge

BASELINE = Path(__file__).resolve().parent / "data" / "ci-v3-quiet-run.json"
START = datetime(2026, 11, 1, tzinfo=UTC)


def commit_of(k: int) -> str:
    return hashlib.sha1(f"commit {k}".encode()).hexdigest()


def synthetic_runs(
    n: int,
    *,
    steps: Mapping[str, tuple[int, float]] | None = None,
    invalid: Mapping[str, tuple[int, ...]] | None = None,
    run_noise: float = 0.02,
    seed: int = 0,
    environment_changes: Mapping[str, object] | None = None,
) -> Iterator[tuple[str, RunResult]]:
    """(commit, run) for runs 0..n-1, an hour apart. `steps`: workload id -> (first run after
    the step, factor on its times). `invalid`: workload id -> runs whose samples are made so
    spread out that the verdict is invalid."""
    base = load_run(BASELINE)
    rng = np.random.default_rng(seed)
    steps = steps or {}
    invalid = invalid or {}
    env = replace(base.environment, **(environment_changes or {}))
    for k in range(n):
        results = []
        for r in base.results:
            if r.measurement is None:
                results.append(r)
                continue
            raw = np.asarray(r.measurement.samples_s)
            samples = rng.choice(raw, size=len(raw)) * np.exp(rng.normal(0.0, run_noise))
            at, factor = steps.get(r.id, (n, 1.0))
            if k >= at:
                samples = samples * factor
            if k in invalid.get(r.id, ()):
                samples = samples * np.linspace(0.5, 3.0, len(samples))
            m = replace(r.measurement, samples_s=tuple(float(s) for s in samples))
            policy = r.policy or TimingPolicy()
            # The host's load is the baseline's, not this synthetic run's: not judged again.
            verdict = judge(m, policy)
            results.append(replace(r, measurement=m, verdict=verdict, foreign_cpu=None))
        started = (START + timedelta(hours=k)).isoformat()
        yield (
            commit_of(k),
            replace(
                base,
                environment=env,
                started=started,
                finished=started,
                state=RunState.COMPLETE,
                results=tuple(results),
            ),
        )
