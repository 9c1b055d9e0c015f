"""Run tasks on a group of devices: one loop for a single device and for a torchrun launch.

A single device is a group of one (`Solo`): the same loop saves the result file after every task,
turns Ctrl-C and SIGTERM into an interrupted result that keeps what finished, and records a task
that fails (out of memory, a backend error, wrong outputs) as failed while the run goes on. Under
torchrun every rank runs the loop; rank 0 writes the file, and a rank that dies or hangs past the
group's timeout stops the run with a one-line error (measure/distributed.py says how the ranks
keep in step).
"""

from __future__ import annotations

import functools
import gc
import os
import signal
from collections.abc import Callable, Collection, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Protocol

import torch

from subsidybench.catalogue.profiles import DeviceProfile
from subsidybench.devices import Device, Support
from subsidybench.dtypes import DType
from subsidybench.errors import UserError
from subsidybench.measure import allocator, hostload, planted, reference
from subsidybench.measure.distributed import GroupBroken, Members, one_line
from subsidybench.measure.energy import EnergySession, Meter, start_session
from subsidybench.measure.environment import capture
from subsidybench.measure.tasks import Prepared, Task, WorkloadTask, plan
from subsidybench.results import rounds as rounds_
from subsidybench.results import trust
from subsidybench.results.context import DeviceRecord, Distributed
from subsidybench.results.energy import EnergySetup
from subsidybench.results.record import RunResult, RunState, Status, WorkloadResult, save_run
from subsidybench.results.scaling import BUS_BANDWIDTH_METRIC, bus_bandwidth
from subsidybench.suites import Suite
from subsidybench.timing import CPU_MIN_BLOCK_S, Measurement, TimingPolicy, TooSlow, measure
from subsidybench.workloads.base import SanityError, SkipWorkload


class Observer(Protocol):
    """Told what the runner does, to show progress. The runner itself prints nothing."""

    def planned(self, ids: list[str]) -> None: ...

    def started(self, id: str) -> None: ...

    def finished(self, result: WorkloadResult) -> None: ...


class Silent:
    """An observer that reports nothing (library use, tests, ranks other than 0)."""

    def planned(self, ids: list[str]) -> None:
        pass

    def started(self, id: str) -> None:
        pass

    def finished(self, result: WorkloadResult) -> None:
        pass


class Ranks(Protocol):
    """The devices a run measures on: measure.distributed.Group, or Solo for one device."""

    @property
    def rank(self) -> int: ...

    @property
    def world_size(self) -> int: ...

    device: Device

    def make_members(self, sizes: Sequence[int]) -> None: ...

    def members(self, n: int) -> Members: ...

    def barrier(self) -> None: ...


class Solo:
    """One device on its own: a group of one, with nothing to agree on or wait for."""

    rank = 0
    world_size = 1

    def __init__(self, device: Device) -> None:
        self.device = device

    def make_members(self, sizes: Sequence[int]) -> None:
        if any(n != 1 for n in sizes):
            raise UserError("a task on several ranks needs --distributed under torchrun")

    def members(self, n: int) -> Members:
        return Members(1, None, self.device, 0)

    def barrier(self) -> None:
        pass


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def new_run(
    suite: Suite,
    device: Device,
    profile: DeviceProfile | None,
    distributed: Distributed | None = None,
    energy: EnergySetup | None = None,
) -> RunResult:
    """The result file's header, before any task has run.

    Holds the allocator steady first (measure/allocator.py), so that the header records it and
    every task measured in this process runs under it; a worker process holds its own.
    """
    allocator.hold_steady()
    return RunResult(
        suite=suite.name,
        suite_version=suite.version,
        device=DeviceRecord(type=device.type, index=device.index, name=device.name),
        environment=capture(device),
        started=_now(),
        profile=profile.id if profile else None,
        peak_tflops=dict(profile.peak_tflops) if profile else {},
        distributed=distributed,
        energy=energy,
    )


def run_suite(
    suite: Suite,
    device: Device,
    out: Path,
    *,
    dtypes: Collection[DType] = (),
    include_emulated: bool = False,
    compiled: bool = False,
    budget_s: float | None = None,
    profile: DeviceProfile | None = None,
    observer: Observer | None = None,
    rounds: int | None = None,
    read_energy: bool = True,
) -> RunResult:
    """Run every task of `suite` on `device`, saving to `out` after each; return the result.

    Every round in this process (measure/worker.py runs each in a worker of its own). `rounds`
    (default: the suite's): see results/rounds.py. `read_energy` reads the device's energy over
    every timed workload where the device has a reader (results.energy); the run records why
    not where it has none.
    """
    tasks, run, energy = start(suite, device, dtypes, compiled, budget_s, profile, read_energy)
    run = replace(run, rounds=rounds or suite.rounds)
    return run_tasks(tasks, Solo(device), run, out, include_emulated, observer, energy)


def start(
    suite: Suite,
    device: Device,
    dtypes: Collection[DType] = (),
    compiled: bool = False,
    budget_s: float | None = None,
    profile: DeviceProfile | None = None,
    read_energy: bool = True,
) -> tuple[list[WorkloadTask], RunResult, EnergySession | None]:
    """A single-device run's tasks, its header, and its energy session (idle power read)."""
    tasks = plan(suite, dtypes, compiled, budget_s, min_block_s(device))
    if compiled:
        # Inductor compiles in a pool of worker processes that can outlive a compile and compete
        # with the timed blocks for cores; one in-process thread keeps the measurement alone.
        # Read when torch._inductor is first imported, which is at the first compile.
        os.environ.setdefault("TORCHINDUCTOR_COMPILE_THREADS", "1")
    # Idle power is read once, before the first workload loads the device.
    energy = start_session(device) if read_energy else None
    setup = energy.setup if energy else None
    return tasks, new_run(suite, device, profile, energy=setup), energy


def min_block_s(device: Device) -> float | None:
    """The shortest block on `device`, where it differs from the default (timing.py)."""
    return CPU_MIN_BLOCK_S if device.type == "cpu" else None


class SaveFailed(UserError):
    """A save of the result file failed (disk full, permission): the run stops there.

    Carries the run as it stands in memory, every finished task in it, so the CLI can report it;
    the file keeps the last good save (or, if one more save got through, every task)."""

    def __init__(self, message: str, run: RunResult) -> None:
        super().__init__(message)
        self.run = run


class _NotSaved(Exception):
    """A save inside the loop failed; turned into SaveFailed once the run is stopped."""


class Terminated(BaseException):
    """SIGTERM: a kill, a scheduler's time limit, or torchrun stopping every rank when one fails."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    # Once is enough: the save that follows must not be cut short by a second signal.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Terminated(f"stopped by signal {signum}")


def run_tasks(
    tasks: Sequence[Task],
    ranks: Ranks,
    run: RunResult,
    out: Path,
    include_emulated: bool = False,
    observer: Observer | None = None,
    energy: EnergySession | None = None,
) -> RunResult:
    """Run `tasks` on every rank of `ranks`, rank 0 saving `run` to `out` after each task.

    Every task is measured in `run.rounds` interleaved rounds: see results/rounds.py.

    Returns the run (on ranks other than 0, without results). Ctrl-C and SIGTERM save the run as
    interrupted and raise on; a broken group (a rank died or hung past the timeout) saves what
    finished and raises a UserError. The first save claims `out` exclusively (a second run given
    the same path refuses). A save that fails (disk full, permission) stops the run: measuring
    on without a place to keep the results would only lose more; one more save, marked
    interrupted, is tried, and SaveFailed carries every finished result.
    """
    observer = observer or Silent()
    planted.fraction("")  # a bad or unbounded test hook is refused before anything runs
    leader = ranks.rank == 0
    device = ranks.device
    ranks.make_members([t.world_size for t in tasks])
    # A CPU workload competes with other processes on the host directly; judged only when this
    # process is alone, since other ranks on the host are the run itself, not strangers.
    judge_host = device.type == "cpu" and ranks.world_size == 1
    # The machine's own noise and speed (measure/reference.py): timed where one process has the
    # device; a group's ranks would time each other's interference.
    alone = ranks.world_size == 1

    def save(r: RunResult) -> None:
        if leader:
            try:
                save_run(r, out)
            except UserError as e:
                raise _NotSaved(str(e)) from None

    if leader:
        save_run(run, out, exclusive=True)
    rounds = run.rounds
    observer.planned([t.id for t in tasks] * rounds)
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    current = ""
    earlier: dict[str, WorkloadResult] = {}
    # Each task round ends with a collection (a released model's cycles free its memory before
    # the next is built). With torch loaded that scans ~170k objects, 0.1-0.16 s a time: 12.8 s
    # of a 62 s ci run (cProfile, 2026-12-01). What exists now lives to the end; frozen, it is
    # left out of those scans, and each collection sees only what the rounds made.
    gc.collect()
    gc.freeze()
    try:
        for round_, task in ((r, t) for r in range(rounds) for t in tasks):
            current = task.id if rounds == 1 else f"{task.id} (round {round_ + 1} of {rounds})"
            if task is tasks[0] and alone:
                run = replace(run, reference=reference.read(device, run.reference, round_))
            if (before := earlier.get(task.id)) is not None and not before.ok:
                continue  # skipped or failed in an earlier round: it stays so
            observer.started(current)
            members = ranks.members(task.world_size)
            result = None
            if members.includes_me:
                result = run_task(
                    task,
                    device,
                    members,
                    include_emulated,
                    judge_host,
                    round_=round_,
                    rounds=rounds,
                    earlier=before,
                    energy=energy,
                )
                earlier[task.id] = result
            ranks.barrier()  # ranks left out of a world size wait here for those measuring
            if leader and result is not None:
                run = rounds_.put(run, result)
                save(run)
                observer.finished(result)
    except (KeyboardInterrupt, Terminated) as e:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        save(_stopped(run, f"{current}: {e or 'interrupted (Ctrl-C)'}"))
        raise
    except _NotSaved as e:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stopped = _stopped(run, f"after {current}: the result file could not be saved: {e}")
        kept = f"the last good save of {out} is kept"
        try:
            save(stopped)
            kept = f"{out} keeps every finished task, marked interrupted"
        except _NotSaved:
            pass
        raise SaveFailed(f"{e}; the run stopped: {kept}", stopped) from None
    except GroupBroken as e:
        # torchrun's SIGTERM follows a dead rank closely: let it not cut this save short.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        why = f"{current}: a collective failed: {e}"
        save(_stopped(run, why))
        kept = f"; finished tasks are saved in {out}" if leader else ""
        raise UserError(
            f"rank {ranks.rank}: {why} (a rank died, or hung past the --timeout){kept}"
        ) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
        gc.unfreeze()
    run = replace(run, state=RunState.COMPLETE, finished=_now())
    save(run)
    return run


def _stopped(run: RunResult, why: str) -> RunResult:
    stopped = replace(run, state=RunState.INTERRUPTED, finished=_now(), stopped=why)
    if run.distributed is not None:
        stopped = replace(stopped, distributed=replace(run.distributed, stopped=why))
    return stopped


Timer = Callable[[Prepared, Device, TimingPolicy, Members], Measurement]
"""Times a prepared step; the default is timing.measure, with the members' agreed times."""


def _time(
    prepared: Prepared,
    device: Device,
    policy: TimingPolicy,
    members: Members,
    meter: Meter | None = None,
) -> Measurement:
    return measure(
        prepared.run.run,
        device.synchronizer(),
        policy,
        on_timed_start=prepared.run.timed_start,
        agree=members.agree,
        meter=meter,
    )


def run_task(
    task: Task,
    device: Device,
    members: Members | None = None,
    include_emulated: bool = False,
    judge_host: bool = False,
    timer: Timer = _time,
    *,
    round_: int = 0,
    rounds: int = 1,
    earlier: WorkloadResult | None = None,
    energy: EnergySession | None = None,
    blocks: int | None = None,
) -> WorkloadResult:
    """Measure one task with the other members (by default none: a single device).

    Round `round_` of `rounds` adds its samples to `earlier` (results/rounds.py). `blocks`, the
    iterations per block round 1 found, is for a round measured in a process of its own
    (measure/worker.py), where `earlier` is in the parent. A failure of the task is a failed
    result, recorded alike on every member; only a broken group (GroupBroken) raises, since
    nothing after it can be trusted.
    """
    members = members or Solo(device).members(1)
    policy = rounds_.policy(task.policy, rounds, earlier)
    if blocks is not None:
        policy = replace(policy, iterations_per_block=blocks)
    result = _once(task, device, members, include_emulated, judge_host, timer, policy, energy)
    return rounds_.merged(earlier, result, round_, rounds, judge_host)


def _once(
    task: Task,
    device: Device,
    members: Members,
    include_emulated: bool,
    judge_host: bool,
    timer: Timer,
    policy: TimingPolicy,
    energy: EnergySession | None = None,
) -> WorkloadResult:
    """One round of a task: prepare, time under `policy`, check; judged under the task's own."""
    base = task.skeleton()
    support = device.dtype_support(task.dtype)
    if support.support is Support.UNSUPPORTED:
        return replace(base, reason=support.reason)
    if support.support is Support.EMULATED and not include_emulated:
        return replace(base, reason=f"{support.reason}; skipped (--include-emulated times it)")
    note = support.reason if support.support is not Support.NATIVE else ""
    # What makes the figure other than the device's own, kept with it (results.trust).
    not_device = [f"emulated: {support.reason}"] if support.support is Support.EMULATED else []
    slowdown = planted.fraction(task.id)
    if slowdown is not None:
        note = "; ".join(filter(None, (note, planted.note(slowdown))))
        not_device.append(planted.note(slowdown))
    if getattr(task, "compiled", False) and (why_not := device.compile_support()):
        return replace(base, reason=why_not)

    prepared: Prepared | None = None
    meter = energy.meter() if energy is not None and timer is _time else None
    time_it = timer if meter is None else functools.partial(_time, meter=meter)
    try:
        device.reset_peak_memory()
        failure = None
        try:
            prepared = task.prepare(device, members)
        except SkipWorkload as e:  # the same on every member: nothing to agree on
            return replace(base, reason=e.reason)
        except GroupBroken:
            raise
        except SanityError as e:
            failure = f"wrong output: {e}"
        except torch.OutOfMemoryError:
            failure = f"out of memory on {device}"
        except Exception as e:  # local: the members agree on it below and all record it
            failure = f"{type(e).__name__}: {e}"
        if failure := members.first_failure(failure):
            return replace(base, status=Status.FAILED, reason=failure)
        assert prepared is not None
        if slowdown is not None:
            prepared = replace(prepared, run=planted.slowed(prepared.run, slowdown))
        checked = prepared.verify.verify() if prepared.verify is not None else None
        if prepared.verify is not None and (failure := members.first_failure(checked)):
            return replace(base, status=Status.FAILED, reason=f"wrong output: {failure}")
        before = hostload.sample()
        try:
            measurement = time_it(prepared, device, policy, members)
        except TooSlow as e:  # judged on agreed times: every member raises it alike
            return replace(base, reason=f"time-bounded: {e}" + (f" ({note})" if note else ""))
        except GroupBroken:
            raise
        except SanityError as e:
            if members.size > 1:
                raise GroupBroken(f"wrong output: {e}") from None
            return replace(base, status=Status.FAILED, reason=f"wrong output: {e}")
        except torch.OutOfMemoryError:
            if members.size > 1:
                raise GroupBroken(f"out of memory on {device}") from None
            return replace(base, status=Status.FAILED, reason=f"out of memory on {device}")
        except Exception as e:
            if members.size > 1:  # a collective that failed mid-measurement leaves ranks apart
                raise GroupBroken(one_line(e)) from e
            return replace(base, status=Status.FAILED, reason=f"{type(e).__name__}: {e}")
        foreign = hostload.foreign_share(before, hostload.sample(), hostload.host_cpus())
        busy = foreign is not None and foreign > task.policy.max_foreign_cpu
        if device.type != "cpu" and members.size == 1 and busy:
            # Not in an accelerator's verdict, but its launches share the host with those
            # processes: the figure is marked, not silently kept as the device's.
            not_device.append(f"other processes used {foreign:.0%} of the host CPU meanwhile")
        metrics: dict[str, float] = {}
        failure = None
        try:
            if prepared.verify is not None:
                failure = prepared.verify.check()
            elif prepared.run.check is not None:
                metrics = dict(prepared.run.check())
        except SanityError as e:
            failure = str(e)
        except Exception as e:
            failure = f"{type(e).__name__}: {e}"
        if failure := members.first_failure(failure):
            return replace(base, status=Status.FAILED, reason=f"wrong output: {failure}")
        work = task.work()
        if prepared.verify is not None:
            metrics[BUS_BANDWIDTH_METRIC] = bus_bandwidth(
                prepared.verify.op, work.bytes, measurement.median, members.size
            )
        return replace(
            base,
            status=Status.OK,
            reason=note,
            work=work,
            measurement=measurement,
            verdict=trust.verdict_of(measurement, task.policy, foreign, judge_host),
            foreign_cpu=foreign,
            host_load_judged=judge_host,
            not_device=tuple(not_device),
            policy=task.policy,
            peak_memory_bytes=device.peak_memory(),
            metrics=metrics,
            energy=meter.finish(measurement.iterations_per_block, measurement.n) if meter else None,
        )
    finally:
        if meter is not None:
            meter.stop()
        del prepared
        gc.collect()
        device.release_memory()
