"""Device profiles: what an accelerator is said to do, with the source of every number.

One TOML file per device under profiles/devices/ (the built-in catalogue) or a user's
--profiles-dir. Every number is a Figure (value, basis, source, note) or "unknown"; peaks are dense
(structured-sparsity peaks are kept apart in sparse_tflops); prices carry the date they were seen.
Layout of a file (see profiles/devices/h100-sxm.toml for a full one):

    name = "H100 SXM5 80GB"          # without the vendor: `label` joins the two
    vendor = "NVIDIA"
    backend = "cuda"                 # torch device type
    module = "torch_npu"             # optional: the backend's extension module
    domestic = false                 # designed by a Chinese vendor
    match = ['H100.*HBM3']           # regexes for the name the runtime reports
    note = "..."                     # optional: what a reader must know about the figures
    checked = 2026-11-23             # when the sources were last read: the date of every figure
                                     # whose source has no date of its own

    [sources]                        # optional: names for citations used more than once
    datasheet = "NVIDIA H100 datasheet, https://..."

    [peak_tflops]                    # dense peaks; sparse_tflops and
    bf16 = { value = 989.4, basis = "vendor", source = "datasheet" }   # measured_matmul_tflops
    fp8 = "unknown"                  # alike

    [memory_gb]                      # also memory_bandwidth_gbs, interconnect_gbs, power_w
    value = 80
    basis = "vendor"
    source = "datasheet"

    [efficiency]                     # fraction of peak typically reached: compute, bandwidth
    compute = { value = 0.80, basis = "derived", source = "...", note = "794.5 / 989.4" }

    [[prices]]
    kind = "rent_hour"               # or "purchase"
    term = "on-demand"               # rents: on-demand, reserved, spot (or unknown)
    amount = 2.90
    currency = "USD"
    date = 2026-05-01
    basis = "vendor"
    source = "https://..."

A [sources] entry may be a table { cite = "...", date = YYYY-MM-DD }: figures citing it take
that date; a figure may carry its own `date`. The freshness check ages figures by these dates.

Systems (profiles/systems/NAME.toml: CloudMatrix 384, HGX H800, GB200 NVL72) are rented as a
whole: `load_system` reads one, its per-device figures by reference to a device profile.

    [cpu]                            # CPU profiles only: see subsidybench.catalogue.cpupeak

Torch-free: the cost model reads profiles where torch cannot run.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from subsidybench import bounds
from subsidybench.backends import DEVICE_TYPES
from subsidybench.catalogue import paths as catalogue
from subsidybench.catalogue.cpupeak import CpuAssumptions, machine_peaks
from subsidybench.datafile import Fields, read_toml
from subsidybench.dtypes import DType
from subsidybench.errors import UserError
from subsidybench.provenance import (
    Basis,
    Figure,
    PriceKind,
    PricePoint,
    PriceTerm,
    Sources,
    read_date,
    read_figure,
    read_figures,
    read_price,
)

__all__ = [
    "EFFICIENCY_KINDS",
    "Basis",
    "DeviceProfile",
    "Figure",
    "PriceKind",
    "PricePoint",
    "PriceTerm",
    "list_profiles",
    "load_profile",
    "localize",
    "match_profile",
]

KIND = "devices"

# The extension modules a profile may name, and the device type each provides.
_MODULES = {t.module: t.name for t in DEVICE_TYPES.values() if t.module is not None}
PEAK = bounds.PEAK_TFLOPS  # every TFLOP/s table: dense, sparse and measured
EFFICIENCY_KINDS = ("compute", "bandwidth")

PROFILE_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
DTYPES = {d.value: d for d in DType}
_TOP_KEYS = {
    "name",
    "vendor",
    "backend",
    "module",
    "domestic",
    "match",
    "note",
    "checked",
    "sources",
    "peak_tflops",
    "sparse_tflops",
    "measured_matmul_tflops",
    "memory_gb",
    "memory_bandwidth_gbs",
    "interconnect_gbs",
    "power_w",
    "efficiency",
    "prices",
    "prices_searched",
    "cpu",
}


def repeats_vendor(name: str, vendor: str) -> bool:
    """Whether `name` starts with the vendor's first word ("Kunlunxin" of "Kunlunxin (Baidu)")."""
    first = vendor.split()[0].lower() if vendor.split() else ""
    return bool(first) and name.lower().split()[:1] == [first]


def frozen_mapping(mapping: Mapping) -> Mapping:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True, slots=True)
class DeviceProfile:
    """One accelerator (or CPU): its sourced figures and prices. Peaks in TFLOP/s, dense."""

    id: str
    name: str
    vendor: str
    backend: str
    module: str | None
    domestic: bool
    match: tuple[str, ...]
    peak_tflops: Mapping[DType, Figure]
    sparse_tflops: Mapping[DType, Figure]
    measured_matmul_tflops: Mapping[DType, Figure]
    memory_gb: Figure
    memory_bandwidth_gbs: Figure
    interconnect_gbs: Figure
    power_w: Figure
    efficiency: Mapping[str, Figure]
    prices: tuple[PricePoint, ...]
    note: str = ""
    prices_searched: str = ""
    """Where a price was looked for and not found, and when: an unknown price, said so."""
    cpu: CpuAssumptions | None = None
    """For CPU profiles: the assumptions the machine-derived peak rests on."""
    _patterns: tuple[re.Pattern[str], ...] = field(
        default=(), init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if not PROFILE_ID.match(self.id):
            raise ValueError(f"id {self.id!r}: use lower-case letters, digits, '.', '-', '_'")
        for name in ("name", "vendor"):
            if not getattr(self, name).strip():
                raise ValueError(f"{name}: must not be empty")
        if repeats_vendor(self.name, self.vendor):
            # Displays join the two ("NVIDIA NVIDIA H800" once): the vendor is written once.
            raise ValueError(f"name: {self.name!r} repeats the vendor; write it without it")
        if self.backend not in DEVICE_TYPES:
            raise ValueError(
                f"backend: {self.backend!r} is not one of {', '.join(sorted(DEVICE_TYPES))}"
            )
        if self.module is not None:
            needs = _MODULES.get(self.module)
            if needs is None:
                known = ", ".join(sorted(_MODULES))
                raise ValueError(f"module: {self.module!r} is not one of {known}")
            if needs != self.backend:
                raise ValueError(
                    f"module: {self.module} drives backend {needs}, not {self.backend}"
                )
        patterns = []
        for i, pattern in enumerate(self.match):
            try:
                patterns.append(re.compile(pattern, re.IGNORECASE))
            except re.error as e:
                raise ValueError(f"match[{i}]: not a valid regular expression: {e}") from None
        for key in self.efficiency:
            if key not in EFFICIENCY_KINDS:
                raise ValueError(f"efficiency.{key}: unknown kind (known: compute, bandwidth)")
        for dtype, sparse in self.sparse_tflops.items():
            dense = self.peak_tflops.get(dtype)
            known = dense and dense.value is not None and sparse.value is not None
            if known and sparse.value < dense.value:
                raise ValueError(
                    f"sparse_tflops.{dtype}: {sparse.value:g} is below the dense peak"
                    f" {dense.value:g}; are the two swapped?"
                )
        if self.cpu is not None and self.backend != "cpu":
            raise ValueError("cpu: only a profile with backend 'cpu' has CPU assumptions")
        set_ = object.__setattr__
        set_(self, "match", tuple(self.match))
        set_(self, "prices", tuple(self.prices))
        set_(self, "_patterns", tuple(patterns))
        for name in ("peak_tflops", "sparse_tflops", "measured_matmul_tflops", "efficiency"):
            set_(self, name, frozen_mapping(getattr(self, name)))

    @property
    def label(self) -> str:
        """Vendor and name, for display: "NVIDIA H800 SXM5 80GB"."""
        return f"{self.vendor} {self.name}"

    def peak(self, dtype: DType) -> Figure | None:
        """The dense peak for `dtype`; None when the profile does not list the dtype at all."""
        return self.peak_tflops.get(DType(dtype))

    def default_rent(self, currency: str | None = None) -> PricePoint | None:
        """The rent per device-hour `cost` takes when no --price is given; see `default_rent`."""
        return default_rent(self.prices, currency)

    def rent_per_hour(self, currency: str | None = None) -> PricePoint | None:
        """The default rent (see `default_rent`), only among prices in `currency` if given."""
        if currency is None:
            return default_rent(self.prices)
        only = [p for p in self.prices if p.currency == currency.upper()]
        return default_rent(only)

    def purchase_price(self, currency: str | None = None) -> PricePoint | None:
        """The most recently seen purchase price per device (in `currency`, if given)."""
        return self._newest(PriceKind.PURCHASE, currency)

    def _newest(self, kind: PriceKind, currency: str | None) -> PricePoint | None:
        found = [
            p
            for p in self.prices
            if p.kind is kind and (currency is None or p.currency == currency.upper())
        ]
        # ISO dates sort as strings; max keeps the first listed among equal dates.
        return max(found, key=lambda p: p.date, default=None)

    def matches(self, device_name: str) -> str | None:
        """The text of the longest match of this profile's patterns in `device_name`, if any."""
        best: str | None = None
        for pattern in self._patterns:
            m = pattern.search(device_name)
            if m and (best is None or len(m.group(0)) > len(best)):
                best = m.group(0)
        return best

    def figures(self) -> list[tuple[str, Figure]]:
        """Every figure with its dotted field name, in file order, for display and reports."""
        out: list[tuple[str, Figure]] = []
        for table in ("peak_tflops", "sparse_tflops", "measured_matmul_tflops"):
            for dtype, fig in getattr(self, table).items():
                out.append((f"{table}.{dtype}", fig))
        for name in ("memory_gb", "memory_bandwidth_gbs", "interconnect_gbs", "power_w"):
            out.append((name, getattr(self, name)))
        for kind, fig in self.efficiency.items():
            out.append((f"efficiency.{kind}", fig))
        if self.cpu is not None:
            for name, fig in self.cpu.figures().items():
                out.append((f"cpu.{name}", fig))
        return out


# The order in which default_rent prefers a rent's terms: what anyone can pay without
# commitment first; a spot price can be taken away mid-job, so it is the last resort.
_TERM_ORDER = (PriceTerm.ON_DEMAND, PriceTerm.UNKNOWN, PriceTerm.RESERVED, PriceTerm.SPOT)


def default_rent(prices: Sequence[PricePoint], currency: str | None = None) -> PricePoint | None:
    """The rent `cost` takes by default from a profile's prices, by one rule:

    1. rents in `currency` (the programme's, usually CNY) when there are any, so that a yuan
       programme is costed on a yuan price without an exchange rate; else rents in any currency;
    2. on-demand (list) prices first, then those whose terms the source does not state, then
       reserved, then spot: the default is what a buyer pays without a commitment and without
       the risk of pre-emption; cheaper terms are listed in the profile for a --price by hand;
    3. among those, the most recently seen (a newer price replaces an older one); among equal
       dates, the one listed first in the file.
    """
    rents = [p for p in prices if p.kind is PriceKind.RENT_HOUR]
    if currency is not None:
        same = [p for p in rents if p.currency == currency.upper()]
        rents = same or rents
    for term in _TERM_ORDER:
        found = [p for p in rents if p.term is term]
        if found:
            # ISO dates sort as strings; max keeps the first listed among equal dates.
            return max(found, key=lambda p: p.date)
    return None


# ---------------------------------------------------------------------------------------------
# Loading


def read_sources(f: Fields) -> Sources:
    checked = read_date(f, "checked") if f.has("checked") else ""
    return Sources(f.table("sources") if f.has("sources") else None, checked)


def _read(path: Path) -> DeviceProfile:
    """The profile in `path`, parsed once per version of the file: a 40-run report costs each
    run on its device many times, and reading 660 profiles was a tenth of its time."""
    try:
        st = path.stat()
    except OSError:
        return _parse(path)  # read_toml says what is wrong with it, naming the file
    return _parse_cached(path, st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=256)
def _parse_cached(path: Path, mtime_ns: int, size: int) -> DeviceProfile:
    return _parse(path)


def _parse(path: Path) -> DeviceProfile:
    f = Fields(read_toml(path), str(path))
    f.reject_unknown(_TOP_KEYS)
    sources = read_sources(f)
    match = f.list("match")
    for i, pattern in enumerate(match):
        if not isinstance(pattern, str) or not pattern:
            raise f.error(f"match[{i}]", "expected a non-empty regular expression string")
    backend = f.choice("backend", set(DEVICE_TYPES))
    module = f.choice("module", set(_MODULES), None)
    efficiency = read_figures(
        f, "efficiency", sources, {k: k for k in EFFICIENCY_KINDS}, within=bounds.EFFICIENCY
    )
    cpu = CpuAssumptions.from_fields(f.table("cpu"), sources) if f.has("cpu") else None
    prices = tuple(read_price(t, sources) for t in f.tables("prices", []))
    try:
        return DeviceProfile(
            id=path.stem,
            name=f.str("name"),
            vendor=f.str("vendor"),
            backend=backend,
            module=module,
            domestic=f.bool("domestic"),
            match=tuple(match),
            peak_tflops=read_figures(f, "peak_tflops", sources, DTYPES, within=PEAK),
            sparse_tflops=read_figures(f, "sparse_tflops", sources, DTYPES, within=PEAK),
            measured_matmul_tflops=read_figures(
                f, "measured_matmul_tflops", sources, DTYPES, within=PEAK
            ),
            memory_gb=read_figure(f, "memory_gb", sources),
            memory_bandwidth_gbs=read_figure(f, "memory_bandwidth_gbs", sources),
            interconnect_gbs=read_figure(f, "interconnect_gbs", sources),
            power_w=read_figure(f, "power_w", sources),
            efficiency=efficiency,
            prices=prices,
            note=f.str("note", ""),
            prices_searched=f.str("prices_searched", ""),
            cpu=cpu,
        )
    except ValueError as e:
        raise UserError(f"{path}: {e}") from None


def load_profile(
    name_or_path: str, extra_dirs: Sequence[Path] = (), input_key: str = ""
) -> DeviceProfile:
    """A profile by catalogue name ("h100-sxm") or path to a TOML file; user dirs win. A name
    not there names `input_key`, the input that gave it (catalogue.paths.resolve)."""
    return _read(catalogue.resolve(KIND, name_or_path, extra_dirs, input_key))


def list_profiles(extra_dirs: Sequence[Path] = ()) -> list[DeviceProfile]:
    """Every profile in the catalogue (user dirs first, a user file shadows a built-in one)."""
    return [_read(path) for _, path in sorted(catalogue.files(KIND, extra_dirs).items())]


def match_profile(
    device_name: str, backend: str, extra_dirs: Sequence[Path] = ()
) -> DeviceProfile | None:
    """The profile for the device the runtime reports as `device_name` on `backend`.

    Profiles from the user's directories are preferred to built-in ones; among one directory's
    profiles the longest match wins, and two different profiles matching equally is an error
    (the catalogue is ambiguous and must be fixed). A CPU device is this machine, so a matched
    CPU profile comes back with its peaks derived from this machine (see `localize`).
    """
    roots = catalogue.roots(extra_dirs)
    files = catalogue.files(KIND, extra_dirs)
    by_root: dict[int, list[tuple[int, DeviceProfile]]] = {}
    for path in files.values():
        profile = _read(path)
        if profile.backend != backend.lower():
            continue
        text = profile.matches(device_name)
        if text is None:
            continue
        rank = next(
            (i for i, root in enumerate(roots) if path.is_relative_to(root / KIND)), len(roots)
        )
        by_root.setdefault(rank, []).append((len(text), profile))
    if not by_root:
        return None
    candidates = sorted(by_root[min(by_root)], key=lambda c: (-c[0], c[1].id))
    if len(candidates) > 1 and candidates[0][0] == candidates[1][0]:
        ids = ", ".join(c[1].id for c in candidates if c[0] == candidates[0][0])
        raise UserError(f"device {device_name!r} matches several profiles equally well: {ids}")
    best = candidates[0][1]
    return localize(best) if best.backend == "cpu" else best


def localize(profile: DeviceProfile) -> DeviceProfile:
    """The profile with peaks derived from this machine, where the profile derives them.

    Only CPU profiles with a [cpu] section do; derived peaks replace the file's figures for the
    dtypes the machine supports natively. Where the machine cannot be read (no /proc/cpuinfo),
    the profile comes back unchanged, its peaks as the file states them (usually unknown).
    """
    if profile.cpu is None:
        return profile
    try:
        derived = machine_peaks(profile.cpu)
    except UserError:
        return profile
    return dataclasses.replace(profile, peak_tflops={**profile.peak_tflops, **derived})
