"""What a user asks the cost model, each value parsed once, and the one place inputs are checked.

A `Request` comes from `subsidybench cost`'s flags, from one [[option]] of a comparison file, or
from a report's options; cost.scenario resolves it into a Scenario. Numbers that may sweep are
1-D arrays (one value: size 1). The inputs table (cost.inputs) states every input, and every
numeric input's valid range (`RANGES`); `check` applies it: a value out of range, NaN or
infinite is refused with one line that names the input (errors.named): the CLI says it as
its flag, the page as its field, a comparison file as its key.

Only the scenario layer reads a Request: the door (cost.door), the resolver (cost.scenario) and
the readers beside it (cost.job_inputs, cost.throughput_inputs), and the two that make
questions of a question (cost.options: one per option of a comparison file; cost.parity: the
same job on the priced device). The costing modules past it take the small records a Request
is resolved into (Job, Cluster, ThroughputAxis, RentChoice, PublishedChoice, OwnedAsk,
SubsidyTerms); tests/test_layout.py holds the line. The layer also says, as the question's user
wrote them, the inputs those modules' notes name (errors.named): a flag, a file's key.
"""

from __future__ import annotations

import datetime
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from subsidybench.cost.inputs import RANGES, SWEEPABLE, written
from subsidybench.errors import UserError, named
from subsidybench.provenance import Basis

MAX_SCENARIOS = 1_000_000
"""A sweep's grid (the product of every swept input's values) is bounded, so that a typo fails
at once instead of filling memory; SUBSIDYBENCH_MAX_SCENARIOS or input max_scenarios raises it."""
MAX_SCENARIOS_ENV = "SUBSIDYBENCH_MAX_SCENARIOS"


@dataclass(frozen=True, slots=True)
class Request:
    """One costing question as asked. Field names are the flags' without dashes."""

    # The job: one of train (params, tokens), serve, hours, contract; or reach.
    train: tuple[float, float] | None = None
    total_params: float | None = None
    layers: float | None = None
    attention_width: float | None = None
    seq_len: float | None = None
    serve: float | None = None
    params: float | None = None
    hours: np.ndarray | None = None
    contract: np.ndarray | None = None
    reach: str | None = None
    contract_size: float | None = None
    # Throughput per device.
    run: Any = None
    """A run result file (Path) or a loaded RunResult (then `run_label` names it)."""
    run_label: str = ""
    workload: str | None = None
    metric: str = "flops"
    force: bool = False
    tflops: np.ndarray | None = None
    hardware_tflops: float | None = None
    recomputation: str | None = None
    tokens_per_s: np.ndarray | None = None
    mfu: np.ndarray | None = None
    peak_tflops: float | None = None
    dtype: str = "bf16"
    estimate_on: str | None = None
    published: str | None = None
    """A published result (catalogue id or path) whose rate is costed (cost.published)."""
    model: str | None = None
    """The job's model: picks the one published result for it on the device (cost.published)."""
    vs: str | None = None
    """A priced device profile: answer the rent at which this device matches it (cost.parity)."""
    # A serving curve's SLO (cost.serving): the goodput point is costed.
    tokens_per_user: float | None = None
    ttft_ms: float | None = None
    tpot_ms: float | None = None
    slo_percentile: float | None = None
    # The device and the cluster.
    profile: str | None = None
    domestic: bool | None = None
    devices: np.ndarray | None = None
    duration_days: float | None = None
    scaling_efficiency: np.ndarray | None = None
    scaling_from: Path | None = None
    scaling_workload: str | None = None
    # The price and currencies.
    price: np.ndarray | None = None
    currency: str | None = None
    price_basis: Basis = Basis.GIVEN
    price_source: str = ""
    report_currency: str | None = None
    market: str | None = None
    """Which market's rents of the profile a cost takes (cost.device.MARKETS), if said."""
    rent_id: str | None = None
    """One rent of the profile, by its id (cost.device.rent_ids)."""
    fx: float | None = None
    capex: np.ndarray | None = None
    lifetime: np.ndarray | None = None
    cost_of_capital: np.ndarray | None = None
    power_w: np.ndarray | None = None
    pue: np.ndarray | None = None
    tariff: np.ndarray | None = None
    hosting: np.ndarray | None = None
    utilisation: np.ndarray | None = None
    power_subsidy: str | None = None
    """Owned: a programme paying part of the power bill (spend 'electricity'), id or path."""
    # The subsidy.
    subsidy: Any = None
    """A programme id or path, or a loaded Programme."""
    rate: np.ndarray | None = None
    cap: float | None = None
    small_firm: bool = False
    spend: str | None = None
    start: datetime.date | None = None
    """The job's first day (default today): a programme pays only while it is valid, and yearly
    caps restart each programme year."""
    assume_valid: bool = False
    """Pay a programme as valid throughout the job, whatever its dates say."""
    # Where things are, what the inputs are called, how big a sweep may be.
    profiles_dirs: tuple[Path, ...] = ()
    label: str = ""
    names: Mapping[str, str] = field(default_factory=dict)
    devices_asked: bool = True
    """Whether the asker can state `devices` (a report costs device-hours and cannot): an
    error offers it as a way out only then."""
    max_scenarios: float | None = None
    # Ranges (cost.uncertainty): inputs given as uncertain (key -> Spread; the field above holds
    # its centre), further runs of the same workload, and the Monte Carlo's seed and draws.
    uncertain: Mapping[str, Any] = field(default_factory=dict)
    also_runs: tuple[Any, ...] = ()
    """More run files (or loaded runs) of the workload the run costs: their spread goes into the
    range; the point figure stays the first run's."""
    seed: int | None = None
    draws: float | None = None

    def name(self, key: str) -> str:
        """How the user wrote input `key`: its flag (--scaling-efficiency), or a file's key."""
        return written(key, self.names)

    def given(self, key: str) -> bool:
        return getattr(self, key) is not None

    def one(self, key: str) -> float | None:
        """The single value of a sweepable input (UserError if it was given several)."""
        value = getattr(self, key)
        if value is None:
            return None
        if np.size(value) != 1:
            raise UserError(f"{named(key)} takes one value here")
        return float(np.asarray(value).reshape(-1)[0])

    def sweeping(self) -> list[str]:
        return [
            k for k in SWEEPABLE if getattr(self, k) is not None and np.size(getattr(self, k)) > 1
        ]


def check(request: Request) -> None:
    """Every numeric input within its stated range (RANGES); the grid within its bound."""
    for f in fields(request):
        rule = RANGES.get(f.name)
        value = getattr(request, f.name)
        if rule is None or value is None:
            continue
        for x in np.asarray(value, dtype=np.float64).reshape(-1):
            if not rule.contains(float(x)):
                raise UserError(f"{named(f.name)}: {rule.explain()}, got {x:g}")
    if request.train is not None:
        for key, x in zip(("params", "tokens"), request.train, strict=True):
            if not RANGES[key].contains(x):
                raise UserError(
                    f"{named('train')}: {key.upper()} {RANGES[key].explain()}, got {x:g}"
                )
    for key, spread in request.uncertain.items():
        rule = RANGES.get(key)
        for x in (spread.low, spread.high):
            if rule is not None and not rule.contains(x):
                raise UserError(f"{named(key)}: {rule.explain()}, got {x:g} in {spread}")
    if request.uncertain and request.sweeping():
        raise UserError(
            f"{named(next(iter(request.uncertain)))} is uncertain (a~b) and"
            f" {named(request.sweeping()[0])} is swept (a:b:step): give one kind at a time"
        )
    limit = max_scenarios(request)
    count = math.prod(int(np.size(getattr(request, k))) for k in request.sweeping())
    if count > limit:
        raise UserError(
            f"the sweep has {count:,} scenarios, more than {limit:,}: narrow the lists, or raise"
            f" the bound with {named('max_scenarios')} N or {MAX_SCENARIOS_ENV}=N"
        )


def max_scenarios(request: Request) -> int:
    if request.max_scenarios is not None:
        return int(request.max_scenarios)
    text = os.environ.get(MAX_SCENARIOS_ENV)
    if text is None:
        return MAX_SCENARIOS
    try:
        value = int(float(text))
    except ValueError:
        raise UserError(f"{MAX_SCENARIOS_ENV}: expected a whole number, got {text!r}") from None
    if value < 1:
        raise UserError(f"{MAX_SCENARIOS_ENV}: must be >= 1, got {value}")
    return value
