"""The serving curve as buyers compare it: output tokens/s per device against tokens/s per user,
every run's curve in one chart, with cost per million output tokens as a companion panel where a
price is known. Points are joined by rising concurrency, the Pareto front drawn under them, the
SLO point starred; invalid points are hollow (shown, never hidden) and never costed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from subsidybench.report.charts import COLOURS, Chart, figure_svg

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

    from subsidybench.report.tables import Report

_SLO_COLOUR = "#D55E00"
_LOG_RANGE = 50.0


def _log_if_wide(ax: Axes, values: pd.Series, axis: str) -> None:
    positive = values[values > 0]
    if len(positive) > 1 and positive.max() / positive.min() > _LOG_RANGE:
        (ax.set_xscale if axis == "x" else ax.set_yscale)("log")


def _curve_panel(ax: Axes, sub: pd.DataFrame, colour: str) -> None:
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
    ax.set_xlabel("tokens/s per user (interactivity)")
    ax.set_ylabel("output tokens/s per device")
    ax.set_title("Throughput vs interactivity (labels: concurrency)", loc="left", fontsize=10)
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


def _cost_panel(ax: Axes, sub: pd.DataFrame, colour: str, currency: str) -> None:
    costed = sub[sub["net_per_million_output_all_in"].notna()]
    x = costed["tokens_per_s_per_user"]
    ax.plot(x, costed["gross_per_million_output_all_in"], "--", color="#777777", linewidth=1)
    ax.plot(x, costed["net_per_million_output_all_in"], "-o", color=colour, markersize=4)
    ax.plot(x, costed["net_per_million_output"], ":", color=colour, linewidth=1.2)
    _star(ax, costed, "net_per_million_output_all_in")
    if costed.empty:
        ax.text(0.5, 0.5, "no valid point to cost", ha="center", transform=ax.transAxes)
    else:
        _log_if_wide(ax, x, "x")
        ax.set_ylim(bottom=0)
    ax.set_xlabel("tokens/s per user (interactivity)")
    ax.set_ylabel(f"{currency} per million output tokens")
    ax.set_title("Cost per million output tokens (derived)", loc="left", fontsize=10)
    ax.grid(color="#dddddd", linewidth=0.6)


def serving_charts(report: Report) -> list[Chart]:
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
            Line2D([], [], color=c, linewidth=3, label=f"{run}: {curve}")
            for (run, curve), c in zip(groups, colours, strict=True)
        ]
    colour = colours[0] if len(groups) == 1 else "#555555"
    handles.append(Line2D([], [], color=colour, linewidth=7, alpha=0.2, label="Pareto front"))
    valid = frame["valid"].astype(bool)
    if valid.any():
        handles.append(Line2D([], [], color=colour, marker="o", linestyle="", label="valid point"))
    if not valid.all():
        handles.append(
            Line2D(
                [],
                [],
                marker="o",
                markerfacecolor="white",
                color=colour,
                linestyle="",
                label="invalid point (not costed)",
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
                label=f"SLO point: {report.serving_slo}",
            )
        )
    if priced:
        handles += [
            Line2D([], [], color="#777777", linestyle="--", label="all-in, before subsidy"),
            Line2D([], [], color=colour, marker="o", label="all-in, after subsidy"),
            Line2D([], [], color=colour, linestyle=":", label="output priced apart, after"),
        ]
    legend_rows = -(-len(handles) // 4)
    height = 4.4 + 0.2 * legend_rows
    fig = Figure(figsize=(11.0 if priced else 6.5, height))
    axes = fig.subplots(1, 2) if priced else [fig.add_subplot()]
    unpriced = []
    for (run, curve), c in zip(groups, colours, strict=True):
        sub = frame[(frame["run"] == run) & (frame["curve"] == curve)]
        _curve_panel(axes[0], sub, c)
        costed = sub["net_per_million_output_all_in"].notna().any()
        if priced and (costed or len(groups) == 1):
            _cost_panel(axes[1], sub, c, currency)
        if not costed and sub["currency"].notna().any():
            unpriced.append(f"{run}: {curve}")
    fig.legend(handles=handles, loc="lower center", ncol=4, fontsize=7.5, frameon=False)
    if len(groups) == 1:
        (run, curve), basis = groups[0], frame["basis"].iloc[0]
        fig.suptitle(f"{run}: {curve} ({basis})", x=0.01, ha="left", fontsize=11)
    else:
        bases = ", ".join(dict.fromkeys(frame["basis"]))
        fig.suptitle(f"{len(groups)} serving curves ({bases})", x=0.01, ha="left", fontsize=11)
    fig.tight_layout(rect=(0, (0.25 + 0.2 * legend_rows) / height, 1, 0.95))
    caption = (
        "Each point is a concurrency (requests served together); the shaded line is the"
        " Pareto front, the star the point that meets the SLO with the most output tokens/s"
        " per device."
    )
    if len(groups) > 1:
        caption += " One colour per run's curve."
    if unpriced:
        caption += (
            f" Not costed ({', '.join(unpriced)}): no point's verdict is valid (see the results)."
        )
    if priced:
        caption += (
            f" Right: {currency} per million output tokens at each valid point, all-in (the"
            " whole device-hour charged to output) before and after the subsidy, and output"
            " priced apart from input (device time split by TTFT's share of a batch)."
        )
    return [Chart("serving-1", "Serving curve", figure_svg(fig, "serving-1"), caption)]
