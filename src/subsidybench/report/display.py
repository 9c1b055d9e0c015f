"""A report's tables as text cells, once, for every text renderer (Markdown and HTML).

Numbers are formatted here with their units; each section says what its figures rest on, and
footnotes explain skipped, failed and invalid results. Torch- and matplotlib-free.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from subsidybench.report.tables import Report
from subsidybench.report.terminal import percent, seconds, si

BASIS_LEGEND = (
    ("measured", "timed on the device by this toolkit: the median of the raw samples"),
    ("derived", "computed from other figures; the table or the assumptions show how"),
    ("given by hand", "stated by the person who made the report (--price, --fx)"),
    (
        "vendor / estimate / programme / data file",
        "read from a profile, a subsidy programme"
        " or a data file, with its source in the assumptions",
    ),
)


@dataclass(frozen=True, slots=True)
class Section:
    """One table of the report as text: a title, what it rests on, rows and footnotes."""

    key: str
    title: str
    intro: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[bool, ...]
    """Which columns hold numbers (right-aligned)."""
    notes: tuple[str, ...] = ()


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def money(value: Any, currency: str | None = None) -> str:
    """2,495.05 / 0.02372: two decimals from 1 up, four significant digits below."""
    if _missing(value) or not math.isfinite(value):
        return "-"
    text = f"{value:,.2f}" if abs(value) >= 1 or value == 0 else f"{value:.4g}"
    return f"{text} {currency}" if currency else text


def short_id(rid: str, keep: int = 2) -> str:
    """matmul[n=1024,m=1024,k=1024]/fp32 -> matmul[n=1024,m=1024,…]/fp32, for chart labels."""
    if "[" not in rid or "]" not in rid:
        return rid
    head, rest = rid.split("[", 1)
    inner, tail = rest.rsplit("]", 1)
    params = inner.split(",")
    shown = ",".join(params[:keep]) + (",…" if len(params) > keep else "")
    return f"{head}[{shown}]{tail}"


def _cell(value: Any, fmt: Any) -> str:
    return "-" if _missing(value) else fmt(value)


def _runs(report: Report) -> Section:
    rows = tuple(
        (
            r.run,
            f"{r.suite} v{r.suite_version}",
            f"{r.device} ({r.device_name})",
            r.profile or "none",
            r.measured_by,
            r.state,
            r.started,
            f"torch {r.torch}, {r.threads} threads",
        )
        for r in report.runs.itertuples()
    )
    return Section(
        "runs",
        "Runs",
        "The result files this report reads: where and how each was measured.",
        ("run", "suite", "device", "profile", "measured by", "state", "started", "software"),
        rows,
        (False,) * 8,
    )


def _results(report: Report) -> Section:
    rows = []
    notes: list[str] = []

    def note(text: str) -> str:
        notes.append(text)
        return f" [{len(notes)}]"

    for r in report.results.itertuples():
        if r.status != "ok":
            mark = note(f"{r.run}: {r.id}: {r.status}: {r.note}")
            rows.append((r.run, r.id, r.dtype, "", "", "", "", "", f"{r.status}{mark}", ""))
            continue
        headline = (
            si(r.flops_per_s, "FLOP/s") if not _missing(r.flops_per_s) else si(r.bytes_per_s, "B/s")
        )
        verdict = "valid" if r.valid else f"invalid{note(f'{r.run}: {r.id}: {r.verdict}')}"
        if r.note:
            verdict += note(f"{r.run}: {r.id}: {r.note}")
        rows.append(
            (
                r.run,
                r.id,
                r.dtype,
                seconds(r.median_s),
                percent(r.spread),
                str(int(r.n)),
                headline,
                si(r.items_per_s, f"{r.item_unit}/s"),
                verdict,
                r.basis,
            )
        )
    return Section(
        "results",
        "Results",
        "Measured: seconds per step are the median of the raw samples (one per timed block);"
        " rates follow from the work each workload states per step. IQR/median is the spread;"
        " an invalid verdict means the figure must not be costed.",
        (
            "run",
            "workload",
            "dtype",
            "median",
            "IQR/median",
            "n",
            "throughput",
            "rate",
            "verdict",
            "basis",
        ),
        tuple(rows),
        (False, False, False, True, True, True, True, True, False, False),
        tuple(notes),
    )


def _utilisation(report: Report) -> Section:
    rows = []
    notes = []
    for u in report.utilisation.itertuples():
        of_peak = percent(None if _missing(u.of_peak) else u.of_peak)
        if not _missing(u.of_peak) and u.of_peak > 1:
            notes.append(
                f"{u.run}: {u.id}: above the profile's peak: the peak figure ({u.peak_basis})"
                f" is too low for this machine, not a device beating physics: {u.peak_source}"
            )
            of_peak += f" [{len(notes)}]"
        rows.append(
            (
                u.run,
                u.id,
                si(u.flops_per_s, "FLOP/s") + ("" if u.valid else " (invalid)"),
                _cell(u.peak_flops_per_s, lambda v: si(v, "FLOP/s")),
                u.peak_basis,
                of_peak,
                percent(None if _missing(u.of_best_matmul) else u.of_best_matmul),
                u.basis,
            )
        )
    return Section(
        "utilisation",
        "Utilisation",
        "Derived: the measured FLOP/s over the profile's dense peak for the dtype (MFU for"
        " training workloads), and over the fastest valid matmul of the same run and dtype (what"
        " this software stack reaches on this device).",
        (
            "run",
            "workload",
            "achieved",
            "peak",
            "peak basis",
            "% of peak",
            "% of best matmul",
            "basis",
        ),
        tuple(rows),
        (False, False, True, True, False, True, True, False),
        tuple(notes),
    )


def _costs(report: Report) -> Section | None:
    if report.costs.empty:
        return None
    cur = report.currency
    rows = tuple(
        (
            c.run,
            c.id,
            f"{c.flops_per_s / 1e12:,.4g}",
            f"{money(c.price_per_hour)} ({c.price_basis})",
            f"{c.subsidy_rate:.0%} ({c.rate_basis})",
            money(c.net_price_per_hour),
            money(c.gross_per_pflop_hour),
            money(c.net_per_pflop_hour),
            money(c.net_per_million_tokens),
        )
        for c in report.costs.itertuples()
    )
    programme = f" under {report.programme}" if report.programme else " (no subsidy programme)"
    return Section(
        "costs",
        "Cost per unit of work",
        f"Money in {cur}. Derived from each valid measured throughput (never the peak) and the"
        f" price per device-hour{programme}: a PFLOP-hour is 10^15 FLOP/s for an hour of useful"
        " work; per million tokens for workloads that count tokens.",
        (
            "run",
            "workload",
            "TFLOP/s (measured)",
            f"price per hour, {cur}",
            "subsidy rate",
            f"net per hour, {cur}",
            f"gross per PFLOP-hour, {cur}",
            f"net per PFLOP-hour, {cur}",
            f"net per million tokens, {cur}",
        ),
        rows,
        (False, False, True, True, True, True, True, True, True),
    )


def _sweep(report: Report) -> Section | None:
    if report.sweep.empty:
        return None
    cur = report.currency
    frame = report.sweep
    runs = list(dict.fromkeys(frame["run"]))
    pivot = frame.pivot_table(index="rate", columns="run", values="net_per_pflop_hour")
    heads = []
    for run in runs:
        rid = frame.loc[frame["run"] == run, "id"].iloc[0]
        heads.append(f"{run}: {rid}")
    rows = tuple(
        (f"{rate:.0%}", *(money(pivot.loc[rate, run]) for run in runs)) for rate in pivot.index
    )
    return Section(
        "sweep",
        "Subsidy-rate sweep",
        f"Net cost per PFLOP-hour of useful work, in {cur}, as the subsidy rate goes from"
        " 0% to 100%, for each run's reference workload (its fastest valid matmul unless"
        " --sweep-workload names another). Caps and pools are not applied.",
        ("subsidy rate", *heads),
        rows,
        (True,) * (1 + len(runs)),
    )


def _assumptions(report: Report) -> Section:
    rows = tuple(
        (a.applies_to, a.name, a.value, a.basis, a.source) for a in report.assumptions.itertuples()
    )
    return Section(
        "assumptions",
        "Assumptions",
        "Every input the figures above rest on, with its basis and source.",
        ("applies to", "name", "value", "basis", "source"),
        rows,
        (False,) * 5,
    )


def sections(report: Report) -> list[Section]:
    """The report's sections in reading order; cost sections only where something was costed."""
    from subsidybench.report.serving_view import serving_section

    out = [_runs(report), _results(report), _utilisation(report)]
    out.extend(s for s in (_costs(report), serving_section(report), _sweep(report)) if s)
    out.append(_assumptions(report))
    return out
