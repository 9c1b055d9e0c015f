"""The subsidy-rate sweep: each run's net cost per PFLOP-hour as the rate goes from 0 to 100%.
Drawn as the report's other charts (report.charts).

Up to the palette's seven runs, a coloured line each, named in the legend; runs far apart in
cost (a GPU beside a CPU: 1,000x) get a panel each, so none lies flat along zero. Of more runs,
colours would repeat and panels pile up (40 runs: 40 panels, 80 inches): one panel, every run a
grey line, the cheapest and the dearest named in colour, and a log axis when they are far apart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from matplotlib.figure import Figure

from subsidybench.report.charts import (
    COLOURS,
    LOG_RANGE,
    WIDTH_IN,
    Chart,
    figure_svg,
    legend_below,
    plain_numbers,
)
from subsidybench.report.display import short_id
from subsidybench.report.i18n import Messages

if TYPE_CHECKING:
    import pandas as pd

    from subsidybench.report.tables import Report


def sweep_chart(report: Report, m: Messages) -> Chart | None:
    """Net cost per PFLOP-hour against the subsidy rate; every panel's axis starts at 0, where
    a 100% subsidy ends (on a log axis, at the lowest cost above 0)."""
    if report.sweep.empty:
        return None
    frame = report.sweep
    cur = m.currency(report.currency)
    runs = list(dict.fromkeys(frame["run"]))
    tops = frame.groupby("run")["net_per_pflop_hour"].max()
    apart = len(runs) > 1 and tops.min() > 0 and tops.max() / tops.min() > LOG_RANGE
    many = len(runs) > len(COLOURS)
    panels = len(runs) if apart and not many else 1
    fig = Figure(figsize=(WIDTH_IN, 1.2 + (2.0 if panels > 1 else 3.2) * panels))
    axes = fig.subplots(panels, 1, squeeze=False, sharex=True)[:, 0]
    if many:
        _many(axes[0], frame, runs, tops, m)
        for rate in {report.programme_rates[r] for r in runs if r in report.programme_rates}:
            axes[0].axvline(rate * 100, color="#777777", linestyle=":", linewidth=1)
    for i, run in enumerate([] if many else runs):
        ax, colour = axes[i if apart else 0], COLOURS[i % len(COLOURS)]
        _line(ax, frame, run, colour)
        rate = report.programme_rates.get(run)
        if rate is not None:
            ax.axvline(rate * 100, color=colour, linestyle=":", linewidth=1)
    for ax in axes:
        ax.set_ylabel(m("chart.sweep_y", currency=cur))
        ax.set_xlim(0, 100)
        if many and apart:
            ax.set_yscale("log", nonpositive="mask")  # 100%'s zero has no place on it
        else:
            ax.set_ylim(bottom=0)
        ax.grid(color="#dddddd", linewidth=0.6)
        plain_numbers(ax, "y")
        if not many:
            ax.legend(loc="upper right", frameon=False)
    axes[-1].set_xlabel(
        m("chart.sweep_x")
        + (m("chart.sweep_dotted", programme=report.programme) if report.programme else "")
    )
    axes[0].set_title(m("chart.sweep_title"), loc="left")
    if many:
        legend_below(fig, axes[0].get_legend_handles_labels()[0], columns=1)
    else:
        fig.tight_layout()
    caption = m("chart.sweep_caption")
    if many:
        caption += " " + m("chart.sweep_many_caption", n=len(runs))
    return Chart("sweep", m("chart.sweep"), figure_svg(fig, "sweep"), caption)


def _label(frame: pd.DataFrame, run: str) -> str:
    return f"{run}: {short_id(frame.loc[frame['run'] == run, 'id'].iloc[0])}"


def _line(ax: Any, frame: pd.DataFrame, run: str, colour: str, **style: Any) -> None:
    sub = frame[frame["run"] == run]
    ax.plot(
        sub["rate"] * 100,
        sub["net_per_pflop_hour"],
        **{"marker": "o", "markersize": 3, "color": colour, "label": _label(frame, run), **style},
    )


def _many(ax: Any, frame: pd.DataFrame, runs: list[str], tops: pd.Series, m: Messages) -> None:
    """Every run a thin grey line (one legend entry for all), the cheapest and the dearest at a
    0% subsidy drawn over them in colour and named."""
    cheapest, dearest = tops.idxmin(), tops.idxmax()
    named = [cheapest] if cheapest == dearest else [cheapest, dearest]
    for run in runs:
        if run not in named:
            _line(ax, frame, run, "#aaaaaa", marker=None, linewidth=0.8, label="_")
    others = m("chart.sweep_others", n=len(runs) - len(named))
    ax.plot([], [], color="#aaaaaa", linewidth=0.8, label=others)
    drawn = [(dearest, COLOURS[5], "dearest")] if dearest != cheapest else []
    for run, colour, key in [*drawn, (cheapest, COLOURS[0], "cheapest")]:
        _line(ax, frame, run, colour, label=m(f"chart.sweep_{key}", run=_label(frame, run)))
