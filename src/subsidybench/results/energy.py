"""Energy in a run record: what each timed workload drew, how it was read, and whether to trust it.

Per result, `Energy` keeps the joules over exactly the timed blocks, the time and steps they
cover, and the raw power samples taken inside them; joules per step, average and peak watts and
joules per item follow from those. Per run, `EnergySetup` says how energy was read (or why it
could not be) and the device's idle power, read once before the first workload.

The energy verdict is separate from the timing verdict (timing.judge): a step time can be sound
while its power samples are too few, and the cost model should keep the one without the other.
`measured_power` and `measured_energy_per_item` hand the cost model a Figure with basis measured
and the run as its source. Torch-free.
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from subsidybench.datafile import Fields, checked
from subsidybench.errors import UserError
from subsidybench.provenance import Basis, Figure

if TYPE_CHECKING:
    from subsidybench.results.record import RunResult, WorkloadResult

MIN_POWER_SAMPLES = 10
"""Fewest power samples inside the timed blocks for average and peak watts to mean anything."""

COUNTER_UPDATES = 20
"""Timed blocks must span this many counter updates: a reading is off by up to one update at
each end, so 20 updates bound that error near 10% at worst and far less in the usual case."""


@dataclass(frozen=True, slots=True)
class Energy:
    """The energy one workload drew over its timed blocks, or why none was read."""

    method: str
    joules: float | None = None
    """Energy over the timed blocks: a counter's difference, or power samples times time."""
    covered_s: float = 0.0
    """Seconds the timed blocks lasted by the meter's own clock."""
    steps: int = 0
    """Steps the timed blocks ran."""
    power_w: tuple[float, ...] = ()
    """Power samples taken inside the timed blocks, in watts (raw, for peak and for checking)."""
    sample_interval_s: float = 0.0
    """The interval the power sampler aimed for."""
    missing: str = ""
    """Why no reading was taken for this workload (the reader failed); empty if one was."""

    def __post_init__(self) -> None:
        if not self.method:
            raise ValueError("energy must name its method")
        if self.missing:
            if self.joules is not None:
                raise ValueError("energy that is missing has no joules")
            return
        if self.joules is None or not math.isfinite(self.joules) or self.joules < 0:
            raise ValueError(f"joules must be a finite number >= 0, got {self.joules!r}")
        if not (math.isfinite(self.covered_s) and self.covered_s > 0):
            raise ValueError(f"covered_s must be > 0, got {self.covered_s!r}")
        if self.steps < 1:
            raise ValueError(f"steps must be >= 1, got {self.steps}")
        if any(not math.isfinite(w) or w < 0 for w in self.power_w):
            raise ValueError("power samples must be finite and >= 0")
        if not (math.isfinite(self.sample_interval_s) and self.sample_interval_s > 0):
            raise ValueError(f"sample_interval_s must be > 0, got {self.sample_interval_s!r}")

    @property
    def measured(self) -> bool:
        return not self.missing

    @property
    def joules_per_step(self) -> float | None:
        return None if self.joules is None else self.joules / self.steps

    @property
    def average_w(self) -> float | None:
        return None if self.joules is None else self.joules / self.covered_s

    @property
    def peak_w(self) -> float | None:
        return max(self.power_w) if self.power_w else None

    @property
    def sample_rate_hz(self) -> float:
        return 1.0 / self.sample_interval_s if self.sample_interval_s else 0.0

    def then(self, later: Energy) -> Energy:
        """This energy and a later round's of the same workload, as one figure over both."""
        if self.missing or later.missing:
            return self if self.missing else later
        assert self.joules is not None and later.joules is not None
        return Energy(
            method=self.method,
            joules=self.joules + later.joules,
            covered_s=self.covered_s + later.covered_s,
            steps=self.steps + later.steps,
            power_w=self.power_w + later.power_w,
            sample_interval_s=self.sample_interval_s,
        )

    def joules_per_item(self, items_per_step: float) -> float | None:
        """Joules per token, image, sample: per step over the workload's items per step."""
        per_step = self.joules_per_step
        return None if per_step is None or items_per_step <= 0 else per_step / items_per_step

    def to_dict(self) -> dict[str, Any]:
        if self.missing:
            return {"method": self.method, "missing": self.missing}
        return {
            "method": self.method,
            "joules": self.joules,
            "covered_s": self.covered_s,
            "steps": self.steps,
            "power_w": list(self.power_w),
            "sample_interval_s": self.sample_interval_s,
            # Written for readers of the file; the loader recomputes them from the above.
            "joules_per_step": self.joules_per_step,
            "average_w": self.average_w,
            "peak_w": self.peak_w,
        }

    @classmethod
    def from_fields(cls, f: Fields) -> Energy:
        if f.has("missing"):
            return checked(f, lambda: cls(method=f.str("method"), missing=f.str("missing")))
        return checked(
            f,
            lambda: cls(
                method=f.str("method"),
                joules=f.float("joules"),
                covered_s=f.float("covered_s"),
                steps=f.int("steps"),
                power_w=tuple(f.floats("power_w", [])),
                sample_interval_s=f.float("sample_interval_s"),
            ),
        )


@dataclass(frozen=True, slots=True)
class EnergySetup:
    """How a run read energy, or why it could not; the idle power before the first workload."""

    method: str | None
    """The reader's method; None when energy is not available on this device."""
    why_not: str = ""
    idle_w: float | None = None
    """Average power over `idle_s` seconds with nothing queued, read before the suite."""
    idle_s: float = 0.0
    counter_update_s: float | None = None
    """How often the energy counter was seen to change while idle (None: no counter, or it did
    not change while watched)."""
    sample_interval_s: float = 0.0

    def __post_init__(self) -> None:
        if self.method is None and not self.why_not:
            raise ValueError("energy that is not available must say why")
        if self.method is not None and self.why_not:
            raise ValueError("energy that is available has no why_not")
        if self.idle_w is not None and not (math.isfinite(self.idle_w) and self.idle_w >= 0):
            raise ValueError(f"idle_w must be a finite number >= 0, got {self.idle_w!r}")

    @property
    def available(self) -> bool:
        return self.method is not None

    def describe(self) -> str:
        """One line: "energy: not available (why)" or the method, rate and idle power."""
        if self.method is None:
            return f"energy: not available ({self.why_not})"
        idle = ""
        if self.idle_w is not None:
            idle = f", idle {self.idle_w:.1f} W over {self.idle_s:g} s"
        rate = f", power sampled every {self.sample_interval_s * 1e3:g} ms"
        return f"energy: {self.method}{rate}{idle}"

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"method": self.method, "why_not": self.why_not}
        d.update(idle_w=self.idle_w, idle_s=self.idle_s, counter_update_s=self.counter_update_s)
        d["sample_interval_s"] = self.sample_interval_s
        return d

    @classmethod
    def from_fields(cls, f: Fields) -> EnergySetup:
        f.reject_unknown(
            {"method", "why_not", "idle_w", "idle_s", "counter_update_s", "sample_interval_s"}
        )
        return checked(
            f,
            lambda: cls(
                method=f.str("method", None),
                why_not=f.str("why_not", ""),
                idle_w=f.float("idle_w", None),
                idle_s=f.float("idle_s", 0.0),
                counter_update_s=f.float("counter_update_s", None),
                sample_interval_s=f.float("sample_interval_s", 0.0),
            ),
        )


def judge_energy(energy: Energy, setup: EnergySetup | None = None) -> tuple[str, ...]:
    """Why an energy figure is not fit to cost on; empty when it is.

    Too few power samples for the length of the timed blocks, a counter that did not move, or
    blocks shorter than COUNTER_UPDATES updates of the counter.
    """
    if energy.missing:
        return (energy.missing,)
    reasons = []
    n = len(energy.power_w)
    if n < MIN_POWER_SAMPLES:
        reasons.append(
            f"too few power samples ({n} < {MIN_POWER_SAMPLES}) in {energy.covered_s:.2f} s of"
            f" timed blocks at {energy.sample_rate_hz:g} per s"
        )
    if energy.joules == 0:
        reasons.append(f"the energy reading did not move over {energy.covered_s:.2f} s")
    update = setup.counter_update_s if setup is not None else None
    if update and energy.covered_s < COUNTER_UPDATES * update:
        reasons.append(
            f"timed blocks ({energy.covered_s:.2f} s) span fewer than {COUNTER_UPDATES} updates"
            f" of the energy counter ({update * 1e3:.0f} ms each)"
        )
    return tuple(reasons)


def _find(run: RunResult, workload_id: str) -> WorkloadResult:
    for r in run.results:
        if r.id == workload_id:
            return r
    known = ", ".join(r.id for r in run.results if r.ok) or "none measured"
    raise UserError(f"no workload {workload_id!r} in the run (measured: {known})")


def _source(run: RunResult, r: WorkloadResult) -> str:
    return f"run of {run.started} on {run.device} ({run.device.name}), {r.id}"


def _date(run: RunResult) -> str:
    """The run's day as an ISO date, or "" where its start time is not ISO."""
    day = run.started[:10]
    try:
        datetime.date.fromisoformat(day)
    except ValueError:
        return ""
    return day


def _energy_or_why(run: RunResult, r: WorkloadResult) -> Energy | str:
    """The result's energy if it is fit to cost on, else why not."""
    if not r.ok:
        return f"{r.id} was not measured ({r.status.value}: {r.reason})"
    if r.energy is None:
        setup = run.energy
        if setup is not None and not setup.available:
            return f"{r.id}: energy not available ({setup.why_not})"
        return f"{r.id}: no energy was read in this run"
    if reasons := judge_energy(r.energy, run.energy):
        return f"{r.id}: energy not valid: {'; '.join(reasons)}"
    return r.energy


def measured_power(run: RunResult, workload_id: str) -> Figure:
    """The average watts the device drew over the workload's timed blocks, basis measured.

    Unknown (with the reason in its note) where energy was not read or is not valid; a
    workload id the run does not have is a UserError.
    """
    r = _find(run, workload_id)
    energy = _energy_or_why(run, r)
    if isinstance(energy, str):
        return Figure.unknown(note=energy, source=_source(run, r))
    assert energy.average_w is not None  # a measured Energy has joules
    idle = run.energy.idle_w if run.energy is not None else None
    note = f"{energy.method}; average over {energy.covered_s:.2f} s of timed blocks"
    if idle is not None:
        note += f"; idle {idle:.1f} W"
    return Figure(energy.average_w, Basis.MEASURED, _source(run, r), note, _date(run))


def measured_energy_per_item(run: RunResult, workload_id: str) -> Figure:
    """Joules per item (token, image, sample) over the workload's timed blocks, basis measured."""
    r = _find(run, workload_id)
    energy = _energy_or_why(run, r)
    if isinstance(energy, str):
        return Figure.unknown(note=energy, source=_source(run, r))
    assert r.work is not None  # an ok result has its work
    per_item = energy.joules_per_item(r.work.items)
    if per_item is None:
        return Figure.unknown(note=f"{r.id} counts no items per step", source=_source(run, r))
    note = f"J per {r.work.item_unit}; {energy.method}"
    return Figure(per_item, Basis.MEASURED, _source(run, r), note, _date(run))
