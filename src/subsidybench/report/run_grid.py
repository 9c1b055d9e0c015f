"""A bar chart's figures for more runs than the palette has colours: one cell per run and
workload, coloured by the run's figure over the workload's median across the runs.

Bars of 40 runs in seven colours could not be told apart (the eighth run looked like the first),
and 920 bars made a page 30 inches tall. A grid keeps a run to one column, named below it: a run
slower on everything is a column of one colour, a workload that varies a row of many. The
figures themselves are in the report's tables; each row's median is at its right.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from subsidybench.digits import figure
from subsidybench.report.chart_svg import figure_svg
from subsidybench.report.charts import WIDTH_IN
from subsidybench.report.display import short_id

if TYPE_CHECKING:
    import pandas as pd

# The colour scale's ends, as a factor either side of the median: the smallest of these that
# holds every cell (beyond the last, cells are drawn at the end's colour).
_SPANS = (1.25, 1.5, 2.0, 4.0, 10.0, 100.0, 1000.0)
_MISSING = "#c8c8c8"
"""A cell not measured: darker than the scale's middle (1x, near white)."""
_LABELS_AT_MOST = 60
"""Runs named below the grid; of more, every k-th (the tables name them all)."""


def span_for(ratios: np.ndarray) -> float:
    """The colour scale's end: the first of _SPANS at or beyond every finite ratio's distance
    from 1 (either way), else the last."""
    finite = ratios[np.isfinite(ratios) & (ratios > 0)]
    worst = float(np.max(np.maximum(finite, 1.0 / finite))) if finite.size else 1.0
    return next((s for s in _SPANS if s >= worst), _SPANS[-1])


def factor(value: float) -> str:
    """1.5 -> "1.5x", 0.6667 -> "0.667x", 1000 -> "1,000x"."""
    return f"{figure(value, 3)}x"


def run_grid(
    frame: pd.DataFrame,
    values: np.ndarray,
    *,
    ids: list[str],
    runs: list[str],
    key: str,
    title: str,
    colour_label: str,
    median_label: str,
    invalid: str,
    lower_is_better: bool,
) -> str:
    """The grid as SVG text. `values` are `frame`'s figures (scaled), row by row; `frame` has
    columns run, id and valid. A cell's colour: blue where the run did better than the
    workload's median across its valid runs (higher, or lower where `lower_is_better`), red
    where worse; hatched where invalid; grey where the run did not measure the workload."""
    grid, valid, medians = cells(frame, values, ids, runs)
    ratios = ratios_to(grid, medians)
    span = span_for(ratios)

    # Constrained layout: it makes room for the colour bar and the labels on both sides.
    fig = Figure(figsize=(WIDTH_IN, 2.2 + 0.24 * len(ids)), layout="constrained")
    ax = fig.add_subplot()
    ax.set_facecolor(_MISSING)
    shown = np.ma.masked_invalid(ratios)
    mesh = ax.pcolormesh(
        shown,
        cmap="RdBu_r" if lower_is_better else "RdBu",
        norm=LogNorm(1.0 / span, span, clip=True),
        edgecolors="white",
        linewidth=0.5,
    )
    rows, cols = np.nonzero(~valid & ~np.isnan(grid))
    hatched = [Rectangle((j, i), 1, 1) for i, j in zip(rows, cols, strict=True)]
    for box in hatched:
        box.set(facecolor="none", edgecolor="#333333", hatch="//", linewidth=0)
        ax.add_patch(box)
    ax.set_ylim(len(ids), 0)
    ax.set_xlim(0, len(runs))
    ax.set_yticks(np.arange(len(ids)) + 0.5, [short_id(i) for i in ids])
    step = math.ceil(len(runs) / _LABELS_AT_MOST)
    ax.set_xticks(np.arange(0, len(runs), step) + 0.5, runs[::step], rotation=90, fontsize=7)
    ax.tick_params(length=0)
    right = ax.secondary_yaxis("right")
    right.set_yticks(np.arange(len(ids)) + 0.5, [_median_text(v) for v in medians])
    right.tick_params(length=0)
    right.set_ylabel(median_label)
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)
    ax.set_title(title, loc="left")
    inner = [t for t in (2.0, 10.0, 100.0) if t < span]
    ticks = sorted({1.0, span, 1.0 / span, *inner, *(1.0 / t for t in inner)})
    bar = fig.colorbar(mesh, ax=ax, orientation="horizontal", location="bottom", aspect=40)
    bar.set_ticks(ticks, labels=[factor(t) for t in ticks])
    bar.minorticks_off()
    bar.set_label(colour_label)
    if hatched:
        fig.legend(
            handles=[Patch(facecolor="white", hatch="//", edgecolor="#333333", label=invalid)],
            loc="outside lower right",  # under the colour bar, clear of the title
            frameon=False,
        )
    return figure_svg(fig, key)


def ratios_to(grid: np.ndarray, medians: np.ndarray) -> np.ndarray:
    """Each figure over its row's median, held within the colour scale's widest ends; a figure
    equal to its median is 1 (0 of a 0 median too: a 100% subsidy leaves every cost 0). NaN
    stays NaN (not measured)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = grid / medians[:, None]
    ratios = np.where(grid == medians[:, None], 1.0, ratios)
    return np.clip(ratios, 1.0 / _SPANS[-1], _SPANS[-1])


def cells(
    frame: pd.DataFrame, values: np.ndarray, ids: list[str], runs: list[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The grid's figures (NaN where a run did not measure a workload), whether each is valid,
    and each workload's median: over its valid figures, else over all it has."""
    row = {rid: i for i, rid in enumerate(ids)}
    col = {run: j for j, run in enumerate(runs)}
    grid = np.full((len(ids), len(runs)), np.nan)
    valid = np.ones_like(grid, dtype=bool)
    for rid, run, v, ok in zip(frame["id"], frame["run"], values, frame["valid"], strict=True):
        grid[row[rid], col[run]] = v
        valid[row[rid], col[run]] = bool(ok)
    medians = np.array([_median(grid[i], valid[i]) for i in range(len(ids))])
    return grid, valid, medians


def _median(values: np.ndarray, valid: np.ndarray) -> float:
    """A workload's median over the runs that measured it validly, else over all that did."""
    measured = ~np.isnan(values)
    pick = values[measured & valid] if np.any(measured & valid) else values[measured]
    return float(np.median(pick)) if pick.size else math.nan


def _median_text(value: float) -> str:
    return "-" if math.isnan(value) else figure(value, 3)
