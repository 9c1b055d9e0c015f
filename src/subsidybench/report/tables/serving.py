"""The serving table: every point of each run's serving curve (results.serving), its speeds,
latencies and prefill share, the Pareto front and the SLO point, and, where the run has a
price, cost per million tokens before and after the programme, asked of the one resolver as
`cost --serve` asks it (cost.serving). Invalid points are shown, never costed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from subsidybench.cost.inputs import flag_of
from subsidybench.errors import UserError
from subsidybench.provenance import Assumption, Basis
from subsidybench.report.tables.costs import Priced
from subsidybench.results.serving import Slo, curves, goodput

if TYPE_CHECKING:
    import pandas as pd

    from subsidybench.report.tables import LabelledRun

SERVED_TOKENS = 1e6
"""The job each point is costed on: a million output tokens, on one device."""


def serving_table(
    runs: Sequence[LabelledRun],
    priced: Sequence[Priced],
    slo: Slo | None,
    notes: list[str],
) -> tuple[pd.DataFrame, list[tuple[str, Assumption]]]:
    """One row per point of every run's serving curve, and the assumptions behind its costs."""
    import pandas as pd

    from subsidybench.cost.serving import SPLIT_RULE, curve_label, describe_slo
    from subsidybench.cost.serving_answer import curve_costs

    by_run = {p.lr.label: p for p in priced if not p.estimated}
    rows: list[dict[str, Any]] = []
    assumptions: list[tuple[str, Assumption]] = []
    for lr in runs:
        # Each point's verdict as the results table states it ("invalid: reasons"), so the
        # serving rows carry the same mark and reason wherever they are read (csv, xlsx, page).
        verdicts = {r.id: str(r.verdict) if r.verdict else "" for r in lr.run.results}
        try:
            found = curves(lr.run.results, whole_model=True)
        except UserError as e:
            notes.append(f"{lr.label}: no serving curve: {e}")
            continue
        for curve in found:
            label = curve_label(curve)
            valid = [p for p in curve.points if p.valid]
            chosen = None
            if slo is not None:
                chosen = goodput(valid, slo).point
                if chosen is None:
                    notes.append(
                        f"{lr.label}: no valid point of {label} meets the SLO ({describe_slo(slo)})"
                    )
            scenario = _scenario(by_run.get(lr.label), curve, notes)
            costs, _ = curve_costs(scenario, curve, slo, chosen, costed=valid)
            basis = "derived: whole model from its layers" if curve.derived else "measured"
            for row in costs.rows():
                rows.append(
                    {
                        "run": lr.label,
                        "curve": label,
                        **row,
                        "verdict": verdicts.get(row["result_id"], ""),
                        "currency": None if scenario is None else scenario.currency,
                        "basis": basis,
                    }
                )
            if scenario is not None:
                assumptions.append(
                    (lr.label, Assumption("serving: input and output", SPLIT_RULE, Basis.DERIVED))
                )
                assumptions.append(
                    (
                        lr.label,
                        Assumption(
                            "serving: job costed",
                            f"{SERVED_TOKENS:,.0f} output tokens on one device, at each point",
                            Basis.GIVEN,
                            "the report",
                        ),
                    )
                )
    if slo is not None and rows:
        assumptions.append(("serving", Assumption("SLO", describe_slo(slo), Basis.GIVEN)))
    return pd.DataFrame(rows), assumptions


def _scenario(p: Priced | None, curve: Any, notes: list[str]) -> Any:
    """The run's price and programme, asked as `cost --serve` asks (None: no price known)."""
    from subsidybench.cost.scenario import resolve

    if p is None:
        return None
    request = replace(
        p.request,
        hours=None,
        serve=SERVED_TOKENS,
        workload=curve.points[0].result_id,
        force=True,  # invalid points are shown, and left uncosted by the table
        devices=np.array([1.0]),
    )
    try:
        return resolve(request)
    except UserError as e:  # a report is read beside the command that made it: say flags
        notes.append(f"{p.lr.label}: serving curve not costed: {e.say(flag_of)}")
        return None
