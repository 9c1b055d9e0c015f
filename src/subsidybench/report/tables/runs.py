"""The runs table: one row per run file, with its environment."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from subsidybench.report.tables import LabelledRun


def runs_table(runs: Sequence[LabelledRun]) -> pd.DataFrame:
    import pandas as pd

    rows = []
    for lr in runs:
        r, env = lr.run, lr.run.environment
        # The machine's own noise over the run (measure/reference.py); NaN where not taken.
        ref = r.reference.measurement if r.reference else None
        rows.append(
            {
                "run": lr.label,
                "file": Path(lr.path).name,
                "suite": r.suite,
                "suite_version": r.suite_version,
                "method_version": r.method_version,
                "state": r.state.value,
                "started": r.started,
                "device": str(r.device),
                "device_name": r.device.name,
                "profile": r.profile or "",
                "torch": env.torch_version,
                "threads": env.torch_threads,
                "cpu_model": env.cpu_model,
                "os": env.os,
                "toolkit_version": env.toolkit_version,
                "measured_by": ", ".join(f"{k} {v}" for k, v in env.plugins.items())
                if "pytest-benchmark" in env.plugins
                else "subsidybench run",
                "machine_spread": ref.spread if ref else float("nan"),
                "machine_round_spread": ref.round_spread if ref else float("nan"),
            }
        )
    return pd.DataFrame(rows)
