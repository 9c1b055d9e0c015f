"""The sweep table: each run's cost per PFLOP-hour of its headline result across subsidy rates
(0% to 100% by default), at the price the one resolver gave it (report.tables.costs)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from subsidybench.provenance import Assumption, Basis
from subsidybench.report.tables.costs import Priced
from subsidybench.results.query import reference_result

if TYPE_CHECKING:
    import pandas as pd

    from subsidybench.report.tables import LabelledRun
    from subsidybench.results.record import WorkloadResult


def headline(lr: LabelledRun, wanted: str | None) -> WorkloadResult | None:
    """The result the sweep follows: `wanted` (id or name), else the fastest valid matmul."""
    return reference_result(lr.run, wanted)


def sweep_table(
    priced: Sequence[Priced], rates: Sequence[float], wanted: str | None, notes: list[str]
) -> tuple[pd.DataFrame, list[tuple[str, Assumption]]]:
    import pandas as pd

    from subsidybench.cost.evaluate import price_of
    from subsidybench.cost.scenario import resolve
    from subsidybench.cost.sweep import sweep

    frames = []
    for p in priced:
        if p.estimated:
            continue  # the sweep follows measured runs; estimates are in the costs table
        result = headline(p.lr, wanted)
        if result is None:
            if wanted is not None:
                notes.append(
                    f"{p.lr.label}: no valid measured workload {wanted!r}"
                    " to sweep the subsidy rate on"
                )
            continue
        scenario: Any = resolve(replace(p.request, workload=result.id))
        price = price_of(scenario)
        assert price is not None
        frame = sweep(
            device_hours=1.0,
            price_per_hour=price.amount,
            per_second=result.flops_per_s,
            rate=np.asarray(rates, dtype=np.float64),
        )
        if "rate" not in frame:  # one rate given: not an axis of the grid
            frame["rate"] = rates[0]
        frames.append(
            pd.DataFrame(
                {
                    "run": p.lr.label,
                    "id": result.id,
                    "rate": frame["rate"],
                    "price_per_hour": frame["price_per_hour"],
                    "net_price_per_hour": frame["effective_price"],
                    "net_per_pflop_hour": frame["net_per_pflop_hour"],
                    "currency": scenario.currency,
                    "basis": f"{Basis.DERIVED.value}: price x (1 - rate) / measured throughput",
                }
            )
        )
    if not frames:
        return pd.DataFrame(), []
    note = Assumption(
        "caps and pools in the sweep",
        "not applied: they limit a contract's total, not the cost of a unit of work",
        Basis.NOT_APPLIED,
    )
    return pd.concat(frames, ignore_index=True), [("sweep", note)]
