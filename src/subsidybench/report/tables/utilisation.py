"""The utilisation table: each result's FLOP rate against the profile's peak and against the
run's best matmul."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from subsidybench.provenance import Basis

if TYPE_CHECKING:
    import pandas as pd

    from subsidybench.report.tables import LabelledRun

from subsidybench.results.utilisation import utilisation


def utilisation_table(runs: Sequence[LabelledRun]) -> pd.DataFrame:
    import pandas as pd

    rows = []
    for lr in runs:
        valid = {r.id: bool(r.verdict and r.verdict.valid) for r in lr.run.results}
        for rid, u in utilisation(lr.run).items():
            peak = u.peak
            known = peak is not None and peak.value is not None
            rows.append(
                {
                    "run": lr.label,
                    "id": rid,
                    "flops_per_s": u.flops_per_s,
                    "valid": valid[rid],
                    "peak_flops_per_s": peak.value * 1e12 if known and peak else None,
                    "peak_basis": peak.basis.value if peak else "not in the profile",
                    "peak_source": (peak.source or peak.note) if peak else "",
                    "of_peak": u.of_peak,
                    "best_matmul_flops_per_s": u.best_matmul_flops_per_s,
                    "of_best_matmul": u.of_best_matmul,
                    "basis": f"{Basis.DERIVED.value}: measured rate / peak"
                    if known
                    else f"{Basis.DERIVED.value}: measured rate / best matmul of the run",
                }
            )
    columns = [
        "run",
        "id",
        "flops_per_s",
        "valid",
        "peak_flops_per_s",
        "peak_basis",
        "peak_source",
        "of_peak",
        "best_matmul_flops_per_s",
        "of_best_matmul",
        "basis",
    ]
    return pd.DataFrame(rows, columns=columns)
