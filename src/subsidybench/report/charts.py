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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib
import numpy as np
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from subsidybench.errors import UserError
from subsidybench.report.chart_svg import figure_svg
from subsidybench.report.display import short_id
from subsidybench.report.i18n import ENGLISH, Messages

if TYPE_CHECKING:
    import pandas as pd

    from subsidybench.report.tables import Report

# Colour-blind-safe palette (Okabe and Ito, 2008), one colour per run.
COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")
# Charts are drawn for the page's width: 6.4 in (614 px) fills a phone's 366 px at 0.6, where
# 9-point text still reads at 7 px; a desktop shows them at their own size.
WIDTH_IN = 6.4
_BAR_HEIGHT_IN = 0.16
_BAR_HEIGHT = 0.85
"""A bar's thickness, in slots (one slot per bar)."""
_ERROR_STYLE = {"elinewidth": 0.8, "capsize": 2, "ecolor": "#333333"}
_GROUP_GAP = 0.6
"""The gap between two workloads' bars, in bar heights."""
_TOP_AXIS_FROM = 12
"""A bar chart of more bars than this repeats its value axis at the top."""
# A value range wider than this many times is drawn on a log axis, or the small bars vanish.
LOG_RANGE = 50.0
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
    m: Messages = ENGLISH,
    unit: str = "",
    lower_is_better: bool = False,
) -> str:
    """Horizontal bars: one group per workload id, one bar per run that measured it; pale and
    hatched if invalid. Groups follow `order` (ids as the runs list them), else their first
    appearance in `frame`. The value axis is labelled at the top and the bottom. Of more runs
    than colours, a grid instead (report.run_grid): `unit` names its medians' unit, and
    `lower_is_better` which way its colours read."""
    runs = list(dict.fromkeys(frame["run"]))
    present = set(frame["id"])
    ids = [i for i in dict.fromkeys([*(order or []), *frame["id"]]) if i in present]
    n_runs = len(runs)
    invalid = m("word.invalid")
    if many_runs(frame):
        from subsidybench.report.run_grid import run_grid

        return run_grid(
            frame if "valid" in frame else frame.assign(valid=True),
            frame[value].astype(float).to_numpy() * scale,
            ids=ids,
            runs=runs,
            key=key,
            title=_fit(title),
            colour_label=m(f"chart.grid_colour_{'low' if lower_is_better else 'high'}"),
            median_label=m("chart.grid_median", unit=unit),
            invalid=invalid,
            lower_is_better=lower_is_better,
        )
    slots = _slots(frame, ids, runs)
    bars = len(slots)
    fig = Figure(figsize=(WIDTH_IN, 1.3 + _BAR_HEIGHT_IN * bars + 0.08 * len(ids)))
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
    # The groups are picked from numpy columns taken once: a pandas filter and groupby per run
    # cost a 40-run report's four bar charts 0.2 s. The order is groupby's (by run, then
    # validity and error bar, False first), and each part's rows keep the frame's order.
    of_run = frame["run"].to_numpy()
    of_valid = frame["valid"].astype(bool).to_numpy()
    of_ranged = frame["_ranged"].to_numpy(dtype=bool)
    of_id = frame["id"].to_numpy()
    v_all = frame[value].astype(float).to_numpy() * scale
    if low and high:
        low_all = frame[low].astype(float).to_numpy() * scale
        high_all = frame[high].astype(float).to_numpy() * scale
    for i, run in enumerate(runs):
        in_run = of_run == run
        for valid, ranged in ((False, False), (False, True), (True, False), (True, True)):
            rows = np.flatnonzero(in_run & (of_valid == valid) & (of_ranged == ranged))
            if not rows.size:
                continue
            v = v_all[rows]
            err = None
            if ranged:
                # As pandas' clip(lower=0.0): a negative becomes 0.0; -0.0 and NaN are kept.
                err = [_at_least_zero(v - low_all[rows]), _at_least_zero(high_all[rows] - v)]
            _bars(
                ax,
                [slots[(id_, run)] for id_ in of_id[rows]],
                v,
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
    if len(positive) and positive.max() / positive.min() > LOG_RANGE:
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
    legend_below(fig, handles)
    return figure_svg(fig, key)


def many_runs(frame: pd.DataFrame) -> bool:
    """Whether a bar chart of `frame` would have more runs than colours (and is a grid)."""
    return frame["run"].nunique() > len(COLOURS)


def _caption(frame: pd.DataFrame, text: str, m: Messages) -> str:
    """A bar chart's caption, and what its grid shows when it is one."""
    return f"{text} {m('chart.grid_caption')}" if many_runs(frame) else text


def _at_least_zero(x: np.ndarray) -> np.ndarray:
    return np.where(x < 0.0, 0.0, x)


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


def legend_below(fig: Figure, handles: list[Any], columns: int = 3) -> None:
    """The legend in a strip of its own under the axes (over the bars it would hide some, and
    beside the title it would cover it), in up to `columns` columns, the axes laid out above it."""
    if not handles:
        fig.tight_layout()
        return
    columns = min(len(handles), columns)
    strip = (0.25 * -(-len(handles) // columns) + 0.1) / fig.get_figheight()
    fig.legend(handles=handles, loc="lower left", ncol=columns, frameon=False)
    with _measured_once(fig):
        fig.tight_layout(rect=(0.0, strip, 1.0, 1.0))


@contextmanager
def _measured_once(fig: Figure) -> Iterator[None]:
    """Within the block, each axes of `fig` measures its decorations once per renderer. With
    a rect, tight_layout lays the figure out twice (the second time inside the rect the first
    found) and measures every axes both times, though nothing has moved in between: it moves
    them only after (subplots_adjust). The same measures, so the same layout and SVG byte for
    byte; a 40-run report's bar charts about 0.2 s less CPU (ticks and labels measured once)."""
    for ax in fig.axes:
        measure, found = ax.get_tightbbox, {}

        def once(
            renderer: Any = None, *, _measure: Any = measure, _found: Any = found, **kwargs: Any
        ) -> Any:
            key = (id(renderer), tuple(sorted(kwargs.items())))
            if key not in _found:
                _found[key] = _measure(renderer, **kwargs)
            return _found[key]

        ax.get_tightbbox = once  # type: ignore[method-assign]
    try:
        yield
    finally:
        for ax in fig.axes:
            del ax.get_tightbbox  # the class's method again


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
            m=m,
            title=m("chart.throughput_title"),
            xlabel=m("chart.throughput_x"),
            scale=1e-9,
            low="low",
            high="high",
            unit="GFLOP/s",
        )
        caption = _caption(compute, m("chart.throughput_caption"), m)
        charts.append(Chart("throughput", m("chart.throughput"), svg, caption))
    memory = ok[ok["flops_per_s"].isna() & ok["bytes_per_s"].notna()].copy()
    if not memory.empty:
        memory["low"] = memory["bytes_per_s"] * memory["median_s"] / memory["q3_s"]
        memory["high"] = memory["bytes_per_s"] * memory["median_s"] / memory["q1_s"]
        svg = _grouped_bars(
            memory,
            "bytes_per_s",
            key="bandwidth",
            m=m,
            title=m("chart.bandwidth_title"),
            xlabel=m("chart.bandwidth_x"),
            scale=1e-9,
            low="low",
            high="high",
            unit="GB/s",
        )
        caption = _caption(memory, m("chart.bandwidth_caption"), m)
        charts.append(Chart("bandwidth", m("chart.bandwidth"), svg, caption))
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
        m=m,
        title=m("chart.of_peak_title"),
        xlabel=m("chart.of_peak_x"),
        scale=100.0,
        reference=100.0,
        unit=m("chart.of_peak"),
    )
    caption = _caption(frame, m("chart.of_peak_caption"), m)
    return Chart("of_peak", m("chart.of_peak"), svg, caption)


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
        m=m,
        title=m("chart.cost_title", currency=cur),
        xlabel=m("chart.cost_x", currency=cur),
        unit=m("chart.sweep_y", currency=cur),
        lower_is_better=True,
    )
    return Chart("cost", m("chart.cost"), svg, _caption(frame, m("chart.cost_caption"), m))


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


def check_fonts(m: Messages) -> None:
    """Refuse, before any file of a report is written, a language whose glyphs no font here
    has (a UserError naming what to install)."""
    if m.lang == "zh":
        _cjk_font()


def render_charts(report: Report, m: Messages = ENGLISH, part: int | None = None) -> list[Chart]:
    """Every chart the report's data supports, in reading order. `part` 0 draws only the
    bar charts (throughput, % of peak, cost), 1 only the others, for two processes to share:
    on a 40-run report each part is about half of the time."""
    from subsidybench.report.serving_chart import serving_charts
    from subsidybench.report.sweep_chart import sweep_chart
    from subsidybench.report.tornado_chart import tornado_chart

    bars: list[Any] = [_throughput, _of_peak, _cost]
    others: list[Any] = [sweep_chart, tornado_chart, serving_charts]
    makers = {None: bars + others, 0: bars, 1: others}[part]
    settings: dict[str, Any] = dict(STYLE)
    if m.lang == "zh":
        # Named families, not the generic "sans-serif": matplotlib falls back glyph by glyph
        # only along the font.family list, and a generic family resolves to one font.
        settings["font.family"] = ["DejaVu Sans", _cjk_font()]
    charts: list[Chart] = []
    with matplotlib.rc_context(settings):
        for make in makers:  # a chart, None (no data for it) or a list of charts
            made = make(report, m)
            charts.extend(made if isinstance(made, list) else [] if made is None else [made])
    return charts
