"""An endpoint sweep as the terminal shows it: one row per concurrency, latencies first.

The columns a serving buyer reads (vLLM's `bench serve` prints the same figures): requests that
finished, TTFT and TPOT percentiles, the worst inter-token gap, tokens per second per user and
per device, accuracy where it was asked, and the verdict with its reasons as notes.
Torch- and matplotlib-free.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from subsidybench.report.display import INVALID_MARK
from subsidybench.results.serving import curve_point, is_serving_result

if TYPE_CHECKING:
    from rich.table import Table

    from subsidybench.results.record import RunResult


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:,.4g}"


def endpoint_table(run: RunResult) -> tuple[Table, list[str]]:
    """The sweep's table, and the notes (invalid and failed points' reasons) under it."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="Endpoint sweep (times in ms; tokens/s per device)")
    for head in ("users", "ok/sent", "TTFT p50", "TTFT p99", "TPOT p50", "TPOT p99"):
        table.add_column(head, justify="right")
    for head in ("ITL p99", "tok/s/user", "tok/s/device", "accuracy", "verdict"):
        table.add_column(head, justify="right")
    notes: list[str] = []
    for r in run.results:
        users = str(r.params.get("concurrency", "-"))
        if not is_serving_result(r):
            notes.append(escape(f"[{len(notes) + 1}] {r.id}: {r.status.value}: {r.reason}"))
            table.add_row(users, *["-"] * 9, f"{r.status.value} [{len(notes)}]")
            continue
        m, p = r.metrics, curve_point(r)
        verdict, style = "valid", None
        if r.verdict is not None and not r.verdict.valid:
            # Set apart as every table sets an invalid figure apart: the row dim, the verdict
            # a red mark, its reasons the numbered note under the table.
            notes.append(escape(f"[{len(notes) + 1}] {r.id}: " + "; ".join(r.verdict.reasons)))
            verdict, style = f"[bold red]{INVALID_MARK} invalid [{len(notes)}][/]", "dim"
        accuracy = f"{m['accuracy']:.0%}" if "accuracy" in m else "-"
        table.add_row(
            users,
            f"{m.get('requests_ok', 0):.0f}/{m.get('requests_sent', 0):.0f}",
            _ms(m["ttft_p50_s"]),
            _ms(m["ttft_p99_s"]),
            _ms(m["tpot_p50_s"]),
            _ms(m["tpot_p99_s"]),
            _ms(m.get("itl_p99_s")),
            f"{p.tokens_per_s_per_user:,.4g}",
            f"{p.output_tokens_per_s:,.4g}",
            accuracy,
            verdict,
            style=style,
        )
    overhead = [o for r in run.results if (o := r.metrics.get("client_overhead_per_token_s"))]
    if overhead:
        notes.append(
            f"client overhead: {overhead[0] * 1e6:,.3g} us per token against a local no-op"
            " server (an upper bound of the client's share of each gap)"
        )
    return table, notes
