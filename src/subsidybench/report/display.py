"""A report's tables as text cells, once, for every text renderer (Markdown and HTML).

Numbers are formatted here with their units; each section says what its figures rest on, and
footnotes explain skipped, failed and invalid results. Torch- and matplotlib-free.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from subsidybench.report.core_words import core_text
from subsidybench.report.i18n import ENGLISH, Messages, reason, spread_text
from subsidybench.report.tables import Report
from subsidybench.report.terminal import percent, seconds, si

_LEGEND = ("measured", "derived", "given", "other")
INVALID_MARK = "✗"
"""Marks an invalid row in text renderings (Markdown); HTML greys the row and badges it red."""


def basis_legend(m: Messages = ENGLISH) -> tuple[tuple[str, str], ...]:
    """(basis, meaning) pairs that open every report."""
    return tuple((m(f"legend.{k}"), m(f"legend.{k}_meaning")) for k in _LEGEND)


BASIS_LEGEND = basis_legend()


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
    invalid: tuple[str, ...] = ()
    """Per row: why its figures are invalid ("" for a valid row; empty: no row is invalid).
    Every renderer sets such a row apart the same way (report.render_md, render_html)."""

    def __post_init__(self) -> None:
        if self.invalid and len(self.invalid) != len(self.rows):
            raise ValueError(f"section {self.key}: one invalid flag per row")
        widths = {len(row) for row in self.rows} | {len(self.headers), len(self.numeric)}
        if len(widths) > 1:
            raise ValueError(f"section {self.key}: rows, headers and numeric differ in width")


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


def programme_name(report: Report, m: Messages) -> str:
    """The programme as the reader's language names it (Chinese: as its office writes it)."""
    names = report.programme_names
    return names.get(m.lang) or names.get("en") or report.programme or ""


def _cell(value: Any, fmt: Any) -> str:
    return "-" if _missing(value) else fmt(value)


def _runs(report: Report, m: Messages) -> Section:
    rows = tuple(
        (
            r.run,
            f"{r.suite} v{r.suite_version}",
            f"{r.device} ({r.device_name})",
            r.profile or m("runs.no_profile"),
            r.measured_by,
            _cell(r.machine_spread, lambda v: f"{v:.1%}")
            + " / "
            + _cell(r.machine_round_spread, lambda v: f"{v:.1%}"),
            m(f"state.{r.state}") if m.has(f"state.{r.state}") else r.state,
            r.started,
            m("runs.software", torch=r.torch, threads=r.threads),
        )
        for r in report.runs.itertuples()
    )
    heads = (
        "run",
        "suite",
        "device",
        "profile",
        "measured_by",
        "machine_spread",
        "state",
        "started",
        "software",
    )
    return Section(
        "runs",
        m("section.runs"),
        m("section.runs_intro"),
        tuple(m(f"head.{h}") for h in heads),
        rows,
        (False,) * len(heads),
    )


def _results(report: Report, m: Messages) -> Section:
    rows = []
    notes: list[str] = []
    invalid: list[str] = []

    def note(text: str) -> str:
        notes.append(text)
        return f" [{len(notes)}]"

    for r in report.results.itertuples():
        if r.status != "ok":
            mark = note(f"{r.run}: {r.id}: {r.status}: {r.note}")
            rows.append((r.run, r.id, r.dtype, "", "", "", "", "", f"{r.status}{mark}", ""))
            invalid.append("")
            continue
        headline = (
            si(r.flops_per_s, "FLOP/s")
            if not _missing(r.flops_per_s) and r.flops_per_s
            else si(r.bytes_per_s, "B/s")
            if not _missing(r.bytes_per_s) and r.bytes_per_s
            else "-"  # an endpoint's work: tokens only
        )
        why = "" if r.valid else reason(str(r.verdict), m)
        invalid.append(why)
        if r.valid:
            verdict = m("word.valid")
        else:
            verdict = m("word.invalid") + note(f"{r.run}: {r.id}: {m('word.invalid')}: {why}")
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
                m.basis(r.basis) + ("" if r.valid else f" ({m('word.invalid')})"),
            )
        )
    heads = (
        "run",
        "workload",
        "dtype",
        "median",
        "iqr",
        "n",
        "throughput",
        "rate",
        "verdict",
        "basis",
    )
    return Section(
        "results",
        m("section.results"),
        m("section.results_intro"),
        tuple(m(f"head.{h}") for h in heads),
        tuple(rows),
        (False, False, False, True, True, True, True, True, False, False),
        tuple(notes),
        tuple(invalid) if any(invalid) else (),
    )


# The utilisation table's bases (report.tables.utilisation) and their message keys.
_UTIL_BASIS = {
    "derived: measured rate / peak": "util.basis_peak",
    "derived: measured rate / best matmul of the run": "util.basis_best",
}


def assumption_text(name: str, value: str, m: Messages) -> tuple[str, str]:
    """An assumption's name and value in the reader's language: the ones the report itself
    states (report.tables.assumptions) in words; the costing core's through its phrases
    (report.core_words), figures and ids kept as written."""
    peak = re.fullmatch(r"(\w+) dense peak", name)
    if peak:
        text = re.sub(r"\((.+)\)$", lambda g: f"({m.basis(g[1])})", value)
        return m("assume.dense_peak", dtype=peak[1]), text
    return m.input_name(name), core_text(value, m)


def _utilisation(report: Report, m: Messages) -> Section:
    rows = []
    notes = []
    flag = f" ({m('word.invalid')})"
    verdicts = {(r.run, r.id): r.verdict for r in report.results.itertuples()}
    invalid = []
    for u in report.utilisation.itertuples():
        invalid.append("" if u.valid else reason(str(verdicts.get((u.run, u.id), "")), m))
        of_peak = percent(None if _missing(u.of_peak) else u.of_peak) + ("" if u.valid else flag)
        if not _missing(u.of_peak) and u.of_peak > 1:
            notes.append(
                m(
                    "note.above_peak",
                    run=u.run,
                    id=u.id,
                    basis=m.basis(u.peak_basis),
                    source=core_text(u.peak_source, m),
                )
            )
            of_peak += f" [{len(notes)}]"
        rows.append(
            (
                u.run,
                u.id,
                si(u.flops_per_s, "FLOP/s") + ("" if u.valid else flag),
                _cell(u.peak_flops_per_s, lambda v: si(v, "FLOP/s")),
                m.basis(u.peak_basis),
                of_peak,
                percent(None if _missing(u.of_best_matmul) else u.of_best_matmul),
                m(_UTIL_BASIS.get(u.basis, "")) if u.basis in _UTIL_BASIS else u.basis,
            )
        )
    heads = ("run", "workload", "achieved", "peak", "peak_basis", "of_peak", "of_best", "basis")
    return Section(
        "utilisation",
        m("section.utilisation"),
        m("section.utilisation_intro"),
        tuple(m(f"head.{h}") for h in heads),
        tuple(rows),
        (False, False, True, True, False, True, True, False),
        tuple(notes),
        tuple(invalid) if any(invalid) else (),
    )


def _price(c: Any, m: Messages) -> str:
    """The price as given: a range a~b with its midpoint (the figure costed), or one amount."""
    basis = m.basis(c.price_basis)
    if _missing(getattr(c, "price_low", None)):
        return f"{money(c.price_per_hour)} ({basis})"
    low, high = money(c.price_low), money(c.price_high)
    return m("costs.price_range", low=low, high=high, mid=money(c.price_per_hour), basis=basis)


def _costs(report: Report, m: Messages) -> Section | None:
    if report.costs.empty:
        return None
    cur = report.currency
    rows = tuple(
        (
            c.run,
            c.id,
            # Measured or estimated (--estimate-on): the basis beside each figure, not the head.
            f"{c.flops_per_s / 1e12:,.4g} ({m.basis(c.throughput_basis)})",
            _price(c, m),
            f"{c.subsidy_rate:.0%} ({m.basis(c.rate_basis)})",
            money(c.net_price_per_hour),
            money(c.gross_per_pflop_hour),
            money(c.net_per_pflop_hour),
            money(c.net_per_million_tokens),
        )
        for c in report.costs.itertuples()
    )
    programme = (
        m("section.under", programme=programme_name(report, m))
        if report.programme
        else m("section.no_programme")
    )
    heads = (
        "run",
        "workload",
        "tflops",
        "price_per_hour",
        "subsidy_rate",
        "net_per_hour",
        "gross_per_pflop_hour",
        "net_per_pflop_hour",
        "net_per_million_tokens",
    )
    c = m.currency(cur)
    return Section(
        "costs",
        m("section.costs"),
        m("section.costs_intro", currency=c, programme=programme),
        tuple(m(f"head.{h}", currency=c) if "per" in h else m(f"head.{h}") for h in heads),
        rows,
        (False, False, True, True, True, True, True, True, True),
    )


def _sweep(report: Report, m: Messages) -> Section | None:
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
        m("section.sweep"),
        m("section.sweep_intro", currency=m.currency(cur)),
        (m("head.subsidy_rate"), *heads),
        rows,
        (True,) * (1 + len(runs)),
    )


def _assumptions(report: Report, m: Messages) -> Section:
    labels = set(report.runs["run"]) if "run" in report.runs else set()

    def scope(name: str) -> str:
        # A run is named by its label; the report's own scopes (the sweep, serving) in words.
        return name if name in labels or not m.has(f"scope.{name}") else m(f"scope.{name}")

    rows = tuple(
        (
            scope(a.applies_to),
            *assumption_text(a.name, a.value, m),
            m.basis(a.basis),
            core_text(a.source, m),
        )
        for a in report.assumptions.itertuples()
    )
    return Section(
        "assumptions",
        m("section.assumptions"),
        m("section.assumptions_intro"),
        tuple(m(f"head.{h}") for h in ("applies_to", "name", "value", "basis", "source")),
        rows,
        (False,) * 5,
    )


def _ranges(report: Report, m: Messages) -> Section | None:
    done = [(label, r) for label, r in report.ranges if r is not None]
    if not done:
        return None
    rows = []
    for label, r in done:
        figure = r.figures.get("net_per_pflop_hour")
        if figure is None:
            continue
        inputs = "; ".join(spread_text(f"{s.label}: {s.describe}", m) for s in r.sources)
        rows.append((label, *(money(v) for v in figure), inputs, str(r.seed)))
    cur = m.currency(report.currency)
    heads = ("run", "point", "p10", "p50", "p90", "spread_from", "seed")
    return Section(
        "ranges",
        m("section.ranges"),
        m("section.ranges_intro", currency=cur, draws=f"{done[0][1].draws:,}"),
        tuple(m(f"head.{h}") for h in heads),
        tuple(rows),
        (False, True, True, True, True, False, True),
    )


def sections(report: Report, m: Messages = ENGLISH) -> list[Section]:
    """The report's sections in reading order; cost sections only where something was costed."""
    from subsidybench.report.answer_view import answer_section
    from subsidybench.report.serving_view import serving_section

    out = [answer_section(report, m), _runs(report, m), _results(report, m)]
    out.append(_utilisation(report, m))
    parts = (_costs(report, m), serving_section(report, m), _ranges(report, m), _sweep(report, m))
    out.extend(s for s in parts if s is not None)
    out.append(_assumptions(report, m))
    return out
