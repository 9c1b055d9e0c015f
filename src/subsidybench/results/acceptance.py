"""Contract acceptance: each promised figure against what the runs measured, clause by clause.

For a measured figure, every timed block of the chosen result is one sample of the rate (work
per step over that block's seconds per step), and the verdict rests on a one-sided sign test of
the samples against the promise: with k of n samples below it, the confidence that the true
median falls short is 1 - P(X >= k) for X ~ Binomial(n, 1/2), the exact distribution-free test
of "median >= promise" (ties dropped, as the sign test does). It needs no assumption about the
shape of benchmark times, which are skewed, and an auditor can check it with a pocket
calculator. It also bounds what few samples can show: four samples all short give only
1 - 1/16 = 93.75%, so fewer than five can never show a shortfall at 95%.

Several runs pool their samples: each run contributes the samples of the result it measured
the clause with, and the test runs on them all. Runs taken in separate processes carry the
between-process noise that one run's samples understate (see results.compare), so pooling
several runs is the more honest test. A device count, and memory shown by an allocation, are
exact: their confidence is 0 or 1.

Only results with a valid verdict are used (an invalid one was timed on a busy machine or is too
noisy to rest a payment on); a clause with nothing valid is "not measured", which fails unless
the contract marks it optional. Torch-free.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from subsidybench.results.contract import Clause, Contract, Doubt, Quantity
from subsidybench.results.query import MATMUL, best_matmul, is_valid, pick_one
from subsidybench.results.record import RunResult, WorkloadResult
from subsidybench.results.scaling import Collective, bus_bandwidth, collective_points
from subsidybench.results.utilisation import utilisation

BANDWIDTH_WORKLOADS = ("copy", "triad")
"""The workloads whose bytes per second measure device memory bandwidth."""
GPT_TRAIN = "gpt_train"


class Outcome(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    NOT_MEASURED = "not measured"


def binomial_tail(n: int, k: int) -> float:
    """P(X >= k) for X ~ Binomial(n, 1/2), exactly (integers until the one division)."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    return sum(math.comb(n, i) for i in range(k, n + 1)) / 2**n


def sign_test(values: Sequence[float], promise: float) -> tuple[float, float]:
    """(confidence the true median is below `promise`, confidence it is at or above it).

    One-sided sign tests each way; samples equal to the promise are dropped. Both are 0 when no
    sample differs from the promise.
    """
    below = sum(1 for v in values if v < promise)
    above = sum(1 for v in values if v > promise)
    n = below + above
    if n == 0:
        return 0.0, 0.0
    return 1.0 - binomial_tail(n, below), 1.0 - binomial_tail(n, above)


def samples_needed(confidence: float) -> int:
    """The fewest samples that can show a median short (or met) at `confidence`: all on one side
    gives 1 - 2^-n."""
    return math.ceil(math.log2(1.0 / (1.0 - confidence)))


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the runs measured for a clause: per-sample values in the clause's unit."""

    values: tuple[float, ...]
    sources: tuple[str, ...]
    exact: bool = False
    """A count or a fact (devices, an allocation), not a noisy rate."""


@dataclass(frozen=True, slots=True)
class ClauseResult:
    """One clause's verdict and everything it rests on."""

    clause: Clause
    outcome: Outcome
    measured: float | None
    """The median of the pooled samples (or the exact figure)."""
    n: int
    below: int
    """Samples below the promise."""
    confidence_short: float | None
    """How sure the samples make us that the true median is below the promise."""
    confidence_met: float | None
    sources: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    values: tuple[float, ...] = ()
    """The pooled per-sample values the test ran on, in the clause's unit."""

    @property
    def passed(self) -> bool:
        return self.outcome is Outcome.PASS or (
            self.outcome is Outcome.NOT_MEASURED and self.clause.optional
        )

    def to_dict(self) -> dict[str, Any]:
        c = self.clause
        return {
            "figure": c.quantity.value,
            "clause": c.describe(),
            "ref": c.ref,
            "promised_min": c.minimum,
            "unit": c.quantity.unit,
            "dtype": c.dtype.value if c.dtype else None,
            "bytes": c.nbytes,
            "optional": c.optional,
            "outcome": self.outcome.value,
            "passed": self.passed,
            "measured_median": self.measured,
            "samples": self.n,
            "samples_below": self.below,
            "confidence_short": self.confidence_short,
            "confidence_met": self.confidence_met,
            "sources": list(self.sources),
            "notes": list(self.notes),
            "sample_values": list(self.values),
        }


@dataclass(frozen=True, slots=True)
class Acceptance:
    """A contract checked against runs."""

    contract: Contract
    runs: tuple[str, ...]
    results: tuple[ClauseResult, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def accepted(self) -> bool:
        return all(r.passed for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        c = self.contract
        return {
            "contract": c.name,
            "file": c.source,
            "supplier": c.supplier,
            "signed": c.signed,
            "confidence": c.confidence,
            "benefit_of_doubt": c.doubt.value,
            "test": "one-sided sign test on the pooled per-block samples of every run",
            "runs": list(self.runs),
            "accepted": self.accepted,
            "clauses": [r.to_dict() for r in self.results],
            "notes": list(self.notes),
        }


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _rates(r: WorkloadResult, amount: float, scale: float) -> tuple[float, ...]:
    assert r.measurement is not None  # only valid results are asked for
    return tuple(amount / s / scale for s in r.measurement.samples_s)


def _source(label: str, r: WorkloadResult) -> str:
    assert r.measurement is not None
    return f"{label}: {r.id} (n={r.measurement.n})"


def _invalid_note(label: str, results: Sequence[WorkloadResult]) -> list[str]:
    return [f"{label}: {r.id} not used: {r.verdict}" for r in results if r.ok and not is_valid(r)]


def _matmul(clause: Clause, run: RunResult, label: str, notes: list[str]) -> WorkloadResult | None:
    mine = [r for r in run.results if r.workload == MATMUL and r.dtype == clause.dtype]
    notes.extend(_invalid_note(label, mine))
    valid = [r for r in mine if is_valid(r)]
    if clause.workload is not None:
        return _named(clause, valid, label)
    best = best_matmul(run).get(clause.dtype) if clause.dtype else None
    return next((r for r in valid if r.flops_per_s == best), None) if best else None


def _named(clause: Clause, candidates: list[WorkloadResult], label: str) -> WorkloadResult | None:
    if clause.workload is None and not candidates:
        return None
    if clause.workload is not None and not any(
        clause.workload in (r.id, r.workload) for r in candidates
    ):
        return None  # this run did not measure it; another pooled run may have
    return pick_one(
        candidates,
        clause.workload,
        lambda r: (r.workload,),
        lambda r: r.id,
        where=f"{label}: clause {clause.describe()}",
        what="candidate results",
        one="result",
        flag="`workload` in the clause",
    )


def _evidence(clause: Clause, runs: Sequence[tuple[str, RunResult]], notes: list[str]) -> Evidence:
    values: list[float] = []
    sources: list[str] = []
    q = clause.quantity
    if q is Quantity.DEVICES:
        for label, run in runs:
            seen = run.environment.device_count
            if run.distributed is not None:
                seen = max(seen, run.distributed.world_size)
            values.append(float(seen))
            group = f", torchrun group of {run.distributed.world_size}" if run.distributed else ""
            sources.append(f"{label}: host reported {run.environment.device_count}{group}")
        return Evidence((max(values),) if values else (), tuple(sources), exact=True)
    if q is Quantity.MEMORY_GB_PER_DEVICE:
        peak = [(r.peak_memory_bytes, label, r) for label, run in runs for r in run.results]
        peak = [p for p in peak if p[0]]
        notes.append(
            "run files do not record a device's memory size; only an allocation that large"
            " shows it (a workload's peak memory on one device)"
        )
        if peak:
            nbytes, label, r = max(peak, key=lambda p: p[0])
            return Evidence((nbytes / 1e9,), (f"{label}: {r.id} allocated {nbytes:,} bytes",), True)
        return Evidence((), (), exact=True)
    for label, run in runs:
        if q is Quantity.MATMUL_TFLOPS:
            r = _matmul(clause, run, label, notes)
            if r is not None and r.work is not None:
                values.extend(_rates(r, r.work.flops, 1e12))
                sources.append(_source(label, r))
        elif q is Quantity.MEMORY_BANDWIDTH_GBS:
            mine = [r for r in run.results if r.workload in BANDWIDTH_WORKLOADS]
            notes.extend(_invalid_note(label, mine))
            valid = [r for r in mine if is_valid(r) and r.bytes_per_s]
            if clause.workload is not None:
                chosen = _named(clause, valid, label)
            else:  # the fastest, as the best matmul stands for a device's compute
                chosen = max(valid, key=lambda r: r.bytes_per_s or 0.0, default=None)
            if chosen is not None and chosen.work is not None:
                values.extend(_rates(chosen, chosen.work.bytes, 1e9))
                sources.append(_source(label, chosen))
        elif q is Quantity.ALLREDUCE_BUSBW_GBS:
            points = [
                p
                for p in collective_points(run)
                if p.op is Collective.ALL_REDUCE and p.nbytes == clause.nbytes
            ]
            if clause.world_size is not None:
                points = [p for p in points if p.world_size == clause.world_size]
            notes.extend(_invalid_note(label, [p.result for p in points]))
            points = [p for p in points if is_valid(p.result)]
            if points:
                p = max(points, key=lambda p: p.world_size)
                assert p.result.measurement is not None
                values.extend(
                    bus_bandwidth(p.op, p.nbytes, s, p.world_size) / 1e9
                    for s in p.result.measurement.samples_s
                )
                sources.append(_source(label, p.result) + f", {p.world_size} ranks")
        elif q is Quantity.GPT_TRAIN_MFU:
            mine = [r for r in run.results if r.workload == GPT_TRAIN and r.dtype == clause.dtype]
            notes.extend(_invalid_note(label, mine))
            r = _named(clause, [r for r in mine if is_valid(r)], label)
            use = utilisation(run).get(r.id) if r is not None else None
            if r is not None and (use is None or use.peak is None or not use.peak.value):
                notes.append(f"{label}: {r.id} not used: the run's profile has no {r.dtype} peak")
            elif use is not None and use.of_peak is not None and use.of_peak > 1:
                notes.append(
                    f"{label}: {r.id} not used: an MFU of {use.of_peak:.0%} cannot be (at most"
                    f" 100%): the run's peak ({use.peak.value:g} TFLOP/s) or its work is wrong"
                )
            elif r is not None and use is not None and use.peak is not None and r.work:
                peak = use.peak.value * 1e12
                values.extend(_rates(r, r.work.flops, peak))
                sources.append(
                    _source(label, r) + f", peak {use.peak.value:g} TFLOP/s ({use.peak.basis})"
                )
    return Evidence(tuple(values), tuple(sources))


def check_clause(
    clause: Clause, contract: Contract, runs: Sequence[tuple[str, RunResult]]
) -> ClauseResult:
    """One clause against the pooled evidence of `runs` (label, run)."""
    notes: list[str] = []
    ev = _evidence(clause, runs, notes)
    if not ev.values:
        return ClauseResult(clause, Outcome.NOT_MEASURED, None, 0, 0, None, None, (), tuple(notes))
    if ev.exact:
        value = ev.values[0]
        short = value < clause.minimum
        if short and clause.quantity is Quantity.MEMORY_GB_PER_DEVICE:
            # An allocation smaller than the promise says nothing against it.
            notes.append(f"the largest allocation, {value:,.3g} GB, is only a lower bound")
            return ClauseResult(
                clause, Outcome.NOT_MEASURED, None, 0, 0, None, None, ev.sources, tuple(notes)
            )
        outcome = Outcome.FAIL if short else Outcome.PASS
        return ClauseResult(
            clause, outcome, value, 1, int(short), float(short), float(not short), ev.sources,
            tuple(notes),
        )  # fmt: skip
    short_conf, met_conf = sign_test(ev.values, clause.minimum)
    below = sum(1 for v in ev.values if v < clause.minimum)
    if contract.doubt is Doubt.SUPPLIER:
        outcome = Outcome.FAIL if short_conf >= contract.confidence else Outcome.PASS
    else:
        outcome = Outcome.PASS if met_conf >= contract.confidence else Outcome.FAIL
    need = samples_needed(contract.confidence)
    if len(ev.values) < need:
        notes.append(
            f"{len(ev.values)} samples cannot show a median short or met at"
            f" {contract.confidence:.0%} (needs >= {need}): the benefit of the doubt decides"
        )
    return ClauseResult(
        clause,
        outcome,
        _median(ev.values),
        len(ev.values),
        below,
        short_conf,
        met_conf,
        ev.sources,
        tuple(notes),
        ev.values,
    )


def accept(
    contract: Contract, runs: Sequence[tuple[str, RunResult]], notes: Sequence[str] = ()
) -> Acceptance:
    """Every clause of `contract` against `runs` (label, run), their samples pooled; `notes`
    (runs left out as repeats, results forced) go with the verdict."""
    notes = list(notes)
    names = sorted({run.device.name for _, run in runs})
    if len(names) > 1:
        notes.append(
            f"the runs measured different devices ({', '.join(names)}): their samples are pooled"
            " as one contract's hardware"
        )
    results = tuple(check_clause(c, contract, runs) for c in contract.clauses)
    return Acceptance(contract, tuple(label for label, _ in runs), results, tuple(notes))
