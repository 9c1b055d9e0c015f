"""The run file's format version, its history, and the steps that bring an older file up to it.

record.py loads a file through MIGRATIONS, one step per version, so a loader only ever reads the
newest shape. Torch-free.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# The file format's version. Bump it when a field is renamed, removed or changes meaning, and add
# a step to MIGRATIONS that turns the previous version into the new one. History:
#   1 (subsidybench 0.1.0): first format.
#     Later, without a bump: an optional top-level "distributed" record (runs of a group of
#     processes under torchrun); files without it are single-process runs.
#     Later, without a bump: an optional top-level "energy" record (how energy was read, or why
#     not; idle power) and an optional "energy" per result (joules over the timed blocks, power
#     samples); files without them read no energy.
#   2 (method version 2): a top-level "rounds" (how many interleaved rounds every workload was
#     measured in) and, per measurement, "sample_rounds" (the round of each sample). A version-1
#     file was measured in one round: every sample in round 0.
#     Later, without a bump: an optional top-level "stopped", why an interrupted run stopped (a
#     signal, a save that failed).
#     Later, without a bump: an optional top-level "reference", a fixed step timed every round
#     (the machine's own noise and speed); files without it did not take one.
#   3 (method version 3): a top-level "processes", how many processes the rounds were measured
#     in (1: all in the run's own; the number of rounds: each in a worker of its own). A
#     version-2 file measured every round in one process.
SCHEMA_VERSION = 3


def _one_round(doc: dict[str, Any]) -> dict[str, Any]:
    """1 -> 2: a version-1 run measured every workload in a single round."""
    doc = {**doc, "schema_version": 2, "rounds": 1}
    results = []
    for r in doc.get("results") or []:
        m = r.get("measurement") if isinstance(r, dict) else None
        if isinstance(m, dict) and isinstance(m.get("samples_s"), list):
            r = {**r, "measurement": {**m, "sample_rounds": [0] * len(m["samples_s"])}}
        results.append(r)
    if "results" in doc:
        doc["results"] = results
    return doc


def _one_process(doc: dict[str, Any]) -> dict[str, Any]:
    """2 -> 3: a version-2 run measured all its rounds in one process."""
    return {**doc, "schema_version": 3, "processes": 1}


# version -> function turning a document of that version into one of version + 1.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {
    1: _one_round,
    2: _one_process,
}
