"""The one-page summary of a device check: the headline figures, read from its result files.

    python bench/device_summary.py OUT_DIR      # writes OUT_DIR/summary.md

Every figure comes from a result file in OUT_DIR with its verdict; a figure that was not
measured says why (skipped, failed, the step timed out) instead of being left out.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from subsidybench.errors import UserError
from subsidybench.report.terminal import binary_size, percent, si
from subsidybench.results.energy import judge_energy
from subsidybench.results.query import best_matmul_shapes
from subsidybench.results.record import RunResult, WorkloadResult, load_run
from subsidybench.results.scaling import collective_points
from subsidybench.results.utilisation import utilisation

# The files device_check.sh writes, in the order their figures are preferred.
_SUITE_FILES = ("standard.json", "ci.json", "lowp.json", "compiled.json")


def _verdict(r: WorkloadResult) -> str:
    if r.verdict is None:
        return ""
    return "valid" if r.verdict.valid else f"INVALID: {'; '.join(r.verdict.reasons)}"


def _matmul_lines(runs: dict[str, RunResult]) -> list[str]:
    lines = []
    for dtype in ("bf16", "fp8", "int8", "fp16", "tf32", "fp32"):
        found = None
        for name, run in runs.items():
            best = {d.value: v for d, v in best_matmul_shapes(run).items()}
            if dtype in best:
                found = (name, run, *best[dtype])
                break
        if found is None:
            found = _best_invalid(runs, dtype)
        if found is None:
            why = _why_not(runs, lambda r, d=dtype: r.workload == "matmul" and r.dtype == d)
            lines.append(f"- {dtype} matmul: not measured ({why})")
            continue
        name, run, r, shapes = found
        peak = run.peak_tflops.get(r.dtype)
        of_peak = ""
        if peak is not None and peak.value and r.flops_per_s:
            of_peak = f", {percent(r.flops_per_s / (peak.value * 1e12))} of {run.profile}'s"
            of_peak += f" {peak.value:g} TFLOP/s ({peak.basis})"
        shape = " ".join(f"{k}={v}" for k, v in r.params.items())
        lines.append(
            f"- {dtype} matmul: **{si(r.flops_per_s, 'FLOP/s')}**{of_peak}; best of {shapes}"
            f" shape(s), at {shape} ({_verdict(r)}) [{name}]"
        )
    return lines


def _best_invalid(
    runs: dict[str, RunResult], dtype: str
) -> tuple[str, RunResult, WorkloadResult, int] | None:
    """Where no valid matmul ran at `dtype`: the fastest measured one, shown with its verdict."""
    for name, run in runs.items():
        done = [r for r in run.results if r.workload == "matmul" and r.dtype == dtype and r.ok]
        if done:
            return name, run, max(done, key=lambda r: r.flops_per_s or 0.0), len(done)
    return None


def _why_not(runs: dict[str, RunResult], wanted: object) -> str:
    for run in runs.values():
        for r in run.results:
            if wanted(r) and not r.ok:  # type: ignore[operator]
                return f"{r.status.value}: {r.reason}"
            if wanted(r) and r.verdict is not None and not r.verdict.valid:  # type: ignore[operator]
                return f"measured but {_verdict(r)}"
    return "no such result in this check"


def _model_lines(runs: dict[str, RunResult]) -> list[str]:
    lines = []
    for name, run in runs.items():
        used = utilisation(run)
        for r in run.results:
            if r.workload != "gpt_train" or r.dtype.value not in ("bf16", "fp32"):
                continue
            kind = "compiled" if r.compiled else "eager"
            if not r.ok:
                what = f"{r.status.value}: {r.reason}"
                lines.append(f"- GPT training MFU ({r.dtype}, {kind}): {what}")
                continue
            u = used.get(r.id)
            mfu = percent(u.of_peak) if u and u.of_peak is not None else "no peak in profile"
            lines.append(
                f"- GPT training MFU ({r.dtype}, {kind}): **{mfu}**,"
                f" {si(r.items_per_s, 'token/s')} ({_verdict(r)}) [{name}]"
            )
            lines.extend(_energy_line(run, r))
    return lines or ["- GPT training: not measured (no gpt_train result in this check)"]


def _energy_line(run: RunResult, r: WorkloadResult) -> list[str]:
    e = r.energy
    if e is None:
        why = run.energy.why_not if run.energy is not None else "the run did not read energy"
        return [f"  - energy: not available ({why})"]
    if e.missing:
        return [f"  - energy: not read ({e.missing})"]
    assert r.work is not None and e.average_w is not None
    per_item = e.joules_per_item(r.work.items)
    reasons = judge_energy(e, run.energy)
    verdict = "valid" if not reasons else "INVALID: " + "; ".join(reasons)
    peak = f"{e.peak_w:.0f} W" if e.peak_w is not None else "-"
    return [
        f"  - energy: **{e.average_w:.0f} W** average, {peak} peak,"
        f" **{si(per_item, f'J/{r.work.item_unit}')}**, {e.joules_per_step:.3g} J/step;"
        f" {len(e.power_w)} samples at {e.sample_rate_hz:g}/s, {e.method} ({verdict})"
    ]


def _bandwidth_lines(runs: dict[str, RunResult]) -> list[str]:
    for name, run in runs.items():
        for r in run.results:
            if r.workload == "copy" and r.ok:
                return [
                    f"- memory bandwidth (copy, read + write): **{si(r.bytes_per_s, 'B/s')}**"
                    f" ({_verdict(r)}) [{name}]"
                ]
    return [f"- memory bandwidth: not measured ({_why_not(runs, lambda r: r.workload == 'copy')})"]


def _distributed_lines(out: Path) -> list[str]:
    path = out / "distributed.json"
    if not path.exists():
        return ["- one-rank torchrun: no result file (see distributed.log)"]
    run = load_run(path)
    d = run.distributed
    head = f"- one-rank torchrun ({d.backend if d else '?'}), {run.state.value}"
    points = collective_points(run)
    if points:
        p = max(points, key=lambda p: p.nbytes)
        head += (
            f": {p.op.value} at {binary_size(p.nbytes)}: algbw {si(p.algbw, 'B/s')},"
            f" busbw {si(p.busbw, 'B/s')} ({_verdict(p.result)})"
        )
    failed = [f"{r.id}: {r.reason}" for r in run.results if not r.ok]
    return [head, *(f"  - {f}" for f in failed)]


def summary(out: Path) -> str:
    runs = {name: load_run(out / name) for name in _SUITE_FILES if (out / name).exists()}
    first = next(iter(runs.values()), None)
    title = f"{first.device} ({first.device.name})" if first else "no suite result"
    lines = [f"# Device check: {title}", ""]
    if first is not None:
        env = first.environment
        lines += [
            f"driver {env.driver or '-'}, {env.backend_version or '-'}, torch {env.torch_version},"
            f" profile {first.profile or 'none matched'}; started {first.started}",
            "",
            first.energy.describe() if first.energy is not None else "energy: not read",
            "",
        ]
    lines += ["## Figures", ""]
    lines += _matmul_lines(runs) + _model_lines(runs) + _bandwidth_lines(runs)
    lines += _distributed_lines(out)
    lines += ["", "## Steps", "", "| step | status | seconds | limit |"]
    lines += ["| --- | --- | --- | --- |"]
    steps = out / "steps.tsv"
    if steps.exists():
        with steps.open() as f:
            for row in csv.DictReader(f, delimiter="\t"):
                lines.append(f"| {row['step']} | {row['status']} | {row['seconds']} |"
                             f" {row['limit_s']} |")  # fmt: skip
    files = sorted(p.name for p in out.iterdir() if p.suffix in (".json", ".log"))
    lines += ["", f"Files: {', '.join(files)}", ""]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: device_summary.py OUT_DIR", file=sys.stderr)
        return 2
    out = Path(argv[0])
    try:
        text = summary(out)
    except UserError as e:
        print(f"ERROR: {e}", file=sys.stderr)
        return 1
    (out / "summary.md").write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
