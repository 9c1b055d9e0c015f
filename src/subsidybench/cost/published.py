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
from subsidybench.errors import UserError
from subsidybench.provenance import Basis

if TYPE_CHECKING:
    from subsidybench.cost.model import Peak
    from subsidybench.cost.request import Request

# The phases whose rate a job of each kind is costed at when picked by --model: a serving
# question asks for output tokens (decode, MLPerf offline); a training one for training rates.
_PICK_PHASES = {"serve": (Phase.DECODE, Phase.OFFLINE), "train": (Phase.TRAIN,)}


def chosen(r: Request) -> PublishedResult:
    """The published result a question names (--published) or picks (--model and its device)."""
    if r.published is not None:
        return load_published(r.published, r.profiles_dirs)
    assert r.model is not None
    device = r.profile or r.estimate_on
    if device is None:
        raise UserError(
            f"{r.name('model')} picks a published result for a device: give --profile too"
        )
    kind = "train" if r.train is not None else "serve" if r.serve is not None else ""
    return pick(device, r.model, kind, r.tpot_ms, r.profiles_dirs)


def pick(
    device: str,
    model: str,
    kind: str,
    tpot_ms: float | None = None,
    dirs: Sequence[Path] = (),
) -> PublishedResult:
    """The one published result for `model` on `device` fit for a `kind` job (serve, train).

    Several fit: a --tpot-ms bound keeps those whose own bound is at or under it and takes the
    fastest; otherwise the choice is the user's, and the error lists them."""
    if kind not in _PICK_PHASES:
        raise UserError(
            "--model picks a published rate for a --serve or --train job; for hours or money,"
            " give --published ID"
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
            f"no published {'/'.join(phases)} result for {model} on {device}{bound}"
            f" (models with results there: {', '.join(others) or 'none'};"
            " see `subsidybench published list`)"
        )
    ids = ", ".join(f"{r.id} ({r.condition_text()})" for r in found)
    raise UserError(
        f"{len(found)} published results fit {model} on {device}: {ids}; name one with"
        " --published ID (or give --tpot-ms to take the fastest within that bound)"
    )


def published_throughput(r: Request, device: Any, peak: Peak | None) -> ThroughputAxis:
    """The rate of the question's published result, for the device being costed."""
    result = chosen(r)
    slo = [r.name(k) for k in ("ttft_ms", "tokens_per_user", "slo_percentile") if r.given(k)]
    if slo:
        raise UserError(
            f"{', '.join(slo)}: a published result holds at its own conditions"
            f" ({result.condition_text()}); only --tpot-ms picks among them"
        )
    if r.tpot_ms is not None and (result.tpot_ms is None or result.tpot_ms > r.tpot_ms):
        held = f"TPOT <= {result.tpot_ms:g} ms" if result.tpot_ms is not None else "no TPOT bound"
        raise UserError(
            f"--tpot-ms {r.tpot_ms:g}: {result.id} holds at {held}, not within {r.tpot_ms:g} ms"
        )
    if device is not None and device.id not in (result.device, result.system) and not r.force:
        raise UserError(
            f"{result.id} was published for {result.system or result.device}, not {device.id}:"
            " cost it on that profile, or pass --force to price it as if it were this device"
        )
    if r.model is not None and r.model != result.model:
        raise UserError(
            f"{result.id} is a {result.model} result, not {r.model} ({r.name('model')})"
        )
    source = result.provenance()
    if r.force and device is not None and device.id not in (result.device, result.system):
        source += f"; FORCED onto {device.id}"
    counted = "output tokens" if result.metric is Metric.OUTPUT_TOKENS else "input tokens"
    conditions = f"{result.phase} ({counted}); {result.condition_text()}"
    if result.metric is Metric.MFU:
        if r.train is None:
            raise UserError(f"{result.id} is a training MFU: cost a --train job with it")
        if peak is None:
            raise UserError(
                f"{result.id} is an MFU: the device needs a {r.dtype} peak (--peak-tflops)"
            )
        mfu = np.array([result.value])
        conditions = f"{result.figure_text()} at scale; {result.condition_text()}"
        return ThroughputAxis(
            WorkUnit.FLOPS, Basis.PUBLISHED, source, mfu=mfu, peak=peak, conditions=conditions
        )
    if result.phase is Phase.TRAIN and r.train is None:
        raise UserError(f"{result.id} is a training rate: cost a --train job with it")
    if result.phase is not Phase.TRAIN and r.train is not None:
        raise UserError(f"{result.id} is a {result.phase} rate: cost a --serve job with it")
    if result.phase is Phase.TRAIN:
        conditions = f"training; {result.condition_text()}"
    rate = np.array([result.value])
    return ThroughputAxis(WorkUnit.TOKENS, Basis.PUBLISHED, source, rate, conditions=conditions)


def published_device(r: Request) -> str | None:
    """The device a published result is per, when the question names no profile itself."""
    if r.published is None or r.profile is not None or r.estimate_on is not None:
        return None
    result = load_published(r.published, r.profiles_dirs)
    return result.device


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


def needs_throughput(device: Any, r: Request) -> UserError:
    """The error for a training or serving job with no rate: it names the flags, and what the
    catalogue knows about the device's rate to choose one from."""
    text = (
        "costing a job needs a throughput: give --run, --tflops, --hardware-tflops,"
        " --tokens-per-s, --mfu, or --published ID (a published result)"
    )
    if device is None:
        return UserError(text + "; `subsidybench published list` shows what others measured")
    from subsidybench.catalogue.profiles import load_profile

    vendor = ""
    if device.system_devices is None:
        vendor = load_profile(device.id, r.profiles_dirs).vendor
    lines = evidence(device.id, r.profiles_dirs, vendor)
    if not lines:
        return UserError(
            f"{text}; the catalogue has no published result for {device.id}"
            " (`subsidybench published list` shows what others measured)"
        )
    return UserError(f"{text}. What the catalogue has for {device.id}: " + "; ".join(lines))
