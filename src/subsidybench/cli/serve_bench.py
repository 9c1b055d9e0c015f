"""`subsidybench serve-bench`: sweep an OpenAI-compatible endpoint's concurrency, as bought."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from subsidybench.dtypes import DType
from subsidybench.errors import UserError

app = typer.Typer(no_args_is_help=True)


def _levels(text: str) -> list[int]:
    try:
        levels = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise UserError(
            f"--concurrency: expected whole numbers like 1,4,16, got {text!r}"
        ) from None
    if not levels:
        raise UserError("--concurrency: give at least one level")
    return levels


def _dtype(text: str) -> DType:
    known = {d.value: d for d in DType}
    if text not in known:
        raise UserError(f"--dtype: {text!r} is not one of: {', '.join(known)}")
    return known[text]


def _header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise UserError(f"--header: expected NAME: VALUE, got {text!r}")
    return name.strip(), value.strip()


@app.command("serve-bench", no_args_is_help=True)
def serve_bench(
    url: Annotated[
        str,
        typer.Argument(help="The server's base URL, e.g. http://127.0.0.1:8000 (or .../v1)."),
    ],
    model: Annotated[str, typer.Option("--model", help="The model name the server serves.")],
    dtype: Annotated[
        str,
        typer.Option(
            "--dtype",
            help="The precision the engine serves in (bf16, fp16, fp8, int8), as deployed:"
            " recorded beside the figures, not measured.",
        ),
    ],
    concurrency: Annotated[
        str, typer.Option("--concurrency", help="Levels to sweep, e.g. 1,4,16.")
    ] = "1,4,16",
    requests: Annotated[
        int,
        typer.Option(
            "--requests",
            help="Timed requests per level (0: 8 x concurrency, at least 32); at least 5 x"
            " concurrency are sent, so that the verdict has five samples.",
        ),
    ] = 0,
    warmup: Annotated[
        int, typer.Option("--warmup", help="Untimed requests before each level.")
    ] = 8,
    prompt_tokens: Annotated[
        int, typer.Option("--prompt-tokens", help="Synthetic prompt length, in tokens.")
    ] = 256,
    output_tokens: Annotated[
        int, typer.Option("--output-tokens", help="Output tokens asked for per request.")
    ] = 128,
    prompts_file: Annotated[
        Path | None,
        typer.Option(
            "--prompts",
            help='A JSONL file of prompts ({"prompt": ..., "max_tokens": ...} a line) instead'
            " of synthetic ones.",
        ),
    ] = None,
    rate: Annotated[
        float | None,
        typer.Option(
            "--rate",
            help="Poisson arrivals at this many requests/s (at most --concurrency in flight);"
            " default: closed loop.",
        ),
    ] = None,
    chat: Annotated[
        bool, typer.Option("--chat", help="Use /v1/chat/completions instead of /v1/completions.")
    ] = False,
    devices: Annotated[
        int, typer.Option("--devices", help="Devices behind the endpoint (for per-device figures).")
    ] = 1,
    engine: Annotated[
        str,
        typer.Option("--engine", help="The engine's name and version (default: what it reports)."),
    ] = "",
    profile: Annotated[
        str | None,
        typer.Option("--profile", help="The device profile of the serving hardware (for cost)."),
    ] = None,
    accuracy_questions: Annotated[
        int,
        typer.Option(
            "--accuracy-questions",
            help="Exact-answer arithmetic questions per level, scored beside throughput.",
        ),
    ] = 0,
    accuracy_floor: Annotated[
        float | None,
        typer.Option(
            "--accuracy-floor",
            help="A point answering fewer right than this share (0-1) is invalid, not costed.",
        ),
    ] = None,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds without data before a request fails.")
    ] = 60.0,
    level_time: Annotated[
        float,
        typer.Option("--level-time", help="Most seconds one level may send requests for."),
    ] = 600.0,
    header: Annotated[
        list[str] | None,
        typer.Option(
            "--header", help="An HTTP header (NAME: VALUE), e.g. an API key; never saved."
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Where the result goes (default runs/<time>-endpoint.json)."),
    ] = None,
) -> None:
    """Sweep an OpenAI-compatible endpoint (vLLM, SGLang, MindIE, ...) over concurrency.

    Each level: a warm-up, the timed streamed requests (TTFT, every inter-token gap, output
    length, errors), then the accuracy questions. Saved as a run after every level; `show`,
    `report` and `cost --serve N --run FILE` read it like a measured serving curve. Requests go
    only to URL; the file keeps the host's kind (loopback, private, public), never the URL.
    """
    from rich.console import Console

    from subsidybench.measure.endpoint import Endpoint, Level
    from subsidybench.measure.endpoint_sweep import SweepPlan, sweep
    from subsidybench.measure.prompts import from_jsonl, synthetic
    from subsidybench.report.endpoint_view import endpoint_table
    from subsidybench.report.terminal import console as render_console
    from subsidybench.report.terminal import run_header

    if not 2 <= output_tokens <= 1 << 20:
        raise UserError("--output-tokens: must be in [2, 1048576] (TPOT needs a second token)")
    if not 1 <= prompt_tokens <= 1 << 20:
        raise UserError("--prompt-tokens: must be in [1, 1048576]")
    if rate is not None and not 0 < rate <= 1e6:
        raise UserError("--rate: requests per second in (0, 1e6]")
    if not 0 < level_time <= 86_400:
        raise UserError("--level-time: seconds in (0, 86400]")
    endpoint = Endpoint(
        url, model, chat=chat, timeout_s=timeout, headers=tuple(_header(h) for h in header or ())
    )
    if prompts_file is not None:
        pool = from_jsonl(prompts_file, output_tokens)

        def prompts(count: int, seed: int) -> list:  # type: ignore[type-arg]
            return [pool[(seed * 7919 + i) % len(pool)] for i in range(count)]
    else:

        def prompts(count: int, seed: int) -> list:  # type: ignore[type-arg]
            return synthetic(count, prompt_tokens, output_tokens, seed)

    plan = SweepPlan(
        endpoint=endpoint,
        levels=tuple(Level(c, rate) for c in _levels(concurrency)),
        prompts=prompts,
        requests=requests,
        warmup=warmup,
        dtype=_dtype(dtype),
        engine=engine,
        devices=devices,
        accuracy_questions=accuracy_questions,
        accuracy_floor=accuracy_floor,
        level_time_limit_s=level_time,
    )
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = out or Path("runs") / f"{stamp}-endpoint.json"
    console = Console(stderr=True)
    done = {"n": 0}

    def observe(level: str, record: object) -> None:
        done["n"] += 1
        if done["n"] % 16 == 0:
            console.print(f"  {level}: {done['n']} requests", highlight=False)

    try:
        run = asyncio.run(sweep(plan, target, profile, observe))
    except KeyboardInterrupt:
        typer.echo(f"interrupted: the finished levels are in {target}", err=True)
        raise typer.Exit(130) from None
    out_console = render_console()
    out_console.print(run_header(run, str(target)))
    table, notes = endpoint_table(run)
    out_console.print(table)
    for line in notes:
        out_console.print(line, highlight=False)
    typer.echo(f"wrote {target}; next: subsidybench cost --serve TOKENS --run {target} ...")
