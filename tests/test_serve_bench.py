"""serve-bench against a real streaming server on 127.0.0.1 (tests/endpoint_server.py): token
counts, TTFT and gaps against the server's own clock, faults as one line each with the finished
requests kept, the accuracy gate, and the result costed like any serving run."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

pytest.importorskip("aiohttp", reason="serve-bench needs aiohttp (pip install -e '.[serve]')")

from typer.testing import CliRunner

from subsidybench.cli import app
from subsidybench.dtypes import DType
from subsidybench.measure.endpoint import Endpoint, Level, Prompt, host_kind, run_level, send
from subsidybench.measure.endpoint_result import LevelSetup, level_result, samples
from subsidybench.measure.prompts import correct, questions, synthetic
from subsidybench.results.record import load_run
from subsidybench.results.serving import curves
from tests.endpoint_server import ModelServer

runner = CliRunner()


def _records(server: ModelServer, n: int, concurrency: int, tokens: int = 8, **kw):  # type: ignore[no-untyped-def]
    endpoint = Endpoint(server.url, "tiny-gpt", **kw)
    return asyncio.run(run_level(endpoint, synthetic(n, 16, tokens), Level(concurrency)))


def test_token_counts_and_times_agree_with_the_servers_clock() -> None:
    with ModelServer(token_delay_s=0.005) as server:
        records = _records(server, 6, 1, tokens=10)
    assert len(records) == 6 and all(r.ok for r in records)
    assert all(r.output_tokens == 10 and r.counted_by == "usage" for r in records)
    assert all(len(r.token_times_s) == 10 for r in records)
    # One at a time, so the server's requests are the client's in order; one clock for both.
    assert len(server.log.chunks) == len(records)
    for r, arrived, sent in zip(records, server.log.arrivals, server.log.chunks, strict=True):
        assert r.start_s <= arrived
        # Every token reaches the client after the server sent it. The margin only catches a
        # client that adds time of its own (a second is no host's load on a loopback).
        for client_t, server_t in zip(r.token_times_s, sent, strict=True):
            assert server_t - r.start_s <= client_t < server_t - r.start_s + 1.0
        server_tpot = (sent[-1] - sent[0]) / (len(sent) - 1)
        assert r.tpot_s == pytest.approx(server_tpot, abs=0.1)


def test_chat_endpoint_counts_delta_content() -> None:
    with ModelServer() as server:
        records = _records(server, 2, 1, tokens=5, chat=True)
    assert [r.output_tokens for r in records] == [5, 5]
    assert all(r.text.startswith(" w") for r in records)


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ("500", "HTTP 500: internal error: out of KV cache blocks"),
        ("close", "after 3 tokens"),
        ("badjson", "malformed JSON in the stream after 3 tokens"),
        ("stall", "timed out: no data for 0.5 s after 2 tokens"),
    ],
)
def test_a_faulty_server_gives_one_line_per_request(fault: str, expected: str) -> None:
    with ModelServer(fault=fault) as server:
        records = _records(server, 2, 2, tokens=8, timeout_s=0.5)
    assert len(records) == 2
    for r in records:
        assert not r.ok and r.error is not None and "\n" not in r.error
        assert expected in r.error
    assert all(r.timed_out for r in records) == (fault == "stall")


def test_an_unreachable_server_is_one_line() -> None:
    endpoint = Endpoint("http://127.0.0.1:9", "m", timeout_s=1)
    record = asyncio.run(run_level(endpoint, [Prompt("x", 4)], Level(1)))[0]
    assert record.error is not None and record.error.startswith("cannot connect to")


def test_credentials_and_other_schemes_are_refused() -> None:
    from subsidybench.errors import UserError

    with pytest.raises(UserError, match="credentials"):
        Endpoint("http://user:secret@127.0.0.1:8000", "m")
    with pytest.raises(UserError, match="http"):
        Endpoint("file:///etc/passwd", "m")
    assert host_kind("http://127.0.0.1:1") == "loopback"
    assert host_kind("http://10.1.2.3") == "private"
    assert host_kind("https://8.8.8.8") == "public"


def test_samples_scale_each_block_to_a_batch_of_tokens() -> None:
    from subsidybench.measure.endpoint import RequestRecord

    # Two requests at once, each 4 tokens, finishing at 1 s and 2 s; then two at 3 s and 4 s.
    recs = [
        RequestRecord(start_s=0.0, token_times_s=(0.1,) * 4, output_tokens=4, end_s=e)
        for e in (1.0, 2.0, 3.0, 4.0)
    ]
    # Blocks of 2 completions: [0, 2] s for 8 tokens, [2, 4] s for 8: 2 s per 2 x 4 tokens.
    assert samples(recs, 2, 4) == [2.0, 2.0]
    # A block that streamed half the tokens asked for counts as twice the time per batch.
    short = [*recs[:2], *(RequestRecord(0.0, (0.1,) * 2, 2, end_s=e) for e in (3.0, 4.0))]
    assert samples(short, 2, 4) == [2.0, 4.0]


def _setup(concurrency: int, floor: float | None = None) -> LevelSetup:
    return LevelSetup(
        concurrency=concurrency,
        prompt_tokens=16,
        new_tokens=8,
        model="tiny-gpt",
        engine="test-engine",
        host_kind="loopback",
        dtype=DType.FP32,
        accuracy_floor=floor,
    )


def test_errors_make_a_point_invalid_and_keep_the_finished_requests() -> None:
    from subsidybench.measure.endpoint import RequestRecord

    good = [
        RequestRecord(start_s=0.0, token_times_s=(0.1, 0.2, 0.3), output_tokens=8, end_s=e)
        for e in (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
    ]
    bad = RequestRecord(start_s=0.0, end_s=0.2, error="HTTP 500: boom")
    result = level_result(_setup(1), [*good, bad])
    assert result.ok and result.metrics["requests_failed"] == 1
    assert result.metrics["requests_ok"] == 6
    assert not result.verdict.valid
    assert any("1 of 7 requests failed" in why for why in result.verdict.reasons)


def test_the_accuracy_gate_marks_a_wrong_point_and_passes_a_right_one() -> None:
    asked = questions(8)
    for fault, passes in (("", False), ("oracle", True)):
        with ModelServer(fault=fault) as server:
            endpoint = Endpoint(server.url, "tiny-gpt")
            records = asyncio.run(run_level(endpoint, synthetic(12, 16, 8), Level(2)))
            answered = asyncio.run(run_level(endpoint, asked, Level(2)))
        pairs = [(r, q.answer or "") for r, q in zip(answered, asked, strict=True)]
        result = level_result(_setup(2, floor=0.9), records, pairs)
        assert result.metrics["accuracy"] == (1.0 if passes else 0.0)
        gate = [why for why in result.verdict.reasons if why.startswith("accuracy")]
        assert bool(gate) != passes


def test_correct_reads_the_first_number() -> None:
    assert correct(" 1,234 is the sum", "1234")
    assert not correct("about 1200", "1234")
    assert not correct("", "1")


def test_send_never_raises_on_a_bad_body() -> None:
    async def go() -> object:
        import aiohttp

        with ModelServer(fault="badjson") as server:
            async with aiohttp.ClientSession() as session:
                return await send(session, Endpoint(server.url, "tiny-gpt"), Prompt("hi", 6))

    record = asyncio.run(go())
    assert "malformed JSON" in (record.error or "")


def test_the_cli_sweeps_saves_a_curve_and_cost_reads_it(tmp_path: Path) -> None:
    out = tmp_path / "endpoint.json"
    with ModelServer() as server:
        result = runner.invoke(
            app,
            [
                "serve-bench", server.url, "--model", "tiny-gpt", "--dtype", "fp32",
                "--concurrency", "1,2", "--requests", "10", "--warmup", "2",
                "--prompt-tokens", "16", "--output-tokens", "6",
                "--accuracy-questions", "4", "--out", str(out),
            ],
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.output
    run = load_run(out)
    doc = json.loads(out.read_text())
    assert server.url not in out.read_text()  # the host's kind only, never the URL
    assert doc["device"]["type"] == "endpoint"
    assert run.results[0].params["engine"] == "test-engine"  # from /v1/models' owned_by
    assert run.results[0].params["endpoint"] == "loopback"
    (curve,) = curves(run.results)
    assert [p.concurrency for p in curve.points] == [1, 2]
    assert all(r.metrics["requests_ok"] == 10 for r in run.results)
    assert all("client_overhead_per_token_s" in r.metrics for r in run.results)
    # Cost reads it like any serving curve (forced: on a busy test host a point may be invalid).
    costed = runner.invoke(
        app,
        ["cost", "--serve", "1e6", "--run", str(out), "--price", "2", "--currency", "USD",
         "--force", "--json", str(tmp_path / "c.json")],
    )  # fmt: skip
    assert costed.exit_code == 0, costed.output
    assert "endpoint_serve" in costed.output


def test_the_cli_keeps_finished_levels_when_the_server_fails(tmp_path: Path) -> None:
    out = tmp_path / "e.json"
    with ModelServer(fault="500") as server:
        result = runner.invoke(
            app,
            ["serve-bench", server.url, "--model", "tiny-gpt", "--dtype", "bf16",
             "--concurrency", "1", "--requests", "3", "--warmup", "0", "--out", str(out)],
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "HTTP 500" in result.output
    (r,) = load_run(out).results
    assert r.status.value == "failed" and "5 of 5 requests failed" in r.reason


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--concurrency", "1,x"], "--concurrency"),
        (["--concurrency", "0"], "--concurrency"),
        (["--output-tokens", "1"], "--output-tokens"),
        (["--dtype", "fp4"], "--dtype"),
        (["--header", "nocolon"], "--header"),
        (["--timeout", "0"], "--timeout"),
    ],
)
def test_bad_flags_are_one_line(args: list[str], message: str, tmp_path: Path) -> None:
    base = ["serve-bench", "http://127.0.0.1:9", "--model", "m", "--dtype", "bf16"]
    result = runner.invoke(app, [*base, *args, "--out", str(tmp_path / "x.json")])
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "x.json").exists()


def test_a_cancelled_sweep_keeps_its_finished_levels(tmp_path: Path) -> None:
    from subsidybench.measure.endpoint_sweep import SweepPlan, sweep

    out = tmp_path / "cancelled.json"

    async def go(server: ModelServer) -> None:
        plan = SweepPlan(
            endpoint=Endpoint(server.url, "tiny-gpt"),
            levels=(Level(1), Level(2)),
            prompts=lambda count, seed: synthetic(count, 8, 4, seed),
            requests=5,
            warmup=0,
            dtype=DType.FP32,
            engine="",
        )
        task = asyncio.create_task(sweep(plan, out, None))
        # Cancel once the first level is saved: the stop Ctrl-C makes inside asyncio.run.
        for _ in range(6000):  # a minute at most
            if out.exists() and json.loads(out.read_text() or "{}").get("results"):
                break
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    with ModelServer(token_delay_s=0.01) as server:
        asyncio.run(go(server))
    run = load_run(out)
    assert run.state.value == "interrupted"
    assert [r.params["concurrency"] for r in run.results] == [1]


def test_report_reads_an_endpoint_run(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "e.json"
    with ModelServer() as server:
        made = runner.invoke(
            app,
            ["serve-bench", server.url, "--model", "tiny-gpt", "--dtype", "fp32",
             "--concurrency", "1,2", "--requests", "10", "--warmup", "0",
             "--output-tokens", "4", "--out", str(out)],
        )  # fmt: skip
    assert made.exit_code == 0, made.output
    result = runner.invoke(app, ["report", str(out), "--out", str(tmp_path / "rep")])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "rep" / "report.md").read_text()
    assert "endpoint_serve" in text
