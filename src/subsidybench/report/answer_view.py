"""The report's first section: the answer (report.tables.answer) as text cells in the reader's
language, and a verdict's reasons in that language too. Torch- and matplotlib-free."""

from __future__ import annotations

from typing import TYPE_CHECKING

from subsidybench.report.display import Section, money, programme_name, short_id
from subsidybench.report.i18n import ENGLISH, Messages, reason
from subsidybench.report.tables import Report
from subsidybench.report.tables.answer import Answer, Caveat

if TYPE_CHECKING:
    import pandas as pd


def caveat(c: Caveat, m: Messages = ENGLISH) -> str:
    values = dict(c.values)
    if "why" in values:
        values["why"] = reason(values["why"], m)
    return m(f"caveat.{c.key}", **values)


def _range(a: Answer, m: Messages) -> str:
    if a.p10 is None or a.p90 is None:
        return "-"
    return m("answer.range", p10=money(a.p10), p90=money(a.p90))


def _price(a: Answer, m: Messages) -> str:
    if a.price_per_hour is None:
        return "-"
    if a.price_low is not None and a.price_high is not None:
        given = m("answer.price_range", low=money(a.price_low), high=money(a.price_high))
    else:
        given = money(a.price_per_hour)
    return f"{given} → {money(a.net_price_per_hour)}"


def _tokens(a: Answer) -> str:
    if a.net_per_million_tokens is None or a.tokens_workload is None:
        return "-"
    return f"{money(a.net_per_million_tokens)} ({short_id(a.tokens_workload)})"


def answer_section(report: Report, m: Messages = ENGLISH) -> Section:
    """The answer first: one row per run or option, the caveats beside each figure."""
    cur = m.currency(report.currency)
    rows = []
    for a in report.answers:
        rows.append(
            (
                a.run,
                "-" if a.workload is None else short_id(a.workload),
                money(a.net_per_pflop_hour),
                _range(a, m),
                _tokens(a),
                "-" if a.subsidy_rate is None else f"{a.subsidy_rate:.0%}",
                _price(a, m),
                "; ".join(caveat(c, m) for c in a.caveats) or m("answer.no_caveat"),
            )
        )
    heads = (
        "run",
        "workload",
        "net_per_pflop_hour",
        "p10_p90",
        "net_per_million_tokens",
        "subsidy_rate",
        "price_to_net",
        "caveats",
    )
    costed = [a for a in report.answers if a.costed]
    if costed:
        programme = (
            m("section.under", programme=programme_name(report, m))
            if report.programme
            else m("section.no_programme")
        )
        intro = m("answer.intro", currency=cur, programme=programme)
    else:
        why = "; ".join(f"{a.run}: {caveat(a.caveats[0], m)}" for a in report.answers)
        intro = m("answer.nothing", why=why)
    return Section(
        "answer",
        m("section.answer"),
        intro,
        tuple(m(f"answer.head.{h}", currency=cur) for h in heads),
        tuple(rows),
        (False, False, True, True, True, True, True, False),
    )


def answer_frame(report: Report, m: Messages = ENGLISH) -> pd.DataFrame:
    """The answer as numbers (answer.csv, the workbook's Answer sheet); caveats in words."""
    import pandas as pd

    rows = [
        {
            "run": a.run,
            "id": a.workload,
            "net_per_pflop_hour": a.net_per_pflop_hour,
            "p10": a.p10,
            "p90": a.p90,
            "net_per_million_tokens": a.net_per_million_tokens,
            "tokens_id": a.tokens_workload,
            "price_per_hour": a.price_per_hour,
            "price_low": a.price_low,
            "price_high": a.price_high,
            "net_price_per_hour": a.net_price_per_hour,
            "subsidy_rate": a.subsidy_rate,
            "currency": report.currency or "",
            "caveats": "; ".join(caveat(c, m) for c in a.caveats),
        }
        for a in report.answers
    ]
    return pd.DataFrame(rows, columns=_ANSWER_COLUMNS)


_ANSWER_COLUMNS = [
    "run",
    "id",
    "net_per_pflop_hour",
    "p10",
    "p90",
    "net_per_million_tokens",
    "tokens_id",
    "price_per_hour",
    "price_low",
    "price_high",
    "net_price_per_hour",
    "subsidy_rate",
    "currency",
    "caveats",
]
