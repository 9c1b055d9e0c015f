"""The price of a device-hour: rent as given, or owned hardware costed per working hour.

Owned hardware spreads its capex over its lifetime as an annuity at the cost of capital (the
capital recovery factor), and adds energy (average draw x PUE x tariff) and hosting. Vectorised:
sweeps pass arrays through the same function the single answers use.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from subsidybench.errors import UserError
from subsidybench.provenance import Assumption, Basis
from subsidybench.units import HOURS_PER_YEAR, Array, require_finite


def capital_recovery_factor(rate: ArrayLike, years: ArrayLike) -> Array:
    """The share of a capital sum to pay each year so that `years` equal payments repay it with
    interest at `rate`: r(1+r)^n / ((1+r)^n - 1), and 1/n at r = 0 (an annuity)."""
    r = np.asarray(rate, dtype=np.float64)
    n = np.asarray(years, dtype=np.float64)
    # (1+r)^n - 1 through log1p/expm1 keeps precision for small rates; below 1e-9 the series
    # 1/n + (n+1)r/(2n) is exact to 1e-18, where the closed form would lose every digit.
    grown = np.expm1(n * np.log1p(r))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        annuity = r * (grown + 1.0) / grown
    return np.where(r < 1e-9, 1.0 / n + (n + 1.0) * r / (2.0 * n), annuity)


def owned_hourly_cost(
    capex: ArrayLike,
    lifetime_years: ArrayLike,
    cost_of_capital: ArrayLike,
    power_w: ArrayLike,
    pue: ArrayLike,
    tariff_per_kwh: ArrayLike,
    hosting_per_year: ArrayLike = 0.0,
    utilisation: ArrayLike = 1.0,
) -> dict[str, Array]:
    """Cost of one working hour of an owned device: capital, energy, hosting and their total.

    Capital is the capex spread over the lifetime as an annuity at the cost of capital, divided
    over the hours the device works (utilisation x hours in a year). Energy is paid for the hours
    it works, at its average draw times the PUE. Vectorised: every argument may be an array.
    """
    hours = HOURS_PER_YEAR * np.asarray(utilisation, dtype=np.float64)
    capital = (
        np.asarray(capex, dtype=np.float64)
        * capital_recovery_factor(cost_of_capital, lifetime_years)
        / hours
    )
    energy = (
        np.asarray(power_w, dtype=np.float64)
        / 1000.0
        * np.asarray(pue, dtype=np.float64)
        * np.asarray(tariff_per_kwh, dtype=np.float64)
    )
    hosting = np.asarray(hosting_per_year, dtype=np.float64) / hours
    return {
        "capital": capital,
        "energy": energy,
        "hosting": hosting,
        "total": capital + energy + hosting,
    }


@dataclass(frozen=True, slots=True)
class OwnedHardware:
    """An owned device, costed per working hour. Money is per device, in `currency`."""

    capex: float
    """Purchase price per device, with its share of server, network and installation."""
    lifetime_years: float
    cost_of_capital: float
    """Yearly rate the money costs (a loan's interest, or the return the firm gives up)."""
    power_w: float
    """Average draw per device while working, with its share of the host."""
    pue: float
    tariff_per_kwh: float
    currency: str
    hosting_per_year: float = 0.0
    """Space, staff and maintenance per device per year."""
    utilisation: float = 1.0
    """Share of the year's hours the device does paid-for work."""

    def __post_init__(self) -> None:
        # Zero is allowed: a 100% building subsidy leaves no capital to recover.
        require_finite("capex", self.capex, allow_zero=True)
        require_finite("lifetime", self.lifetime_years)
        require_finite("cost of capital", self.cost_of_capital, allow_zero=True)
        require_finite("power", self.power_w, allow_zero=True)
        require_finite("hosting", self.hosting_per_year, allow_zero=True)
        require_finite("tariff", self.tariff_per_kwh, allow_zero=True)
        if not (math.isfinite(self.pue) and self.pue >= 1):
            raise UserError(f"PUE must be >= 1 (facility power / IT power), got {self.pue:g}")
        if not (0 < self.utilisation <= 1):
            raise UserError(f"utilisation must be in (0, 1], got {self.utilisation:g}")

    def hourly(self) -> dict[str, float]:
        """Capital, energy, hosting and total cost of one working hour."""
        parts = owned_hourly_cost(
            self.capex,
            self.lifetime_years,
            self.cost_of_capital,
            self.power_w,
            self.pue,
            self.tariff_per_kwh,
            self.hosting_per_year,
            self.utilisation,
        )
        return {k: float(v) for k, v in parts.items()}

    def assumptions(self, source: str = "") -> list[Assumption]:
        c = self.currency
        return [
            Assumption("capex per device", f"{self.capex:,.0f} {c}", Basis.GIVEN, source),
            Assumption("lifetime", f"{self.lifetime_years:g} years", Basis.GIVEN),
            Assumption("cost of capital", f"{self.cost_of_capital:.1%} a year", Basis.GIVEN),
            Assumption("utilisation", f"{self.utilisation:.0%} of hours", Basis.GIVEN),
            Assumption("power per device", f"{self.power_w:g} W while working", Basis.GIVEN),
            Assumption("PUE", f"{self.pue:g}", Basis.GIVEN),
            Assumption("electricity tariff", f"{self.tariff_per_kwh:g} {c}/kWh", Basis.GIVEN),
            Assumption("hosting", f"{self.hosting_per_year:,.0f} {c}/device/year", Basis.GIVEN),
            Assumption(
                "idle hours",
                "draw no power and earn nothing; capital is spread over working hours",
                Basis.DERIVED,
            ),
        ]


@dataclass(frozen=True, slots=True)
class HourlyPrice:
    """What one device-hour costs before any subsidy, and where the figure comes from."""

    amount: float
    currency: str
    basis: Basis
    source: str
    owned: OwnedHardware | None = None

    def __post_init__(self) -> None:
        require_finite("price per device-hour", self.amount)

    @classmethod
    def rent(cls, amount: float, currency: str, basis: Basis, source: str) -> HourlyPrice:
        return cls(amount, currency, basis, source)

    @classmethod
    def from_owned(cls, hardware: OwnedHardware, source: str = "") -> HourlyPrice:
        return cls(hardware.hourly()["total"], hardware.currency, Basis.DERIVED, source, hardware)

    def assumptions(self) -> list[Assumption]:
        if self.owned is None:
            value = f"{self.amount:,.4g} {self.currency} per device-hour (rent)"
            return [Assumption("price", value, self.basis, self.source)]
        parts = self.owned.hourly()
        c = self.currency
        value = (
            f"{parts['total']:,.4g} {c} per working hour = capital {parts['capital']:,.4g}"
            f" + energy {parts['energy']:,.4g} + hosting {parts['hosting']:,.4g}"
        )
        return [
            *self.owned.assumptions(self.source),
            Assumption("price (owned)", value, Basis.DERIVED, "annuity over the lifetime"),
        ]
