"""A contract's acceptance as a terminal table, one row per clause, with its footnotes.

Torch-free; printing is the caller's.
"""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from subsidybench.results.acceptance import Acceptance, ClauseResult, Outcome
from subsidybench.results.contract import Doubt, Quantity

_STYLE = {Outcome.PASS: "green", Outcome.FAIL: "red", Outcome.NOT_MEASURED: "yellow"}


def _figure(r: ClauseResult, value: float | None) -> str:
    if value is None:
        return "-"
    if r.clause.quantity is Quantity.GPT_TRAIN_MFU:
        return f"{value:.1%}"
    if r.clause.quantity is Quantity.DEVICES:
        return f"{value:.0f}"
    return f"{value:,.4g} {r.clause.quantity.unit}"


def _verdict(r: ClauseResult) -> str:
    text = r.outcome.value
    if r.outcome is Outcome.NOT_MEASURED:
        text += " (optional)" if r.clause.optional else ": fails"
    return f"[{_STYLE[r.outcome]}]{escape(text)}[/]"


def _confidence(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def acceptance_table(a: Acceptance) -> tuple[Table, list[str]]:
    """The clauses as a table, and the footnotes its rows point to (sources, then notes)."""
    c = a.contract
    rule = (
        f"fails when >= {c.confidence:.0%} sure the median is short"
        if c.doubt is Doubt.SUPPLIER
        else f"passes only when >= {c.confidence:.0%} sure the median is met"
    )
    table = Table(
        title=f"{escape(c.name)}: one-sided sign test on pooled samples; a clause {rule}",
        title_justify="left",
    )
    table.add_column("clause", overflow="fold", min_width=24)
    for name in ("promised", "measured median", "n", "below", "sure short", "verdict"):
        table.add_column(name, justify="left" if name == "verdict" else "right")
    footnotes: list[str] = []
    for r in a.results:
        marks = []
        for line in (*r.sources, *r.notes):
            footnotes.append(line)
            marks.append(str(len(footnotes)))
        clause = r.clause.describe() + (f" ({r.clause.ref})" if r.clause.ref else "")
        if marks:
            clause += f" [{','.join(marks)}]"
        table.add_row(
            escape(clause),
            _figure(r, r.clause.minimum),
            _figure(r, r.measured),
            str(r.n) if r.n else "-",
            str(r.below) if r.n else "-",
            _confidence(r.confidence_short),
            _verdict(r),
        )
    return table, footnotes


def summary(a: Acceptance) -> str:
    """One line: accepted, or how many clauses fail and which."""
    failing = [r for r in a.results if not r.passed]
    if not failing:
        return f"accepted: all {len(a.results)} clauses pass"
    names = "; ".join(r.clause.describe() for r in failing)
    return f"NOT accepted: {len(failing)} of {len(a.results)} clauses fail: {names}"
