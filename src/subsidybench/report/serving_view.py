"""A serving curve as text: the terminal answer of `cost --serve` on a serving run, and the
report's serving section (Markdown and HTML share it through report.display).

Every row of the curve shows its speeds, latencies, prefill share and cost per million tokens
before and after the subsidy; the Pareto front, the costed (SLO) point and invalid points are
marked. Torch- and matplotlib-free.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from subsidybench.cost.serving import ServingAnswer
    from subsidybench.report.display import Section
    from subsidybench.report.tables import Report

LEGEND = "* on the Pareto front; > the point costed; ! invalid verdict (costed only if forced)"
REPORT_LEGEND = "* on the Pareto front; > the SLO point; ! invalid verdict (not costed)"


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
    return (
        ("*" if row["pareto_front"] else "")
        + (">" if row["costed_point"] else "")
        + ("" if row["valid"] else "!")
    )


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
        table.add_row(
            marks(row),
            str(row["concurrency"]),
            f"{row['tokens_per_s_per_user']:,.4g}",
            f"{row['output_tokens_per_s_per_device']:,.4g}",
            f"{_ms(row['ttft_p50_s'])} / {_ms(row['ttft_p99_s'])}",
            f"{_ms(row['tpot_p50_s'])} / {_ms(row['tpot_p99_s'])}",
            f"{row['prefill_share']:.1%}",
            _pair(row["gross_per_million_output_all_in"], row["net_per_million_output_all_in"]),
            _pair(row["gross_per_million_input"], row["net_per_million_input"]),
            _pair(row["gross_per_million_output"], row["net_per_million_output"]),
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


def serving_section(report: Report) -> Section | None:
    """The report's serving table as text cells, one row per point of each run's curve."""
    from subsidybench.report.display import Section, money

    frame = report.serving
    if frame is None or frame.empty:
        return None
    cur = report.currency
    priced = (
        "net_per_million_output_all_in" in frame
        and frame["net_per_million_output_all_in"].notna().any()
    )
    rows = []
    for r in frame.to_dict("records"):
        cells = [
            r["run"],
            r["curve"],
            marks(r) or "",
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
        cells.append(r["basis"])
        rows.append(tuple(cells))
    heads = [
        "run",
        "curve",
        "mark",
        "users",
        "tokens/s per user",
        "output tokens/s per device",
        "TTFT p50 / p99 ms",
        "TPOT p50 / p99 ms",
        "prefill share",
    ]
    numeric = [False, False, False, True, True, True, True, True, True]
    if priced:
        heads += [
            f"per M output, all-in, {cur} (before -> after)",
            f"per M input, {cur} (after)",
            f"per M output, {cur} (after)",
        ]
        numeric += [True, True, True]
    heads.append("basis")
    numeric.append(False)
    slo = report.serving_slo
    intro = (
        "Each run's serving curve (results.serving): tokens/s per user against output tokens/s"
        " per device as concurrency grows. Marks: " + REPORT_LEGEND + "."
    )
    if slo:
        intro += f" SLO: {slo}; the point marked > meets it with the most tokens/s per device."
    if priced:
        intro += (
            f" Money in {cur}: all-in charges the whole device-hour to output tokens; input and"
            " output are priced apart by splitting each device-hour by a served batch's phase"
            " times (prefill share = TTFT p50 / (TTFT p50 + (N - 1) x TPOT p50)). Invalid points"
            " are not costed."
        )
    return Section("serving", "Serving curve", intro, tuple(heads), tuple(rows), tuple(numeric))
