"""The tornado chart: what moves each run's cost per PFLOP-hour most (cost.uncertainty's bars),
one panel per distinct picture. Drawn as the report's other charts (report.charts)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from matplotlib.figure import Figure

from subsidybench.report.charts import (
    COLOURS,
    WIDTH_IN,
    Chart,
    figure_svg,
    outside_layout,
    plain_numbers,
)
from subsidybench.report.i18n import INPUT_NAMES, Messages

if TYPE_CHECKING:
    from subsidybench.report.tables import Report


def tornado_chart(report: Report, m: Messages) -> Chart | None:
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
    fig = Figure(figsize=(WIDTH_IN, 1.0 + 0.5 * rows + 0.7 * len(panels)))
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
