"""The throughput per device a cost question states, read from its Request.

One source of it at most: a run's workload (or its serving curve's goodput point, under the SLO
the question states), a rate given by hand (model or hardware TFLOP/s, tokens/s), an MFU of a
peak, a published result, or a training job and the device-hours it took. Like cost.job_inputs,
this is the scenario layer (cost.scenario calls it): it reads the Request once and hands the
costing modules (cost.throughput, cost.serving, cost.device, cost.published) small records,
never the Request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from subsidybench.cost.answer import Peak
from subsidybench.cost.device import estimated_throughput
from subsidybench.cost.jobs import TrainJob
from subsidybench.cost.published import PublishedChoice, published_throughput
from subsidybench.cost.request import Request
from subsidybench.cost.throughput import (
    TERA,
    RunEvidence,
    ThroughputAxis,
    WorkUnit,
    measured,
    run_and_label,
)
from subsidybench.errors import UserError, named
from subsidybench.provenance import Basis
from subsidybench.units import SECONDS_PER_HOUR

if TYPE_CHECKING:
    from subsidybench.cost import serving
    from subsidybench.results.serving import Slo

# Full activation recomputation runs the forward pass twice: 8N FLOPs per token instead of 6N
# (Korthikanti et al. 2022, "Reducing Activation Recomputation in Large Transformer Models",
# section 5; the OPT-175B logbook quotes 147 TFLOP/s per A100 counted this way).
RECOMPUTATION = {"none": 6.0, "full": 8.0}
SLO_INPUTS = ("tokens_per_user", "ttft_ms", "tpot_ms", "slo_percentile")


def run_evidence(r: Request) -> RunEvidence | None:
    """The run (and further runs of its workload) a question measures its rate by, if any."""
    if r.run is None:
        return None
    return RunEvidence(r.run, r.run_label, r.workload, r.force, r.also_runs)


def published_choice(r: Request) -> PublishedChoice:
    """Which published result a question costs (--published, or --model on its device)."""
    kind = "train" if r.train is not None else "serve" if r.serve is not None else ""
    return PublishedChoice(
        published=r.published,
        model=r.model,
        device=r.profile or r.estimate_on,
        kind=kind,
        tpot_ms=r.tpot_ms,
        conditions=tuple(k for k in ("ttft_ms", "tokens_per_user", "slo_percentile") if r.given(k)),
        force=r.force,
        dtype=r.dtype,
        dirs=r.profiles_dirs,
    )


def resolve_throughput(
    r: Request, device: Any, peak: Peak | None, job: TrainJob | None
) -> ThroughputAxis | None:
    """The throughput per device a question gives (one source of it at most), resolved."""
    given = [
        k
        for k in ("run", "tflops", "hardware_tflops", "tokens_per_s", "mfu", "published")
        if getattr(r, k) is not None
    ]
    if r.train is not None and r.hours is not None:
        given.append("hours")
    if not given and r.model is not None:
        given.append("published")  # --model alone: the one published result for it (cost.published)
    if len(given) > 1:
        raise UserError(f"give one throughput, not {' and '.join(named(k) for k in given)}")
    if r.estimate_on is not None and r.run is None:
        raise UserError(
            f"{named('estimate_on')} scales a measured rate: give {named('run')} and"
            f" {named('workload')}"
        )
    if r.recomputation is not None and r.hardware_tflops is None:
        raise UserError(
            f"{named('recomputation')} says how {named('hardware_tflops')} were counted: give both"
        )
    evidence = run_evidence(r)
    if evidence is not None:
        if r.metric not in {u.value for u in WorkUnit}:
            raise UserError(f"{named('metric')}: expected flops or tokens, got {r.metric!r}")
        unit = WorkUnit(r.metric)
        picked = _serving(r, evidence, device)
        if picked is not None:
            one = picked.throughput()
            return ThroughputAxis(
                one.unit, one.basis, one.source, np.array([one.per_second]), serving=picked
            )
        if r.estimate_on is not None:
            one = estimated_throughput(evidence, unit, r.estimate_on, r.profiles_dirs)
        else:
            e = evidence
            one = measured(e.run, e.label, e.workload, unit, e.force, device)
        return ThroughputAxis(
            one.unit, one.basis, one.source, per_second=np.array([one.per_second])
        )
    if given == ["published"]:
        return published_throughput(published_choice(r), device, peak)
    check_slo_inputs(r, serving=False)
    if not given:
        return None
    what = given[0]
    if what == "tflops":
        return ThroughputAxis(
            WorkUnit.FLOPS, Basis.GIVEN, f"given by hand ({r.name('tflops')})", r.tflops * TERA
        )
    if what == "hardware_tflops":
        if r.recomputation not in RECOMPUTATION:
            raise UserError(
                f"{named('hardware_tflops')} counts the FLOPs the device ran, recomputation"
                f" included: say which with {named('recomputation')} full (8N per token) or"
                " none (6N)"
            )
        ratio = 6.0 / RECOMPUTATION[r.recomputation]
        assert r.hardware_tflops is not None
        source = (
            f"{r.hardware_tflops:g} hardware TFLOP/s ({r.name('hardware_tflops')}), "
            f"{r.recomputation} recomputation ({RECOMPUTATION[r.recomputation]:g}N per token)"
            f" x 6/{RECOMPUTATION[r.recomputation]:g} = model FLOP/s (6N)"
        )
        per_second = np.array([r.hardware_tflops * ratio * TERA])
        return ThroughputAxis(
            WorkUnit.FLOPS, Basis.DERIVED, source, per_second, hardware_per_model=1 / ratio
        )
    if what == "tokens_per_s":
        source = f"given by hand ({r.name('tokens_per_s')})"
        return ThroughputAxis(WorkUnit.TOKENS, Basis.GIVEN, source, r.tokens_per_s)
    if what == "mfu":
        if peak is None:
            raise UserError(
                f"{named('mfu')} needs a peak: give {named('peak_tflops')} or a"
                f" {named('profile')} with a {r.dtype} peak"
            )
        return ThroughputAxis(WorkUnit.FLOPS, Basis.ESTIMATE, "MFU x peak", mfu=r.mfu, peak=peak)
    # A training job and the device-hours it took: the rate they imply, per device.
    assert r.train is not None and r.hours is not None
    hours = r.one("hours")
    assert hours is not None and job is not None
    per_second = job.flops / (hours * SECONDS_PER_HOUR)
    source = f"{job.flops:.4g} FLOPs / ({hours:,.6g} device-hours x 3,600 s)"
    return ThroughputAxis(
        WorkUnit.FLOPS, Basis.DERIVED, source, np.array([per_second]), implied=True
    )


def slo_of(r: Request) -> Slo | None:
    """The SLO a question states (None when no target is given); the percentile defaults to 99."""
    from subsidybench.results.serving import PERCENTILES, Slo  # a serving question's only

    ttft = None if r.ttft_ms is None else r.ttft_ms / 1000.0
    tpot = None if r.tpot_ms is None else r.tpot_ms / 1000.0
    percentile = 99 if r.slo_percentile is None else int(r.slo_percentile)
    if percentile not in PERCENTILES:
        raise UserError(
            f"{named('slo_percentile')}: must be one of {', '.join(map(str, PERCENTILES))},"
            f" got {percentile}"
        )
    if ttft is None and tpot is None and r.tokens_per_user is None:
        if r.slo_percentile is not None:
            raise UserError(
                f"{named('slo_percentile')} says at which percentile an SLO holds: give"
                f" {named('ttft_ms')}, {named('tpot_ms')} or {named('tokens_per_user')}"
            )
        return None
    return Slo(ttft, tpot, r.tokens_per_user, percentile)


def check_slo_inputs(r: Request, serving: bool) -> None:
    """SLO inputs only where a serving curve is costed."""
    given = [named(k) for k in SLO_INPUTS if getattr(r, k) is not None]
    if given and not serving:
        raise UserError(
            f"{', '.join(given)} set a serving SLO: give {named('serve')} with a {named('run')}"
            " that has a serving curve (gpt_serve, llama_serve)"
        )


def _serving(r: Request, evidence: RunEvidence, device: Any) -> serving.ServingPick | None:
    """A serving job on a run with a serving curve: the curve's goodput point (cost.serving)."""
    if r.serve is None:
        check_slo_inputs(r, serving=False)
        return None
    # Serving curves' modules (5 ms to import) only for a serving job on a run.
    from subsidybench.cost import serving

    profile = None if device is None else device.id
    run, where = run_and_label(evidence.run, evidence.label)
    picked = serving.pick(run, where, evidence.workload, slo_of(r), evidence.force, profile)
    check_slo_inputs(r, serving=picked is not None)
    if picked is not None and r.estimate_on is not None:
        raise UserError(
            f"{named('estimate_on')} scales one rate by the roofline; a serving curve is"
            " costed on the device it was measured on"
        )
    return picked
