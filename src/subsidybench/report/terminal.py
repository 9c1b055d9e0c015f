"""Turn run results into tables for the terminal. Torch-free; printing is the caller's."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    # Imported where used: `console()` serves every command, and most never read a run (the
    # run record brings its numpy statistics).
    from subsidybench.results.record import RunResult, WorkloadResult


def console() -> Console:
    """A console for tables: at least 120 columns when writing to a file or pipe, not 80."""
    out = Console()
    if not out.is_terminal and "COLUMNS" not in os.environ:
        out.width = max(out.width, 120)
    return out


_PREFIXES = ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))


def si(value: float | None, unit: str, digits: int = 3) -> str:
    """1.234e12, "FLOP/s" -> "1.23 TFLOP/s"; None -> "-"."""
    if value is None or not math.isfinite(value):
        return "-"
    for scale, prefix in _PREFIXES:
        if abs(value) >= scale:
            return f"{value / scale:.{digits}g} {prefix}{unit}"
    return f"{value:.{digits}g} {unit}"


def seconds(value: float | None) -> str:
    """Seconds with the unit that keeps 3-4 significant digits readable."""
    if value is None:
        return "-"
    for scale, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs")):
        if value >= scale:
            return f"{value / scale:.4g} {unit}"
    return f"{value / 1e-9:.4g} ns"


def percent(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio:.1%}"


def throughput(r: WorkloadResult) -> tuple[str, str]:
    """(headline rate, items rate): FLOP/s for compute work, B/s for pure data movement."""
    w = r.work
    if w is None:
        return "-", "-"
    # An endpoint's work is its tokens alone (no FLOPs or bytes are known of an engine's model).
    if w.flops:
        headline = si(r.flops_per_s, "FLOP/s")
    else:
        headline = si(r.bytes_per_s, "B/s") if w.bytes else "-"
    return headline, si(r.items_per_s, f"{w.item_unit}/s")


# Columns a narrow terminal drops first, last named first: the verdict, median, spread and n are
# what a reader acts on, and always show.
_OPTIONAL = ("energy", "%mm", "rate", "%peak", "throughput")
_RIGHT = {"median", "IQR", "n", "sees", "throughput", "rate", "%peak", "%mm"}


def _label(r: WorkloadResult) -> str:
    """The workload's name, and its parameters on a second line: ids run to 90 characters."""
    params = " ".join(f"{k}={v}" for k, v in r.params.items())
    name = escape(r.workload + ("/compiled" if r.compiled else ""))
    return f"{name}\n[dim]{escape(params)}[/]" if params else name


def _cell_width(text: str) -> int:
    return max(len(Text.from_markup(line).plain) for line in text.split("\n"))


def run_table(
    run: RunResult, title: str | None = None, width: int | None = None
) -> tuple[Table, list[str]]:
    """One row per workload result, and the footnotes that explain skips and invalid verdicts.

    `width`, the terminal's columns, drops the columns a reader can do without (best matmul
    share, items rate, % of peak, throughput, in that order) until the rest fit, so that the
    verdict and its footnote are never cut.
    """
    from subsidybench.results.detectable import detectable_alone
    from subsidybench.results.utilisation import utilisation

    notes: list[str] = []
    used = utilisation(run)

    def note(text: str) -> str:
        notes.append(escape(text))
        return f"[{len(notes)}]"

    metered = any(r.energy is not None for r in run.results)
    rows: list[dict[str, str]] = []
    for r in run.results:
        row = {"workload": _label(r), "dtype": r.dtype.value}
        if not r.ok:
            color = "yellow" if r.status.value == "skipped" else "red"
            mark = note(f"{r.id}: {r.status.value}: {r.reason}")
            rows.append({**row, "verdict": f"[{color}]{r.status.value} {mark}[/]"})
            continue
        m, v = r.measurement, r.verdict
        assert m is not None and v is not None  # an ok result has both (checked when built)
        headline, items = throughput(r)
        if v.valid:
            verdict = "[green]valid[/]"
        else:
            verdict = f"[red]invalid {note(f'{r.id}: ' + '; '.join(v.reasons))}[/]"
        if r.reason:
            verdict += f" {note(f'{r.id}: {r.reason}')}"
        u = used.get(r.id)
        of_peak = percent(u.of_peak) if u else ""
        if u and u.of_peak and u.of_peak > 1 and u.peak:
            # Above the peak means the peak figure is wrong, not that the device beat physics.
            of_peak += note(f"{r.id}: above the profile's {r.dtype} peak ({u.peak}): {u.peak.note}")
        rows.append(
            {
                **row,
                "median": seconds(m.centre),
                "IQR": f"{m.spread:.1%}",
                "n": str(m.n),
                "sees": "-" if (d := detectable_alone(m)) is None else f"{d:.0%}",
                "throughput": headline,
                "rate": items,
                "%peak": of_peak,
                "%mm": percent(u.of_best_matmul) if u else "",
                "verdict": verdict,
                "energy": energy_cell(run, r, note) if metered else "",
            }
        )
    optional = [c for c in reversed(_OPTIONAL) if c != "energy" or metered]
    # A run of one round cannot know its spread between processes: no column of dashes.
    sees = ["sees"] if any(row.get("sees", "-") != "-" for row in rows) else []
    columns = ["workload", "dtype", "median", "IQR", "n", *sees, *optional, "verdict"]
    widths = {c: max([len(c), *(_cell_width(row.get(c, "")) for row in rows)]) for c in columns}
    widths["workload"] = min(widths["workload"], 24)  # folds; parameters wrap on their line
    dropped = []
    for name in _OPTIONAL:
        # Rich draws a border and a space either side of every cell: 3 columns per column.
        if width is None or sum(widths[c] + 3 for c in columns) + 1 <= width:
            break
        if name in columns:
            columns.remove(name)
            dropped.append(name)
    table = Table(title=title, title_justify="left")
    for c in columns:
        if c == "workload":
            table.add_column(c, overflow="fold", min_width=12)
        else:
            table.add_column(c, justify="right" if c in _RIGHT else "left", no_wrap=True)
    for row in rows:
        table.add_row(*(row.get(c, "") for c in columns))
    lines = [f"[{i}] {text}" for i, text in enumerate(notes, 1)] + sweep_lines(run)
    if any(r.ok for r in run.results):
        lines.append(escape(figures_line(run)))
    if dropped:  # a column left out is said, never silently missing
        lines.append(
            f"not shown at {width} columns: {', '.join(dropped)} (show --csv has every column,"
            " or widen the terminal: COLUMNS=N)"
        )
    return table, lines + [escape(line) for line in reference_lines(run)]


def figures_line(run: RunResult) -> str:
    """What the median and sees columns are, and how the samples were spread."""
    where = (
        f"each round in a process of its own ({run.processes} processes)"
        if run.processes > 1
        else "all in one process"
    )
    if run.rounds == 1:
        return (
            f"median: as `compare` reads it (one round, {run.environment.torch_threads} torch"
            " threads); one round cannot say what change a comparison could see (see --rounds)"
        )
    return (
        f"median: the geometric mean of the rounds' medians, as `compare` reads it ({run.rounds}"
        f" rounds, {where}; {run.environment.torch_threads} torch threads); sees: the smallest"
        " change a comparison with a run like this one could call (95%)"
    )


def reference_lines(run: RunResult) -> list[str]:
    """The machine's own noise over the run, from the reference step (measure/reference.py)."""
    ref = run.reference
    if ref is None:
        return []
    lines = []
    m = ref.measurement
    if m is not None:
        limit = min((r.policy.max_spread for r in run.results if r.policy), default=None)
        line = (
            f"machine: a fixed reference step ({ref.step}), timed in each of {m.round_count}"
            f" round(s), spread {m.spread:.1%} IQR/median"
        )
        if m.round_count > 1:
            line += f", its rounds' medians {m.round_spread:.1%} apart"
        if limit is not None and max(m.spread, m.round_spread) > limit:
            line += (
                f": past the {limit:.0%} a valid figure may spread, so on this machine over this"
                " run a wide spread can be the machine's and not the workload's"
            )
        lines.append(line)
    if ref.error:
        lines.append(f"machine: the reference step could not be timed ({ref.error})")
    return lines


def sweep_lines(run: RunResult) -> list[str]:
    """For a dtype timed at several matmul shapes (a sweep): the best rate and its shape."""
    from subsidybench.results.query import best_matmul_shapes

    lines = []
    for dtype, (r, shapes) in best_matmul_shapes(run).items():
        if shapes < 2:
            continue
        shape = " ".join(f"{k}={v}" for k, v in r.params.items())
        peak = run.peak_tflops.get(dtype)
        of_peak = ""
        if peak is not None and peak.value and r.flops_per_s:
            of_peak = f", {percent(r.flops_per_s / (peak.value * 1e12))} of the profile's peak"
        lines.append(
            f"best {dtype} matmul of {shapes} shapes: {si(r.flops_per_s, 'FLOP/s')} at"
            f" {escape(shape)}{of_peak}"
        )
    return lines


def energy_cell(run: RunResult, r: WorkloadResult, note: Callable[[str], str]) -> str:
    """Average and peak watts and joules per item, compactly; a footnote if not to be trusted."""
    from subsidybench.results.energy import judge_energy

    e = r.energy
    if e is None:
        return "-"
    if e.missing:
        return f"[yellow]-{note(f'{r.id}: energy: {e.missing}')}[/]"
    unit = r.work.item_unit if r.work else "item"
    per_item = e.joules_per_item(r.work.items) if r.work else None
    peak = f" (peak {e.peak_w:.0f})" if e.peak_w is not None else ""
    cell = f"{e.average_w:.0f} W{peak}, {si(per_item, f'J/{unit}')}"
    if reasons := judge_energy(e, run.energy):
        cell = f"[red]{cell} {note(f'{r.id}: energy not valid: ' + '; '.join(reasons))}[/]"
    return cell


def run_header(run: RunResult, path: str) -> str:
    """A few lines saying what the run was, where, and in what state its file is."""
    env = run.environment
    state = run.state.value
    if state != "complete":
        state = f"[yellow]{state}[/]"
    profile = run.profile or "none matched (no % of peak)"
    peaks = ", ".join(f"{d} {fig}" for d, fig in run.peak_tflops.items() if fig.known)
    if peaks:
        profile += f"; dense peaks TFLOP/s: {peaks}"
    return (
        f"[bold]{path}[/]: suite {run.suite} v{run.suite_version}, {state}, started {run.started}\n"
        f"device {run.device} ({run.device.name}), profile: {profile}\n"
        f"torch {env.torch_version}, {env.torch_threads} threads, python {env.python}, {env.os}"
        + (f"; measured by pytest-benchmark {tool}" if (tool := _bench_tool(run)) else "")
        + (f"\nallocator: {escape(env.allocator)}" if env.allocator else "")
        + (f"\n{escape(run.energy.describe())}" if run.energy is not None else "")
    )


def _bench_tool(run: RunResult) -> str | None:
    """The pytest-benchmark version of a run ingested from bench/ (it did the timing)."""
    return run.environment.plugins.get("pytest-benchmark")


def binary_size(nbytes: float) -> str:
    """Bytes in binary units, as message sizes are given: 1024 -> "1 KiB", 3e8 -> "286 MiB"."""
    for scale, unit in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
        if nbytes >= scale:
            return f"{nbytes / scale:.4g} {unit}"
    return f"{nbytes:.0f} B"


def collective_table(run: RunResult) -> Table | None:
    """Collectives by size: time, algorithm and bus bandwidth (nccl-tests' definitions)."""
    from subsidybench.results.scaling import collective_points

    points = collective_points(run)
    if not points:
        return None
    table = Table(title="collectives (time: slowest rank, median)", title_justify="left")
    for name in ("collective", "ranks", "size", "time", "algbw", "busbw", "verdict"):
        table.add_column(name, justify="left" if name in ("collective", "verdict") else "right")
    for p in points:
        verdict = p.result.verdict
        table.add_row(
            p.op.value,
            str(p.world_size),
            binary_size(p.nbytes),
            seconds(p.seconds),
            si(p.algbw, "B/s"),
            si(p.busbw, "B/s"),
            "[green]valid[/]" if verdict and verdict.valid else f"[red]{escape(str(verdict))}[/]",
        )
    return table


def scaling_table(run: RunResult) -> Table | None:
    """Data-parallel scaling: rate per device and in total, and efficiency, by world size."""
    from subsidybench.results.scaling import scaling_series

    series = scaling_series(run)
    if not series:
        return None
    table = Table(title="data-parallel scaling", title_justify="left")
    table.add_column("workload", overflow="fold", min_width=24)
    for name in ("ranks", "step", "per device", "total", "efficiency", "verdict"):
        table.add_column(name, justify="left" if name == "verdict" else "right")
    for s in series:
        for p in s.points:
            verdict = p.result.verdict
            assert p.result.measurement is not None  # a point is a measured result
            table.add_row(
                escape(s.key),
                str(p.world_size),
                seconds(p.result.measurement.median),
                si(p.per_device, f"{s.item_unit}/s"),
                si(p.total, f"{s.item_unit}/s"),
                percent(p.efficiency),
                "[green]valid[/]" if p.valid else f"[red]{escape(str(verdict))}[/]",
            )
    return table


def distributed_header(run: RunResult) -> str | None:
    """One line on the group a distributed run was taken by, and why it stopped, if it did."""
    d = run.distributed
    if d is None:
        return None
    version = f" {d.backend_version}" if d.backend_version else ""
    per_node = "+".join(str(n) for n in d.ranks_per_node)
    line = (
        f"{d.world_size} ranks on {d.node_count} node(s) ({per_node}), {d.backend}{version},"
        f" timeout {d.timeout_s:g} s"
    )
    if d.stopped:
        line += f"\n[red]stopped: {escape(d.stopped)}[/]"
    return line
