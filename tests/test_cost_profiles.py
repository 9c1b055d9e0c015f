"""The --profile adapter: peak, rent, power and chip origin come from a device profile.

The catalogue's profiles module is written separately; these tests run the adapter against a
stand-in that follows its published API (load_profile, .peak(dtype), .rent_per_hour(), .power_w,
.domestic), and against the real module when it is importable (skipped otherwise).
"""

from __future__ import annotations

import importlib.util
import sys
import types
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import pytest
from typer.testing import CliRunner

from subsidybench.cli import app
from subsidybench.cli.cost import load_profile_inputs
from subsidybench.dtypes import DType


class FigureBasis(StrEnum):
    VENDOR = "vendor"
    ESTIMATE = "estimate"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Figure:
    value: float | None
    basis: FigureBasis
    source: str


@dataclass(frozen=True)
class PricePoint:
    amount: float
    currency: str
    date: str
    basis: str
    source: str


@dataclass(frozen=True)
class FakeProfile:
    id: str
    name: str
    vendor: str
    domestic: bool
    power_w: Figure

    def peak(self, dtype: DType) -> Figure | None:
        if dtype is DType.BF16:
            return Figure(320.0, FigureBasis.ESTIMATE, "https://example.org/910b")
        if dtype is DType.FP8:
            return Figure(None, FigureBasis.UNKNOWN, "")
        return None

    def rent_per_hour(self, currency: str | None = None) -> PricePoint | None:
        return PricePoint(9.0, "CNY", "2025-08", "vendor", "https://example.org/price")


@pytest.fixture
def fake_profiles(monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("subsidybench.catalogue.profiles")
    chip = FakeProfile(
        "fake-910b", "Fake 910B", "Fakewei", True, Figure(400.0, FigureBasis.VENDOR, "spec")
    )

    def load_profile(name_or_path: str, extra_dirs: tuple[Path, ...] = ()) -> FakeProfile:
        assert name_or_path == "fake-910b"
        return chip

    module.load_profile = load_profile  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "subsidybench.catalogue.profiles", module)


def test_adapter_reads_peak_rent_power_and_origin(fake_profiles: None) -> None:
    p = load_profile_inputs("fake-910b", [], "bf16")
    assert (p.peak_tflops, p.domestic, p.power_w) == (320.0, True, 400.0)
    assert p.rent is not None and p.rent[:2] == (9.0, "CNY")
    assert "estimate" in p.peak_source and "https://example.org/910b" in p.peak_source
    assert load_profile_inputs("fake-910b", [], "fp8").peak_tflops is None  # unknown: not used


def test_cost_with_a_profile_uses_its_figures(fake_profiles: None) -> None:
    result = CliRunner().invoke(
        app,
        [
            "cost",
            "--hours",
            "1000",
            "--mfu",
            "0.5",
            "--profile",
            "fake-910b",
            "--subsidy",
            "hangzhou-2024",
        ],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    # Rent 9 CNY/h from the profile; domestic, so Hangzhou pays 30%: 9,000 x 0.7 = 6,300.
    assert "9,000.00 CNY" in out and "6,300.00 CNY" in out
    assert "domestic-chip rate" in out
    # MFU 50% x 320 TFLOP/s (estimate): 160 TFLOP/s; 1,000 h of it = 6.67 PFLOP-days.
    assert "160 TFLOP/s" in out and "6.67 PFLOP-days" in out
    assert "estimate" in out


def test_without_the_profiles_module_the_error_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "subsidybench.catalogue.profiles", None)
    result = CliRunner().invoke(app, ["cost", "--hours", "10", "--tflops", "1", "--profile", "x"])
    assert result.exit_code == 1
    assert "--profile needs subsidybench.catalogue.profiles" in result.stderr


@pytest.mark.skipif(
    importlib.util.find_spec("subsidybench.catalogue.profiles") is None,
    reason="subsidybench.catalogue.profiles is not in this tree yet",
)
def test_adapter_against_the_real_profiles_module() -> None:
    from subsidybench.catalogue import paths as catalogue

    names = sorted(catalogue.files("devices"))
    if not names:
        pytest.skip("no device profiles in the catalogue")
    for name in names:
        p = load_profile_inputs(name, [], "bf16")
        assert p.id and p.label
        assert p.peak_tflops is None or p.peak_tflops > 0


TWO_RENTS = """
name = "Two Rents"
vendor = "Testco"
backend = "cuda"
domestic = false
match = []
memory_gb = "unknown"
memory_bandwidth_gbs = "unknown"
interconnect_gbs = "unknown"
power_w = "unknown"

[peak_tflops]
bf16 = { value = 100, basis = "vendor", source = "https://example.com/spec" }

[[prices]]
kind = "rent_hour"
term = "on-demand"
amount = 2.0
currency = "USD"
date = 2026-11-01
basis = "vendor"
source = "https://example.com/usd"

[[prices]]
kind = "rent_hour"
term = "reserved"
amount = 10.0
currency = "CNY"
date = 2025-01-01
basis = "vendor"
source = "https://example.com/cny"
"""


def test_a_yuan_programme_is_costed_on_the_profiles_yuan_rent(tmp_path: Path) -> None:
    path = tmp_path / "devices" / "two-rents.toml"
    path.parent.mkdir()
    path.write_text(TWO_RENTS)
    base = ["cost", "--hours", "100", "--mfu", "0.5", "--profile", "two-rents"]
    base += ["--profiles-dir", str(tmp_path)]
    runner = CliRunner()
    # Hangzhou pays in yuan: the CNY rent is taken though the USD one is newer and on-demand.
    result = runner.invoke(app, [*base, "--subsidy", "hangzhou-2024"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "10.00 CNY" in result.stdout and "1,000.00 CNY" in result.stdout
    assert "https://example.com/cny" in result.stdout
    # No programme: the on-demand rent, whatever its currency.
    result = runner.invoke(app, base, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "200.00 USD" in result.stdout and "https://example.com/usd" in result.stdout
