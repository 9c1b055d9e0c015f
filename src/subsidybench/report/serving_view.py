"""A serving curve as text: the terminal answer of `cost --serve` on a serving run, and the
report's serving section (Markdown and HTML share it through report.display).

Every row of the curve shows its speeds, latencies, prefill share and cost per million tokens
before and after the subsidy; the Pareto front and the costed (SLO) point are marked, and an
invalid point is set apart as every table sets one apart: greyed (dim in a terminal), its
verdict in red, the reason a footnote away. Torch- and matplotlib-free.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from subsidybench.report.core_words import core_text
from subsidybench.report.display import INVALID_MARK
from subsidybench.report.i18n import ENGLISH, Messages, reason

if TYPE_CHECKING:
    import pandas as pd

    from subsidybench.cost.serving import ServingAnswer
    from subsidybench.report.display import Section
    from subsidybench.report.tables import Report

LEGEND = (
    f"* on the Pareto front; > the point costed; {INVALID_MARK} (dim row) invalid verdict,"
    " costed only if forced"
)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.4g}"


def _pair(before: Any, after: Any) -> str:
    """'12.34 -> 8.64', or '-' where no price was given."""
    if before is None or (isinstance(before, float) and math.isnan(before)):
        return "-"
    return f"{_amount(before)} -> {_amount(after)}"


def _amount(value: float) -> str:
    return f"{value:,.2f}" if abs(value) >= 1 else f"{value:.4g}"


def marks(row: dict[str, Any]) -> str:
    """Where the point sits on the curve; its verdict has a column (or a style) of its own."""
    return ("*" if row["pareto_front"] else "") + (">" if row["costed_point"] else "")


def _curve_table(answer: ServingAnswer, rows: int) -> Any:
    from rich.markup import escape
    from rich.table import Table

    from subsidybench.cost.serving import curve_label

    c = answer.estimate.currency
    money = f" ({c}, before -> after)" if c else ""
    basis = answer.pick.basis.value
    table = Table(title=escape(f"Serving curve: {curve_label(answer.pick.curve)} ({basis})"))
    heads = (
        "",
        "users",
        "tok/s per user",
        "out tok/s per device",
        "TTFT p50/p99 ms",
        "TPOT p50/p99 ms",
        "prefill",
        f"per M output, all-in{money}",
        "per M input",
        "per M output",
    )
    for head in heads:
        table.add_column(escape(head), justify="left" if not head else "right")
    for row in answer.costs.rows()[:rows]:
        # An invalid point reads as one at a glance, as `show` reads one: the row dim, a red
        # mark before it (the legend says why; the run's verdict gives the reason).
        table.add_row(
            marks(row) + ("" if row["valid"] else f"[bold red]{INVALID_MARK}[/]"),
            str(row["concurrency"]),
            f"{row['tokens_per_s_per_user']:,.4g}",
            f"{row['output_tokens_per_s_per_device']:,.4g}",
            f"{_ms(row['ttft_p50_s'])} / {_ms(row['ttft_p99_s'])}",
            f"{_ms(row['tpot_p50_s'])} / {_ms(row['tpot_p99_s'])}",
            f"{row['prefill_share']:.1%}",
            _pair(row["gross_per_million_output_all_in"], row["net_per_million_output_all_in"]),
            _pair(row["gross_per_million_input"], row["net_per_million_input"]),
            _pair(row["gross_per_million_output"], row["net_per_million_output"]),
            style=None if row["valid"] else "dim",
        )
    return table


def print_serving(answer: ServingAnswer, rows: int = 40) -> None:
    """The answer at the costed point, the whole curve, then the assumptions."""
    from rich.console import Console
    from rich.table import Table

    from subsidybench.report.cost_answer import assumption_table, money_text

    e, point = answer.estimate, answer.chosen
    c = e.currency or ""
    table = Table(title=f"Cost of serving {e.job.tokens:,.4g} output tokens", show_header=False)
    table.add_column("quantity", style="bold")
    table.add_column("value", justify="right")
    forced = "" if point["valid"] else ", FORCED despite an invalid verdict"
    table.add_row(
        "point costed", f"concurrency {point['concurrency']} ({answer.pick.basis}{forced})"
    )
    table.add_row("tokens/s per user", f"{point['tokens_per_s_per_user']:,.4g}")
    table.add_row("output tokens/s per device", f"{point['output_tokens_per_s_per_device']:,.4g}")
    table.add_row("input tokens/s per device", f"{point['input_tokens_per_s_per_device']:,.4g}")
    table.add_row("TTFT p50 / p99", f"{_ms(point['ttft_p50_s'])} / {_ms(point['ttft_p99_s'])} ms")
    table.add_row("TPOT p50 / p99", f"{_ms(point['tpot_p50_s'])} / {_ms(point['tpot_p99_s'])} ms")
    table.add_row("device-hours", f"{e.device_hours:,.4g}")
    table.add_row("prefill share of device time", f"{point['prefill_share']:.1%}")
    if e.price is None:
        table.add_row("money", "not asked (no price given)")
    else:
        table.add_row("price per device-hour", money_text(e.price.amount, c))
        table.add_row("gross cost", money_text(e.gross, c))
        if e.subsidy is not None:
            rate = e.subsidy.effective_rate
            table.add_row("subsidy", f"{money_text(e.subsidy.amount, c)} ({rate:.1%} of gross)")
        table.add_row("net cost", money_text(e.net, c))
        for label, key in (
            ("per million output tokens, all-in", "per_million_output_all_in"),
            ("per million input tokens, priced apart", "per_million_input"),
            ("per million output tokens, priced apart", "per_million_output"),
        ):
            table.add_row(
                f"{label} (before -> after)",
                f"{_pair(point[f'gross_{key}'], point[f'net_{key}'])} {c}",
            )
    console = Console()
    console.print(table)
    console.print(_curve_table(answer, rows))
    console.print(LEGEND)
    console.print(assumption_table(e.assumptions))


def curve_frame(answer: ServingAnswer) -> pd.DataFrame:
    """The curve as one CSV row per point, with the curve, currency and basis on each."""
    import pandas as pd

    from subsidybench.cost.serving import curve_label

    frame = pd.DataFrame(answer.costs.rows())
    frame.insert(0, "curve", curve_label(answer.pick.curve))
    frame["currency"] = answer.estimate.currency
    frame["basis"] = answer.pick.basis.value
    return frame


def serving_section(report: Report, m: Messages = ENGLISH) -> Section | None:
    """The report's serving table as text cells, one row per point of each run's curve. An
    invalid point is set apart as the results table sets one apart: its verdict says invalid
    with the reason a footnote (and, in HTML, a hover) away, its basis says so too, and the
    renderers grey the row (report.display.Section.invalid)."""
    from subsidybench.report.display import Section, money

    frame = report.serving
    if frame is None or frame.empty:
        return None
    cur = m.currency(report.currency)
    priced = (
        "net_per_million_output_all_in" in frame
        and frame["net_per_million_output_all_in"].notna().any()
    )
    rows: list[tuple[str, ...]] = []
    notes: list[str] = []
    invalid: list[str] = []
    for r in frame.to_dict("records"):
        why = ""
        if not r["valid"]:
            why = reason(str(r.get("verdict") or ""), m) or m("serving.no_verdict")
        invalid.append(why)
        verdict = m("word.valid")
        if why:
            notes.append(f"{r['run']}: {r['result_id']}: {m('word.invalid')}: {why}")
            verdict = f"{m('word.invalid')} [{len(notes)}]"
        cells = [
            r["run"],
            core_text(r["curve"], m),
            marks(r),
            str(r["concurrency"]),
            f"{r['tokens_per_s_per_user']:,.4g}",
            f"{r['output_tokens_per_s_per_device']:,.4g}",
            f"{_ms(r['ttft_p50_s'])} / {_ms(r['ttft_p99_s'])}",
            f"{_ms(r['tpot_p50_s'])} / {_ms(r['tpot_p99_s'])}",
            f"{r['prefill_share']:.1%}",
        ]
        if priced:
            all_in = r["net_per_million_output_all_in"]
            cells += [
                "-"
                if all_in is None or math.isnan(all_in)
                else f"{money(r['gross_per_million_output_all_in'])} -> {money(all_in)}",
                f"{money(r['net_per_million_input'])}",
                f"{money(r['net_per_million_output'])}",
            ]
        basis = m("serving.basis_layers") if r["basis"] != "measured" else m.basis("measured")
        cells += [verdict, basis + ("" if r["valid"] else f" ({m('word.invalid')})")]
        rows.append(tuple(cells))
    heads = ["run", "curve", "mark", "users", "per_user", "per_device", "ttft", "tpot", "prefill"]
    numeric = [False, False, False, True, True, True, True, True, True]
    if priced:
        heads += ["all_in", "per_m_input", "per_m_output"]
        numeric += [True, True, True]
    heads += ["verdict", "basis"]
    numeric += [False, False]
    intro = m("serving.intro")
    if report.serving_slo:
        intro += " " + m("serving.intro_slo", slo=core_text(report.serving_slo, m))
    if priced:
        intro += " " + m("serving.intro_money", currency=cur)
    return Section(
        "serving",
        m("section.serving"),
        intro,
        tuple(_head(h, m, cur) for h in heads),
        tuple(rows),
        tuple(numeric),
        tuple(notes),
        tuple(invalid) if any(invalid) else (),
    )


def _head(name: str, m: Messages, currency: str) -> str:
    """A serving column's header: the results table's words where they are the same."""
    if name in ("run", "verdict", "basis"):
        return m(f"head.{name}")
    return m(f"serving.head.{name}", currency=currency)
