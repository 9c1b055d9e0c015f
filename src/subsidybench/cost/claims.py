"""Cross-device claims ("the Ascend 910C reaches about 65% of an H100") checked on evidence.

The ratio of one device's rate to another's on the same model and phase, from the best evidence
the catalogue has for each side: published results where both have one for that model and phase
(every pair is listed with its conditions, the range spans them), else a datasheet estimate (the
ratio of dense bf16 peaks, and of memory bandwidths, which bound prefill and decode). A run this
tool measured would outrank both; no device named here can be run on the machines this project is
built on, so the catalogue holds none, and the lines say which evidence each ratio rests on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from subsidybench.catalogue.published import Phase, PublishedResult, for_device
from subsidybench.errors import UserError, named


@dataclass(frozen=True, slots=True)
class Pair:
    """One published result on each side, and the ratio of their rates per device."""

    a: PublishedResult
    b: PublishedResult

    @property
    def ratio(self) -> float:
        return self.a.value / self.b.value


@dataclass(frozen=True, slots=True)
class Claim:
    device: str
    against: str
    model: str
    phase: Phase
    share: float | None
    pairs: tuple[Pair, ...]
    peak_ratio: float | None
    bandwidth_ratio: float | None
    datasheet_source: str

    def __post_init__(self) -> None:
        if self.share is not None and not 0 < self.share <= 10:
            raise UserError(f"{named('share')} is a ratio such as 0.65, got {self.share:g}")

    @property
    def basis(self) -> str:
        return "published" if self.pairs else "datasheet estimate"

    @property
    def point(self) -> float | None:
        """The ratio of each side's best published rate (else the peak ratio)."""
        if not self.pairs:
            return self.peak_ratio
        best_a = max(p.a.value for p in self.pairs)
        best_b = max(p.b.value for p in self.pairs)
        return best_a / best_b

    @property
    def range(self) -> tuple[float, float] | None:
        if not self.pairs:
            return None
        ratios = [p.ratio for p in self.pairs]
        return min(ratios), max(ratios)

    def lines(self) -> list[str]:
        head = f"{self.device} vs {self.against}, {self.model} {self.phase}, per device:"
        out = [head]
        for p in self.pairs:
            out.append(
                f"  {p.ratio:.3f} = {p.a.figure_text()} [{p.a.id}: {p.a.condition_text()}]"
                f" / {p.b.figure_text()} [{p.b.id}: {p.b.condition_text()}] (published)"
            )
        if not self.pairs:
            out.append("  no published result on both sides for this model and phase")
        if self.peak_ratio is not None or self.bandwidth_ratio is not None:
            peak = "unknown" if self.peak_ratio is None else f"{self.peak_ratio:.3f}"
            bw = "unknown" if self.bandwidth_ratio is None else f"{self.bandwidth_ratio:.3f}"
            out.append(
                f"  datasheet estimate: dense bf16 peak ratio {peak}, memory bandwidth ratio {bw}"
                f" ({self.datasheet_source})"
            )
        point = self.point
        if point is None:
            out.append("ratio: unknown (no published pair and no peaks)")
            return out
        span = ""
        if self.range is not None:
            low, high = self.range
            span = f", range {low:.3f} to {high:.3f} over {len(self.pairs)} pairs"
        out.append(f"ratio: {point:.3f} ({self.basis}{span})")
        if self.share is not None:
            out.append(self.verdict())
        return out

    def verdict(self) -> str:
        assert self.share is not None and self.point is not None
        claimed = f"the claim {self.share:.0%}"
        if self.range is None:
            return f"{claimed} against a datasheet estimate {self.point:.0%} only: not checked"
        low, high = self.range
        if low <= self.share <= high:
            return (
                f"{claimed} lies within the published range {low:.0%} to {high:.0%}; the best"
                f" rate of each side gives {self.point:.0%}: the conditions above decide which"
                " applies"
            )
        side = "above" if self.share > high else "below"
        return f"{claimed} lies {side} the published range {low:.0%} to {high:.0%}"


def check_claim(
    device: str,
    against: str,
    model: str,
    phase: str,
    share: float | None = None,
    dirs: tuple[Path, ...] = (),
) -> Claim:
    """The ratio of `device`'s rate to `against`'s on `model` and `phase`, with its evidence."""
    from subsidybench.catalogue.profiles import load_profile
    from subsidybench.dtypes import DType

    phases = {p.value: p for p in Phase}
    if phase not in phases:
        raise UserError(f"{named('phase')}: {phase!r} is not one of {', '.join(phases)}")
    ph = phases[phase]
    a = [r for r in for_device(device, dirs) if r.model == model and r.phase is ph]
    b = [r for r in for_device(against, dirs) if r.model == model and r.phase is ph]
    pairs = tuple(Pair(x, y) for x in a for y in b if x.metric is y.metric)
    pa, pb = load_profile(device, dirs), load_profile(against, dirs)
    fa, fb = pa.peak(DType.BF16), pb.peak(DType.BF16)
    peak = None
    if fa is not None and fb is not None and fa.value and fb.value:
        peak = fa.value / fb.value
    ba, bb = pa.memory_bandwidth_gbs, pb.memory_bandwidth_gbs
    bw = ba.value / bb.value if ba.value and bb.value else None
    source = f"profiles {device} and {against}"
    return Claim(device, against, model, ph, share, pairs, peak, bw, source)
