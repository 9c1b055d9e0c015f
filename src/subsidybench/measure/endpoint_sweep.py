"""A serving sweep against an endpoint: one point per concurrency, saved as it goes.

Per level: a warm-up (requests at the level's concurrency, not kept: the engine's CUDA graphs,
prefix caches and batch sizes settle in the first requests, vLLM PRs #19423 and #26943 added the
same to `bench serve`), the timed requests, then the accuracy questions at the same concurrency.
Each finished level is saved at once, so a stop (Ctrl-C, a server gone) keeps what was measured.

Before the sweep the client's own cost is measured against a no-op server on 127.0.0.1 that
streams its tokens at once: the time per token the client (and that server, in one event loop)
spend. It bounds how much of a measured TPOT is the client's, and says whether the client host
can keep up.
"""

from __future__ import annotations

import asyncio
import functools
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from subsidybench.dtypes import DType
from subsidybench.errors import UserError
from subsidybench.measure.endpoint import Endpoint, Level, Prompt, RequestRecord, host_kind
from subsidybench.measure.endpoint_result import LevelSetup, level_result
from subsidybench.measure.host import host_fields, installed_versions
from subsidybench.measure.prompts import questions
from subsidybench.results.context import DeviceRecord, Environment
from subsidybench.results.record import RunResult, RunState, WorkloadResult, save_run

SUITE = "endpoint"
SUITE_VERSION = 1
MAX_CONCURRENCY = 4096
MAX_REQUESTS = 100_000
OVERHEAD_TOKENS = 256
OVERHEAD_REQUESTS = 20


@dataclass(frozen=True, slots=True)
class SweepPlan:
    """What a sweep sends: every level's requests, and how the points are labelled."""

    endpoint: Endpoint
    levels: tuple[Level, ...]
    prompts: Callable[[int, int], list[Prompt]]
    """(count, seed) -> that many prompts: synthetic, or drawn from the user's file."""
    requests: int
    """Timed requests per level; 0 means 8 x concurrency, at least 32."""
    warmup: int
    dtype: DType
    engine: str
    devices: int = 1
    accuracy_questions: int = 0
    accuracy_floor: float | None = None
    level_time_limit_s: float = 600.0

    def __post_init__(self) -> None:
        if not self.levels:
            raise UserError("--concurrency: give at least one level")
        for level in self.levels:
            if not 1 <= level.concurrency <= MAX_CONCURRENCY:
                raise UserError(f"--concurrency: each must be in [1, {MAX_CONCURRENCY}]")
        if len({lv.concurrency for lv in self.levels}) != len(self.levels):
            raise UserError("--concurrency: a level is given twice")
        if not 0 <= self.requests <= MAX_REQUESTS:
            raise UserError(f"--requests: must be in [0, {MAX_REQUESTS:,}]")
        if not 0 <= self.warmup <= MAX_REQUESTS:
            raise UserError(f"--warmup: must be in [0, {MAX_REQUESTS:,}]")
        if not 0 <= self.accuracy_questions <= 10_000:
            raise UserError("--accuracy-questions: must be in [0, 10000]")
        if self.accuracy_floor is not None and not 0 <= self.accuracy_floor <= 1:
            raise UserError("--accuracy-floor: a share in [0, 1]")
        if not 1 <= self.devices <= 1_000_000:
            raise UserError("--devices: must be in [1, 1000000]")

    def count(self, level: Level) -> int:
        # A sample is a block of `concurrency` completions and a verdict needs five samples.
        floor = 5 * level.concurrency
        return max(self.requests, floor) if self.requests else max(32, 8 * level.concurrency)


def environment(engine: str, devices: int) -> Environment:
    """The client's machine and the endpoint: a result travels, so no host name is kept."""
    return Environment(
        **host_fields(),
        torch_version="not used (an endpoint was measured)",
        torch_threads=0,
        backend="endpoint",
        backend_version=engine,
        driver=None,
        device_names=(),
        device_count=devices,
        plugins=installed_versions(["aiohttp"]),  # the client
    )


def new_run(plan: SweepPlan, profile: str | None) -> RunResult:
    kind = host_kind(plan.endpoint.url)
    return RunResult(
        suite=SUITE,
        suite_version=SUITE_VERSION,
        device=DeviceRecord(type="endpoint", index=None, name=f"{plan.engine} ({kind})"),
        environment=environment(plan.engine, plan.devices),
        started=_now(),
        profile=profile,
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


async def client_overhead() -> float:
    """Seconds per token the client spends on a stream that costs the server nothing."""
    from aiohttp import web

    from subsidybench.measure.endpoint import run_level

    async def complete(request: web.Request) -> web.StreamResponse:
        await request.read()
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        chunk = b'data: {"choices":[{"index":0,"text":" x"}]}\n\n'
        await response.write(chunk * OVERHEAD_TOKENS + b"data: [DONE]\n\n")
        return response

    app = web.Application()
    app.router.add_post("/v1/completions", complete)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        endpoint = Endpoint(f"http://127.0.0.1:{port}", "no-op", timeout_s=30)
        prompts = [Prompt("x", OVERHEAD_TOKENS)] * OVERHEAD_REQUESTS
        records = await run_level(endpoint, prompts, Level(1))
    finally:
        await runner.cleanup()
    per_token = [r.end_s / r.output_tokens for r in records if r.ok]
    if not per_token:
        raise UserError("could not measure the client's overhead against a local no-op server")
    return statistics.median(per_token)


Observer = Callable[[str, RequestRecord | None], None]


async def sweep(
    plan: SweepPlan, out: Path, profile: str | None, observe: Observer | None = None
) -> RunResult:
    """Measure every level and save the run after each; on a stop, save what finished."""
    from subsidybench.measure.endpoint import describe_server, run_level

    said = await describe_server(plan.endpoint)
    engine = plan.engine or said.get("engine") or said.get("server_header") or "unknown engine"
    plan = replace(plan, engine=engine)
    run = new_run(plan, profile)
    save_run(run, out, exclusive=True)
    overhead = await client_overhead()
    results: list[WorkloadResult] = []
    try:
        for i, level in enumerate(plan.levels):
            note = None
            if observe is not None:
                note = functools.partial(observe, f"c={level.concurrency}")
            if plan.warmup:
                await run_level(plan.endpoint, plan.prompts(plan.warmup, 1000 + i), level, seed=i)
            records = await run_level(
                plan.endpoint,
                plan.prompts(plan.count(level), i),
                level,
                seed=i,
                on_done=note,
                stop_after_s=plan.level_time_limit_s,
            )
            asked = questions(plan.accuracy_questions, seed=i) if plan.accuracy_questions else []
            answered = await run_level(plan.endpoint, asked, level, seed=i) if asked else []
            prompt_tokens = [r.prompt_tokens for r in records if r.prompt_tokens is not None]
            setup = LevelSetup(
                concurrency=level.concurrency,
                prompt_tokens=round(statistics.fmean(prompt_tokens)) if prompt_tokens else 1,
                new_tokens=_asked_tokens(plan, level),
                model=plan.endpoint.model,
                engine=engine,
                host_kind=host_kind(plan.endpoint.url),
                dtype=plan.dtype,
                devices=plan.devices,
                rate_per_s=level.rate_per_s,
                accuracy_floor=plan.accuracy_floor,
            )
            pairs = [(r, q.answer or "") for r, q in zip(answered, asked, strict=False)]
            results.append(level_result(setup, records, pairs, overhead))
            run = replace(run, results=tuple(results))
            save_run(run, out)
    except (KeyboardInterrupt, asyncio.CancelledError):
        run = replace(run, state=RunState.INTERRUPTED, stopped="interrupted", finished=_now())
        save_run(run, out)
        raise
    run = replace(run, state=RunState.COMPLETE, finished=_now())
    save_run(run, out)
    return run


def _asked_tokens(plan: SweepPlan, level: Level) -> int:
    sample: Sequence[Prompt] = plan.prompts(min(plan.count(level), 64), 0)
    return round(statistics.fmean(p.max_tokens for p in sample))
