"""The shipped catalogue is sourced and dated; systems, price selection, validity windows and the
freshness check behave as documented."""

from __future__ import annotations

import datetime
import os
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from subsidybench.catalogue import paths
from subsidybench.catalogue.freshness import check_catalogue, staleness_warnings
from subsidybench.catalogue.profiles import default_rent, list_profiles, load_profile
from subsidybench.catalogue.subsidies import Spend, list_programmes, load_programme
from subsidybench.catalogue.systems import list_systems, load_system
from subsidybench.cli import app
from subsidybench.provenance import Basis, PriceKind, PricePoint, PriceTerm

TODAY = datetime.date(2026, 12, 1)


def test_every_shipped_figure_and_price_has_a_source_and_a_date():
    for owner in [*list_profiles(), *list_systems()]:
        for field, fig in owner.figures():
            if fig.known:
                assert fig.source, f"{owner.id}: {field} has no source"
                assert fig.date, f"{owner.id}: {field} has no date"
        for price in owner.prices:
            assert price.source and price.date, f"{owner.id}: a price lacks source or date"


def test_every_shipped_programme_has_sources_and_a_validity_window():
    for p in list_programmes():
        assert p.sources, p.id
        assert p.valid_from and p.valid_until, p.id
        for s in p.sources:
            assert s.url.startswith("http") and s.published, p.id


def test_vendor_is_written_once_in_every_label():
    for profile in [*list_profiles(), *list_systems()]:
        words = profile.label.split()
        assert words[0] != words[1], profile.label


def test_name_repeating_the_vendor_is_refused(tmp_path: Path):
    path = tmp_path / "devices" / "x.toml"
    path.parent.mkdir()
    path.write_text(
        'name = "Testco T1"\nvendor = "Testco"\nbackend = "cuda"\ndomestic = false\nmatch = []\n'
        'memory_gb = "unknown"\nmemory_bandwidth_gbs = "unknown"\ninterconnect_gbs = "unknown"\n'
        'power_w = "unknown"\n'
    )
    with pytest.raises(Exception, match="repeats the vendor"):
        load_profile(str(path))


def test_cloudmatrix_is_384_ascend_910c_priced_as_a_whole():
    cm = load_system("cloudmatrix-384")
    assert cm.device_count == 384
    assert cm.device.id == "ascend-910c"
    assert cm.peak("bf16").value == cm.device.peak("bf16").value
    assert cm.purchase_price().currency == "USD"
    assert cm.default_rent() is None and cm.per_device_rent() is None


def test_per_device_rent_spreads_the_system_rent():
    cm = load_system("cloudmatrix-384")
    rent = PricePoint(PriceKind.RENT_HOUR, 384.0, "CNY", "2026-01-01", Basis.VENDOR, "x y")
    system = type(cm)(**{**{f: getattr(cm, f) for f in cm.__slots__}, "prices": (rent,)})
    per_device = system.per_device_rent()
    assert per_device.amount == 1.0 and per_device.basis is Basis.DERIVED


def _rent(amount, currency, date, term):
    return PricePoint(
        PriceKind.RENT_HOUR, amount, currency, date, Basis.VENDOR, "x y", term=PriceTerm(term)
    )


def test_default_rent_prefers_currency_then_on_demand_then_newest():
    prices = [
        _rent(1.0, "USD", "2026-06-01", "spot"),
        _rent(2.0, "USD", "2026-01-01", "on-demand"),
        _rent(15.0, "CNY", "2025-01-01", "reserved"),
        _rent(16.0, "CNY", "2025-01-01", "on-demand"),
        _rent(14.0, "CNY", "2024-01-01", "on-demand"),
    ]
    assert default_rent(prices).amount == 2.0  # on-demand before spot, newest on-demand
    assert default_rent(prices, "CNY").amount == 16.0
    assert default_rent(prices, "EUR").amount == 2.0  # no EUR: any currency
    assert default_rent([prices[0]]).amount == 1.0  # spot only as the last resort
    assert default_rent([]) is None


def test_rent_per_hour_keeps_its_strict_currency_filter():
    profile = load_profile("rtx-4090")
    assert profile.rent_per_hour("CNY").currency == "CNY"
    assert profile.rent_per_hour("EUR") is None


def test_validity_windows_and_expiry():
    beijing = load_programme("beijing-2023")
    assert beijing.expired(TODAY) and not beijing.expired(datetime.date(2025, 12, 31))
    shenzhen = load_programme("shenzhen-2024")
    assert not shenzhen.expired(datetime.date(2026, 12, 17))
    assert shenzhen.expired(datetime.date(2026, 12, 18))
    assert load_programme("hangzhou-2024").ends() is None  # unknown: never expired


def test_electricity_subsidies_are_domestic_only():
    gansu = load_programme("gansu-2025-electricity")
    assert gansu.rate_for(Spend.ELECTRICITY, domestic=True, small_firm=False).rate == 0.5
    with pytest.raises(Exception, match="domestic"):
        gansu.rate_for(Spend.ELECTRICITY, domestic=False, small_firm=False)


def test_staleness_warnings():
    assert staleness_warnings(load_programme("beijing-2023"), TODAY)
    assert not staleness_warnings(load_programme("shenzhen-2024"), TODAY)
    old = _rent(2.0, "USD", "2024-01-01", "on-demand")
    assert "days ago" in staleness_warnings(old, TODAY)[0]
    assert not staleness_warnings(load_profile("rtx-4090"), TODAY)


def test_check_catalogue_flags_expired_and_counts_unknowns():
    result = check_catalogue(TODAY)
    kinds = {f.kind for f in result.flags}
    assert "expired programme" in kinds
    assert sum(result.unknowns.values()) > 0
    assert result.counts["systems"] >= 4


def test_catalogue_check_cli_exit_codes():
    runner = CliRunner()
    result = runner.invoke(app, ["catalogue", "check", "--today", "2026-12-01"])
    assert result.exit_code == 0, result.output
    assert "expired programme" in result.output and "beijing-2023" in result.output
    strict = runner.invoke(app, ["catalogue", "check", "--today", "2026-12-01", "--strict"])
    assert strict.exit_code == 1
    bad = runner.invoke(app, ["catalogue", "check", "--today", "yesterday"])
    assert bad.exit_code == 1 and "--today" in bad.output


def test_an_unpriced_profile_says_where_its_price_was_looked_for():
    runner = CliRunner()
    shown = runner.invoke(app, ["profiles", "show", "ascend-910b"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert "Prices: none recorded. Searched: 2026-12-01" in shown.output
    check = runner.invoke(app, ["catalogue", "check", "--today", "2026-12-01"])
    assert "devices/ascend-910b: no rent and no purchase price (looked for:" in check.output


def test_costing_an_unpriced_profile_names_it_and_the_flags_that_give_a_price():
    runner = CliRunner()
    train = ["--train", "7e9:2e12", "--mfu", "0.4", "--subsidy", "hangzhou-2024"]
    result = runner.invoke(app, ["cost", *train, "--profile", "ascend-910b"])
    assert result.exit_code == 1
    line = result.output.strip()
    assert line.count("\n") == 0
    assert "ascend-910b has no rent in the catalogue" in line and "--price" in line


def test_a_catalogue_folder_is_listed_again_whenever_it_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Listings are kept per folder mtime (a report asks 2,600 times), never past a change."""
    globbed: list[Path] = []
    glob = paths._glob
    monkeypatch.setattr(paths, "_glob", lambda folder: globbed.append(folder) or glob(folder))
    folder = tmp_path / "devices"
    folder.mkdir()
    (folder / "a.toml").write_text("")
    assert list(paths.files("devices", (tmp_path,)))[:1] == ["a"]
    (folder / "b.toml").write_text("")  # within the mtime's tick: a young folder is not kept
    assert list(paths.files("devices", (tmp_path,)))[:2] == ["a", "b"]
    assert globbed.count(folder) == 2
    old = time.time_ns() - 60 * 10**9
    os.utime(folder, ns=(old, old))  # settled: listed once more, then kept
    for _ in range(3):
        assert list(paths.files("devices", (tmp_path,)))[:2] == ["a", "b"]
    assert globbed.count(folder) == 3
    (folder / "b.toml").unlink()
    (folder / "c.toml").write_text("")
    assert list(paths.files("devices", (tmp_path,)))[:2] == ["a", "c"]
