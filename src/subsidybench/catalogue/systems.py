"""Systems: many devices rented (or bought) as one (CloudMatrix 384, HGX H800, GB200 NVL72).

One TOML file per system under profiles/systems/; its per-device figures are those of the device
profile it names (catalogue.profiles). Torch-free.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from subsidybench import bounds
from subsidybench.catalogue import paths as catalogue
from subsidybench.catalogue.profiles import (
    DTYPES,
    PROFILE_ID,
    DeviceProfile,
    default_rent,
    frozen_mapping,
    load_profile,
    read_sources,
    repeats_vendor,
)
from subsidybench.datafile import Fields, read_toml
from subsidybench.dtypes import DType
from subsidybench.errors import UserError
from subsidybench.provenance import (
    Basis,
    Figure,
    PriceKind,
    PricePoint,
    read_figure,
    read_figures,
    read_price,
)

SYSTEM_KIND = "systems"
_SYSTEM_KEYS = {
    "name",
    "vendor",
    "device",
    "devices",
    "note",
    "checked",
    "sources",
    "peak_tflops",
    "interconnect_gbs",
    "power_w",
    "prices",
}


@dataclass(frozen=True, slots=True)
class SystemProfile:
    """A system a contract rents as a whole (CloudMatrix 384: 384 Ascend 910C).

    Per-device figures are those of `device`, the device profile the file names; the system's
    own figures are its device count, its scale-up interconnect per device, its published peaks
    (whole system, for checking against count x device) and power. Prices are per system-hour
    or per system. For costing, a system is `device_count` devices of `device`, priced as a
    whole: `per_device_rent` spreads the system's rent over its devices.
    """

    id: str
    name: str
    vendor: str
    device: DeviceProfile
    devices: Figure
    interconnect_gbs: Figure
    power_w: Figure
    peak_tflops: Mapping[DType, Figure]
    prices: tuple[PricePoint, ...]
    note: str = ""

    def __post_init__(self) -> None:
        if not PROFILE_ID.match(self.id):
            raise ValueError(f"id {self.id!r}: use lower-case letters, digits, '.', '-', '_'")
        n = self.devices.value
        if n is None or n != int(n) or n < 1:
            raise ValueError(f"devices: a system holds a whole number of devices, got {n!r}")
        if repeats_vendor(self.name, self.vendor):
            raise ValueError(f"name: {self.name!r} repeats the vendor; write it without it")
        object.__setattr__(self, "prices", tuple(self.prices))
        object.__setattr__(self, "peak_tflops", frozen_mapping(self.peak_tflops))

    @property
    def label(self) -> str:
        return f"{self.vendor} {self.name}"

    @property
    def device_count(self) -> int:
        return int(self.devices.value or 0)

    def peak(self, dtype: DType) -> Figure | None:
        """The per-device dense peak (the device profile's): what MFU and costing divide by."""
        return self.device.peak(dtype)

    def default_rent(self, currency: str | None = None) -> PricePoint | None:
        """The system's rent per system-hour, by the rule of `default_rent`."""
        return default_rent(self.prices, currency)

    def purchase_price(self, currency: str | None = None) -> PricePoint | None:
        """The newest purchase price of the whole system (in `currency`, if given)."""
        found = [
            p
            for p in self.prices
            if p.kind is PriceKind.PURCHASE and (currency is None or p.currency == currency.upper())
        ]
        return max(found, key=lambda p: p.date, default=None)

    def per_device_rent(self, currency: str | None = None) -> PricePoint | None:
        """The default system rent spread over its devices: per device-hour, basis derived.

        None when the system has no public rent: the device profile's own rent is then NOT a
        substitute (a system is priced as a whole, interconnect included)."""
        rent = self.default_rent(currency)
        if rent is None:
            return None
        n = self.device_count
        return PricePoint(
            PriceKind.RENT_HOUR,
            rent.amount / n,
            rent.currency,
            rent.date,
            Basis.DERIVED,
            rent.source,
            f"{rent.amount:,.2f} {rent.currency} per system-hour / {n} devices"
            + (f"; {rent.note}" if rent.note else ""),
            rent.term,
        )

    def figures(self) -> list[tuple[str, Figure]]:
        out = [("devices", self.devices)]
        out += [(f"peak_tflops.{d}", fig) for d, fig in self.peak_tflops.items()]
        out += [("interconnect_gbs", self.interconnect_gbs), ("power_w", self.power_w)]
        return out


def _read_system(path: Path, extra_dirs: Sequence[Path]) -> SystemProfile:
    f = Fields(read_toml(path), str(path))
    f.reject_unknown(_SYSTEM_KEYS)
    sources = read_sources(f)
    device = load_profile(f.str("device"), extra_dirs)
    try:
        return SystemProfile(
            id=path.stem,
            name=f.str("name"),
            vendor=f.str("vendor"),
            device=device,
            devices=read_figure(f, "devices", sources),
            interconnect_gbs=read_figure(f, "interconnect_gbs", sources),
            power_w=read_figure(f, "power_w", sources),
            peak_tflops=read_figures(f, "peak_tflops", sources, DTYPES, within=bounds.PEAK_TFLOPS),
            prices=tuple(read_price(t, sources) for t in f.tables("prices", [])),
            note=f.str("note", ""),
        )
    except ValueError as e:
        raise UserError(f"{path}: {e}") from None


def load_system(name_or_path: str, extra_dirs: Sequence[Path] = ()) -> SystemProfile:
    """A system by catalogue name ("cloudmatrix-384") or path to a TOML file."""
    return _read_system(catalogue.resolve(SYSTEM_KIND, name_or_path, extra_dirs), extra_dirs)


def list_systems(extra_dirs: Sequence[Path] = ()) -> list[SystemProfile]:
    """Every system in the catalogue (user dirs first)."""
    files = catalogue.files(SYSTEM_KIND, extra_dirs)
    return [_read_system(path, extra_dirs) for _, path in sorted(files.items())]
