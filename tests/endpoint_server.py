"""A real OpenAI-compatible streaming server on 127.0.0.1 for the endpoint client's tests.

It serves our own GPT (workloads.gpt, a tiny random model on the CPU, greedy decoding, one token
a chunk, as vLLM streams) behind /v1/completions, /v1/chat/completions and /v1/models, and
keeps its own timestamps (perf_counter, shared with the client in one process) of each request's
arrival and every chunk it sent, so the tests can hold the client's TTFT and gaps against them.
A `fault` makes it misbehave as real servers do: stall, answer 500, close mid-stream, send
malformed JSON, or answer sums right ("oracle", to test the accuracy gate's passing side).
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from dataclasses import dataclass, field

import torch
from aiohttp import web

from subsidybench.workloads.gpt import Gpt

VOCAB = 512


@dataclass
class ServerLog:
    """What the server did, by its own clock: arrival and chunk times per request."""

    arrivals: list[float] = field(default_factory=list)
    chunks: list[list[float]] = field(default_factory=list)


class ModelServer:
    """Start with `with ModelServer() as s:`; `s.url` is its base URL."""

    def __init__(self, fault: str = "", token_delay_s: float = 0.0) -> None:
        self.fault = fault
        self.token_delay_s = token_delay_s
        self.log = ServerLog()
        torch.manual_seed(0)
        self.model = Gpt(vocab=VOCAB, seq=512, layers=2, heads=2, dim=64).eval()
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ModelServer:
        self._thread.start()
        if not self._started.wait(30):
            raise RuntimeError("the test server did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_post("/v1/completions", self._complete)
        app.router.add_post("/v1/chat/completions", self._complete)
        app.router.add_get("/v1/models", self._models)
        runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        self.port = runner.addresses[0][1]
        self._started.set()
        self._loop.run_forever()
        # Handlers still waiting (a stalled stream) are cancelled, not left for the collector.
        pending = asyncio.all_tasks(self._loop)
        for task in pending:
            task.cancel()
        self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self._loop.run_until_complete(runner.cleanup())
        self._loop.close()

    async def _models(self, request: web.Request) -> web.Response:
        body = {"object": "list", "data": [{"id": "tiny-gpt", "owned_by": "test-engine"}]}
        return web.json_response(body, headers={"Server": "test-engine/0"})

    def _next(self, ids: list[int]) -> int:
        """One greedy decoding step (the whole context again: a tiny model needs no cache)."""
        with self._lock, torch.no_grad():
            nxt = int(self.model(torch.tensor([ids[-256:]]))[0, -1].argmax())
        ids.append(nxt)
        return nxt

    async def _pieces(self, prompt: str, n: int):  # type: ignore[no-untyped-def]
        """Each token as it is generated, as an engine streams it."""
        ids = [ord(c) % VOCAB for c in prompt[-64:]] or [0]
        loop = asyncio.get_running_loop()
        for _ in range(n):
            yield f" w{await loop.run_in_executor(None, self._next, ids)}"

    async def _complete(self, request: web.Request) -> web.StreamResponse:
        arrived = time.perf_counter()
        body = await request.json()
        self.log.arrivals.append(arrived)
        sent: list[float] = []
        self.log.chunks.append(sent)
        if self.fault == "500":
            return web.Response(status=500, text="internal error: out of KV cache blocks")
        prompt = body.get("prompt") or body["messages"][0]["content"]
        n = int(body["max_tokens"])
        chat = "messages" in body
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        sums = re.search(r"What is (\d+) \+ (\d+)\?", prompt)
        if self.fault == "oracle" and sums:
            pieces = _once(str(int(sums.group(1)) + int(sums.group(2))))
        else:
            pieces = self._pieces(prompt, n)
        count = 0
        async for piece in pieces:
            i, count = count, count + 1
            if self.fault == "stall" and i == 2:
                await asyncio.sleep(3600)
            if self.fault == "close" and i == 3:
                assert request.transport is not None
                request.transport.close()
                return response
            if self.fault == "badjson" and i == 3:
                await response.write(b"data: {not json\n\n")
                continue
            choice = {"index": 0, **({"delta": {"content": piece}} if chat else {"text": piece})}
            # The time the chunk is handed to the socket: the client cannot see it earlier.
            sent.append(time.perf_counter())
            await response.write(f"data: {json.dumps({'choices': [choice]})}\n\n".encode())
            if self.token_delay_s:
                await asyncio.sleep(self.token_delay_s)
        usage = {"prompt_tokens": len(prompt.split()), "completion_tokens": count}
        await response.write(f"data: {json.dumps({'choices': [], 'usage': usage})}\n\n".encode())
        await response.write(b"data: [DONE]\n\n")
        return response


async def _once(text: str):  # type: ignore[no-untyped-def]
    yield text
