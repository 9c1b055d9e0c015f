"""A published result as the throughput of a costing question, and the evidence for a device.

`cost --published ID` costs a job at a rate someone else published (catalogue.published); with
`--model M` alone, the one published result for that model on the device is taken, and a
`--tpot-ms` bound picks among decode results the fastest that holds it. The rate keeps its basis
(`published`), its source and its conditions, which the answer prints beside the rate: a decode
figure at TPOT 50 ms is not a figure at 15 ms. `evidence` gathers what the catalogue knows about a
device's rate (published results of its class) for `profiles show` and for the error that asks
for a throughput.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from subsidybench.catalogue.published import (
    Metric,
    Phase,
    PublishedResult,
    for_device,
    list_published,
    load_published,
)
from subsidybench.cost.throughput import ThroughputAxis, WorkUnit
from subsidybench.errors import UserError, named
from subsidybench.provenance import Basis

if TYPE_CHECKING:
    from subsidybench.cost.answer import Peak

# The phases whose rate a job of each kind is costed at when picked by model: a serving
# question asks for output tokens (decode, MLPerf offline); a training one for training rates.
_PICK_PHASES = {"serve": (Phase.DECODE, Phase.OFFLINE), "train": (Phase.TRAIN,)}


@dataclass(frozen=True, slots=True)
class PublishedChoice:
    """Which published result a question costs, and what it asks of it: a result named
    (`published`, an id or a path), or the one for `model` on `device` fit for a `kind` job
    (train, serve; '' for neither), within `tpot_ms` if given. `conditions` names the SLO inputs
    the question also gives, which a published result cannot meet (it holds at its own)."""

    published: str | None
    model: str | None
    device: str | None
    kind: str
    tpot_ms: float | None = None
    conditions: tuple[str, ...] = ()
    force: bool = False
    dtype: str = "bf16"
    dirs: tuple[Path, ...] = ()

    def __post_init__(self) -> None:
        if self.published is None and self.model is None:
            raise ValueError("a published choice names a result or a model")
        if self.kind not in ("train", "serve", ""):
            raise ValueError(f"kind must be train, serve or '', got {self.kind!r}")


def chosen(c: PublishedChoice) -> PublishedResult:
    """The published result a question names (published) or picks (model and its device)."""
    if c.published is not None:
        return load_published(c.published, c.dirs, "published")
    assert c.model is not None
    if c.device is None:
        raise UserError(
            f"{named('model')} picks a published result for a device: give {named('profile')} too"
        )
    return pick(c.device, c.model, c.kind, c.tpot_ms, c.dirs)


def pick(
    device: str,
    model: str,
    kind: str,
    tpot_ms: float | None = None,
    dirs: Sequence[Path] = (),
) -> PublishedResult:
    """The one published result for `model` on `device` fit for a `kind` job (serve, train).

    Several fit: a tpot_ms bound keeps those whose own bound is at or under it and takes the
    fastest; otherwise the choice is the user's, and the error lists them."""
    if kind not in _PICK_PHASES:
        raise UserError(
            f"{named('model')} picks a published rate for a {named('serve')} or"
            f" {named('train')} job; for hours or money, give {named('published')} ID"
        )
    phases = _PICK_PHASES[kind]
    found = [r for r in for_device(device, dirs) if r.model == model and r.phase in phases]
    if tpot_ms is not None:
        found = [r for r in found if r.tpot_ms is not None and r.tpot_ms <= tpot_ms]
        found = sorted(found, key=lambda r: -r.value)[:1]
    if len(found) == 1:
        return found[0]
    if not found:
        others = sorted({r.model for r in for_device(device, dirs)})
        bound = f" at TPOT <= {tpot_ms:g} ms" if tpot_ms is not None else ""
        raise UserError(
            f"{named('model')}: no published {'/'.join(phases)} result for {model} on"
            f" {device}{bound}"
            f" (models with results there: {', '.join(others) or 'none'};"
            " see `subsidybench published list`)"
        )
    ids = ", ".join(f"{r.id} ({r.condition_text()})" for r in found)
    raise UserError(
        f"{len(found)} published results fit {model} on {device}: {ids}; name one with"
        f" {named('published')} ID (or give {named('tpot_ms')} to take the fastest within"
        " that bound)"
    )


def published_throughput(c: PublishedChoice, device: Any, peak: Peak | None) -> ThroughputAxis:
    """The rate of the question's published result, for the device being costed."""
    result = chosen(c)
    if c.conditions:
        raise UserError(
            f"{', '.join(named(k) for k in c.conditions)}: a published result holds at its own"
            f" conditions ({result.condition_text()}); only {named('tpot_ms')} picks among them"
        )
    if c.tpot_ms is not None and (result.tpot_ms is None or result.tpot_ms > c.tpot_ms):
        held = f"TPOT <= {result.tpot_ms:g} ms" if result.tpot_ms is not None else "no TPOT bound"
        raise UserError(
            f"{named('tpot_ms')} {c.tpot_ms:g}: {result.id} holds at {held}, not within"
            f" {c.tpot_ms:g} ms"
        )
    if device is not None and device.id not in (result.device, result.system) and not c.force:
        raise UserError(
            f"{result.id} was published for {result.system or result.device}, not {device.id}:"
            f" cost it on that profile, or pass {named('force')} to price it as if it were this"
            " device"
        )
    if c.model is not None and c.model != result.model:
        raise UserError(f"{result.id} is a {result.model} result, not {c.model} ({named('model')})")
    source = result.provenance()
    if c.force and device is not None and device.id not in (result.device, result.system):
        source += f"; FORCED onto {device.id}"
    counted = "output tokens" if result.metric is Metric.OUTPUT_TOKENS else "input tokens"
    conditions = f"{result.phase} ({counted}); {result.condition_text()}"
    train = c.kind == "train"
    if result.metric is Metric.MFU:
        if not train:
            raise UserError(f"{result.id} is a training MFU: cost a {named('train')} job with it")
        if peak is None:
            raise UserError(
                f"{result.id} is an MFU: the device needs a {c.dtype} peak ({named('peak_tflops')})"
            )
        mfu = np.array([result.value])
        conditions = f"{result.figure_text()} at scale; {result.condition_text()}"
        return ThroughputAxis(
            WorkUnit.FLOPS, Basis.PUBLISHED, source, mfu=mfu, peak=peak, conditions=conditions
        )
    if result.phase is Phase.TRAIN and not train:
        raise UserError(f"{result.id} is a training rate: cost a {named('train')} job with it")
    if result.phase is not Phase.TRAIN and train:
        raise UserError(
            f"{result.id} is a {result.phase} rate: cost a {named('serve')} job with it"
        )
    if result.phase is Phase.TRAIN:
        conditions = f"training; {result.condition_text()}"
    rate = np.array([result.value])
    return ThroughputAxis(WorkUnit.TOKENS, Basis.PUBLISHED, source, rate, conditions=conditions)


def published_device(published: str | None, dirs: Sequence[Path] = ()) -> str | None:
    """The device a published result (id or path) is per, if one is named."""
    if published is None:
        return None
    return load_published(published, dirs, "published").device


def evidence(device: str, dirs: Sequence[Path] = (), vendor: str = "") -> list[str]:
    """What the catalogue knows about `device`'s rate, one line each: matmul rates others
    measured on it (an upper bound for an MFU, not one), its published results, then published
    training MFUs at scale on other devices of its vendor (its class)."""
    from subsidybench.catalogue import paths
    from subsidybench.catalogue.profiles import load_profile

    lines = []
    if device in paths.files("devices", dirs):
        profile = load_profile(device, dirs)
        for dtype, fig in profile.measured_matmul_tflops.items():
            if fig.value is None:
                continue
            peak = profile.peak(dtype)
            share = ""
            if peak is not None and peak.value:
                share = f" = {fig.value / peak.value:.0%} of the {dtype} peak"
            lines.append(
                f"measured (matmul, by others): {dtype} {fig.value:g} TFLOP/s{share}, an upper"
                f" bound for an MFU, not one ({fig.source})"
            )
    everything = list_published(dirs)
    own = for_device(device, dirs, everything)
    lines += [
        f"published: {x.id}: {x.figure_text()} ({x.model}, {x.phase}; {x.condition_text()})"
        for x in own
    ]
    mfus = [x for x in everything if x.metric is Metric.MFU and x not in own]
    for x in mfus:
        if vendor and load_profile(x.device, dirs).vendor == vendor:
            lines.append(
                f"published MFU on {x.device} (same vendor): {x.id}: {x.figure_text()}"
                f" ({x.model}; {x.condition_text()})"
            )
    return lines


def needs_throughput(device: Any, dirs: Sequence[Path] = ()) -> UserError:
    """The error for a training or serving job with no rate: it names the flags, and what the
    catalogue knows about the device's rate to choose one from."""
    text = (
        "costing a job needs a throughput: give "
        + ", ".join(named(k) for k in ("run", "tflops", "hardware_tflops", "tokens_per_s", "mfu"))
        + f", or {named('published')} ID (a published result)"
    )
    if device is None:
        return UserError(text + "; `subsidybench published list` shows what others measured")
    from subsidybench.catalogue.profiles import load_profile

    vendor = ""
    if device.system_devices is None:
        vendor = load_profile(device.id, dirs).vendor
    lines = evidence(device.id, dirs, vendor)
    if not lines:
        return UserError(
            f"{text}; the catalogue has no published result for {device.id}"
            " (`subsidybench published list` shows what others measured)"
        )
    return UserError(f"{text}. What the catalogue has for {device.id}: " + "; ".join(lines))
