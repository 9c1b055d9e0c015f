"""The results table: one row per workload result, measured figures beside their verdict."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from subsidybench.provenance import Basis

if TYPE_CHECKING:
    import pandas as pd

    from subsidybench.report.tables import LabelledRun


def results_table(runs: Sequence[LabelledRun]) -> pd.DataFrame:
    import pandas as pd

    rows = []
    for lr in runs:
        for r in lr.run.results:
            m, w, v = r.measurement, r.work, r.verdict
            rows.append(
                {
                    "run": lr.label,
                    "id": r.id,
                    "workload": r.workload,
                    "dtype": r.dtype.value,
                    "compiled": r.compiled,
                    "status": r.status.value,
                    "n": m.n if m else None,
                    "median_s": m.median if m else None,
                    "q1_s": m.q1 if m else None,
                    "q3_s": m.q3 if m else None,
                    "spread": m.spread if m else None,
                    "flops_per_s": r.flops_per_s if w and w.flops else None,
                    "bytes_per_s": r.bytes_per_s if w and w.bytes else None,
                    "items_per_s": r.items_per_s,
                    "item_unit": w.item_unit if w else "",
                    "valid": v.valid if v else None,
                    "verdict": str(v) if v else "",
                    "basis": Basis.MEASURED.value if r.ok else "",
                    "note": r.reason,
                }
            )
    return pd.DataFrame(rows, columns=_RESULT_COLUMNS)


_RESULT_COLUMNS = [
    "run",
    "id",
    "workload",
    "dtype",
    "compiled",
    "status",
    "n",
    "median_s",
    "q1_s",
    "q3_s",
    "spread",
    "flops_per_s",
    "bytes_per_s",
    "items_per_s",
    "item_unit",
    "valid",
    "verdict",
    "basis",
    "note",
]
