"""The one door into the costing core: inputs in, an answer with its assumptions, range and
warnings out.

`read` turns the inputs as a front end has them (flag values from `subsidybench cost`, query
parameters from the page: text, or values typer already typed) into checked values, each by its
row of the inputs table (cost.inputs), with one-line errors that name the input (errors.named:
each front end says it its own way). `request_of` makes those values a Request; `answer`
resolves it and asks the model, and returns an `Outcome` that the CLI, the page and the report
only render. No front end assembles a Scenario itself.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from subsidybench.cost.flags import date_value, flag_values, fx_value, train_pair
from subsidybench.cost.inputs import INPUTS, Input, Kind
from subsidybench.cost.request import Request
from subsidybench.errors import UserError, named

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


@dataclass(frozen=True, slots=True)
class Read:
    """A question's inputs, read: the Request's values, the command's own (output) values and
    the inputs given as uncertain."""

    values: dict[str, Any]
    output: dict[str, Any]
    uncertain: dict[str, Any] = field(default_factory=dict)


def _number(text: Any, i: Input) -> float:
    if isinstance(text, int | float) and not isinstance(text, bool):
        value = float(text)
    else:
        try:
            value = float(str(text).strip())
        except ValueError:
            what = "a whole number" if i.kind is Kind.INTEGER else "a number"
            raise UserError(f"{named(i.name)}: expected {what}, got {text!r}") from None
    if i.range is not None and not i.range.contains(value):
        raise UserError(f"{named(i.name)}: {i.range.explain()}, got {value:g}")
    return value


def _bool(text: Any, i: Input) -> bool:
    if isinstance(text, bool):
        return text
    word = str(text).strip().lower()
    if word in _TRUE | _FALSE:
        return word in _TRUE
    raise UserError(f"{named(i.name)}: expected true or false, got {text!r}")


def _values(i: Input, given: Any, uncertain: dict[str, Any], takes: tuple[str, ...]) -> Any:
    """A number, a list, a sweep a:b:step or a range a~b, each value within the input's range."""
    values = flag_values(str(given), i.name, uncertain, takes)
    spread = uncertain.get(i.name)
    xs = [spread.low, spread.high] if spread is not None else np.asarray(values).reshape(-1)
    for x in xs if i.range is not None else ():
        if not i.range.contains(float(x)):
            raise UserError(f"{named(i.name)}: {i.range.explain()}, got {x:g}")
    return values


def _one(i: Input, given: Any, uncertain: dict[str, Any], takes: tuple[str, ...]) -> Any:
    """One input's value, read by its kind; UserError names its flag."""
    if i.kind is Kind.VALUES:
        return _values(i, given, uncertain, takes)
    if i.kind is Kind.NUMBER and i.uncertain:
        return fx_value(str(given), uncertain) if i.name == "fx" else _number(given, i)
    if i.kind in (Kind.NUMBER, Kind.INTEGER):
        value = _number(given, i)
        return int(value) if i.kind is Kind.INTEGER and value == math.floor(value) else value
    if i.kind is Kind.PAIR:
        return train_pair(str(given))
    if i.kind in (Kind.SWITCH, Kind.TRISTATE):
        return _bool(given, i)
    if i.kind is Kind.FILE:
        return Path(given)
    if i.kind is Kind.FILES:
        return tuple(Path(p) for p in ([given] if isinstance(given, str | Path) else given))
    text = str(given).strip()
    if i.choices and text not in i.choices:
        raise UserError(f"{named(i.name)}: expected one of {', '.join(i.choices)}, got {text!r}")
    return text


def read(given: Mapping[str, Any], table: Sequence[Input] = INPUTS) -> Read:
    """Inputs by Request field name (a front end's values, text or typed) into checked values;
    an input not given (None, an empty text or list) takes its default."""
    values: dict[str, Any] = {}
    output: dict[str, Any] = {}
    uncertain: dict[str, Any] = {}
    takes = tuple(i.name for i in table if i.uncertain)
    for i in table:
        raw = given.get(i.name)
        if raw is None or (isinstance(raw, str | list | tuple) and not raw):
            value = i.default
        else:
            value = _one(i, raw, uncertain, takes)
        (values if i.request else output)[i.name] = value
    return Read(values, output, uncertain)


def request_of(r: Read, **extra: Any) -> Request:
    """The Request a read question makes; `extra` sets fields no input states (label, names)."""
    v = dict(r.values)
    runs = v.pop("run") or ()
    v["run"] = runs[0] if runs else None
    v["also_runs"] = tuple(runs[1:])
    v["profiles_dirs"] = tuple(v["profiles_dirs"] or ())
    v["names"] = {i.name: i.option for i in INPUTS if i.flag} | extra.pop("names", {})
    if v.get("start") is not None:
        v["start"] = date_value(v["start"], "start")
    return Request(**v, uncertain=r.uncertain, **extra)


@dataclass(frozen=True, slots=True)
class Outcome:
    """A question's answer as the front ends render it.

    `kind` is estimate, reach, sweep, serving or compare; `doc` is what `cost --json` writes.
    `result` is the model's answer (an Estimate, a Reach, a ServingAnswer, the ranked Estimates),
    `spread` its Ranges (or None), `frame` a sweep's rows, `notes` a sweep's assumptions."""

    kind: str
    doc: dict[str, Any]
    warnings: tuple[str, ...] = ()
    scenario: Any = None
    result: Any = None
    spread: Any = None
    frame: Any = None
    notes: tuple[Any, ...] = ()


def answer(request: Request, compare: Path | None = None, options: Sequence[Any] = ()) -> Outcome:
    """Resolve `request` and cost it: one answer, a sweep, a serving curve's, a reach, or (with
    a comparison file `compare`, or OptionSpecs `options`) the options ranked."""
    from subsidybench.cost import evaluate
    from subsidybench.cost.scenario import resolve
    from subsidybench.cost.uncertainty import ranges

    if compare is not None or options:
        from subsidybench.cost.options import option_scenarios

        ranked = evaluate.rank(option_scenarios(request, compare, options))
        doc = {"kind": "compare", "ranked": [e.to_dict() for e in ranked]}
        return Outcome("compare", doc, result=ranked)
    scenario = resolve(request)
    warnings = tuple(scenario.warnings)
    # The serving pick, if the throughput came from a curve (serving_answer.serving_pick): the
    # serving modules are imported only for a serving answer.
    picked = None if scenario.throughput is None else scenario.throughput.serving
    if scenario.sweeping:
        frame, notes = evaluate.grid(scenario)
        notes += [a.said(scenario.name) for a in picked.assumptions()] if picked else []
        doc = {
            "kind": "sweep",
            "currency": scenario.currency,
            "assumptions": [a.to_dict() for a in notes],
        }
        return Outcome("sweep", doc, warnings, scenario, frame=frame, notes=tuple(notes))
    if picked is not None:
        from subsidybench.cost import serving_answer

        served = serving_answer.answer(scenario)
        return Outcome("serving", served.to_dict(), warnings, scenario, served)
    result = evaluate.one(scenario)
    spread = ranges(scenario)
    kind = "reach" if scenario.kind == "reach" else "estimate"
    doc = {"kind": kind, **result.to_dict()}
    if spread is not None:
        doc["ranges"] = spread.to_dict()
    return Outcome(kind, doc, warnings, scenario, result, spread)
