"""A run as a table: one row per workload result, with statistics and rates computed from the
raw samples (`show --csv`). Torch-free; pandas is imported only when a frame is wanted.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from subsidybench.results.detectable import detectable_alone
from subsidybench.results.record import RunResult

if TYPE_CHECKING:
    import pandas as pd


def to_dataframe(run: RunResult) -> pd.DataFrame:
    """One row per workload result, with statistics and rates computed from the raw samples."""
    import pandas as pd  # pandas costs ~0.3 s to import; only pay it when a frame is wanted

    rows = []
    for r in run.results:
        m, w, v = r.measurement, r.work, r.verdict
        row: dict[str, Any] = {
            "id": r.id,
            "workload": r.workload,
            "family": r.family,
            "dtype": r.dtype.value,
            "status": r.status.value,
            "reason": r.reason,
            "compiled": r.compiled,
            "params": json.dumps(dict(r.params), sort_keys=True),
            "valid": v.valid if v else None,
            "verdict": str(v) if v else None,
            "flops_per_step": w.flops if w else None,
            "bytes_per_step": w.bytes if w else None,
            "items_per_step": w.items if w else None,
            "item_unit": w.item_unit if w else None,
            # The figure `show` and `compare` print (the rounds' geometric mean of medians),
            # and the smallest change a comparison with a run like this one could call.
            "seconds_per_step": r.seconds_per_step,
            "detectable": detectable_alone(m) if m else None,
            "flops_per_s": r.flops_per_s,
            "bytes_per_s": r.bytes_per_s,
            "items_per_s": r.items_per_s,
            "peak_memory_bytes": r.peak_memory_bytes,
        }
        stats = (
            m.statistics()
            if m
            else dict.fromkeys(
                (
                    "n",
                    "median_s",
                    "q1_s",
                    "q3_s",
                    "iqr_s",
                    "min_s",
                    "max_s",
                    "mean_s",
                    "stdev_s",
                    "cv",
                    "rounds",
                    "round_spread",
                )
            )
        )
        row.update(stats)
        row.update({f"metric.{k}": val for k, val in r.metrics.items()})
        rows.append(row)
    return pd.DataFrame(rows)
