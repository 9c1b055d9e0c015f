"""Finding results in a run: one by id or name, the costable ones, the best matmul.

Every command that takes `--workload` (cost, report, scaling) picks through `pick_one`, so a name
means the same thing, and fails with the same message, everywhere. Torch-free.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from subsidybench.dtypes import DType
from subsidybench.errors import UserError
from subsidybench.results.record import RunResult, WorkloadResult

T = TypeVar("T")

MATMUL = "matmul"
"""The workload whose fastest valid figure is a run's reference for '% of best matmul'."""


def pick_one(
    candidates: Sequence[T],
    wanted: str | None,
    names: Callable[[T], Iterable[str]],
    label: Callable[[T], str],
    *,
    where: str,
    what: str,
    one: str,
    flag: str,
) -> T:
    """The one candidate `wanted` names (an exact id first, then any other name it goes by).

    With `wanted` None, the only candidate. A UserError names `where`, the `flag` to give, and
    the candidates, when there is none or more than one.
    """
    known = ", ".join(label(c) for c in candidates) or "none"
    if wanted is None:
        if len(candidates) == 1:
            return candidates[0]
        raise UserError(f"{where} has {len(candidates)} {what}: give {flag} ({known})")
    exact = [c for c in candidates if label(c) == wanted]
    matches = exact or [c for c in candidates if wanted in names(c)]
    if not matches:
        raise UserError(f"{where}: no {one} {wanted!r} (known: {known})")
    if len(matches) > 1:
        found = ", ".join(label(c) for c in matches)
        raise UserError(f"{where}: {wanted!r} matches several {what}; give one ({found})")
    return matches[0]


def pick_result(run: RunResult, where: str, workload: str | None) -> WorkloadResult:
    """The measured result `workload` names (its id, or its workload name if unambiguous)."""
    candidates = [r for r in run.results if r.ok] if workload is None else list(run.results)
    result = pick_one(
        candidates,
        workload,
        lambda r: (r.workload,),
        lambda r: r.id,
        where=where,
        what="measured workloads" if workload is None else "workloads",
        one="workload",
        flag="--workload",
    )
    if not result.ok:
        raise UserError(f"{where}: {result.id} was {result.status}: {result.reason}")
    return result


def is_valid(r: WorkloadResult) -> bool:
    """Measured, with a valid verdict."""
    return bool(r.ok and r.verdict and r.verdict.valid)


def is_costable(r: WorkloadResult) -> bool:
    """A valid figure of counted work: what a cost per FLOP can rest on."""
    return bool(is_valid(r) and r.work and r.work.flops > 0)


def best_matmul(run: RunResult) -> dict[DType, float]:
    """The fastest valid matmul FLOP/s of the run, by dtype."""
    return {d: r.flops_per_s or 0.0 for d, (r, _) in best_matmul_shapes(run).items()}


def best_matmul_shapes(run: RunResult) -> dict[DType, tuple[WorkloadResult, int]]:
    """The fastest valid matmul of the run by dtype (the shape that gave it: mamf-finder's
    question), and how many valid matmul shapes it was chosen from."""
    best: dict[DType, tuple[WorkloadResult, int]] = {}
    for r in run.results:
        if r.workload == MATMUL and is_valid(r) and r.flops_per_s:
            current, n = best.get(r.dtype, (r, 0))
            faster = r if r.flops_per_s > (current.flops_per_s or 0.0) else current
            best[r.dtype] = (faster, n + 1)
    return best


def reference_result(run: RunResult, wanted: str | None = None) -> WorkloadResult | None:
    """The costable result `wanted` names (id or workload), else the run's fastest valid matmul,
    else its fastest costable result; None if it has none."""
    costable = [r for r in run.results if is_costable(r)]
    if wanted is not None:
        return next((r for r in costable if wanted in (r.id, r.workload)), None)
    matmuls = [r for r in costable if r.workload == MATMUL]
    return max(matmuls or costable, key=lambda r: r.flops_per_s or 0.0, default=None)
