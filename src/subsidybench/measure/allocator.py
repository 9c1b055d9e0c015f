"""Hold the C allocator steady while measuring: glibc's mmap and trim thresholds fixed.

Why (issue 24, measured 2026-12-05 on the 2-core CI VM, 1 thread, load average about 1):
cnn_infer fp32 at the ci size took 22-27 ms a step in some processes and 17-18 ms in others,
fixed for the life of a process, so a ci run's three worker rounds disagreed by up to 30% and
the figure was ruled "spread too wide" in 7 of 10 runs. In the slow processes every step took
5,400-6,000 minor page faults (21 MiB of fresh pages zeroed a step); in the fast ones none.
glibc serves blocks past its mmap threshold with mmap and returns them with munmap, and moves
that threshold (and the heap's trim threshold) with what the process happened to free first;
where a step's buffers stay past it, each step maps, faults and zeroes them again. With the
thresholds fixed here, eight fresh processes in a row took 17.2-18.2 ms and 0 faults a step
(`THP_MEM_ALLOC_ENABLE=1`, torch's own huge-page switch, gave the same 17.2-18.0 ms). The
default is the allocator's, not the device's: a serving or training process that keeps its
buffers (a caching allocator, jemalloc, tcmalloc) never pays it, so a measurement should not.

Where the user chose an allocator (LD_PRELOAD) or set glibc's thresholds themselves
(MALLOC_*_ environment variables, GLIBC_TUNABLES), that choice stands and is recorded instead.
On a C library other than glibc nothing is set. The run's environment says which
(`Environment.allocator`).
"""

from __future__ import annotations

import ctypes
import os

# mallopt's parameter numbers (glibc's malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# glibc refuses an mmap threshold past HEAP_MAX_SIZE / 2 (32 MiB on 64-bit): blocks past it are
# mapped as before, and the ci suite's per-step buffers are far smaller. Trimming only past
# 1 GiB: the heap keeps what a step frees for the next step.
MMAP_THRESHOLD = 32 << 20
TRIM_THRESHOLD = 1 << 30

# The user's own allocator settings, which are left as they are.
_USER_SETTINGS = (
    "LD_PRELOAD",
    "GLIBC_TUNABLES",
    "MALLOC_MMAP_THRESHOLD_",
    "MALLOC_TRIM_THRESHOLD_",
    "MALLOC_TOP_PAD_",
    "MALLOC_MMAP_MAX_",
)

_held: str | None = None


def hold_steady() -> str:
    """Fix glibc's thresholds in this process (once) and say what the allocator is."""
    global _held
    if _held is None:
        _held = _hold()
    return _held


def described() -> str:
    """What this process's allocator is, as recorded in a run's environment."""
    return _held if _held is not None else "not held: the C library's defaults"


def _hold() -> str:
    chosen = [f"{name}={os.environ[name]}" for name in _USER_SETTINGS if os.environ.get(name)]
    if chosen:
        return "as the environment set it: " + ", ".join(chosen)
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, OSError):
        return "the platform's (no glibc mallopt: left as it is)"
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    if not (
        mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    ):
        return "glibc refused fixed thresholds: its defaults"
    return (
        f"glibc, thresholds fixed: mmap {MMAP_THRESHOLD >> 20} MiB, trim {TRIM_THRESHOLD >> 20} MiB"
    )
