"""Sweeps: the cost model over every combination of several values of its inputs, at once.

Each input given more than one value becomes an axis of an open grid (its own array dimension),
so numpy broadcasting evaluates every combination in one pass through the same vectorised
functions the single answers use (subsidybench.cost.model). A million scenarios take a fraction of a
second (bench/bench_cost.py); the result is a DataFrame with one row per scenario.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from subsidybench.cost.model import (
    MILLION,
    PFLOP_HOUR,
    SECONDS_PER_HOUR,
    Array,
    evaluate_hours,
    evaluate_work,
    owned_hourly_cost,
)
from subsidybench.cost.throughput import WorkUnit
from subsidybench.cost.years import Calendar
from subsidybench.errors import UserError

if TYPE_CHECKING:
    import pandas as pd

_NUMBER = r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?"
# A range must not expand into more points than this: a typo (0:1:1e-9) should fail, not hang.
MAX_RANGE_POINTS = 10_000_000


def parse_values(text: str, flag: str) -> Array:
    """Read a flag's value: one number ("2.5"), a list ("0.1,0.3,1.0") or an inclusive range
    start:stop:step ("0.1:1.0:0.1"). Numbers may be written 7e9. UserError names the flag."""
    text = text.strip()
    if re.fullmatch(rf"{_NUMBER}:{_NUMBER}:{_NUMBER}", text):
        start, stop, step = (float(x) for x in text.split(":"))
        if step <= 0 or stop < start:
            raise UserError(f"{flag}: a range start:stop:step needs step > 0 and stop >= start")
        count = math.floor((stop - start) / step + 1e-9) + 1
        if count > MAX_RANGE_POINTS:
            raise UserError(f"{flag}: {text} makes {count:,} values (at most {MAX_RANGE_POINTS:,})")
        # Computed from an integer index, not accumulated, so 0.1:1.0:0.1 ends at 1.0 exactly.
        return np.round(start + step * np.arange(count), 12)
    parts = [p.strip() for p in text.split(",")]
    if not parts or not all(re.fullmatch(_NUMBER, p) for p in parts):
        raise UserError(
            f"{flag}: expected a number, a list a,b,c or a range start:stop:step, got {text!r}"
        )
    return np.array([float(p) for p in parts])


def open_grid(axes: Mapping[str, ArrayLike]) -> dict[str, Array]:
    """Give each 1-D axis its own dimension (like np.ix_), so arithmetic spans every combination
    without building the full grid until the results are written out."""
    out: dict[str, Array] = {}
    count = len(axes)
    for i, (name, values) in enumerate(axes.items()):
        array = np.asarray(values, dtype=np.float64)
        if array.ndim != 1 or array.size == 0:
            raise UserError(f"sweep axis {name} must be a non-empty list of numbers")
        shape = [1] * count
        shape[i] = array.size
        out[name] = array.reshape(shape)
    return out


def frame(columns: Mapping[str, ArrayLike]) -> pd.DataFrame:
    """One row per combination: every column broadcast to the grid's shape and flattened."""
    import pandas as pd  # pandas costs ~0.4 s to import; only sweeps and file output need it

    arrays = {k: np.asarray(v) for k, v in columns.items()}
    shape = np.broadcast_shapes(*(a.shape for a in arrays.values()))
    return pd.DataFrame({k: np.broadcast_to(a, shape).reshape(-1) for k, a in arrays.items()})


def _split(inputs: Mapping[str, ArrayLike | None]) -> tuple[dict[str, Array], dict[str, float]]:
    """Inputs with several values become axes; single values stay scalars."""
    axes: dict[str, Array] = {}
    scalars: dict[str, float] = {}
    for name, value in inputs.items():
        if value is None:
            continue
        array = np.atleast_1d(np.asarray(value, dtype=np.float64))
        if array.ndim != 1:
            raise UserError(f"sweep input {name} must be a number or a list of numbers")
        if array.size > 1:
            axes[name] = array
        else:
            scalars[name] = float(array[0])
    return axes, scalars


_OWNED = (
    "capex",
    "lifetime_years",
    "cost_of_capital",
    "power_w",
    "pue",
    "tariff_per_kwh",
    "hosting_per_year",
    "utilisation",
)


def sweep(
    *,
    unit: WorkUnit = WorkUnit.FLOPS,
    work: ArrayLike | None = None,
    device_hours: ArrayLike | None = None,
    contract_value: ArrayLike | None = None,
    price_per_hour: ArrayLike | None = None,
    owned: Mapping[str, ArrayLike] | None = None,
    per_second: ArrayLike | None = None,
    mfu: ArrayLike | None = None,
    peak_per_second: float | None = None,
    devices: ArrayLike = 1,
    scaling_efficiency: ArrayLike = 1.0,
    rate: ArrayLike = 0.0,
    cap: ArrayLike = math.inf,
    window_hours: float = math.inf,
    after_rate: ArrayLike = 0.0,
    cap_year: float = math.inf,
    calendar: Calendar | None = None,
) -> pd.DataFrame:
    """Evaluate every combination of the inputs given several values; one row per scenario.

    The job is `work` units (FLOPs or tokens, per `unit`), `device_hours`, or a
    `contract_value`. The price is `price_per_hour` (rent) or `owned` (the arguments of
    cost.owned_hourly_cost). The throughput per device is `per_second`, or `mfu` x
    `peak_per_second`. Every argument may be a number or a 1-D list of numbers.
    """
    if sum(x is not None for x in (work, device_hours, contract_value)) != 1:
        raise UserError("a sweep needs exactly one job: work, device-hours or a contract value")
    if (price_per_hour is None) == (owned is None):
        raise UserError("a sweep needs one price: rent per device-hour, or owned hardware")
    if per_second is not None and mfu is not None:
        raise UserError("give the throughput once: a rate, or an MFU with a peak")
    if mfu is not None and peak_per_second is None:
        raise UserError("an MFU needs the device's peak")
    owned_inputs = dict(owned or {})
    unknown = set(owned_inputs) - set(_OWNED)
    if unknown:
        raise UserError(f"unknown owned-hardware inputs: {', '.join(sorted(unknown))}")
    inputs: dict[str, ArrayLike | None] = {
        "work": work,
        "device_hours_given": device_hours,
        "contract_value": contract_value,
        "price_per_hour": price_per_hour,
        **owned_inputs,
        "per_second": per_second,
        "mfu": mfu,
        "devices": devices,
        "scaling_efficiency": scaling_efficiency,
        "rate": rate,
        "cap": cap,
        "after_rate": after_rate,
    }
    axes, scalars = _split(inputs)
    grid = open_grid(axes)
    value: dict[str, Array | float] = {
        "devices": 1.0,
        "scaling_efficiency": 1.0,
        "rate": 0.0,
        "cap": math.inf,
        "after_rate": 0.0,
        **scalars,
        **grid,
    }

    if owned is not None:
        args = {k: value[k] for k in _OWNED if k in value}
        price: Array | float = owned_hourly_cost(**args)["total"]  # type: ignore[arg-type]
    else:
        price = value["price_per_hour"]
    throughput: Array | float | None
    if "mfu" in value:
        throughput = np.asarray(value["mfu"]) * float(peak_per_second or 0.0)
    else:
        throughput = value.get("per_second")

    subsidy = {
        "rate": value["rate"],
        "cap": value["cap"],
        "window_hours": window_hours,
        "after_rate": value["after_rate"],
        "cap_year": cap_year,
        "calendar": calendar,
    }
    if "work" in value:
        if throughput is None:
            raise UserError("a sweep of a job needs a throughput")
        result = evaluate_work(
            value["work"],
            throughput,
            price,
            value["devices"],
            value["scaling_efficiency"],
            **subsidy,
        )
        done = np.asarray(value["work"])
    else:
        if "device_hours_given" in value:
            hours = np.asarray(value["device_hours_given"])
        else:
            hours = np.asarray(value["contract_value"]) / np.asarray(price)
        wall = hours / np.asarray(value["devices"])
        result = evaluate_hours(hours, wall, price, **subsidy)
        done = (
            None
            if throughput is None
            else hours
            * SECONDS_PER_HOUR
            * np.asarray(throughput)
            * np.asarray(value["scaling_efficiency"])
        )
    columns: dict[str, ArrayLike] = dict(grid)
    columns["price_per_hour"] = np.asarray(price)
    columns.update(result)
    if done is not None:
        if unit is WorkUnit.FLOPS:
            columns["net_per_pflop_hour"] = result["net"] / (done / PFLOP_HOUR)
        else:
            columns["net_per_million_tokens"] = result["net"] / (done / MILLION)
    return frame(columns)
