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

The keys are the inputs the inputs table (cost.inputs) marks `option_key`, each read as its row
says, named as in the table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from subsidybench.cost.inputs import BY_NAME, INPUTS, Input, Kind, option_keys
from subsidybench.datafile import Fields, read_toml
from subsidybench.errors import UserError, named

OPTION_DEFAULTS = {"devices": 1.0}
"""An option's inputs not given take the table's default, and one device."""


@dataclass(frozen=True, slots=True)
class OptionSpec:
    """One option as the file states it: its label and the inputs it gives (by their names in
    the inputs table, cost.inputs); `option_request` makes it a costing question."""

    label: str
    values: Mapping[str, Any] = field(default_factory=dict)

    def get(self, key: str) -> Any:
        return self.values.get(key, OPTION_DEFAULTS.get(key, BY_NAME[key].default))

    def __post_init__(self) -> None:
        kinds = ("run", "tflops", "tokens_per_s", "mfu", "published")
        rates = [k for k in kinds if self.get(k) is not None]
        if len(rates) != 1:
            raise ValueError("give one throughput: run, tflops, tokens_per_s, mfu or published")
        if self.get("price") is None and self.get("profile") is None:
            raise ValueError("give a price (with currency) or a profile with a rent")
        if self.get("price") is not None and self.get("currency") is None:
            raise ValueError("a price needs its currency")
        if self.get("devices") < 1:
            raise ValueError("devices must be >= 1")
        if self.get("devices") > 1 and self.get("scaling_efficiency") is None:
            raise ValueError("more than one device needs scaling_efficiency")


def _value(o: Fields, i: Input, folder: Path) -> Any:
    """One option key, read as its row of the inputs table says."""
    if i.kind is Kind.FILES:  # a run file, relative to the comparison file
        return folder / o.str(i.name)
    if i.kind in (Kind.SWITCH, Kind.TRISTATE):
        return o.bool(i.name)
    if i.kind in (Kind.VALUES, Kind.NUMBER, Kind.INTEGER):
        return o.float(i.name)
    if i.choices:
        return o.choice(i.name, set(i.choices))
    return o.str(i.name)


def load_options(path: Path, table: Sequence[Input] = INPUTS) -> tuple[OptionSpec, ...]:
    """Read a comparison file; errors name the file and the field. Run paths are read relative
    to the file."""
    f = Fields(read_toml(path), str(path))
    f.reject_unknown({"option"})
    keys = [i for i in table if i.option_key]
    specs = []
    labels: set[str] = set()
    for o in f.tables("option"):
        o.reject_unknown(option_keys(tuple(table)))
        label = o.str("label")
        if label in labels:
            raise o.error("label", f"{label!r} is used twice")
        labels.add(label)
        values = {i.name: _value(o, i, path.parent) for i in keys if o.has(i.name)}
        try:
            spec = OptionSpec(label, values)
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
    keys = [i for i in INPUTS if i.option_key]
    values = {i.name: spec.get(i.name) for i in keys}
    values |= {i.name: _axis(values[i.name]) for i in keys if i.kind is Kind.VALUES}
    return replace(
        base,
        **values,
        label=spec.label,
        price_source=where if spec.get("price") is not None else "",
        report_currency=currency or base.report_currency,
        names={**base.names, **{i.name: f"{where}: {i.name}" for i in keys}},
    )


def option_scenarios(
    request: Any, path: Path | None, specs: Sequence[OptionSpec] = ()
) -> list[Any]:
    """One resolved Scenario per [[option]] of a comparison file (or per spec of `specs`, as a
    page gives them), for the job the flags give. An error about an option's input names the
    file, the option and the key; one about the command's own inputs leaves them for the front
    end to name."""
    from subsidybench.cost.scenario import resolve

    device_inputs = (
        *("run", "tflops", "hardware_tflops", "tokens_per_s", "mfu", "profile", "published"),
        *("model", "vs"),
    )
    money_inputs = ("price", "capex", "subsidy", "rate", "reach", "scaling_from", "estimate_on")
    clash = [named(k) for k in (*device_inputs, *money_inputs) if request.given(k)]
    if clash:
        raise UserError(f"{named('compare')} takes devices from its file; drop {', '.join(clash)}")
    jobs = [k for k in ("train", "serve", "hours", "contract") if request.given(k)]
    if len(jobs) != 1:
        raise UserError(
            f"{named('compare')} needs one job: "
            + ", ".join(named(k) for k in ("train", "serve", "hours"))
            + f" or {named('contract')}"
        )
    for key in ("hours", "contract"):
        request.one(key)  # one value each: a ranking is not a sweep
    if path is not None:
        specs = load_options(path)
    currency = request.report_currency or next(
        (s.get("currency") for s in specs if s.get("currency")), None
    )
    scenarios = []
    keys = [i.name for i in INPUTS if i.option_key]
    for spec in specs:
        where = f"{path or Path('options')}: option {spec.label!r}"
        try:
            scenario = resolve(option_request(spec, request, path or Path("options"), currency))
        except UserError as e:
            raise e.renamed({k: f"{where}: {k}" for k in keys}) from None
        currency = currency or scenario.currency
        scenarios.append(scenario)
    return scenarios
