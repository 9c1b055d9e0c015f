"""Published results: throughput someone else measured and published, kept as evidence.

One TOML file per result under profiles/published/ (users add their own directories, as for
devices). A result is a figure per device (tokens/s in a serving phase or in training, or an
MFU at a stated scale) with its source, date, model, precision, parallelism, hardware count and
SLO conditions. Its basis is always `published`: this tool did not time it, and a decode rate at
TPOT 50 ms is no rate at 15 ms, so the conditions travel with the figure wherever it is printed.
Torch-free, like the rest of the catalogue.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from subsidybench.catalogue import paths as catalogue
from subsidybench.catalogue.profiles import PROFILE_ID
from subsidybench.datafile import Fields, read_toml
from subsidybench.errors import UserError
from subsidybench.provenance import read_date

PUBLISHED_KIND = "published"

_KEYS = {
    "title",
    "publisher",
    "source",
    "published",
    "checked",
    "device",
    "system",
    "model",
    "phase",
    "metric",
    "value",
    "as_published",
    "precision",
    "parallelism",
    "hardware_count",
    "tpot_ms",
    "ttft_ms",
    "conditions",
    "note",
}


class Phase(StrEnum):
    """What the devices were doing when the figure was taken."""

    PREFILL = "prefill"  # reading prompts: input tokens/s
    DECODE = "decode"  # generating: output tokens/s
    OFFLINE = "offline"  # MLPerf Offline: generated tokens/s, no latency bound but the benchmark's
    TRAIN = "train"  # training: tokens/s or MFU at a stated scale


class Metric(StrEnum):
    """What `value` counts, per device."""

    INPUT_TOKENS = "input_tokens_per_s"
    OUTPUT_TOKENS = "output_tokens_per_s"
    TRAIN_TOKENS = "train_tokens_per_s"
    MFU = "mfu"  # a share of the device's dense bf16 peak, as the source counted it

    @property
    def unit(self) -> str:
        return {
            Metric.INPUT_TOKENS: "input tokens/s per device",
            Metric.OUTPUT_TOKENS: "output tokens/s per device",
            Metric.TRAIN_TOKENS: "training tokens/s per device",
            Metric.MFU: "MFU",
        }[self]


# Which metrics a phase may state: a prefill phase counts the prompt, a decode phase the output.
_METRICS = {
    Phase.PREFILL: {Metric.INPUT_TOKENS},
    Phase.DECODE: {Metric.OUTPUT_TOKENS},
    Phase.OFFLINE: {Metric.OUTPUT_TOKENS},
    Phase.TRAIN: {Metric.TRAIN_TOKENS, Metric.MFU},
}


@dataclass(frozen=True, slots=True)
class PublishedResult:
    """One published figure per device, with everything it was measured under."""

    id: str
    title: str
    publisher: str
    source: str
    published: str
    """When the source published the figure, else the day it was read there (the note says so)."""
    checked: str
    device: str
    """The device profile whose one device the figure is per (a CloudMatrix NPU: ascend-910c)."""
    model: str
    phase: Phase
    metric: Metric
    value: float
    as_published: str
    """The figure as the source printed it, and the arithmetic to per device where any."""
    precision: str
    parallelism: str
    hardware_count: int | None
    system: str = ""
    tpot_ms: float | None = None
    """The decode latency bound the figure holds at (TPOT or ITL), where the source states one."""
    ttft_ms: float | None = None
    conditions: str = ""
    note: str = ""

    def __post_init__(self) -> None:
        for name in ("id", "device", "model") + (("system",) if self.system else ()):
            if not PROFILE_ID.match(getattr(self, name)):
                raise ValueError(f"{name}: use lower-case letters, digits, '.', '-', '_'")
        for name in ("title", "publisher", "source", "as_published", "precision", "parallelism"):
            if not getattr(self, name).strip():
                raise ValueError(
                    f"{name}: must not be empty (write 'not stated' if the source does not say)"
                )
        if self.metric not in _METRICS[self.phase]:
            allowed = ", ".join(sorted(m.value for m in _METRICS[self.phase]))
            raise ValueError(f"metric: a {self.phase} result states {allowed}, not {self.metric}")
        if not (math.isfinite(self.value) and self.value > 0):
            raise ValueError(f"value: must be a number > 0, got {self.value!r}")
        if self.metric is Metric.MFU and self.value > 1:
            raise ValueError(f"value: an MFU is a share in (0, 1], got {self.value:g}")
        if self.hardware_count is not None and self.hardware_count < 1:
            raise ValueError(f"hardware_count: must be >= 1, got {self.hardware_count}")
        for name in ("tpot_ms", "ttft_ms"):
            v = getattr(self, name)
            if v is not None and not (math.isfinite(v) and v > 0):
                raise ValueError(f"{name}: must be a number > 0, got {v!r}")
        if self.published > self.checked:
            raise ValueError(f"published {self.published} is after checked {self.checked}")

    @property
    def tokens(self) -> bool:
        return self.metric is not Metric.MFU

    def figure_text(self) -> str:
        """The figure with its unit: '1,943 output tokens/s per device' or 'MFU 30.0%'."""
        if self.metric is Metric.MFU:
            return f"MFU {self.value:.1%}"
        return f"{self.value:,.6g} {self.metric.unit}"

    def condition_text(self) -> str:
        """The conditions a reader must see beside the figure (latency bound, precision, scale)."""
        parts = []
        if self.tpot_ms is not None:
            parts.append(f"TPOT <= {self.tpot_ms:g} ms")
        if self.ttft_ms is not None:
            parts.append(f"TTFT <= {self.ttft_ms:g} ms")
        parts.append(self.precision)
        if self.hardware_count is not None:
            parts.append(f"{self.hardware_count:,} devices")
        if self.conditions:
            parts.append(self.conditions)
        return "; ".join(parts)

    def line(self) -> str:
        """One line for `published list`."""
        where = self.system or self.device
        return (
            f"{self.id}  {where}  {self.model}  {self.phase}  {self.figure_text()}"
            f"  ({self.published})"
        )

    def provenance(self) -> str:
        """The sentence every answer resting on this result carries among its assumptions."""
        return (
            f"published by {self.publisher} on {self.published} under conditions"
            f" {self.condition_text()}; not measured by this tool. {self.as_published}."
            f" Source: {self.source}"
        )


def _read(path: Path) -> PublishedResult:
    f = Fields(read_toml(path), str(path))
    f.reject_unknown(_KEYS)
    try:
        today = datetime.date.today().isoformat()
        published = read_date(f, "published")
        checked = read_date(f, "checked")
        for key, date in (("published", published), ("checked", checked)):
            if date > today:
                raise f.error(
                    key, f"{date} is in the future: a figure cannot be read before it is published"
                )
        count = f.int("hardware_count") if f.has("hardware_count") else None
        return PublishedResult(
            id=path.stem,
            title=f.str("title"),
            publisher=f.str("publisher"),
            source=f.str("source"),
            published=published,
            checked=checked,
            device=f.str("device"),
            system=f.str("system", ""),
            model=f.str("model"),
            phase=f.choice("phase", {p.value: p for p in Phase}),
            metric=f.choice("metric", {m.value: m for m in Metric}),
            value=f.float("value"),
            as_published=f.str("as_published"),
            precision=f.str("precision"),
            parallelism=f.str("parallelism"),
            hardware_count=count,
            tpot_ms=f.float("tpot_ms") if f.has("tpot_ms") else None,
            ttft_ms=f.float("ttft_ms") if f.has("ttft_ms") else None,
            conditions=f.str("conditions", ""),
            note=f.str("note", ""),
        )
    except ValueError as e:
        raise UserError(f"{path}: {e}") from None


def load_published(
    name_or_path: str, extra_dirs: Sequence[Path] = (), input_key: str = ""
) -> PublishedResult:
    """A published result by catalogue id or path; its device (and system) must be known. An
    id not there names `input_key`, the input that gave it (catalogue.paths.resolve)."""
    result = _read(catalogue.resolve(PUBLISHED_KIND, name_or_path, extra_dirs, input_key))
    _check_refs(result, extra_dirs)
    return result


def list_published(extra_dirs: Sequence[Path] = ()) -> list[PublishedResult]:
    """Every published result in the catalogue (user directories first), by id."""
    files = catalogue.files(PUBLISHED_KIND, extra_dirs)
    results = [_read(path) for _, path in sorted(files.items())]
    for r in results:
        _check_refs(r, extra_dirs)
    return results


def _check_refs(r: PublishedResult, extra_dirs: Sequence[Path]) -> None:
    """A result names a device profile (and a system) that exist: a typo must not pass."""
    if r.device not in catalogue.files("devices", extra_dirs):
        raise UserError(f"published/{r.id}: device {r.device!r} is no device profile")
    if r.system and r.system not in catalogue.files("systems", extra_dirs):
        raise UserError(f"published/{r.id}: system {r.system!r} is no system profile")


def for_device(
    device: str, extra_dirs: Sequence[Path] = (), results: Sequence[PublishedResult] | None = None
) -> list[PublishedResult]:
    """The results per device of `device` (a system id counts as its own results too)."""
    found = list_published(extra_dirs) if results is None else results
    return [r for r in found if device in (r.device, r.system)]
