"""Compute one thing in a forked child while this process does another, on a machine with a
second CPU; the result comes back pickled through a pipe.

A report uses it twice. Its two slowest parts are independent: matplotlib drawing the charts and
openpyxl writing the workbook (each about a third of a 40-run report), so a child draws the bar
charts while the workbook is written (report.files). And a child draws half of the ranges'
bootstraps while this process draws the other half (report.tables).

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
    """`fn(*args)` started in a forked child; `result()` waits for it (or computes it here).

        later = Alongside(render_charts, report, m)
        write_the_workbook()
        charts = later.result()

    `fork=False` computes it here, in `result()`; so does a platform `can_fork` refuses.
    """

    def __init__(self, fn: Callable[..., T], *args: Any, fork: bool | None = None) -> None:
        self._fn, self._args = fn, args
        self._process: Any = None
        self._conn: Connection | None = None
        if fork is None:
            fork = can_fork()
        if fork:
            self._start()

    def _start(self) -> None:
        import multiprocessing

        context = multiprocessing.get_context("fork")
        ours, theirs = context.Pipe(duplex=False)
        process = context.Process(target=_child, args=(theirs, self._fn, self._args), daemon=True)
        # Ctrl-C held back while forking: one arriving then would be raised inside an at-fork
        # handler (logging's), where Python prints it and carries on, and the report would
        # finish as if never interrupted. Held, it is raised here once the child exists.
        held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            process.start()
        except OSError:  # no memory or process slots for a child: compute it here
            ours.close()
            theirs.close()
            return
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
        theirs.close()  # the child's end: once it exits, a read here ends instead of waiting
        self._process, self._conn = process, ours

    def result(self) -> T:
        """The child's result, or `fn(*args)` computed here if it gave none."""
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
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._process is not None:
            if self._process.is_alive():
                self._process.terminate()
            self._process.join()
            self._process = None

    def __enter__(self) -> Alongside[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _child(conn: Connection, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    """In the child: compute, send (True, result), or (False, None) if anything went wrong (the
    parent then computes it itself, and shows any error as its own)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        message: tuple[bool, Any] = (True, fn(*args))
    except BaseException:  # every failure is the parent's to repeat and report
        message = (False, None)
    try:
        conn.send(message)
    except Exception:  # unpicklable or a closed pipe: the parent computes it
        pass
    finally:
        conn.close()
