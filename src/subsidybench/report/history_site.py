"""The history site: static, self-contained HTML pages of a results store's trends.

index.html lists the machines and every step found; one page per machine holds a trend chart per
workload: the median of each run over the runs in time order (commits as labels where given),
the interquartile range of its samples as a band, invalid results apart as grey crosses (shown,
never used), and each step as a vertical line with its size. Charts are matplotlib SVG inlined
as in the report (report.charts.figure_svg), and the page's CSS is the report's
(report.render_html.html_page): nothing is loaded from elsewhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from subsidybench import __version__
from subsidybench.datafile import write_atomic
from subsidybench.errors import UserError
from subsidybench.report.charts import figure_svg, plain_numbers
from subsidybench.report.display import short_id
from subsidybench.report.render_html import html_page
from subsidybench.report.terminal import seconds
from subsidybench.results.history import Step, StepMethod

if TYPE_CHECKING:
    import pandas as pd

# Okabe-Ito, as the report's charts: blue for the trend, vermilion slower, bluish green faster.
_TREND = "#0072B2"
_SLOWER = "#D55E00"
_FASTER = "#009E73"
_INVALID = "#8a8a8a"
_MAX_TICKS = 12

_CSS = """
td.slower { color: #b42318; }
td.faster { color: #067647; }
nav { margin: 4px 0 16px; font-size: 13px; }
"""


@dataclass(frozen=True, slots=True)
class Site:
    pages: tuple[Path, ...]
    charts: int


def _unit(median_s: float) -> tuple[float, str]:
    for scale, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs")):
        if median_s >= scale:
            return scale, unit
    return 1e-9, "ns"


def _tick_label(row: Any) -> str:
    commit = row.commit
    if isinstance(commit, str) and commit:
        return commit[:7]
    return f"{row.time:%m-%d %H:%M}"


def _tick_labels(rows: list[Any]) -> list[str]:
    """Each run's label; runs of one commit (a rerun, two machines' rounds) add their time, so
    two ticks never read the same."""
    labels = [_tick_label(r) for r in rows]
    seen = {label: labels.count(label) for label in labels}
    return [
        f"{label} {r.time:%m-%d %H:%M}"
        if seen[label] > 1 and label != f"{r.time:%m-%d %H:%M}"
        else label
        for label, r in zip(labels, rows, strict=True)
    ]


def _page_name(machine: str) -> str:
    return f"machine-{re.sub(r'[^A-Za-z0-9_-]', '_', machine)}.html"


def _anchor(workload: str) -> str:
    """A chart's id on its machine page, from the workload id."""
    return "wl-" + re.sub(r"[^A-Za-z0-9_-]+", "-", workload).strip("-")


def trend_chart(series: pd.DataFrame, steps: list[Step], key: str, title: str) -> str:
    """One workload on one machine: runs in time order, SVG text."""
    x = np.arange(len(series))
    ok = series["status"].eq("ok").to_numpy()
    valid = ok & series["valid"].fillna(False).astype(bool).to_numpy()
    med = series["median_s"].to_numpy(dtype=np.float64)
    q1 = series["q1_s"].to_numpy(dtype=np.float64)
    q3 = series["q3_s"].to_numpy(dtype=np.float64)
    scale, unit = _unit(float(np.nanmedian(med[ok])) if ok.any() else 1.0)
    fig = Figure(figsize=(6.4, 3.5))
    ax = fig.add_subplot()
    if valid.any():
        xv = x[valid]
        ax.fill_between(xv, q1[valid] / scale, q3[valid] / scale, color=_TREND, alpha=0.15, lw=0)
        dense = len(x) > 200  # a thousand runs: thin lines and dots, or the trend is a smear
        ax.plot(
            xv, med[valid] / scale, color=_TREND, lw=0.5 if dense else 1.0, marker="o",
            ms=0.8 if dense else 2.5,
        )  # fmt: skip
    invalid = ok & ~valid
    if valid.any():
        # The scale is the valid results': an invalid one far off would flatten the trend.
        low, high = np.nanmin(q1[valid]) / scale, np.nanmax(q3[valid]) / scale
        pad = max(high - low, 1e-3 * high) * 0.08
        low, high = low - pad, high + pad
        ax.set_ylim(low, high)
    else:
        low, high = -np.inf, np.inf
    if invalid.any():
        y = med[invalid] / scale
        inside = (y >= low) & (y <= high)
        ax.plot(x[invalid][inside], y[inside], ls="none", marker="x", ms=5, color=_INVALID)
        # Off the scale: a triangle at the edge, pointing the way the value lies.
        ax.plot(
            x[invalid][y > high],
            np.full((y > high).sum(), high),
            ls="none",
            marker="^",
            ms=5,
            color=_INVALID,
            clip_on=False,
        )
        ax.plot(
            x[invalid][y < low],
            np.full((y < low).sum(), low),
            ls="none",
            marker="v",
            ms=5,
            color=_INVALID,
            clip_on=False,
        )
    position = {int(run): i for i, run in enumerate(series["run"])}
    versions = series["method_version"].to_numpy()
    for i in np.flatnonzero(versions[1:] != versions[:-1]) + 1:
        ax.axvline(i - 0.5, color=_INVALID, ls=":", lw=1)
        ax.annotate(
            f"method v{versions[i]}",
            (i - 0.5, 1),
            xycoords=("data", "axes fraction"),
            fontsize=7,
            color=_INVALID,
            ha="left",
            va="top",
        )
    for step in steps:
        i = position.get(step.run)
        if i is None:
            continue
        colour = _SLOWER if step.slower else _FASTER
        ax.axvline(i - 0.5, color=colour, ls="--", lw=1.2)
        for level in (step.before_median_s, step.after_median_s):
            ax.axhline(level / scale, color=colour, ls=":", lw=0.8, alpha=0.7)
        ax.annotate(
            step.describe(),
            (i - 0.5, 0.98),
            xycoords=("data", "axes fraction"),
            xytext=(3, 0),
            textcoords="offset points",
            fontsize=8,
            color=colour,
            ha="left",
            va="top",
        )
    stride = max(1, int(np.ceil(len(x) / _MAX_TICKS)))
    ticks = x[::stride]
    labels = _tick_labels(list(series.itertuples()))
    ax.set_xticks(ticks, [labels[i] for i in ticks], fontsize=8.5, rotation=30, ha="right")
    ax.tick_params(axis="y", labelsize=9)
    plain_numbers(ax, "y")
    ax.set_ylabel(f"{unit} per step", fontsize=9)
    ax.set_xlim(-0.5, max(len(x) - 0.5, 0.5))
    ax.set_title(title, loc="left", fontsize=10.5)
    ax.grid(color="#e5e5e5", lw=0.6)
    ax.set_axisbelow(True)
    ax.set_xlabel("runs in time order (commit, or time where none was given)", fontsize=8.5)
    handles = [
        Line2D([], [], color=_TREND, marker="o", ms=3, label="median of a run (band: its IQR)"),
    ]
    if invalid.any():
        handles.append(
            Line2D(
                [],
                [],
                color=_INVALID,
                marker="x",
                ls="none",
                label="invalid, not used (triangle: off the scale)",
            )
        )
    if steps:
        handles.append(Line2D([], [], color=_SLOWER, ls="--", label="step (dotted: medians)"))
    # The legend in a strip under the axis label: above the axes it covered the title.
    fig.legend(handles=handles, fontsize=8.5, loc="lower left", ncols=2, frameon=False)
    # Fixed margins, not tight_layout: measuring every label's extent cost half the time of
    # a chart (23 charts: 4.9 of 9.8 s), and these charts all share one layout.
    fig.subplots_adjust(left=0.11, right=0.98, top=0.91, bottom=0.42)
    return figure_svg(fig, key)


def _steps_table(steps: list[Step], frame: pd.DataFrame, link: bool) -> list[str]:
    if not steps:
        return ["<p>(no step found)</p>"]
    labels = dict(zip(frame["machine"], frame["machine_label"], strict=False))
    out = [
        '<div class="scroll"><table><thead><tr><th>machine</th><th>workload</th>'
        "<th>first run after</th><th>before</th><th>after</th><th>change</th><th>p</th>"
        "</tr></thead><tbody>"
    ]
    for s in steps:
        where = f"{s.commit[:10]} " if s.commit else ""
        machine = escape(f"{s.machine} ({labels.get(s.machine, '')})")
        page = _page_name(s.machine) if link else ""
        if link:
            machine = f'<a href="{page}">{machine}</a>'
        workload = f'<a href="{page}#{_anchor(s.workload)}">{escape(s.workload)}</a>'
        out.append(
            f'<tr><td class="run">{machine}</td><td class="wl">{workload}</td>'
            f'<td class="run">run {s.run}: {escape(where)}{escape(f"{s.time:%Y-%m-%d %H:%M}")}'
            f'</td><td class="num">{seconds(s.before_median_s)}</td>'
            f'<td class="num">{seconds(s.after_median_s)}</td>'
            f'<td class="num {"slower" if s.slower else "faster"}">{escape(s.describe())}</td>'
            f'<td class="num">{s.p_value:.2g}</td></tr>'
        )
    out.append("</tbody></table></div>")
    return out


MARKER = ".subsidybench-history"
"""Left in a site's directory: a later `history --out` may write there again, and nowhere else
that holds files."""


def claim_site(out: Path) -> None:
    """Make `out` the site's directory: a new one (its parent must exist, as for every --out),
    an empty one, or one a previous site was written to (it holds the marker). A directory of
    the user's own files is refused: writing index.html there would replace theirs."""
    if not out.parent.is_dir():
        raise UserError(f"--out: {out.parent}: no such directory (create it first)")
    try:
        out.mkdir(exist_ok=True)
        held = sorted(p.name for p in out.iterdir())
    except OSError as e:
        raise UserError(f"--out: {out}: {e.strerror or e}") from None
    if held and MARKER not in held:
        names = ", ".join(held[:3]) + (", ..." if len(held) > 3 else "")
        raise UserError(
            f"--out: {out} holds files a history site did not write ({names}): give a new or"
            " empty directory"
        )
    write_atomic(
        out / MARKER, "subsidybench history site: `history --out` may rewrite it\n", "--out"
    )


def render_site(
    frame: pd.DataFrame,
    steps: list[Step],
    method: StepMethod,
    out: Path,
    *,
    source: str,
) -> Site:
    """Write index.html and one page per machine into `out`; returns what was written."""
    claim_site(out)
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    meta = (
        f'<p class="meta">Generated {escape(generated)} by subsidybench {escape(__version__)}'
        f" from {escape(source)}.</p>"
    )
    method_line = (
        f'<p class="intro">Steps: {escape(method.describe())}; each confirmed over the whole'
        " segments between steps. Invalid results are drawn apart (grey crosses) and never"
        " used.</p>"
    )
    pages: list[Path] = []
    n_charts = 0
    machines = frame.drop_duplicates("machine")[["machine", "machine_label"]] if len(frame) else []
    index = ["<h1>Benchmark history</h1>", meta, method_line, "<h2>Machines</h2>"]
    if len(machines) == 0:
        index.append("<p>(the store holds no runs)</p>")
    else:
        index.append(
            '<div class="scroll"><table><thead><tr><th>machine</th><th>label</th><th>runs</th>'
            "<th>first</th><th>last</th><th>steps</th></tr></thead><tbody>"
        )
    for machine, label in machines.itertuples(index=False) if len(machines) else []:
        sub = frame[frame["machine"] == machine]
        mine = [s for s in steps if s.machine == machine]
        index.append(
            f'<tr><td class="run"><a href="{_page_name(machine)}">{escape(machine)}</a></td>'
            f'<td>{escape(label)}</td><td class="num">{sub["run"].nunique()}</td>'
            f'<td class="run">{sub["time"].min():%Y-%m-%d %H:%M}</td>'
            f'<td class="run">{sub["time"].max():%Y-%m-%d %H:%M}</td>'
            f'<td class="num">{len(mine)}</td></tr>'
        )
        body = [
            f"<h1>{escape(label)}</h1>",
            f'<nav><a href="index.html">all machines</a> · machine {escape(machine)}</nav>',
            meta,
            method_line,
            "<h2>Steps</h2>",
            *_steps_table(mine, frame, link=False),
            "<h2>Trends</h2>",
        ]
        for workload, series in sub.groupby("workload", sort=True):
            key = f"{machine}-{n_charts}"
            title = f"{short_id(workload)}  ({series['run'].nunique()} runs)"
            wl_steps = [s for s in mine if s.workload == workload]
            body += [
                f'<figure id="{_anchor(workload)}">',
                trend_chart(series, wl_steps, key, title),
                f"<figcaption>{escape(str(workload))}</figcaption>",
                "</figure>",
            ]
            n_charts += 1
        page = out / _page_name(machine)
        write_atomic(page, html_page(f"History: {label}", body, _CSS), "--out")
        pages.append(page)
    if len(machines):
        index.append("</tbody></table></div>")
    index += ["<h2>Steps found</h2>", *_steps_table(steps, frame, link=True)]
    page = out / "index.html"
    write_atomic(page, html_page("Benchmark history", index, _CSS), "--out")
    return Site(pages=(page, *pages), charts=n_charts)
