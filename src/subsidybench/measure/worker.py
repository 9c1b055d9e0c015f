"""Rounds in worker processes: every round of a run measured by a fresh Python process.

Ten ci runs on a steady 2-core host (issue 24, 2026-12) spread between runs far more than their
rounds spread inside one process: run medians 6.3% against round medians 7.1% for gpt_train
fp32 was the mild case; cnn_infer fp32 14.5% against 2.6%, gpt_serve at c=64 7.0% against 5.3%.
What changes from one process to the next (the address layout, the allocator's state, where the
thread pool's threads land, the kernel oneDNN picks for a shape) is fixed for the life of a
process, so rounds inside one process never see it and a comparison of two runs called it a
change. pyperf spawns 20 worker processes per benchmark for the same reason.

So the parent plans the run and starts one worker per round (`python -m
subsidybench.measure.worker`, the parent's own interpreter and package; a fresh process, never
a fork, which would share the parent's layout and allocator). The worker reads its orders as
JSON on stdin, times the reference step and every task of its round once with the runner's own
run_task (round 1's block sizes fixed, so every sample of a result times the same number of
steps), and writes each result as one JSON line on stdout as it finishes. The parent merges them
round by round (results/rounds.py), saves the file after each and shows the progress, as the
in-process loop does. Starting a worker costs about 2 s (importing torch) on a 2-core CPU.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import subprocess
import sys
from collections.abc import Collection, Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import IO, Any

import subsidybench
from subsidybench.catalogue.profiles import DeviceProfile
from subsidybench.datafile import Fields
from subsidybench.devices import Device
from subsidybench.dtypes import DType
from subsidybench.errors import UserError
from subsidybench.measure import allocator, reference
from subsidybench.measure.runner import (
    Observer,
    SaveFailed,
    Silent,
    Terminated,
    _now,
    _on_sigterm,
    _stopped,
    min_block_s,
    start,
)
from subsidybench.results import rounds as rounds_
from subsidybench.results.energy import EnergySetup
from subsidybench.results.record import (
    Reference,
    RunResult,
    RunState,
    WorkloadResult,
    save_run,
)
from subsidybench.suites import Suite


@dataclass(frozen=True, slots=True)
class Orders:
    """What one worker measures: which tasks of which suite, in which round, how."""

    suite: str
    """The suite's TOML file (its `source`): the worker plans the same tasks from it."""
    ids: tuple[str, ...]
    round_: int
    rounds: int
    device: str
    threads: int
    """torch's thread count, set in the worker as in the parent: the run records one."""
    blocks: dict[str, int]
    """Iterations per block each task's first round found; empty in round 1."""
    reference_blocks: int | None = None
    compiled: bool = False
    budget_s: float | None = None
    min_block_s: float | None = None
    include_emulated: bool = False
    judge_host: bool = False
    read_energy: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.round_ < self.rounds:
            raise ValueError(f"round {self.round_} of {self.rounds}")
        if self.threads < 1:
            raise ValueError("threads must be >= 1")

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Orders:
        doc = json.loads(text)
        return cls(**{**doc, "ids": tuple(doc["ids"])})


def run_suite_in_workers(
    suite: Suite,
    device: Device,
    out: Path,
    *,
    threads: int,
    dtypes: Collection[DType] = (),
    include_emulated: bool = False,
    compiled: bool = False,
    budget_s: float | None = None,
    profile: DeviceProfile | None = None,
    observer: Observer | None = None,
    rounds: int | None = None,
    read_energy: bool = True,
) -> RunResult:
    """runner.run_suite with each round in a worker process; save to `out` after each task.

    Ctrl-C and SIGTERM stop the worker, save the run as interrupted and raise on; a worker that
    dies saves what finished and raises a UserError; a save that fails raises SaveFailed.
    """
    tasks, run, _ = start(suite, device, dtypes, compiled, budget_s, profile, read_energy)
    rounds = rounds or suite.rounds
    observer = observer or Silent()
    run = replace(run, rounds=rounds, processes=rounds)
    save_run(run, out, exclusive=True)
    observer.planned([t.id for t in tasks] * rounds)
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    results: dict[str, WorkloadResult] = {}
    where = ""
    worker: subprocess.Popen[str] | None = None
    try:
        for round_ in range(rounds):
            where = this_round = f"round {round_ + 1} of {rounds}"
            ids = tuple(t.id for t in tasks if round_ == 0 or results[t.id].ok)
            ref = run.reference.measurement if run.reference else None
            orders = Orders(
                suite=suite.source,
                ids=ids,
                round_=round_,
                rounds=rounds,
                device=str(device),
                threads=threads,
                blocks={
                    i: m.iterations_per_block
                    for i, r in results.items()
                    if (m := r.measurement) is not None
                },
                reference_blocks=ref.iterations_per_block if ref else None,
                compiled=compiled,
                budget_s=budget_s,
                min_block_s=min_block_s(device),
                include_emulated=include_emulated,
                judge_host=device.type == "cpu",
                read_energy=read_energy and run.energy is not None and run.energy.available,
            )
            worker = _start(orders)
            received: set[str] = set()
            assert worker.stdout is not None
            for kind, body in _messages(worker.stdout):
                if kind == "started":
                    observer.started(f"{body} (round {round_ + 1} of {rounds})")
                elif kind == "reference":
                    run = replace(run, reference=_joined(run.reference, body, round_))
                else:
                    later = WorkloadResult.from_fields(Fields(body, f"worker, {this_round}"))
                    where = f"after {later.id} ({this_round})"
                    merged = rounds_.merged(
                        results.get(later.id), later, round_, rounds, orders.judge_host
                    )
                    results[later.id] = merged
                    received.add(later.id)
                    run = rounds_.put(run, merged)
                    _save(run, out)
                    observer.finished(merged)
            status = worker.wait()
            worker = None
            if missing := [i for i in ids if i not in received]:
                raise _WorkerDied(f"the worker exited with status {status}", missing)
    except (KeyboardInterrupt, Terminated) as e:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        _stop(worker)
        _save(_stopped(run, f"{where}: {e or 'interrupted (Ctrl-C)'}"), out)
        raise
    except _WorkerDied as e:
        _stop(worker)
        why = f"{where}: {e} before {e.missing[0]}"
        _save(_stopped(run, why), out)
        raise UserError(f"{why} (its error is above); finished tasks are saved in {out}") from None
    except SaveFailed:
        _stop(worker)
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
    run = replace(run, state=RunState.COMPLETE, finished=_now())
    _save(run, out)
    return run


class _WorkerDied(Exception):
    def __init__(self, message: str, missing: list[str]) -> None:
        super().__init__(message)
        self.missing = missing


def _save(run: RunResult, out: Path) -> None:
    try:
        save_run(run, out)
    except UserError as e:
        raise SaveFailed(f"{e}; the run stopped", _stopped(run, str(e))) from None


def _start(orders: Orders) -> subprocess.Popen[str]:
    """A worker on this interpreter, importing this very package (whatever the caller's cwd)."""
    env = dict(os.environ)
    package_root = str(Path(subsidybench.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (package_root, env.get("PYTHONPATH"))))
    worker = subprocess.Popen(
        [sys.executable, "-m", "subsidybench.measure.worker"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert worker.stdin is not None
    worker.stdin.write(orders.to_json())
    worker.stdin.close()
    return worker


_MAX_LINE = 64 * 1024 * 1024
"""A worker's line is one result; 200 samples and a few metrics are tens of kB."""


def _messages(stream: IO[str]) -> Iterator[tuple[str, Any]]:
    """The worker's lines as (kind, body); a line that is not a message ends the round."""
    while line := stream.readline(_MAX_LINE):
        try:
            doc = json.loads(line)
            (kind, body), *rest = doc.items()
        except (ValueError, AttributeError):
            return
        if rest or kind not in ("started", "reference", "result"):
            return
        yield kind, body


def _joined(earlier: Reference | None, body: dict[str, Any], round_: int) -> Reference:
    """The run's reference with one worker's round of it."""
    taken = Reference.from_fields(Fields(body, "worker: reference"))
    if earlier is not None and earlier.error:
        return earlier
    if taken.measurement is None:
        kept = earlier.measurement if earlier else None
        return Reference(taken.step, kept, error=taken.error)
    if earlier is None or earlier.measurement is None:
        return taken
    return Reference(taken.step, earlier.measurement.then(taken.measurement, round_))


def _stop(worker: subprocess.Popen[str] | None) -> None:
    if worker is None or worker.poll() is not None:
        return
    worker.terminate()
    try:
        worker.wait(timeout=10)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()


def _work(orders: Orders, emit: IO[str]) -> None:
    """The worker's side: measure the orders' tasks once each, one line per result."""
    import torch

    from subsidybench.devices import resolve_device
    from subsidybench.measure.energy import EnergySession, NoEnergy
    from subsidybench.measure.runner import run_task
    from subsidybench.measure.tasks import plan
    from subsidybench.suites import load_suite

    def send(kind: str, body: object) -> None:
        emit.write(json.dumps({kind: body}, allow_nan=False) + "\n")
        emit.flush()

    allocator.hold_steady()  # as the parent did: the header it wrote says so
    torch.set_num_threads(orders.threads)
    device = resolve_device(orders.device)
    suite = load_suite(orders.suite)
    tasks = plan(suite, (), orders.compiled, orders.budget_s, orders.min_block_s)
    planned = {t.id: t for t in tasks}
    energy = None
    if orders.read_energy:
        found = device.energy_reader()
        if not isinstance(found, NoEnergy):
            energy = EnergySession(found, EnergySetup(method=found.method))
    # The worker's round of the reference is sent alone; the parent joins the rounds.
    taken = reference.read(device, None, orders.round_, blocks=orders.reference_blocks)
    send("reference", taken.to_dict())
    gc.collect()
    gc.freeze()  # see runner.run_tasks: each task's collection then scans only what it made
    for id_ in orders.ids:
        send("started", id_)
        result = run_task(
            planned[id_],
            device,
            include_emulated=orders.include_emulated,
            judge_host=orders.judge_host,
            rounds=orders.rounds,
            energy=energy,
            blocks=orders.blocks.get(id_),
        )
        send("result", result.to_dict())


def main() -> int:
    orders = Orders.from_json(sys.stdin.read())
    # The parent reads results from stdout; anything else printed goes to stderr.
    emit = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    try:
        _work(orders, emit)
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
