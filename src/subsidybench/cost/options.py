"""Comparison files: several ways to do one job (device, price, throughput, programme), as data.

`subsidybench cost --train 7e9:2e12 --compare options.toml` costs the job on every option and
ranks them by net cost per unit of useful work. Each [[option]] table names its throughput
(measured from a run, given, or MFU x peak), its price and, optionally, its programme:

    [[option]]
    label = "H100 rented in Shanghai"
    price = 2.5
    currency = "USD"
    tflops = 400
    subsidy = "shanghai-2025-compute"
    devices = 64
    scaling_efficiency = 0.9
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from subsidybench.datafile import Fields, read_toml
from subsidybench.errors import UserError

_KEYS = {
    "label",
    "profile",
    "price",
    "currency",
    "run",
    "workload",
    "metric",
    "force",
    "tflops",
    "tokens_per_s",
    "mfu",
    "published",
    "peak_tflops",
    "dtype",
    "domestic",
    "subsidy",
    "rate",
    "small_firm",
    "devices",
    "scaling_efficiency",
}


@dataclass(frozen=True, slots=True)
class OptionSpec:
    """One option as the file states it; `option_request` makes it a costing question."""

    label: str
    profile: str | None = None
    price: float | None = None
    currency: str | None = None
    run: Path | None = None
    workload: str | None = None
    metric: str = "flops"
    force: bool = False
    tflops: float | None = None
    tokens_per_s: float | None = None
    mfu: float | None = None
    published: str | None = None
    """A published result's id (catalogue.published): its rate, basis published."""
    peak_tflops: float | None = None
    dtype: str = "bf16"
    domestic: bool | None = None
    subsidy: str | None = None
    rate: float | None = None
    small_firm: bool = False
    devices: int = 1
    scaling_efficiency: float | None = None

    def __post_init__(self) -> None:
        given = (self.run, self.tflops, self.tokens_per_s, self.mfu, self.published)
        rates = [x for x in given if x is not None]
        if len(rates) != 1:
            raise ValueError("give one throughput: run, tflops, tokens_per_s, mfu or published")
        if self.price is None and self.profile is None:
            raise ValueError("give a price (with currency) or a profile with a rent")
        if self.price is not None and self.currency is None:
            raise ValueError("a price needs its currency")
        if self.devices < 1:
            raise ValueError("devices must be >= 1")
        if self.devices > 1 and self.scaling_efficiency is None:
            raise ValueError("more than one device needs scaling_efficiency")


def load_options(path: Path) -> tuple[OptionSpec, ...]:
    """Read a comparison file; errors name the file and the field. Run paths are read relative
    to the file."""
    f = Fields(read_toml(path), str(path))
    f.reject_unknown({"option"})
    specs = []
    labels: set[str] = set()
    for o in f.tables("option"):
        o.reject_unknown(_KEYS)
        label = o.str("label")
        if label in labels:
            raise o.error("label", f"{label!r} is used twice")
        labels.add(label)
        run = o.str("run", None)
        try:
            spec = OptionSpec(
                label=label,
                profile=o.str("profile", None),
                price=o.float("price", None),
                currency=o.str("currency", None),
                run=None if run is None else (path.parent / run),
                workload=o.str("workload", None),
                metric=o.choice("metric", {"flops", "tokens"}, "flops"),
                force=o.bool("force", False),
                tflops=o.float("tflops", None),
                tokens_per_s=o.float("tokens_per_s", None),
                mfu=o.float("mfu", None),
                published=o.str("published", None),
                peak_tflops=o.float("peak_tflops", None),
                dtype=o.str("dtype", "bf16"),
                domestic=o.bool("domestic", None),
                subsidy=o.str("subsidy", None),
                rate=o.float("rate", None),
                small_firm=o.bool("small_firm", False),
                devices=o.int("devices", 1),
                scaling_efficiency=o.float("scaling_efficiency", None),
            )
        except ValueError as e:
            raise UserError(f"{path}: {o.prefix.rstrip('.')}: {e}") from None
        specs.append(spec)
    if not specs:
        raise f.error("option", "a comparison needs at least one [[option]]")
    return tuple(specs)


def _axis(value: float | None) -> Any:
    return None if value is None else np.array([value], dtype=np.float64)


def option_request(spec: OptionSpec, base: Any, path: Path, currency: str | None) -> Any:
    """The costing question of one option: the job of `base` (a cost.request.Request, from the
    command's flags), on this option's device, price, throughput and programme, answered in
    `currency`. Errors name the file, the option and the field."""
    where = f"{path}: option {spec.label!r}"
    names = {
        key: f"{where}: {key}"
        for key in _KEYS | {"tflops", "tokens_per_s", "mfu", "devices", "scaling_efficiency"}
    }
    return replace(
        base,
        label=spec.label,
        profile=spec.profile,
        price=_axis(spec.price),
        currency=spec.currency,
        price_source=where if spec.price is not None else "",
        report_currency=currency or base.report_currency,
        run=spec.run,
        workload=spec.workload,
        metric=spec.metric,
        force=spec.force,
        tflops=_axis(spec.tflops),
        tokens_per_s=_axis(spec.tokens_per_s),
        mfu=_axis(spec.mfu),
        published=spec.published,
        peak_tflops=spec.peak_tflops,
        dtype=spec.dtype,
        domestic=spec.domestic,
        subsidy=spec.subsidy,
        rate=_axis(spec.rate),
        small_firm=spec.small_firm,
        devices=_axis(float(spec.devices)),
        scaling_efficiency=_axis(spec.scaling_efficiency),
        names={**base.names, **names},
    )


def option_scenarios(request: Any, path: Path) -> list[Any]:
    """One resolved Scenario per [[option]] of a comparison file, for the job the flags give."""
    from subsidybench.cost.scenario import resolve

    device_flags = (
        *("run", "tflops", "hardware_tflops", "tokens_per_s", "mfu", "profile", "published"),
        *("model", "vs"),
    )
    money_flags = ("price", "capex", "subsidy", "rate", "reach", "scaling_from", "estimate_on")
    clash = [request.name(k) for k in (*device_flags, *money_flags) if request.given(k)]
    if clash:
        raise UserError(f"--compare takes devices from its file; drop {', '.join(clash)}")
    jobs = [k for k in ("train", "serve", "hours", "contract") if request.given(k)]
    if len(jobs) != 1:
        raise UserError("--compare needs one job: --train, --serve, --hours or --contract")
    for key in ("hours", "contract"):
        request.one(key)  # one value each: a ranking is not a sweep
    specs = load_options(path)
    currency = request.report_currency or next((s.currency for s in specs if s.currency), None)
    scenarios = []
    for spec in specs:
        scenario = resolve(option_request(spec, request, path, currency))
        currency = currency or scenario.currency
        scenarios.append(scenario)
    return scenarios
