"""The assumptions table: every input the report rests on, with its basis and source."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from subsidybench.provenance import Assumption, Basis

if TYPE_CHECKING:
    import pandas as pd

    from subsidybench.report.tables import LabelledRun


def assumptions_table(
    runs: Sequence[LabelledRun], cost_assumptions: list[tuple[str, Assumption]]
) -> pd.DataFrame:
    import pandas as pd

    rows: list[dict[str, str]] = []
    seen: set[tuple[str, ...]] = set()

    def add(scope: str, a: Assumption) -> None:
        key = (scope, a.name, a.value, a.basis.value, a.source)
        if key not in seen:
            seen.add(key)
            rows.append({"applies_to": scope, **a.to_dict()})

    for lr in runs:
        add(
            lr.label,
            Assumption(
                "throughput",
                "median seconds per step of the run's raw samples; work per step counted"
                " analytically by each workload",
                Basis.MEASURED,
                f"{Path(lr.path).name}: {lr.run.device.name} ({lr.run.device}),"
                f" suite {lr.run.suite} v{lr.run.suite_version}",
            ),
        )
        for dtype, fig in lr.run.peak_tflops.items():
            if fig.known:
                add(
                    lr.label,
                    Assumption(
                        f"{dtype} dense peak",
                        f"{fig.value:,.6g} TFLOP/s ({fig.basis.value})",
                        fig.basis,
                        f"profile {lr.run.profile}: {fig.source or fig.note}",
                    ),
                )
    for scope, a in cost_assumptions:
        add(scope, a)
    return pd.DataFrame(rows, columns=["applies_to", "name", "value", "basis", "source"])
