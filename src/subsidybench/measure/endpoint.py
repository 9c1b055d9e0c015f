"""A client for an OpenAI-compatible serving endpoint: what one streamed request took.

An engine (vLLM, SGLang, MindIE, TensorRT-LLM) is bought as an endpoint, so the figure a buyer
pays for is timed at the endpoint: continuous batching, the scheduler, KV-cache management and
quantised kernels included. This module sends streamed completion requests, as vLLM's `bench
serve` does, and records per request the time to the first token, every gap between tokens, the
output length, and any error, each as one line. Everything is bounded: the bytes read per
response, the length of one stream line, the time without data, the time of a whole request.

Tokens are counted as the server says where it says (`usage.completion_tokens` of the last
chunk, asked for with `stream_options.include_usage`, which vLLM and SGLang honour), else one
token per streamed chunk that carries text (vLLM and SGLang stream one token a chunk); the record
says which. Traffic goes only to the URL given: redirects are not followed.

aiohttp is imported where a request is sent, so `cost` and `show` never load it.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from subsidybench.errors import UserError

if TYPE_CHECKING:
    import aiohttp

MAX_LINE_BYTES = 1 << 20
"""One stream line: a chunk of one token is ~200 bytes; a MiB is a server gone wrong."""
MAX_RESPONSE_BYTES = 64 << 20
"""A whole response: 64 MiB holds ~300k one-token chunks, beyond any max_tokens sent here."""
ERROR_BODY_CHARS = 200
"""How much of a failed response's body an error line quotes."""


@dataclass(frozen=True, slots=True)
class Prompt:
    """One request to send: its text, the reply length asked for, and a known answer if any."""

    text: str
    max_tokens: int
    prompt_tokens: int | None = None
    """The prompt's length in tokens where known before sending (synthetic prompts)."""
    answer: str | None = None
    """The exact answer of an accuracy question; None for a throughput prompt."""

    def __post_init__(self) -> None:
        if not self.text:
            raise ValueError("a prompt needs text")
        if self.max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1, got {self.max_tokens}")


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request as the client saw it. Times are seconds from the request's start."""

    start_s: float
    """perf_counter at the request's start (to order requests in time)."""
    token_times_s: tuple[float, ...] = ()
    """Arrival of each output token, from the start; the first is the TTFT."""
    output_tokens: int = 0
    prompt_tokens: int | None = None
    counted_by: str = "chunks"
    """'usage' when the server reported the token count, else 'chunks'."""
    end_s: float = 0.0
    text: str = ""
    error: str | None = None
    """None for a request that finished; else one line saying what went wrong."""
    timed_out: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None and self.output_tokens > 0

    @property
    def ttft_s(self) -> float | None:
        return self.token_times_s[0] if self.token_times_s else None

    @property
    def tpot_s(self) -> float | None:
        """(end - first token) / (tokens - 1), vLLM's TPOT; None with fewer than two tokens."""
        if not self.ok or self.output_tokens < 2 or self.ttft_s is None:
            return None
        return (self.end_s - self.ttft_s) / (self.output_tokens - 1)

    @property
    def gaps_s(self) -> tuple[float, ...]:
        """Every inter-token gap (ITL) as the chunks arrived."""
        t = self.token_times_s
        return tuple(b - a for a, b in itertools.pairwise(t))


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where requests go, and how: the URL, the API flavour, the model name, the limits."""

    url: str
    model: str
    chat: bool = False
    """POST to /v1/chat/completions (messages) instead of /v1/completions (prompt)."""
    timeout_s: float = 60.0
    """Longest wait for any data from the server, and at most 10x this for a whole request."""
    headers: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UserError(f"URL: expected http(s)://HOST[:PORT][/v1], got {self.url!r}")
        if parts.username or parts.password:
            raise UserError("URL: credentials in the URL are not accepted; use --header")
        if not 0 < self.timeout_s <= 3600:
            raise UserError(f"--timeout: must be in (0, 3600] seconds, got {self.timeout_s}")

    @property
    def request_url(self) -> str:
        base = self.url.rstrip("/")
        if not base.endswith("/v1"):
            base += "/v1"
        return base + ("/chat/completions" if self.chat else "/completions")

    @property
    def models_url(self) -> str:
        base = self.url.rstrip("/")
        return (base if base.endswith("/v1") else base + "/v1") + "/models"

    def body(self, prompt: Prompt) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": prompt.max_tokens,
            "stream": True,
            "stream_options": {"include_usage": True},
            "temperature": 0.0,
        }
        if prompt.answer is None:
            # A throughput prompt asks for exactly max_tokens, as vLLM's bench does (vLLM and
            # SGLang accept these; other servers ignore unknown fields or stop at EOS, and the
            # counted output length says so).
            body["ignore_eos"] = True
            body["min_tokens"] = prompt.max_tokens
        if self.chat:
            body["messages"] = [{"role": "user", "content": prompt.text}]
        else:
            body["prompt"] = prompt.text
        return body


def host_kind(url: str) -> str:
    """'loopback', 'private' or 'public': what a result keeps of the server's address."""
    import ipaddress

    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return "loopback"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return "named host"
    if ip.is_loopback:
        return "loopback"
    return "private" if ip.is_private else "public"


def _chunk_text(chunk: dict[str, Any]) -> str:
    choices = chunk.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return ""
    c = choices[0]
    delta = c.get("delta")
    text = delta.get("content") if isinstance(delta, dict) else c.get("text")
    return text if isinstance(text, str) else ""


class _Stream:
    """Reads a server-sent-event stream line by line, within the byte limits."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._content = response.content
        self._buffer = b""
        self.read = 0

    async def lines(self):  # type: ignore[no-untyped-def]
        async for chunk in self._content.iter_any():
            self.read += len(chunk)
            if self.read > MAX_RESPONSE_BYTES:
                raise _Fault(f"response larger than {MAX_RESPONSE_BYTES >> 20} MiB")
            self._buffer += chunk
            while b"\n" in self._buffer:
                line, self._buffer = self._buffer.split(b"\n", 1)
                yield line.strip()
            if len(self._buffer) > MAX_LINE_BYTES:
                raise _Fault(f"a stream line longer than {MAX_LINE_BYTES >> 20} MiB")
        if self._buffer.strip():
            yield self._buffer.strip()


class _Fault(Exception):
    """What ended one request early, as one line."""


async def send(session: aiohttp.ClientSession, endpoint: Endpoint, prompt: Prompt) -> RequestRecord:
    """Send one streamed request and time its tokens; never raises for the server's faults."""
    import aiohttp

    start = time.perf_counter()
    times: list[float] = []
    text: list[str] = []
    usage_tokens: int | None = None
    usage_prompt: int | None = None
    done = False

    def record(error: str | None = None, timed_out: bool = False) -> RequestRecord:
        counted = usage_tokens is not None
        return RequestRecord(
            start_s=start,
            token_times_s=tuple(times),
            output_tokens=usage_tokens if counted else len(times),
            prompt_tokens=usage_prompt if usage_prompt is not None else prompt.prompt_tokens,
            counted_by="usage" if counted else "chunks",
            end_s=time.perf_counter() - start,
            text="".join(text),
            error=error,
            timed_out=timed_out,
        )

    timeout = aiohttp.ClientTimeout(
        total=endpoint.timeout_s * 10, sock_read=endpoint.timeout_s, sock_connect=10
    )
    try:
        async with session.post(
            endpoint.request_url,
            json=endpoint.body(prompt),
            timeout=timeout,
            allow_redirects=False,
            headers=dict(endpoint.headers),
        ) as response:
            if response.status != 200:
                body = (await response.content.read(ERROR_BODY_CHARS * 4)).decode(
                    "utf-8", "replace"
                )
                line = " ".join(body.split())[:ERROR_BODY_CHARS]
                return record(f"HTTP {response.status}" + (f": {line}" if line else ""))
            async for line in _Stream(response).lines():
                if not line or line.startswith(b":"):
                    continue  # keep-alive comments and the blank lines between events
                if not line.startswith(b"data:"):
                    continue  # event:, id:, retry: fields carry nothing a token count needs
                data = line[5:].strip()
                if data == b"[DONE]":
                    done = True
                    break
                try:
                    chunk = json.loads(data)
                except (json.JSONDecodeError, UnicodeDecodeError):
                    raise _Fault(
                        f"malformed JSON in the stream after {len(times)} tokens:"
                        f" {data[:60].decode('utf-8', 'replace')!r}"
                    ) from None
                if not isinstance(chunk, dict):
                    raise _Fault(f"a stream chunk that is not an object after {len(times)} tokens")
                if "error" in chunk:
                    said = str(chunk["error"])[:ERROR_BODY_CHARS]
                    raise _Fault(f"the server sent an error: {said}")
                piece = _chunk_text(chunk)
                if piece:
                    times.append(time.perf_counter() - start)
                    text.append(piece)
                usage = chunk.get("usage")
                if isinstance(usage, dict):
                    if isinstance(usage.get("completion_tokens"), int):
                        usage_tokens = usage["completion_tokens"]
                    if isinstance(usage.get("prompt_tokens"), int):
                        usage_prompt = usage["prompt_tokens"]
            if not done:
                raise _Fault(f"the stream ended without [DONE] after {len(times)} tokens")
    except _Fault as e:
        return record(str(e))
    except TimeoutError:
        return record(
            f"timed out: no data for {endpoint.timeout_s:g} s after {len(times)} tokens",
            timed_out=True,
        )
    except aiohttp.ClientPayloadError:
        return record(f"the server closed the stream mid-response after {len(times)} tokens")
    except aiohttp.ServerDisconnectedError:
        return record(f"the server disconnected after {len(times)} tokens")
    except aiohttp.ClientConnectorError as e:
        return record(f"cannot connect to {endpoint.request_url}: {e.os_error.strerror or e}")
    except aiohttp.ClientError as e:
        return record(f"{type(e).__name__}: {str(e)[:ERROR_BODY_CHARS]}")
    if not times:
        return record("the server streamed no tokens")
    return record()


@dataclass(frozen=True, slots=True)
class Level:
    """One point of a sweep: how many requests at once, and at what arrival rate."""

    concurrency: int
    rate_per_s: float | None = None
    """Poisson arrivals at this mean rate, at most `concurrency` in flight; None: closed loop."""


async def run_level(
    endpoint: Endpoint,
    prompts: Sequence[Prompt],
    level: Level,
    *,
    seed: int = 0,
    on_done: Callable[[RequestRecord], None] | None = None,
    stop_after_s: float | None = None,
) -> list[RequestRecord]:
    """Send every prompt with at most `level.concurrency` in flight; the records, in sent order.

    Closed loop: each of `concurrency` workers sends its next request as soon as its last one
    ends. With a rate, requests arrive as a Poisson process (exponential gaps, seeded) and wait
    for a free slot. `stop_after_s` bounds the level's wall time: requests not yet sent then are
    not sent, and the ones in flight finish (each bounded by the endpoint's timeouts).
    """
    import random

    import aiohttp

    rng = random.Random(seed)
    records: list[RequestRecord | None] = [None] * len(prompts)
    slots = asyncio.Semaphore(level.concurrency)
    began = time.perf_counter()
    connector = aiohttp.TCPConnector(limit=level.concurrency, force_close=False)

    async with aiohttp.ClientSession(connector=connector, trust_env=False) as session:

        async def one(i: int) -> None:
            async with slots:
                if stop_after_s is not None and time.perf_counter() - began > stop_after_s:
                    return
                r = await send(session, endpoint, prompts[i])
                records[i] = r
                if on_done is not None:
                    on_done(r)

        tasks = []
        for i in range(len(prompts)):
            if level.rate_per_s is not None and i:
                await asyncio.sleep(rng.expovariate(level.rate_per_s))
            tasks.append(asyncio.create_task(one(i)))
        try:
            await asyncio.gather(*tasks)
        finally:
            for t in tasks:
                t.cancel()
    return [r for r in records if r is not None]


async def describe_server(endpoint: Endpoint) -> dict[str, str]:
    """What the server says of itself: its engine (the models list's owned_by, or the Server
    header) and whether it serves the model asked for. Empty where it says nothing."""
    import aiohttp

    found: dict[str, str] = {}
    timeout = aiohttp.ClientTimeout(total=min(endpoint.timeout_s, 10))
    try:
        async with (
            aiohttp.ClientSession(trust_env=False) as session,
            session.get(
                endpoint.models_url,
                timeout=timeout,
                allow_redirects=False,
                headers=dict(endpoint.headers),
            ) as response,
        ):
            server = response.headers.get("Server")
            if server:
                found["server_header"] = server[:80]
            if response.status == 200:
                doc = json.loads(await response.content.read(1 << 20))
                for m in doc.get("data", []) if isinstance(doc, dict) else []:
                    if isinstance(m, dict) and m.get("id") == endpoint.model:
                        owner = m.get("owned_by")
                        if isinstance(owner, str) and owner:
                            found["engine"] = owner[:80]
                        found["model_listed"] = "yes"
    except (aiohttp.ClientError, TimeoutError, json.JSONDecodeError, UnicodeDecodeError, OSError):
        pass
    return found
