"""The serving curve as buyers compare it: output tokens/s per device against tokens/s per user,
every run's curve in one chart, with cost per million output tokens as a companion panel where a
price is known. Points are joined by rising concurrency, the Pareto front drawn under them, the
SLO point starred; invalid points are hollow (shown, never hidden) and never costed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from subsidybench.report.charts import COLOURS, LOG_RANGE, Chart, figure_svg, plain_numbers
from subsidybench.report.core_words import core_text
from subsidybench.report.i18n import ENGLISH, Messages

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

    from subsidybench.report.tables import Report

_SLO_COLOUR = "#D55E00"


def _log_if_wide(ax: Axes, values: pd.Series, axis: str) -> None:
    positive = values[values > 0]
    if len(positive) > 1 and positive.max() / positive.min() > LOG_RANGE:
        (ax.set_xscale if axis == "x" else ax.set_yscale)("log")
    plain_numbers(ax, axis)


def _curve_panel(ax: Axes, sub: pd.DataFrame, colour: str, m: Messages) -> None:
    x, y = sub["tokens_per_s_per_user"], sub["output_tokens_per_s_per_device"]
    front = sub[sub["pareto_front"]].sort_values("tokens_per_s_per_user")
    ax.plot(
        front["tokens_per_s_per_user"],
        front["output_tokens_per_s_per_device"],
        color=colour,
        linewidth=7,
        alpha=0.2,
        solid_capstyle="round",
    )
    ax.plot(x, y, color=colour, linewidth=1.2)
    valid = sub["valid"].astype(bool)
    ax.scatter(x[valid], y[valid], color=colour, s=28, zorder=3)
    ax.scatter(x[~valid], y[~valid], facecolors="white", edgecolors=colour, s=28, zorder=3)
    for row in sub.itertuples():
        ax.annotate(
            f"{row.concurrency}",
            (row.tokens_per_s_per_user, row.output_tokens_per_s_per_device),
            textcoords="offset points",
            xytext=(5, 4),
            fontsize=7,
            color="#333333",
        )
    _star(ax, sub, "output_tokens_per_s_per_device")
    _log_if_wide(ax, x, "x")
    _log_if_wide(ax, y, "y")
    ax.set_xlabel(m("chart.serving_x"))
    ax.set_ylabel(m("chart.serving_y"))
    ax.set_title(m("chart.serving_title"), loc="left", fontsize=10)
    ax.grid(color="#dddddd", linewidth=0.6)


def _star(ax: Axes, sub: pd.DataFrame, column: str) -> None:
    slo = sub[sub["costed_point"].astype(bool)]
    if not slo.empty and slo[column].notna().all():
        ax.scatter(
            slo["tokens_per_s_per_user"],
            slo[column],
            marker="*",
            s=220,
            color=_SLO_COLOUR,
            edgecolors="#333333",
            linewidths=0.6,
            zorder=4,
        )


def _cost_panel(ax: Axes, sub: pd.DataFrame, colour: str, currency: str, m: Messages) -> None:
    costed = sub[sub["net_per_million_output_all_in"].notna()]
    x = costed["tokens_per_s_per_user"]
    ax.plot(x, costed["gross_per_million_output_all_in"], "--", color="#777777", linewidth=1)
    ax.plot(x, costed["net_per_million_output_all_in"], "-o", color=colour, markersize=4)
    ax.plot(x, costed["net_per_million_output"], ":", color=colour, linewidth=1.2)
    _star(ax, costed, "net_per_million_output_all_in")
    if costed.empty:
        ax.text(0.5, 0.5, m("chart.serving_none"), ha="center", transform=ax.transAxes)
    else:
        _log_if_wide(ax, x, "x")
        ax.set_ylim(bottom=0)
    ax.set_xlabel(m("chart.serving_x"))
    ax.set_ylabel(m("chart.serving_cost_y", currency=m.currency(currency)))
    ax.set_title(m("chart.serving_cost_title"), loc="left", fontsize=10)
    ax.grid(color="#dddddd", linewidth=0.6)


def serving_charts(report: Report, m: Messages = ENGLISH) -> list[Chart]:
    """One chart of every (run, curve) of the report's serving table, a colour each.

    One figure, not one per curve: a 40-run report drew 20 serving figures, and drawing them
    (text as paths) was the largest part of its time.
    """
    frame = report.serving
    if frame is None or frame.empty:
        return []
    groups = list(dict.fromkeys(zip(frame["run"], frame["curve"], strict=True)))
    colours = [COLOURS[i % len(COLOURS)] for i in range(len(groups))]
    priced = frame["net_per_million_output_all_in"].notna().any()
    currency = frame["currency"].dropna().iloc[0] if priced else ""
    handles: list[Line2D] = []
    if len(groups) > 1:
        handles += [
            Line2D([], [], color=c, linewidth=3, label=f"{run}: {core_text(curve, m)}")
            for (run, curve), c in zip(groups, colours, strict=True)
        ]
    colour = colours[0] if len(groups) == 1 else "#555555"
    front = m("chart.serving_front")
    handles.append(Line2D([], [], color=colour, linewidth=7, alpha=0.2, label=front))
    valid = frame["valid"].astype(bool)
    if valid.any():
        dot = Line2D([], [], color=colour, marker="o", linestyle="", label=m("chart.serving_valid"))
        handles.append(dot)
    if not valid.all():
        handles.append(
            Line2D(
                [],
                [],
                marker="o",
                markerfacecolor="white",
                color=colour,
                linestyle="",
                label=m("chart.serving_invalid"),
            )
        )
    if frame["costed_point"].astype(bool).any():
        handles.append(
            Line2D(
                [],
                [],
                marker="*",
                color=_SLO_COLOUR,
                markersize=12,
                linestyle="",
                label=m("chart.serving_slo", slo=core_text(report.serving_slo, m)),
            )
        )
    if priced:
        handles += [
            Line2D([], [], color="#777777", linestyle="--", label=m("chart.serving_before")),
            Line2D([], [], color=colour, marker="o", label=m("chart.serving_after")),
            Line2D([], [], color=colour, linestyle=":", label=m("chart.serving_apart")),
        ]
    legend_rows = -(-len(handles) // 4)
    height = 4.4 + 0.2 * legend_rows
    fig = Figure(figsize=(11.0 if priced else 6.5, height))
    axes = fig.subplots(1, 2) if priced else [fig.add_subplot()]
    unpriced = []
    for (run, curve), c in zip(groups, colours, strict=True):
        sub = frame[(frame["run"] == run) & (frame["curve"] == curve)]
        _curve_panel(axes[0], sub, c, m)
        costed = sub["net_per_million_output_all_in"].notna().any()
        if priced and (costed or len(groups) == 1):
            _cost_panel(axes[1], sub, c, currency, m)
        if not costed and sub["currency"].notna().any():
            unpriced.append(f"{run}: {core_text(curve, m)}")
    fig.legend(handles=handles, loc="lower center", ncol=4, fontsize=7.5, frameon=False)
    bases = ", ".join(dict.fromkeys(_basis(b, m) for b in frame["basis"]))
    if len(groups) == 1:
        run, curve = groups[0]
        fig.suptitle(f"{run}: {core_text(curve, m)} ({bases})", x=0.01, ha="left", fontsize=11)
    else:
        title = m("chart.serving_curves", n=len(groups), bases=bases)
        fig.suptitle(title, x=0.01, ha="left", fontsize=11)
    fig.tight_layout(rect=(0, (0.25 + 0.2 * legend_rows) / height, 1, 0.95))
    caption = m("chart.serving_caption")
    if len(groups) > 1:
        caption += " " + m("chart.serving_colours")
    if unpriced:
        caption += " " + m("chart.serving_unpriced", curves=", ".join(unpriced))
    if priced:
        caption += " " + m("chart.serving_right", currency=m.currency(currency))
    title = m("section.serving")
    return [Chart("serving-1", title, figure_svg(fig, "serving-1"), caption)]


def _basis(basis: str, m: Messages) -> str:
    """A curve's basis as the serving table writes it (measured, or derived from layers)."""
    return m.basis(basis) if basis == "measured" else m("serving.basis_layers")
