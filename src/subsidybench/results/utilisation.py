"""How much of the hardware a workload used: against the profile's peak and the run's best matmul.

"% of peak" (MFU, for training workloads) divides the achieved FLOP/s by the device profile's
dense peak for the dtype, the figure vendors sell on. "% of best matmul" divides by the fastest
valid matmul measured in the same run at the same dtype, which is what this software stack can
actually reach on this device: the first ratio says how far the hardware is from its brochure,
the second how far the model is from the hardware. Torch-free.
"""

from __future__ import annotations

from dataclasses import dataclass

from subsidybench.dtypes import DType
from subsidybench.provenance import Figure
from subsidybench.results.record import RunResult, WorkloadResult


@dataclass(frozen=True, slots=True)
class Utilisation:
    """A compute workload's achieved rate and the two ratios that place it."""

    result_id: str
    flops_per_s: float
    peak: Figure | None
    of_peak: float | None
    best_matmul_flops_per_s: float | None
    of_best_matmul: float | None


def best_matmul(run: RunResult) -> dict[DType, float]:
    """The fastest valid matmul FLOP/s of the run, by dtype."""
    return {d: r.flops_per_s or 0.0 for d, (r, _) in best_matmul_shapes(run).items()}


def best_matmul_shapes(run: RunResult) -> dict[DType, tuple[WorkloadResult, int]]:
    """The fastest valid matmul of the run by dtype (the shape that gave it: mamf-finder's
    question), and how many valid matmul shapes it was chosen from."""
    best: dict[DType, tuple[WorkloadResult, int]] = {}
    for r in run.results:
        if r.workload == "matmul" and r.ok and r.verdict and r.verdict.valid and r.flops_per_s:
            current, n = best.get(r.dtype, (r, 0))
            faster = r if r.flops_per_s > (current.flops_per_s or 0.0) else current
            best[r.dtype] = (faster, n + 1)
    return best


def utilisation(run: RunResult) -> dict[str, Utilisation]:
    """Utilisation of every ok result that does floating-point work, by result id."""
    best = best_matmul(run)
    out = {}
    for r in run.results:
        rate = r.flops_per_s
        if not r.ok or not rate or not _computes(r):
            continue
        peak = run.peak_tflops.get(r.dtype)
        of_peak = rate / (peak.value * 1e12) if peak is not None and peak.value else None
        reference = best.get(r.dtype)
        out[r.id] = Utilisation(
            result_id=r.id,
            flops_per_s=rate,
            peak=peak,
            of_peak=of_peak,
            best_matmul_flops_per_s=reference,
            of_best_matmul=rate / reference if reference else None,
        )
    return out


def _computes(r: WorkloadResult) -> bool:
    return r.work is not None and r.work.flops > 0
