"""A serving point measured at an engine's endpoint, as the same result our serving workloads
write, so that `cost --serve --run`, `show`, `report` and `compare` read it unchanged.

What the records of one concurrency level become (results.serving reads these fields):

- samples: the level's successful requests in order of completion, in blocks of `concurrency`
  completions; each block's wall time (from the previous block's last completion, the first from
  the level's start) scaled to `concurrency x new_tokens` output tokens. A sample is so the time
  the endpoint took to stream one batch's worth of tokens, and `concurrency x new_tokens /
  median` is its output tokens per second, the figure a lock-step point gives too. A continuous
  batcher has no batches; the blocks only slice its timeline into samples whose spread the verdict
  can judge.
- TTFT and TPOT percentiles over requests, TPOT as vLLM defines it ((end - first token) /
  (tokens - 1)); tokens per second per user = 1 / median TPOT; every inter-token gap (ITL).
- errors, time-outs and the accuracy of the exact-answer questions, each a reason for an
  invalid verdict: a point that dropped requests or answered wrong is not costed by default.

Torch-free.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from subsidybench.dtypes import DType
from subsidybench.measure.endpoint import RequestRecord
from subsidybench.measure.prompts import correct
from subsidybench.results.record import ParamValue, Status, WorkloadResult
from subsidybench.results.serving import PERCENTILES
from subsidybench.timing import Measurement, TimingPolicy, Verdict, judge
from subsidybench.work import Work

WORKLOAD = "endpoint_serve"
MAX_ERROR_SHARE = 0.01
"""More failed requests than this share makes a point invalid (vLLM's bench reports them; a
serving contract that drops 1 request in 100 is not the throughput it claims)."""


@dataclass(frozen=True, slots=True)
class LevelSetup:
    """What a level was: its concurrency and lengths, and how it was sent."""

    concurrency: int
    prompt_tokens: int
    """The prompts' mean length in tokens (the server's count where it gave one)."""
    new_tokens: int
    """The output length asked for."""
    model: str
    engine: str
    host_kind: str
    dtype: DType
    devices: int = 1
    rate_per_s: float | None = None
    accuracy_floor: float | None = None


def _percentiles(values: Sequence[float], prefix: str) -> dict[str, float]:
    a = np.asarray(values, dtype=np.float64)
    return {f"{prefix}_p{p}_s": float(np.percentile(a, p)) for p in PERCENTILES}


def samples(records: Sequence[RequestRecord], concurrency: int, new_tokens: int) -> list[float]:
    """The level's samples (see the module's docstring), from its successful requests."""
    done = sorted((r for r in records if r.ok), key=lambda r: r.start_s + r.end_s)
    if not done:
        return []
    began = min(r.start_s for r in records)
    out, last = [], began
    for i in range(0, len(done), concurrency):
        block = done[i : i + concurrency]
        end = block[-1].start_s + block[-1].end_s
        tokens = sum(r.output_tokens for r in block)
        if end > last and tokens:
            out.append((end - last) * concurrency * new_tokens / tokens)
        last = end
    return out


def level_result(
    setup: LevelSetup,
    records: Sequence[RequestRecord],
    questions: Sequence[tuple[RequestRecord, str]] = (),
    overhead_per_token_s: float | None = None,
) -> WorkloadResult:
    """One concurrency level's records (and its accuracy questions) as a serving result."""
    params: dict[str, ParamValue] = {
        "concurrency": setup.concurrency,
        "prompt": setup.prompt_tokens,
        "new_tokens": setup.new_tokens,
        "model": setup.model,
        "engine": setup.engine,
        "endpoint": setup.host_kind,
        "arrival": "closed loop" if setup.rate_per_s is None else f"poisson {setup.rate_per_s:g}/s",
    }
    rid = (
        f"{WORKLOAD}[concurrency={setup.concurrency},prompt={setup.prompt_tokens},"
        f"new_tokens={setup.new_tokens},model={setup.model}]/{setup.dtype.value}"
    )
    ok = [r for r in records if r.ok]
    failed = [r for r in records if not r.ok]
    base = {"id": rid, "workload": WORKLOAD, "family": "inference", "params": params}
    with_tpot = [r for r in ok if r.tpot_s is not None]
    times = samples(records, setup.concurrency, setup.new_tokens)
    if not with_tpot or not times:
        why = failed[0].error if failed else "no request streamed two or more tokens"
        return WorkloadResult(
            **base,
            dtype=setup.dtype,
            status=Status.FAILED,
            reason=f"{len(failed)} of {len(records)} requests failed; first: {why}",
        )
    metrics: dict[str, float] = {
        **_percentiles([r.ttft_s for r in ok if r.ttft_s is not None], "ttft"),
        **_percentiles([r.tpot_s for r in with_tpot if r.tpot_s is not None], "tpot"),
        **_percentiles([g for r in ok for g in r.gaps_s] or [r.end_s for r in ok], "itl"),
        **_percentiles([r.end_s for r in ok], "e2e_latency"),
        "requests_sent": float(len(records)),
        "requests_ok": float(len(ok)),
        "requests_failed": float(len(failed)),
        "requests_timed_out": float(sum(r.timed_out for r in failed)),
        "output_tokens": float(sum(r.output_tokens for r in ok)),
        "tokens_counted_by_server": float(all(r.counted_by == "usage" for r in ok)),
        "endpoint_devices": float(setup.devices),
    }
    metrics["tokens_per_s_per_user"] = 1.0 / metrics["tpot_p50_s"]
    if overhead_per_token_s is not None:
        metrics["client_overhead_per_token_s"] = overhead_per_token_s
    measurement = Measurement(
        samples_s=tuple(times),
        iterations_per_block=1,
        warmup_iterations=0,
        warmup_s=0.0,
        synchronized=True,  # a streamed token has arrived: nothing is left in flight
    )
    policy = TimingPolicy(budget_s=max(sum(times), 1e-6), max_samples=max(200, len(times)))
    reasons = list(judge(measurement, policy).reasons)
    share = len(failed) / len(records)
    if share > MAX_ERROR_SHARE:
        first = failed[0].error or "failed"
        reasons.append(f"{len(failed)} of {len(records)} requests failed ({share:.0%}); {first}")
    if questions:
        right = sum(1 for r, answer in questions if r.ok and correct(r.text, answer))
        metrics["accuracy"] = right / len(questions)
        metrics["accuracy_questions"] = float(len(questions))
        floor = setup.accuracy_floor
        if floor is not None:
            metrics["accuracy_floor"] = floor
            if metrics["accuracy"] < floor:
                reasons.append(
                    f"accuracy {metrics['accuracy']:.0%} on {len(questions)} exact-answer"
                    f" questions < floor {floor:.0%}"
                )
    work = Work(flops=0.0, bytes=0.0, items=setup.concurrency * setup.new_tokens, item_unit="token")
    return WorkloadResult(
        **base,
        dtype=setup.dtype,
        status=Status.OK,
        work=work,
        measurement=measurement,
        verdict=Verdict(valid=not reasons, reasons=tuple(reasons)),
        policy=policy,
        metrics=metrics,
    )
