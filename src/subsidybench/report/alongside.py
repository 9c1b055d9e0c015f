"""Compute one thing in a forked child while this process does another, on a machine with a
second CPU; the result comes back pickled through a pipe.

A report uses it twice. Its two slowest parts are independent: matplotlib drawing the charts and
openpyxl writing the workbook (each about a third of a 40-run report), so a child draws the bar
charts while the workbook is written (report.files); that child is forked before the report is
built and imports matplotlib meanwhile (`prepare`), and is sent the report when it is ready. And
a child draws half of the ranges' bootstraps while this process draws the other half
(report.tables).

Forking is used only where it is safe and cheap: on Linux (macOS's system frameworks are not
fork-safe, and Windows has no fork) with more than one CPU to run on, from a process with no
other Python thread (the page's server has a pool of them). Anywhere else, and whenever
the child gives no result (it failed, was killed, or the fork itself failed), the work is done
here instead, so the answer is the same whichever way it came, and a bug's traceback is this
process's own. The child ignores Ctrl-C: this process is interrupted and ends the child.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, Generic, TypeVar

T = TypeVar("T")


def can_fork() -> bool:
    """Whether a child would run beside this process: Linux, a second CPU to run it on, and no
    other Python thread. A fork copies only the thread that forks: a lock another thread held
    (the page's server answers in a pool of threads) would stay held in the child for ever."""
    return (
        sys.platform.startswith("linux")
        and len(os.sched_getaffinity(0)) > 1
        and threading.active_count() == 1
    )


class Alongside(Generic[T]):
    """Work given by `send(fn, *args)`, done in a forked child; `result()` waits for it (or
    computes it here).

        with Alongside() as later:
            later.send(render_charts, report, m)   # forks: the child inherits the arguments
            write_the_workbook()
            charts = later.result()

    With `prepare`, the child is forked at once, runs `prepare()` (imports, say) while this
    process goes on, and is sent the work, pickled, when `send` is called. `fork=False` computes
    it here, in `result()`; so does a platform `can_fork` refuses.
    """

    def __init__(
        self, *, fork: bool | None = None, prepare: Callable[[], object] | None = None
    ) -> None:
        self._fn: Callable[..., T] | None = None
        self._args: tuple[Any, ...] = ()
        self._process: Any = None
        self._conn: Connection | None = None  # the child's answer
        self._jobs: Connection | None = None  # the work, to a child forked with `prepare`
        self._fork = can_fork() if fork is None else fork
        if self._fork and prepare is not None:
            self._start(prepare, None, ())

    def send(self, fn: Callable[..., T], *args: Any) -> Alongside[T]:
        """Give the work: to the waiting child, to a child forked now, or (no fork) to
        `result()` to do here."""
        self._fn, self._args = fn, args
        if self._jobs is not None:
            try:
                self._jobs.send((fn, args))
            except Exception:  # unpicklable, or the child is gone: result() computes it here
                self.close()
            finally:
                if self._jobs is not None:
                    self._jobs.close()
                    self._jobs = None
        elif self._fork and self._process is None:
            self._start(None, fn, args)
        return self

    def _start(
        self, prepare: Callable[[], object] | None, fn: Callable[..., Any] | None, args: tuple
    ) -> None:
        import multiprocessing

        context = multiprocessing.get_context("fork")
        ours, theirs = context.Pipe(duplex=False)
        take, give = context.Pipe(duplex=False) if prepare is not None else (None, None)
        mine = [c for c in (ours, give) if c is not None]  # closed in the child
        process = context.Process(
            target=_child, args=(theirs, take, mine, prepare, fn, args), daemon=True
        )
        # Ctrl-C held back while forking: one arriving then would be raised inside an at-fork
        # handler (logging's), where Python prints it and carries on, and the report would
        # finish as if never interrupted. Held, it is raised here once the child exists.
        held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            process.start()
        except OSError:  # no memory or process slots for a child: compute it here
            for c in (ours, theirs, take, give):
                if c is not None:
                    c.close()
            return
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
        # The child's ends: once it exits, a read here ends instead of waiting.
        theirs.close()
        if take is not None:
            take.close()
        self._process, self._conn, self._jobs = process, ours, give

    def result(self) -> T:
        """The child's result, or `fn(*args)` computed here if it gave none."""
        if self._fn is None:
            raise RuntimeError("Alongside.result() before send()")
        if self._conn is not None:
            try:
                ok, value = self._conn.recv()
                if ok:
                    return value
            except (EOFError, OSError):  # the child died before it answered
                pass
            finally:
                self.close()
        return self._fn(*self._args)

    def close(self) -> None:
        """End the child if it still runs (this process was interrupted) and reap it."""
        for name in ("_conn", "_jobs"):
            conn = getattr(self, name)
            if conn is not None:
                conn.close()
                setattr(self, name, None)
        if self._process is not None:
            if self._process.is_alive():
                self._process.terminate()
            self._process.join()
            self._process = None

    def __enter__(self) -> Alongside[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _child(
    conn: Connection,
    jobs: Connection | None,
    parents: list[Connection],
    prepare: Callable[[], object] | None,
    fn: Callable[..., Any] | None,
    args: tuple[Any, ...],
) -> None:
    """In the child: prepare and wait for the work (if forked early), compute, send (True,
    result), or (False, None) if anything went wrong (the parent then computes it itself, and
    shows any error as its own)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for c in parents:  # the parent's ends: were it killed, the wait below ends (EOF)
        c.close()
    try:
        if jobs is not None:
            if prepare is not None:
                prepare()
            fn, args = jobs.recv()
        assert fn is not None
        message: tuple[bool, Any] = (True, fn(*args))
    except BaseException:  # every failure is the parent's to repeat and report
        message = (False, None)
    try:
        conn.send(message)
    except Exception:  # unpicklable or a closed pipe: the parent computes it
        pass
    finally:
        conn.close()
