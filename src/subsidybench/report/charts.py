"""A report's charts, drawn with matplotlib as SVG text to be inlined in the HTML page.

Figures are built with matplotlib.figure.Figure directly, never pyplot, so no GUI backend and no
global figure state are involved: the SVG canvas is picked by the output format, and raster
output, were it wanted, would use Agg the same way. SVG keeps
the page self-contained and sharp at any zoom; text is drawn as paths, so the page does not depend
on the reader's fonts. The XML prolog, DOCTYPE and RDF metadata (which name external URLs) are
removed. Invalid measurements are drawn hatched and pale: they are shown, never hidden.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import matplotlib
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from subsidybench.report.display import short_id

if TYPE_CHECKING:
    import pandas as pd

    from subsidybench.report.tables import Report

# Colour-blind-safe palette (Okabe and Ito, 2008), one colour per run.
COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")
_BAR_HEIGHT_IN = 0.22
# A value range wider than this many times is drawn on a log axis, or the small bars vanish.
_LOG_RANGE = 50.0


@dataclass(frozen=True, slots=True)
class Chart:
    """One chart: a key (its file name stem), a title, the SVG text and a caption."""

    key: str
    title: str
    svg: str
    caption: str


def figure_svg(fig: Figure, key: str) -> str:
    """A matplotlib figure as SVG text to inline in a page: no prolog, no metadata, text as
    paths; ids salted with `key` so that two charts on one page never clash."""
    buf = io.StringIO()
    # A fixed salt per chart keeps ids stable between runs and distinct between charts.
    with matplotlib.rc_context({"svg.hashsalt": f"subsidybench-{key}", "svg.fonttype": "path"}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    text = text[text.index("<svg") :]
    return re.sub(r"\s*<metadata>.*?</metadata>", "", text, flags=re.DOTALL)


def _grouped_bars(
    frame: pd.DataFrame,
    value: str,
    *,
    key: str,
    title: str,
    xlabel: str,
    scale: float = 1.0,
    low: str | None = None,
    high: str | None = None,
    reference: float | None = None,
    order: list[str] | None = None,
) -> str:
    """Horizontal bars: one group per workload id, one bar per run; pale and hatched if invalid.
    Groups follow `order` (ids as the runs list them), else their first appearance in `frame`."""
    runs = list(dict.fromkeys(frame["run"]))
    present = set(frame["id"])
    ids = [i for i in dict.fromkeys([*(order or []), *frame["id"]]) if i in present]
    n_runs = len(runs)
    fig = Figure(figsize=(9.0, 1.2 + _BAR_HEIGHT_IN * len(ids) * max(n_runs, 1) + 0.2 * len(ids)))
    ax = fig.add_subplot()
    height = 0.8 / n_runs
    values = frame[value].astype(float) * scale
    any_invalid = False
    for i, run in enumerate(runs):
        sub = frame[frame["run"] == run]
        for row in sub.itertuples():
            y = ids.index(row.id) + (i - (n_runs - 1) / 2) * height
            v = float(getattr(row, value)) * scale
            valid = bool(getattr(row, "valid", True))
            err = None
            if low and high:
                lo, hi = getattr(row, low), getattr(row, high)
                if lo == lo and hi == hi:  # not NaN
                    err = [[max(v - float(lo) * scale, 0.0)], [max(float(hi) * scale - v, 0.0)]]
            ax.barh(
                y,
                v,
                height=height * 0.9,
                color=COLOURS[i % len(COLOURS)],
                alpha=1.0 if valid else 0.35,
                hatch=None if valid else "//",
                edgecolor="#333333" if not valid else None,
                xerr=err,
                error_kw={"elinewidth": 0.8, "capsize": 2, "ecolor": "#333333"},
            )
            any_invalid = any_invalid or not valid
    ax.set_yticks(range(len(ids)), [short_id(i) for i in ids], fontsize=8)
    ax.invert_yaxis()
    positive = values[values > 0]
    if len(positive) and positive.max() / positive.min() > _LOG_RANGE:
        ax.set_xscale("log")
    if reference is not None:
        ax.axvline(reference, color="#999999", linestyle="--", linewidth=1)
    ax.set_xlabel(xlabel)
    ax.set_title(title, loc="left", fontsize=11)
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    # Legend entries drawn by hand: a run's first bar may be an invalid (pale) one.
    handles = (
        [Patch(facecolor=COLOURS[i % len(COLOURS)], label=run) for i, run in enumerate(runs)]
        if n_runs > 1
        else []
    )
    if any_invalid:
        handles.append(Patch(facecolor="#dddddd", hatch="//", edgecolor="#333333", label="invalid"))
    if handles:
        ax.legend(handles=handles, fontsize=8, loc="best")
    fig.tight_layout()
    return figure_svg(fig, key)


def _throughput(report: Report) -> list[Chart]:
    ok = report.results[report.results["status"] == "ok"]
    charts = []
    compute = ok[ok["flops_per_s"].notna()].copy()
    if not compute.empty:
        # The IQR of times, as a range of rates: rate at q3 (slow blocks) to rate at q1.
        compute["low"] = compute["flops_per_s"] * compute["median_s"] / compute["q3_s"]
        compute["high"] = compute["flops_per_s"] * compute["median_s"] / compute["q1_s"]
        svg = _grouped_bars(
            compute,
            "flops_per_s",
            order=list(report.results["id"]),
            key="throughput",
            title="Compute throughput by workload (measured)",
            xlabel="GFLOP/s (bar: median; whisker: interquartile range of the samples)",
            scale=1e-9,
            low="low",
            high="high",
        )
        charts.append(
            Chart(
                "throughput",
                "Compute throughput",
                svg,
                "Measured FLOP/s per workload; pale hatched bars are invalid measurements.",
            )
        )
    memory = ok[ok["flops_per_s"].isna() & ok["bytes_per_s"].notna()].copy()
    if not memory.empty:
        memory["low"] = memory["bytes_per_s"] * memory["median_s"] / memory["q3_s"]
        memory["high"] = memory["bytes_per_s"] * memory["median_s"] / memory["q1_s"]
        svg = _grouped_bars(
            memory,
            "bytes_per_s",
            key="bandwidth",
            title="Memory throughput (measured)",
            xlabel="GB/s (bar: median; whisker: interquartile range of the samples)",
            scale=1e-9,
            low="low",
            high="high",
        )
        charts.append(
            Chart("bandwidth", "Memory throughput", svg, "Measured bytes moved per second.")
        )
    return charts


def _of_peak(report: Report) -> Chart | None:
    frame = report.utilisation[report.utilisation["of_peak"].notna()]
    if frame.empty:
        return None
    svg = _grouped_bars(
        frame,
        "of_peak",
        order=list(report.results["id"]),
        key="of_peak",
        title="Share of the profile's dense peak (derived)",
        xlabel="% of peak (dashed line: 100%)",
        scale=100.0,
        reference=100.0,
    )
    return Chart(
        "of_peak",
        "% of peak",
        svg,
        "Measured FLOP/s over the device profile's dense peak for the dtype; the peaks and their"
        " sources are in the assumptions.",
    )


def _cost(report: Report) -> Chart | None:
    if report.costs.empty:
        return None
    frame = report.costs.assign(valid=True)
    cur = report.currency
    svg = _grouped_bars(
        frame,
        "net_per_pflop_hour",
        order=list(report.results["id"]),
        key="cost",
        title=f"Net cost per PFLOP-hour of useful work, {cur} (derived)",
        xlabel=f"{cur} per PFLOP-hour at the measured throughput, after the subsidy",
    )
    return Chart(
        "cost",
        "Cost per unit of work",
        svg,
        "Price per device-hour (after the programme's rate, if any) over the PFLOP-hours a"
        " device-hour does at the measured rate. Lower is cheaper.",
    )


def _sweep(report: Report) -> Chart | None:
    if report.sweep.empty:
        return None
    frame = report.sweep
    cur = report.currency
    fig = Figure(figsize=(9.0, 4.2))
    ax = fig.add_subplot()
    for i, run in enumerate(dict.fromkeys(frame["run"])):
        sub = frame[frame["run"] == run]
        colour = COLOURS[i % len(COLOURS)]
        ax.plot(
            sub["rate"] * 100,
            sub["net_per_pflop_hour"],
            marker="o",
            markersize=3,
            color=colour,
            label=f"{run}: {short_id(sub['id'].iloc[0])}",
        )
        rate = report.programme_rates.get(run)
        if rate is not None:
            ax.axvline(rate * 100, color=colour, linestyle=":", linewidth=1)
    ax.set_xlabel(
        "subsidy rate, % of the contract"
        + (f" (dotted: {report.programme}'s rate)" if report.programme else "")
    )
    ax.set_ylabel(f"{cur} per PFLOP-hour")
    ax.set_title(
        "Net cost per PFLOP-hour as the subsidy rate varies (derived)", loc="left", fontsize=11
    )
    ax.set_xlim(0, 100)
    ax.set_ylim(bottom=0)
    ax.grid(color="#dddddd", linewidth=0.6)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return Chart(
        "sweep",
        "Subsidy-rate sweep",
        figure_svg(fig, "sweep"),
        "Each run's reference workload; caps and pools, which limit a contract's total, are not"
        " applied.",
    )


def render_charts(report: Report) -> list[Chart]:
    """Every chart the report's data supports, in reading order."""
    from subsidybench.report.serving_chart import serving_charts

    charts: list[Chart] = [*_throughput(report)]
    for make in (_of_peak, _cost, _sweep):
        chart: Any = make(report)
        if chart is not None:
            charts.append(chart)
    charts.extend(serving_charts(report))
    return charts
