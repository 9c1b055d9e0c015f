"""How much of the host's CPU other processes used while a workload was timed.

On a shared machine another process holding a core slows every CPU workload, often uniformly, so
the samples stay tight and the spread rule cannot see it: torch's OpenMP threads wait on the one
that lost its core, and a 15 ms step can take 300 ms with a 1% spread. The kernel's counters can
see it: the CPU time all processes used (/proc/stat), less what this process used (getrusage),
over the capacity of the machine. Linux only; elsewhere there is no figure, and no verdict on it.
"""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass
from pathlib import Path

_PROC_STAT = Path("/proc/stat")
# /proc/stat's cpu line: user nice system idle iowait irq softirq steal guest guest_nice. Busy
# time is all but idle and iowait; guest time is already inside user and nice. Steal counts as
# busy: it is time the hypervisor gave to someone else.
_BUSY_FIELDS = (0, 1, 2, 5, 6, 7)


@dataclass(frozen=True, slots=True)
class HostSample:
    wall_s: float
    busy_s: float
    own_cpu_s: float


def sample(stat: Path = _PROC_STAT) -> HostSample | None:
    """The host's busy CPU seconds and this process's own, now; None where they cannot be read."""
    try:
        first = stat.read_text().split("\n", 1)[0].split()
    except OSError:
        return None
    if not first or first[0] != "cpu":
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    busy = sum(int(first[1 + i]) for i in _BUSY_FIELDS if 1 + i < len(first)) / ticks
    own = resource.getrusage(resource.RUSAGE_SELF)
    return HostSample(time.monotonic(), busy, own.ru_utime + own.ru_stime)


def host_cpus() -> int:
    """CPUs this process may run on (its affinity where the OS says, else all of them)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def foreign_share(start: HostSample | None, end: HostSample | None, cpus: int) -> float | None:
    """Share of the host's CPU capacity (0..1) other processes used between two samples."""
    if start is None or end is None or cpus < 1:
        return None
    wall = end.wall_s - start.wall_s
    if wall <= 0:
        return None
    others = (end.busy_s - start.busy_s) - (end.own_cpu_s - start.own_cpu_s)
    return min(1.0, max(0.0, others / (wall * cpus)))
