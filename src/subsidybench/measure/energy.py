"""Reading energy while a workload is timed: over exactly the timed blocks, never warm-up.

timing.measure tells a `Meter` where each timed block starts and ends (inside the device
synchronisation, outside the clock readings). With a hardware counter the joules are the sum of
the counter's differences over the blocks; without one they are the mean of the power samples
taken inside the blocks times the blocks' length. A thread samples power throughout, and only
samples that fall inside a block are kept: they give the peak watts, and the energy verdict
(results.energy.judge_energy) asks for enough of them.

A reader that fails mid-run costs the workload its energy figure, never its timing.
"""

from __future__ import annotations

import itertools
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from subsidybench.devices import Device
from subsidybench.devices.energy import EnergyReader, NoEnergy
from subsidybench.results.energy import Energy, EnergySetup

SAMPLE_INTERVAL_S = 0.05
"""20 power samples a second: ten within half a second of timed blocks, and an NVML or sysfs
read (well under a millisecond) costs the host under 2% of one core."""

IDLE_S = 1.0
"""How long idle power is read before the suite (once per run)."""

_IDLE_POLL_S = 0.001  # how often the counter is read while idle, to see how often it changes


class Meter:
    """Energy over the timed blocks of one measurement (a timing.BlockMeter)."""

    def __init__(
        self,
        reader: EnergyReader,
        interval_s: float = SAMPLE_INTERVAL_S,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._reader = reader
        self._interval = interval_s
        self._clock = clock
        self._lock = threading.Lock()  # readers keep state (RAPL's wraparound): one at a time
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._blocks: list[tuple[float, float]] = []
        self._samples: list[tuple[float, float]] = []  # (time, watts)
        self._joules = 0.0
        self._open: tuple[float, float] | None = None
        self.error = ""

    def _read_energy(self) -> float:
        with self._lock:
            return self._reader.energy_j() if self._reader.has_counter else 0.0

    def _fail(self, e: Exception) -> None:
        if not self.error:
            self.error = f"{self._reader.method} failed: {type(e).__name__}: {e}"

    def block_start(self) -> None:
        if self.error:
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._sample, daemon=True, name="energy")
            self._thread.start()
        try:
            energy = self._read_energy()
        except Exception as e:  # any reader error: the timing goes on without energy
            self._fail(e)
            return
        self._open = (self._clock(), energy)

    def block_end(self) -> None:
        if self.error or self._open is None:
            return
        end = self._clock()
        try:
            energy = self._read_energy()
        except Exception as e:
            self._fail(e)
            return
        start, before = self._open
        self._blocks.append((start, end))
        self._joules += energy - before
        self._open = None

    def _sample(self) -> None:
        last: tuple[float, float] | None = None
        while not self._stop.wait(self._interval):
            try:
                with self._lock:
                    now = self._clock()
                    watts = self._reader.power_w()
                    energy = self._reader.energy_j() if watts is None else None
            except Exception as e:
                self._fail(e)
                return
            if energy is not None:
                # No power sensor (RAPL): the counter's slope since the last sample.
                if last is not None and now > last[0]:
                    watts = (energy - last[1]) / (now - last[0])
                    self._samples.append(((now + last[0]) / 2, watts))
                last = (now, energy)
            elif watts is not None:
                self._samples.append((now, watts))

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5 * self._interval + 1.0)

    def finish(self, iterations_per_block: int, blocks_timed: int) -> Energy:
        """The energy record of the measurement: `blocks_timed` blocks of that many steps."""
        self.stop()
        method = self._reader.method
        if self.error:
            return Energy(method, missing=self.error)
        if len(self._blocks) != blocks_timed:
            why = f"the meter saw {len(self._blocks)} timed blocks, the timing {blocks_timed}"
            return Energy(method, missing=why)
        covered = sum(end - start for start, end in self._blocks)
        inside = tuple(w for t, w in self._samples if _within(t, self._blocks))
        if self._reader.has_counter:
            joules = self._joules
        elif inside:
            joules = statistics.fmean(inside) * covered
        else:
            return Energy(method, missing="no power sample fell inside the timed blocks")
        return Energy(
            method=method,
            joules=max(joules, 0.0),
            covered_s=covered,
            steps=blocks_timed * iterations_per_block,
            power_w=inside,
            sample_interval_s=self._interval,
        )


def _within(t: float, blocks: list[tuple[float, float]]) -> bool:
    return any(start <= t <= end for start, end in blocks)


@dataclass(slots=True)
class EnergySession:
    """A run's energy reader (or why there is none) and what it read before the suite."""

    reader: EnergyReader | None
    setup: EnergySetup
    interval_s: float = SAMPLE_INTERVAL_S

    def meter(self) -> Meter | None:
        return None if self.reader is None else Meter(self.reader, self.interval_s)


def idle_setup(
    reader: EnergyReader,
    seconds: float = IDLE_S,
    interval_s: float = SAMPLE_INTERVAL_S,
    clock: Callable[[], float] = time.perf_counter,
    sleep: Callable[[float], None] = time.sleep,
) -> EnergySetup:
    """Idle power over `seconds`, and how often the counter changes (read every millisecond)."""
    start = clock()
    if reader.has_counter:
        first = reader.energy_j()
        changes: list[float] = []
        last = first
        while (now := clock()) - start < seconds:
            energy = reader.energy_j()
            if energy != last:
                changes.append(now)
                last = energy
            sleep(_IDLE_POLL_S)
        elapsed = clock() - start
        gaps = [b - a for a, b in itertools.pairwise(changes)]
        update = statistics.median(gaps) if gaps else None
        idle = (reader.energy_j() - first) / elapsed
    else:
        watts = []
        while clock() - start < seconds:
            if (w := reader.power_w()) is not None:
                watts.append(w)
            sleep(interval_s)
        elapsed = clock() - start
        update = None
        idle = statistics.fmean(watts) if watts else None
    return EnergySetup(
        method=reader.method,
        idle_w=max(idle, 0.0) if idle is not None else None,
        idle_s=round(elapsed, 3),
        counter_update_s=update,
        sample_interval_s=interval_s,
    )


def start_session(device: Device, idle_s: float = IDLE_S) -> EnergySession:
    """The device's energy reader and its idle power, or a session that says why there is none."""
    found = device.energy_reader()
    if isinstance(found, NoEnergy):
        return EnergySession(None, EnergySetup(method=None, why_not=found.why))
    try:
        setup = idle_setup(found, idle_s)
    except Exception as e:  # a reader that opens but cannot read: say so, measure without it
        why = f"{found.method} could not be read: {type(e).__name__}: {e}"
        return EnergySession(None, EnergySetup(method=None, why_not=why))
    return EnergySession(found, setup)
