"""The device being costed: peak, rent, power and chip origin come from a device profile, read
once as numbers with their basis (cost.device), and the profile's name is shown once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from subsidybench.catalogue import paths as catalogue
from subsidybench.cli import app
from subsidybench.cost.device import load_device
from subsidybench.provenance import Basis

FAKE = """
name = "Fake 910B"
vendor = "Fakewei"
backend = "npu"
domestic = true
match = ['Fake 910B']
interconnect_gbs = "unknown"

[peak_tflops]
bf16 = { value = 320, basis = "estimate", source = "https://example.org/910b" }
fp8 = "unknown"

[memory_gb]
value = 64
basis = "vendor"
source = "https://example.org/spec"

[memory_bandwidth_gbs]
value = 1600
basis = "vendor"
source = "https://example.org/spec"

[power_w]
value = 400
basis = "vendor"
source = "https://example.org/spec"

[[prices]]
kind = "rent_hour"
amount = 9.0
currency = "CNY"
date = 2025-08-01
basis = "estimate"
source = "https://example.org/price"
"""


@pytest.fixture
def profiles_dir(tmp_path: Path) -> Path:
    (tmp_path / "devices").mkdir()
    (tmp_path / "devices" / "fake-910b.toml").write_text(FAKE)
    return tmp_path


def test_device_reads_peak_rent_power_and_origin(profiles_dir: Path) -> None:
    d = load_device("fake-910b", (profiles_dir,))
    assert d.peak is not None and (d.peak.tflops, d.peak.dtype) == (320.0, "bf16")
    assert (d.domestic, d.power_w) == (True, 400.0)
    rent = d.rent()
    assert rent is not None and (rent.amount, rent.currency) == (9.0, "CNY")
    assert rent.basis is Basis.ESTIMATE  # an enum, never text parsed back
    assert "https://example.org/910b" in d.peak.source
    assert load_device("fake-910b", (profiles_dir,), "fp8").peak is None  # unknown: not used


def test_vendor_is_shown_once() -> None:
    # The "NVIDIA NVIDIA H800" and "Huawei Huawei Ascend 910B".
    # Profiles write the name without the vendor (the loader refuses a repeat); the label joins.
    for name in sorted(catalogue.files("devices")):
        label = load_device(name, ()).label
        words = label.split()
        assert words[0] != words[1], label


def test_cost_with_a_profile_uses_its_figures(profiles_dir: Path) -> None:
    args = ["cost", "--hours", "1000", "--mfu", "0.5", "--profile", "fake-910b"]
    args += ["--subsidy", "hangzhou-2024", "--profiles-dir", str(profiles_dir)]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    out = result.stdout
    # Rent 9 CNY/h from the profile; domestic, so Hangzhou pays 30%: 9,000 x 0.7 = 6,300.
    assert "9,000.00 CNY" in out and "6,300.00 CNY" in out
    assert "domestic-chip rate" in out
    # MFU 50% x 320 TFLOP/s (estimate): 160 TFLOP/s; 1,000 h of it = 6.667 PFLOP-days.
    assert "160 TFLOP/s" in out and "6.667 PFLOP-days" in out
    assert "dense bf16 peak 320 TFLOP/s" in out
    assert "Fakewei Fake 910B [fake-910b]" in out


def test_every_catalogue_profile_loads_for_costing() -> None:
    for name in sorted(catalogue.files("devices")):
        d = load_device(name, ())
        assert d.id and d.label
        assert d.peak is None or d.peak.tflops > 0


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


def _gross(args: list[str]) -> dict[str, object]:
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return {"stdout": result.stdout, **json.loads(Path(args[args.index("--json") + 1]).read_text())}


@pytest.mark.parametrize("extra", [[], ["--subsidy", "hangzhou-2024"], ["--in", "CNY"]])
def test_no_flag_but_the_market_changes_the_rent_of_a_device_hour(
    tmp_path: Path, extra: list[str]
) -> None:
    path = tmp_path / "devices" / "two-rents.toml"
    path.parent.mkdir()
    path.write_text(TWO_RENTS)
    base = ["cost", "--hours", "100", "--mfu", "0.5", "--profile", "two-rents"]
    base += ["--profiles-dir", str(tmp_path), "--fx", "7", "--json", str(tmp_path / "a.json")]
    # Neither a yuan programme nor a yuan answer picks the yuan rent: the default (on-demand,
    # then the newest, in any market) is taken, the same 200 USD (1,400 CNY at 7) gross.
    doc = _gross([*base, *extra])
    assert doc["gross"] == pytest.approx(200 if doc["currency"] == "USD" else 1400)
    out = str(doc["stdout"])
    assert "two-rents rent us-2-2026-11-01 (the default" in out
    assert "cn-10-2025-01-01: 10 CNY/h (reserved, seen 2025-01-01, vendor)" in out  # the other
    # The market is said: --market cn, or the rent's id, takes the yuan rent.
    for pick in (["--market", "cn"], ["--rent", "cn-10-2025-01-01"]):
        doc = _gross([*base, *extra, *pick])
        assert doc["gross"] == pytest.approx(1000 if doc["currency"] == "CNY" else 1000 / 7)
        assert "https://example.com/cny" in str(doc["stdout"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--market", "eu"],
            "--market: two-rents has no rent in market 'eu' (its markets: cn, us)",
        ),
        (["--rent", "x"], "--rent: two-rents has no rent 'x'; its rents: us-2-2026-11-01, cn-10-"),
        (["--market", "cn", "--price", "1", "--currency", "CNY"], "--market picks a profile's"),
        (["--market", "cn", "--rent", "cn-10-2025-01-01"], "give --market or --rent, not both"),
        (["--currency", "CNY"], "--currency is the currency of --price, --capex or --contract"),
    ],
)
def test_rent_choice_errors_name_the_flag(tmp_path: Path, args: list[str], message: str) -> None:
    path = tmp_path / "devices" / "two-rents.toml"
    path.parent.mkdir()
    path.write_text(TWO_RENTS)
    base = ["cost", "--hours", "100", "--profile", "two-rents", "--profiles-dir", str(tmp_path)]
    result = CliRunner().invoke(app, [*base, *args])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {message}"), result.stderr


def test_a_system_is_costed_as_its_devices_rented_whole() -> None:
    # CloudMatrix 384: no public rent, so a time answer; its devices and per-device peak come
    # from the system and the Ascend 910C profile it names.
    args = ["cost", "--train", "7e9:2e12", "--profile", "cloudmatrix-384", "--mfu", "0.4"]
    result = CliRunner().invoke(app, [*args, "--scaling-efficiency", "0.9"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "on 384 device(s)" in result.stdout
    assert "one cloudmatrix-384 system, rented whole" in result.stdout
    assert "money" in result.stdout and "not asked" in result.stdout
    # A system is rented whole: a count that is no multiple of its devices is refused.
    result = CliRunner().invoke(app, [*args, "--scaling-efficiency", "0.9", "--devices", "100"])
    assert result.exit_code == 1
    assert "rented whole: give a multiple of 384" in result.stderr


def test_a_system_rent_is_spread_over_its_devices() -> None:
    from subsidybench.catalogue.systems import load_system

    system = load_system("hgx-h100-8")
    rent = system.default_rent()
    assert rent is not None
    result = CliRunner().invoke(
        app, ["cost", "--hours", "8000", "--profile", "hgx-h100-8"], env={"COLUMNS": "300"}
    )
    assert result.exit_code == 0, result.output
    assert f"{rent.amount / 8:,.2f} {rent.currency}" in result.stdout
    assert "per system-hour / 8" in " ".join(result.stdout.split())


def test_an_answer_on_an_expired_programme_or_an_old_price_warns(tmp_path: Path) -> None:
    path = tmp_path / "devices" / "two-rents.toml"
    path.parent.mkdir()
    path.write_text(TWO_RENTS)  # its CNY rent was seen 2025-01-01: over a year before 2026-12
    args = ["cost", "--hours", "100", "--profile", "two-rents", "--profiles-dir", str(tmp_path)]
    result = CliRunner().invoke(app, [*args, "--subsidy", "beijing-2023", "--market", "cn"])
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert any("programme beijing-2023 ended 2025-12-31" in w for w in warnings), warnings
    assert any("10.00 CNY" in w and "days ago" in w for w in warnings), warnings
    fresh = CliRunner().invoke(app, [*args, "--price", "2", "--currency", "CNY"])
    assert fresh.exit_code == 0 and "warning" not in fresh.stderr


OWNED = ["--hours", "10000", "--power-w", "400", "--capex", "100000", "--currency", "CNY"]
OWNED += ["--lifetime", "5", "--cost-of-capital", "0.08", "--pue", "1.3", "--tariff", "0.6"]


def _hourly(args: list[str], row: str = "price per device-hour") -> float:
    result = CliRunner().invoke(app, ["cost", *OWNED, *args], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    line = next(x for x in result.stdout.splitlines() if f"│ {row}" in x)
    return float(line.split("│")[2].split()[0].replace(",", ""))


def test_a_power_subsidy_halves_the_energy_of_domestic_chips_only() -> None:
    energy = 0.4 * 1.3 * 0.6  # kW x PUE x tariff: CNY per device-hour
    subsidy = ["--power-subsidy", "gansu-2025-electricity"]
    effective = "effective price per device-hour"
    domestic = _hourly(["--profile", "ascend-910b"])
    # The price (gross) stays; the power subsidy is its own row, and the net follows.
    assert _hourly(["--profile", "ascend-910b", *subsidy]) == domestic
    assert _hourly(["--profile", "ascend-910b", *subsidy], effective) == pytest.approx(
        domestic - energy / 2, abs=0.006
    )
    assert _hourly(["--profile", "ascend-910b", *subsidy], "power subsidy") == pytest.approx(
        10_000 * energy / 2, abs=0.006
    )
    foreign = _hourly(["--profile", "h100-sxm"])
    assert _hourly(["--profile", "h100-sxm", *subsidy], effective) == foreign
    rent = CliRunner().invoke(
        app, ["cost", "--hours", "10", "--price", "2", "--currency", "CNY", *subsidy]
    )
    assert rent.exit_code == 1 and "give --capex" in rent.stderr
