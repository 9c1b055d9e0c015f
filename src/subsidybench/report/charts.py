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
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from subsidybench.errors import UserError
from subsidybench.report.display import short_id
from subsidybench.report.i18n import ENGLISH, Messages

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
    row_of = {id_: k for k, id_ in enumerate(ids)}
    if "valid" not in frame:
        frame = frame.assign(valid=True)
    if low and high:
        frame = frame.assign(_ranged=frame[low].notna() & frame[high].notna())
    else:
        frame = frame.assign(_ranged=False)
    # One barh call per run, validity and error bar or not, not one per bar: 40 runs of 23
    # workloads made 920 bar containers, and drawing them was a third of a 40-run report.
    for i, run in enumerate(runs):
        sub = frame[frame["run"] == run]
        for (valid, ranged), part in sub.groupby([sub["valid"].astype(bool), "_ranged"]):
            v = part[value].astype(float) * scale
            err = None
            if ranged:
                err = [
                    (v - part[low].astype(float) * scale).clip(lower=0.0).to_numpy(),
                    (part[high].astype(float) * scale - v).clip(lower=0.0).to_numpy(),
                ]
            ax.barh(
                [row_of[id_] + (i - (n_runs - 1) / 2) * height for id_ in part["id"]],
                v.to_numpy(),
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


def _throughput(report: Report, m: Messages) -> list[Chart]:
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
            title=m("chart.throughput_title"),
            xlabel=m("chart.throughput_x"),
            scale=1e-9,
            low="low",
            high="high",
        )
        charts.append(
            Chart(
                "throughput",
                m("chart.throughput"),
                svg,
                m("chart.throughput_caption"),
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
            title=m("chart.bandwidth_title"),
            xlabel=m("chart.bandwidth_x"),
            scale=1e-9,
            low="low",
            high="high",
        )
        charts.append(Chart("bandwidth", m("chart.bandwidth"), svg, m("chart.bandwidth_caption")))
    return charts


def _of_peak(report: Report, m: Messages) -> Chart | None:
    frame = report.utilisation[report.utilisation["of_peak"].notna()]
    if frame.empty:
        return None
    svg = _grouped_bars(
        frame,
        "of_peak",
        order=list(report.results["id"]),
        key="of_peak",
        title=m("chart.of_peak_title"),
        xlabel=m("chart.of_peak_x"),
        scale=100.0,
        reference=100.0,
    )
    return Chart(
        "of_peak",
        m("chart.of_peak"),
        svg,
        m("chart.of_peak_caption"),
    )


def _cost(report: Report, m: Messages) -> Chart | None:
    if report.costs.empty:
        return None
    frame = report.costs.assign(valid=True)
    cur = m.currency(report.currency)
    svg = _grouped_bars(
        frame,
        "net_per_pflop_hour",
        order=list(report.results["id"]),
        key="cost",
        title=m("chart.cost_title", currency=cur),
        xlabel=m("chart.cost_x", currency=cur),
    )
    return Chart("cost", m("chart.cost"), svg, m("chart.cost_caption"))


def _sweep(report: Report, m: Messages) -> Chart | None:
    if report.sweep.empty:
        return None
    frame = report.sweep
    cur = m.currency(report.currency)
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
        m("chart.sweep_x")
        + (m("chart.sweep_dotted", programme=report.programme) if report.programme else "")
    )
    ax.set_ylabel(m("chart.sweep_y", currency=cur))
    ax.set_title(m("chart.sweep_title"), loc="left", fontsize=11)
    ax.set_xlim(0, 100)
    ax.set_ylim(bottom=0)
    ax.grid(color="#dddddd", linewidth=0.6)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return Chart("sweep", m("chart.sweep"), figure_svg(fig, "sweep"), m("chart.sweep_caption"))


# Chinese text needs a CJK font (Debian: fonts-noto-cjk); glyphs are drawn as paths, so the page
# does not need the font, only the machine that makes the report. DejaVu Sans comes first for
# Latin text, so English charts are unchanged; a glyph it lacks falls back to the next family.
_CJK_FONTS = ["DejaVu Sans", "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC"]


def _cjk_font() -> str:
    """The first CJK family matplotlib can use. A font installed after matplotlib built its font
    cache is not in it: such fonts are added from the system's font directories; without any,
    Chinese charts would show empty boxes, so the report is refused with what to install."""
    from matplotlib import font_manager

    for attempt in range(2):
        known = {f.name for f in font_manager.fontManager.ttflist}
        for name in _CJK_FONTS[1:]:
            if name in known:
                return name
        if attempt == 0:
            for path in font_manager.findSystemFonts():
                if any(tag in Path(path).name for tag in ("CJK", "SourceHanSans", "NotoSansSC")):
                    font_manager.fontManager.addfont(path)
    raise UserError(
        "--lang zh: charts need a Chinese font and none was found: install one"
        " (Debian: apt-get install fonts-noto-cjk)"
    )


def render_charts(report: Report, m: Messages = ENGLISH) -> list[Chart]:
    """Every chart the report's data supports, in reading order."""
    from subsidybench.report.serving_chart import serving_charts

    settings: dict[str, Any] = {}
    if m.lang == "zh":
        # Named families, not the generic "sans-serif": matplotlib falls back glyph by glyph
        # only along the font.family list, and a generic family resolves to one font.
        settings = {"font.family": ["DejaVu Sans", _cjk_font()]}
    with matplotlib.rc_context(settings):
        charts: list[Chart] = [*_throughput(report, m)]
        for make in (_of_peak, _cost, _sweep, _tornado):
            chart: Any = make(report, m)
            if chart is not None:
                charts.append(chart)
        charts.extend(serving_charts(report))
    return charts


def _tornado(report: Report, m: Messages) -> Chart | None:
    """What moves each run's cost per PFLOP-hour most: each uncertain input from its P10 to its
    P90, the others at P50 (cost.uncertainty), one panel per run's reference result."""
    if not report.ranges:
        return None
    panels = [(label, r) for label, r in report.ranges if r is not None and r.tornado]
    if not panels:
        return None
    rows = sum(len(r.tornado) for _, r in panels)
    fig = Figure(figsize=(9.0, 1.0 + 0.45 * rows + 0.6 * len(panels)))
    axes = fig.subplots(len(panels), 1, squeeze=False)[:, 0]
    for ax, (label, r) in zip(axes, panels, strict=True):
        centre = r.figures[r.headline][2]
        for i, bar in enumerate(r.tornado):
            low, high = sorted((bar.at_low, bar.at_high))
            ax.barh(i, high - low, left=low, color=COLOURS[0], height=0.6)
            ax.text(high, i, f"  {bar.low:,.4g} - {bar.high:,.4g}", va="center", fontsize=8)
        ax.axvline(centre, color="#999999", linestyle="--", linewidth=1)
        ends = [x for bar in r.tornado for x in (bar.at_low, bar.at_high)]
        span = (max(ends) - min(ends)) or abs(centre) * 0.01 or 1.0
        ax.set_xlim(min(ends) - 0.05 * span, max(ends) + 0.35 * span)  # room for the labels
        ax.set_yticks(range(len(r.tornado)), [b.label for b in r.tornado], fontsize=8)
        ax.invert_yaxis()
        ax.set_title(f"{label}", loc="left", fontsize=10)
        ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    axes[-1].set_xlabel(m("chart.tornado_x", currency=m.currency(report.currency)))
    fig.suptitle(m("chart.tornado_title"), x=0.01, ha="left", fontsize=11)
    fig.tight_layout()
    return Chart(
        "tornado", m("chart.tornado"), figure_svg(fig, "tornado"), m("chart.tornado_caption")
    )
