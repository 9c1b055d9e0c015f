"""What the page shows of an Outcome (cost.door): the headline first, then the tornado, the
assumptions with their sources, then details. Plain data for the template; no costing here."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from subsidybench.cost.door import Outcome
from subsidybench.report.core_words import core_text
from subsidybench.report.i18n import INPUT_NAMES, Messages

SWEEP_ROWS = 40
"""Rows of a sweep the page shows (the JSON download has them all)."""


@dataclass(frozen=True, slots=True)
class Figure:
    """One figure of the headline: `key` names it for tests and styles, `text` is as shown."""

    key: str
    label: str
    text: str
    note: str = ""


def _money(m: Messages, value: float | None, currency: str | None) -> str:
    return m.amount(value, currency)


def _exact(value: float | None, currency: str | None) -> str:
    """To the cent, in plain digits, whatever the units: the figure `cost --json` holds."""
    if value is None or not math.isfinite(value):
        return "-"
    return f"{value:,.2f} {currency or ''}".rstrip()


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def headline(o: Outcome, m: Messages, w: dict[str, str]) -> list[Figure]:
    """The figures a reader who reads nothing else needs, in the order they are read."""
    d = o.doc
    cur = d.get("currency")
    if o.kind in ("estimate", "serving"):  # a serving answer is an estimate at its picked point
        subsidy = d.get("subsidy") or {}
        figures = [
            Figure("net", w["net"], _exact(d.get("net"), cur), _other_units(m, d.get("net"), cur)),
            Figure(
                "subsidy",
                w["subsidy"],
                _money(m, subsidy.get("amount"), cur) if subsidy else "-",
                f"{w['effective_rate']} {_share(subsidy.get('effective_rate'))}" if subsidy else "",
            ),
            Figure("gross", w["gross"], _money(m, d.get("gross"), cur)),
            Figure(
                "days",
                w["days"],
                w["days_unknown"] if d.get("wall_days") is None else f"{d['wall_days']:,.1f}",
            ),
            Figure("range", w["range"], _range(o, m, w, cur)),
        ]
        for key in ("net_per_pflop_hour", "net_per_million_tokens"):
            if d.get(key) is not None:
                figures.append(Figure(key, w[key[4:]], m.price(d[key], cur)))
        return figures
    if o.kind == "reach":
        return [
            Figure(
                "amount", str(d.get("amount_label") or "amount"), _money(m, d.get("amount"), cur)
            ),
            *[
                Figure(key, m.input_name(key.replace("_", " ")), f"{d[key]:,.4g}")
                for key in ("device_hours", "pflop_days", "training_runs", "firms_covered")
                if isinstance(d.get(key), int | float)
            ],
        ]
    return []


def _other_units(m: Messages, value: float | None, cur: str | None) -> str:
    """The net in the reader's units (万/亿 in Chinese), where they differ from plain digits."""
    text = m.amount(value, cur)
    return "" if text == _exact(value, m.currency(cur)) else text


def _range(o: Outcome, m: Messages, w: dict[str, str], cur: str | None) -> str:
    if o.spread is None:
        return w["range_none"]
    figure = o.spread.figures.get("net")
    if figure is None:
        return w["range_none"]
    return f"{m.amount(figure[1], cur)} - {m.amount(figure[3], cur)}"


def tornado(o: Outcome, m: Messages) -> list[dict[str, Any]]:
    """Tornado rows with their bar's left edge and width in percent of the widest swing."""
    if o.spread is None or not o.spread.tornado:
        return []
    bars = o.spread.tornado
    low = min(min(b.at_low, b.at_high) for b in bars)
    high = max(max(b.at_low, b.at_high) for b in bars)
    span = (high - low) or 1.0
    cur = o.spread.currency or o.doc.get("currency")
    keys = {src.label: src.key for src in o.spread.sources}
    return [
        {
            "label": m.input_name(INPUT_NAMES.get(keys.get(b.label, ""), b.label)),
            "inputs": f"{b.low:,.4g} / {b.high:,.4g}",
            "at_low": m.amount(b.at_low, cur),
            "at_high": m.amount(b.at_high, cur),
            "left": 100 * (min(b.at_low, b.at_high) - low) / span,
            "width": max(100 * b.swing / span, 0.5),
        }
        for b in bars
    ]


def assumptions(o: Outcome, m: Messages) -> list[dict[str, str]]:
    rows = o.doc.get("assumptions") or []
    if o.kind == "compare":
        rows = [a for e in o.doc["ranked"] for a in e.get("assumptions", [])]
    seen: set[tuple[str, str]] = set()
    out = []
    for a in rows:
        key = (a["name"], a["value"])
        if key in seen:
            continue
        seen.add(key)
        out.append(
            {
                "name": m.input_name(a["name"]),
                "value": core_text(a["value"], m),
                "basis": m.basis(a["basis"]),
                "source": core_text(a.get("source", ""), m),
            }
        )
    return out


def _text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.6g}" if math.isfinite(value) else str(value)
    return str(value)


def details(o: Outcome) -> list[tuple[str, str]]:
    """Every plain figure of the answer's JSON (nested subsidy figures as subsidy_*)."""
    rows: list[tuple[str, str]] = []
    for key, value in o.doc.items():
        if isinstance(value, dict) and key == "subsidy":
            rows += [(f"subsidy_{k}", _text(v)) for k, v in value.items() if v is not None]
        elif value is not None and not isinstance(value, list | dict):
            rows.append((key, _text(value)))
    return rows


def ranked(o: Outcome, m: Messages) -> list[dict[str, str]]:
    if o.kind != "compare":
        return []
    out = []
    for n, e in enumerate(o.doc["ranked"], 1):
        cur = e.get("currency")
        subsidy = e.get("subsidy") or {}
        per = e.get("net_per_pflop_hour") or e.get("net_per_million_tokens")
        out.append(
            {
                "rank": str(n),
                "label": e.get("label", ""),
                "net": _exact(e.get("net"), cur),
                "per_unit": m.price(per, cur),
                "subsidy": _money(m, subsidy.get("amount"), cur) if subsidy else "-",
                "rate": _share(subsidy.get("effective_rate")) if subsidy else "-",
                "days": "-" if e.get("wall_days") is None else f"{e['wall_days']:,.1f}",
            }
        )
    return out


def sweep(o: Outcome) -> tuple[list[str], list[list[str]]]:
    if o.kind != "sweep" or o.frame is None:
        return [], []
    head = o.frame.head(SWEEP_ROWS)
    return [str(c) for c in head.columns], [[_text(v) for v in row] for row in head.to_numpy()]
