"""A report's charts, drawn with matplotlib as SVG text to be inlined in the HTML page.

Figures are built with matplotlib.figure.Figure directly, never pyplot, so no GUI backend and no
global figure state are involved: the SVG canvas is picked by the output format, and raster
output, were it wanted, would use Agg the same way. SVG keeps
the page self-contained and sharp at any zoom; text is drawn as paths, so the page does not depend
on the reader's fonts. The XML prolog, DOCTYPE and RDF metadata (which name external URLs) are
removed. Invalid measurements are drawn hatched and pale: they are shown, never hidden.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from subsidybench.errors import UserError
from subsidybench.report.chart_svg import figure_svg
from subsidybench.report.display import short_id
from subsidybench.report.i18n import ENGLISH, INPUT_NAMES, Messages

if TYPE_CHECKING:
    import pandas as pd

    from subsidybench.report.tables import Report

# Colour-blind-safe palette (Okabe and Ito, 2008), one colour per run.
COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")
# Charts are drawn for the page's width: 6.4 in (614 px) fills a phone's 366 px at 0.6, where
# 9-point text still reads at 7 px; a desktop shows them at their own size.
_WIDTH_IN = 6.4
_BAR_HEIGHT_IN = 0.16
_BAR_HEIGHT = 0.85
"""A bar's thickness, in slots (one slot per bar)."""
_ERROR_STYLE = {"elinewidth": 0.8, "capsize": 2, "ecolor": "#333333"}
_GROUP_GAP = 0.6
"""The gap between two workloads' bars, in bar heights."""
_TOP_AXIS_FROM = 12
"""A bar chart of more bars than this repeats its value axis at the top."""
# A value range wider than this many times is drawn on a log axis, or the small bars vanish.
_LOG_RANGE = 50.0
_LEGEND_INSIDE = 7
"""A sweep panel of more lines than this (one per run; the palette's seven colours) has its
legend below the axes: 40 entries in the panel stood 7 in tall in a 4.4 in figure, and
tight_layout gave up with a warning."""
STYLE = {
    "font.size": 9,
    "axes.titlesize": 10.5,
    "axes.labelsize": 9,
    "xtick.labelsize": 8.5,
    "ytick.labelsize": 8.5,
    "legend.fontsize": 8.5,
    "axes.formatter.useoffset": False,
    "axes.axisbelow": True,
}
"""Every chart's text sizes (report, serving and history charts), and no offset notation."""


@dataclass(frozen=True, slots=True)
class Chart:
    """One chart: a key (its file name stem), a title, the SVG text and a caption."""

    key: str
    title: str
    svg: str
    caption: str


def plain(value: float) -> str:
    """2,000,000 / 1,500 / 0.25: thousands separated, never 2e+06."""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:,.6g}"


def plain_numbers(ax: Any, axis: str = "x") -> None:
    """Tick labels as plain numbers with thousands separators: never an offset ("1e6" at the
    axis end), never a power of ten a reader must apply in their head, on log axes too."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_formatter(FuncFormatter(lambda v, _: plain(v)))
    if (ax.get_xscale() if axis == "x" else ax.get_yscale()) == "log":
        target.set_minor_formatter(NullFormatter())


def _slots(frame: pd.DataFrame, ids: list[str], runs: list[str]) -> dict[tuple[str, str], float]:
    """Each bar's y: a workload's bars side by side, only for the runs that measured it (no
    empty slot, so a bar never sits beside another workload's label), groups a gap apart."""
    have = set(zip(frame["id"], frame["run"], strict=True))
    y, out = 0.0, {}
    for rid in ids:
        present = [run for run in runs if (rid, run) in have]
        for run in present:
            out[(rid, run)] = y
            y += 1.0
        y += _GROUP_GAP
    return out


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
    invalid: str = "invalid",
) -> str:
    """Horizontal bars: one group per workload id, one bar per run that measured it; pale and
    hatched if invalid. Groups follow `order` (ids as the runs list them), else their first
    appearance in `frame`. The value axis is labelled at the top and the bottom."""
    runs = list(dict.fromkeys(frame["run"]))
    present = set(frame["id"])
    ids = [i for i in dict.fromkeys([*(order or []), *frame["id"]]) if i in present]
    n_runs = len(runs)
    slots = _slots(frame, ids, runs)
    bars = len(slots)
    fig = Figure(figsize=(_WIDTH_IN, 1.3 + _BAR_HEIGHT_IN * bars + 0.08 * len(ids)))
    ax = fig.add_subplot()
    values = frame[value].astype(float) * scale
    any_invalid = False
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
            _bars(
                ax,
                [slots[(id_, run)] for id_ in part["id"]],
                v.to_numpy(),
                err,
                facecolor=COLOURS[i % len(COLOURS)],
                alpha=1.0 if valid else 0.35,
                hatch=None if valid else "//",
                edgecolor="#333333" if not valid else "none",
            )
            any_invalid = any_invalid or not valid
    centres = []
    for rid in ids:
        ys = [y for (i, _), y in slots.items() if i == rid]
        centres.append(sum(ys) / len(ys))
    ax.set_yticks(centres, [short_id(i) for i in ids])
    ax.set_ylim(-0.7, max(slots.values()) + 0.7)
    ax.invert_yaxis()
    positive = values[values > 0]
    if len(positive) and positive.max() / positive.min() > _LOG_RANGE:
        ax.set_xscale("log")
    if reference is not None:
        ax.axvline(reference, color="#999999", linestyle="--", linewidth=1)
    ax.autoscale_view()  # the bars are a collection: matplotlib before 3.11 waits to be asked
    ax.set_xlabel(xlabel, wrap=True)
    ax.tick_params(axis="x", top=True, labeltop=bars > _TOP_AXIS_FROM)
    plain_numbers(ax)
    ax.set_title(_fit(title), loc="left")
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    # Legend entries drawn by hand: a run's first bar may be an invalid (pale) one.
    handles = (
        [Patch(facecolor=COLOURS[i % len(COLOURS)], label=run) for i, run in enumerate(runs)]
        if n_runs > 1
        else []
    )
    if any_invalid:
        handles.append(Patch(facecolor="#dddddd", hatch="//", edgecolor="#333333", label=invalid))
    _legend_below(fig, handles)
    return figure_svg(fig, key)


def _fit(title: str) -> str:
    """A bar chart's title in lines that fit between the axes' left edge (past the workload
    labels, about 3.7 of the figure's inches) and the figure's right edge: a longer line is cut
    off in the SVG. A Chinese character is about twice a Latin letter's width."""
    wide = any("\u2e80" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef" for ch in title)
    return textwrap.fill(title, width=22 if wide else 44)


def _bars(ax: Any, ys: list[float], widths: Any, err: Any, **style: Any) -> None:
    """Horizontal bars from 0 as one collection: barh's picture without a patch per bar (920 in
    a 40-run chart, each a 100-step curve on a log axis, were most of the chart's time)."""
    half = _BAR_HEIGHT / 2
    boxes = [
        ((0.0, y - half), (w, y - half), (w, y + half), (0.0, y + half))
        for y, w in zip(ys, widths, strict=True)
    ]
    bars = PolyCollection(boxes, **style)
    bars.sticky_edges.x.append(0.0)  # as barh: the value axis starts at 0, no margin below
    bars.set_in_layout(False)  # inside the axes: tight_layout need not measure them
    ax.add_collection(bars)
    if err is not None:
        outside_layout(ax.errorbar(widths, ys, xerr=err, fmt="none", **_ERROR_STYLE))


def outside_layout(artists: Any) -> None:
    """Leave artists (a container's, nested as error bars are) out of tight_layout's measuring:
    bars lie inside the axes sized from them, so the layout is the same, and found sooner."""
    if isinstance(artists, tuple):  # matplotlib's containers are tuples of their artists
        for artist in artists:
            outside_layout(artist)
    elif artists is not None:
        artists.set_in_layout(False)


def _legend_below(fig: Figure, handles: list[Any], columns: int = 3) -> None:
    """The legend in a strip of its own under the axes (over the bars it would hide some, and
    beside the title it would cover it), in up to `columns` columns, the axes laid out above it."""
    if not handles:
        fig.tight_layout()
        return
    columns = min(len(handles), columns)
    strip = (0.25 * -(-len(handles) // columns) + 0.1) / fig.get_figheight()
    fig.legend(handles=handles, loc="lower left", ncol=columns, frameon=False)
    fig.tight_layout(rect=(0.0, strip, 1.0, 1.0))


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
            invalid=m("word.invalid"),
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
            invalid=m("word.invalid"),
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
        invalid=m("word.invalid"),
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
        invalid=m("word.invalid"),
        title=m("chart.cost_title", currency=cur),
        xlabel=m("chart.cost_x", currency=cur),
    )
    return Chart("cost", m("chart.cost"), svg, m("chart.cost_caption"))


def _sweep(report: Report, m: Messages) -> Chart | None:
    """Net cost per PFLOP-hour against the subsidy rate, a line per run. Runs far apart in cost
    (a GPU beside a CPU: 1,000x) get a panel each, so none lies flat along zero; every panel's
    axis starts at 0, where a 100% subsidy ends."""
    if report.sweep.empty:
        return None
    frame = report.sweep
    cur = m.currency(report.currency)
    runs = list(dict.fromkeys(frame["run"]))
    tops = frame.groupby("run")["net_per_pflop_hour"].max()
    apart = len(runs) > 1 and tops.min() > 0 and tops.max() / tops.min() > _LOG_RANGE
    panels = len(runs) if apart else 1
    below = not apart and len(runs) > _LEGEND_INSIDE
    # The legend's strip below (_legend_below's height) makes the figure taller; two columns,
    # as a line's label names its workload too (about 2.3 in of text: three were cut off).
    strip = 0.25 * -(-len(runs) // 2) + 0.1 if below else 0.0
    fig = Figure(figsize=(_WIDTH_IN, 1.2 + (2.0 if apart else 3.2) * panels + strip))
    axes = fig.subplots(panels, 1, squeeze=False, sharex=True)[:, 0]
    for i, run in enumerate(runs):
        ax = axes[i if apart else 0]
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
    for ax in axes:
        ax.set_ylabel(m("chart.sweep_y", currency=cur))
        ax.set_xlim(0, 100)
        ax.set_ylim(bottom=0)
        ax.grid(color="#dddddd", linewidth=0.6)
        plain_numbers(ax, "y")
        if not below:
            ax.legend(loc="upper right", frameon=False)
    axes[-1].set_xlabel(
        m("chart.sweep_x")
        + (m("chart.sweep_dotted", programme=report.programme) if report.programme else "")
    )
    axes[0].set_title(m("chart.sweep_title"), loc="left")
    if below:
        _legend_below(fig, axes[0].get_legend_handles_labels()[0], columns=2)
    else:
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

    settings: dict[str, Any] = dict(STYLE)
    if m.lang == "zh":
        # Named families, not the generic "sans-serif": matplotlib falls back glyph by glyph
        # only along the font.family list, and a generic family resolves to one font.
        settings["font.family"] = ["DejaVu Sans", _cjk_font()]
    with matplotlib.rc_context(settings):
        charts: list[Chart] = [*_throughput(report, m)]
        for make in (_of_peak, _cost, _sweep, _tornado):
            chart: Any = make(report, m)
            if chart is not None:
                charts.append(chart)
        charts.extend(serving_charts(report, m))
    return charts


def _tornado(report: Report, m: Messages) -> Chart | None:
    """What moves each run's cost per PFLOP-hour most: each uncertain input from its P10 to its
    P90, the others at P50 (cost.uncertainty), one panel per run's reference result. Bars are
    named as the assumptions name the input, and their ends carry the input's unit. Runs whose
    panels would be the same to the last digit share one, which the caption says."""
    if not report.ranges:
        return None
    scenarios = {label: s for label, s, _ in report.live}
    groups: dict[tuple[Any, ...], list[tuple[str, Any, list[str], list[str]]]] = {}
    for label, r in report.ranges:
        if r is None or not r.tornado:
            continue
        keys = {src.label: src.key for src in r.sources}
        scenario = scenarios.get(label)
        ends = [
            _input_range(keys.get(bar.label, ""), bar.low, bar.high, scenario, m)
            for bar in r.tornado
        ]
        names = [m.input_name(INPUT_NAMES.get(keys.get(b.label, ""), b.label)) for b in r.tornado]
        bars = tuple((b.at_low, b.at_high) for b in r.tornado)
        drawn = (r.figures[r.headline][2], bars, tuple(ends), tuple(names))
        groups.setdefault(drawn, []).append((label, r, ends, names))
    if not groups:
        return None
    panels = list(groups.values())
    rows = sum(len(runs[0][1].tornado) for runs in panels)
    fig = Figure(figsize=(_WIDTH_IN, 1.0 + 0.5 * rows + 0.7 * len(panels)))
    axes = fig.subplots(len(panels), 1, squeeze=False)[:, 0]
    for ax, runs in zip(axes, panels, strict=True):
        label, r, ends, names = runs[0]
        centre = r.figures[r.headline][2]
        for i, (bar, end) in enumerate(zip(r.tornado, ends, strict=True)):
            low, high = sorted((bar.at_low, bar.at_high))
            outside_layout(ax.barh(i, high - low, left=low, color=COLOURS[0], height=0.6))
            ax.text(high, i, f"  {end}", va="center", fontsize=8)
        ax.axvline(centre, color="#999999", linestyle="--", linewidth=1)
        ends_x = [x for bar in r.tornado for x in (bar.at_low, bar.at_high)]
        span = (max(ends_x) - min(ends_x)) or abs(centre) * 0.01 or 1.0
        ax.set_xlim(min(ends_x) - 0.05 * span, max(ends_x) + 0.8 * span)  # room for the labels
        ax.set_yticks(range(len(r.tornado)), names)
        ax.invert_yaxis()
        title = label if len(runs) == 1 else m("chart.tornado_shared", run=label, n=len(runs) - 1)
        ax.set_title(title, loc="left")
        ax.grid(axis="x", color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
        plain_numbers(ax)
        ax.set_xlabel(m("chart.tornado_x", currency=m.currency(report.currency)))
    fig.suptitle(m("chart.tornado_title"), x=0.01, ha="left", fontsize=10.5)
    fig.tight_layout()
    caption = m("chart.tornado_caption")
    shared = [", ".join(run[0] for run in runs) for runs in panels if len(runs) > 1]
    if shared:
        caption += " " + m("chart.tornado_shared_caption", runs="; ".join(shared))
    return Chart("tornado", m("chart.tornado"), figure_svg(fig, "tornado"), caption)


def _input_range(key: str, low: float, high: float, scenario: Any, m: Messages) -> str:
    """An input's P10 - P90 with its unit: 1.60 - 2.40 USD per device-hour, 1.36 - 1.37 TFLOP/s,
    27% - 33%."""
    if key in ("rate", "mfu", "scaling_efficiency"):
        return f"{low:.1%} - {high:.1%}"
    if key == "price":
        currency = getattr(scenario, "price_currency", None) or ""
        return m("chart.price_range", low=f"{low:,.2f}", high=f"{high:,.2f}", currency=currency)
    unit = {
        "tflops": "TFLOP/s",
        "hours": m.input_name("device-hours"),
        "contract": getattr(scenario, "currency", None) or "",
    }.get(key, "")
    if key == "throughput" and scenario is not None and scenario.throughput is not None:
        from subsidybench.cost.throughput import WorkUnit

        unit = "TFLOP/s" if scenario.throughput.unit is WorkUnit.FLOPS else "tokens/s"
    return f"{low:,.4g} - {high:,.4g} {unit}".rstrip()
