"""The requests an endpoint benchmark sends: synthetic prompts of a stated length, a user's JSONL,
and generated exact-answer questions for the accuracy gate. Nothing is downloaded.

Synthetic prompts repeat one common word with a leading space (" hello"), which GPT-2, LLaMA,
Qwen and DeepSeek tokenizers each encode as one token, so a prompt of P words is close to P
tokens; the server's own count (usage.prompt_tokens) replaces it where the server reports one.
A random number starts each prompt so that no two share a prefix a server could cache.

The accuracy questions are sums of two three-digit numbers, drawn from a seeded generator, asked
for the number alone: an exact answer any instruction-following model gets right, and a fast
wrong one (a broken quantisation, a mis-set chat template) gets wrong. InferenceX checks
accuracy beside throughput the same way with GSM8K; this needs no data set.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

from subsidybench.datafile import read_text
from subsidybench.errors import UserError
from subsidybench.measure.endpoint import Prompt

MAX_PROMPTS = 100_000
"""A JSONL file of more prompts than this is refused: no sweep here sends that many."""
_WORD = " hello"


def synthetic(count: int, prompt_tokens: int, output_tokens: int, seed: int = 0) -> list[Prompt]:
    """`count` prompts of about `prompt_tokens` tokens, each asking for `output_tokens`."""
    rng = random.Random(seed)
    prompts = []
    for _ in range(count):
        head = f"{rng.randrange(10**6):06d}"  # one to three tokens; no shared prefix
        text = head + _WORD * max(prompt_tokens - 1, 1)
        prompts.append(Prompt(text, output_tokens, prompt_tokens=prompt_tokens))
    return prompts


def questions(count: int, seed: int = 0, max_tokens: int = 16) -> list[Prompt]:
    """`count` exact-answer sums (see the module's docstring)."""
    rng = random.Random(seed + 7919)
    out = []
    for _ in range(count):
        a, b = rng.randrange(100, 1000), rng.randrange(100, 1000)
        text = f"What is {a} + {b}? Reply with the number only.\nAnswer:"
        out.append(Prompt(text, max_tokens, answer=str(a + b)))
    return out


def correct(reply: str, answer: str) -> bool:
    """The reply's first number is the answer (commas and spaces in a number ignored)."""
    m = re.search(r"-?\d[\d,]*", reply)
    return m is not None and m.group(0).replace(",", "") == answer


def from_jsonl(path: Path, output_tokens: int | None) -> list[Prompt]:
    """Prompts from a JSONL file: one object a line with "prompt" and optionally "max_tokens"."""
    text = read_text(path)
    prompts = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if len(prompts) >= MAX_PROMPTS:
            raise UserError(f"{path}: more than {MAX_PROMPTS:,} prompts")
        try:
            doc = json.loads(line)
        except json.JSONDecodeError as e:
            raise UserError(f"{path}:{n}: not valid JSON: {e.msg}") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("prompt"), str) or not doc["prompt"]:
            raise UserError(f'{path}:{n}: expected an object with a non-empty "prompt" string')
        tokens = doc.get("max_tokens", output_tokens)
        if tokens is None:
            raise UserError(f"{path}:{n}: no max_tokens; give it in the file or --output-tokens")
        if isinstance(tokens, bool) or not isinstance(tokens, int) or not 1 <= tokens <= 1 << 20:
            raise UserError(f"{path}:{n}: max_tokens must be a whole number in [1, 1048576]")
        prompts.append(Prompt(doc["prompt"], tokens))
    if not prompts:
        raise UserError(f"{path}: no prompts")
    return prompts
