"""Subsidy programmes: every built-in file loads and states its sources; bad files fail with
the file and field named; the rate rules pick the right rate."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from subsidybench.catalogue.subsidies import (
    HOURS_PER_MONTH,
    Spend,
    TermState,
    list_programmes,
    load_programme,
)
from subsidybench.cost.inputs import flag_of
from subsidybench.errors import UserError

BUILT_IN = {
    "shanghai-2025-compute",
    "shanghai-2025-model",
    "shanghai-2025-corpus",
    "beijing-2023",
    "hangzhou-2024",
    "shenzhen-2024",
    "chengdu-2023",
    "chengdu-2025",
    "henan-2025",
}

MINIMAL = """
name = "Test programme"
region = "Testville"
issuer = "Test bureau"
document = "Test measures"
issued = "2025-01-01"
valid_from = "2025-01-01"
valid_until = "unknown"
currency = "CNY"
eligible = ["compute-rent"]
excluded = []
pool = 1_000_000
pool_period = "per-year"
payment = "after-settlement"
payment_lag_months = 6
stacking = "unknown"
notes = []

[rates]
base = 0.25
domestic = 0.35
small_firm = "none"
small_firm_months = "none"

[caps]
per_contract = "unknown"
per_firm_year = 100_000

[[sources]]
url = "https://example.org/measures"
title = "Test measures"
published = "2025-01-02"
says = "25%; 35% domestic; 100,000 per firm per year"
"""


def write_programme(root: Path, name: str, text: str) -> Path:
    path = root / "subsidies" / f"{name}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_every_built_in_programme_loads_with_sources() -> None:
    programmes = {p.id: p for p in list_programmes()}
    assert set(programmes) >= BUILT_IN
    for p in programmes.values():
        assert p.sources, p.id
        assert all(s.url.startswith(("http://", "https://")) for s in p.sources), p.id
        for term in (p.rates.base, p.rates.domestic, p.rates.small_firm):
            assert term.value is None or 0 < term.value <= 1, p.id


def test_built_in_figures_match_their_sources() -> None:
    # Figures checked against the sources cited in each file.
    sh = load_programme("shanghai-2025-compute")
    assert (sh.pool.value, sh.rates.base.value, sh.rates.small_firm.value) == (6e8, 0.3, 1.0)
    assert sh.rates.small_firm_months.value == 12
    bj = load_programme("beijing-2023")
    assert (bj.rates.base.value, bj.caps.per_firm_year.value) == (0.2, 2e6)
    assert bj.pool.state is TermState.UNKNOWN  # the notice gives no pool
    hz = load_programme("hangzhou-2024")
    assert (hz.rates.domestic.value, hz.rates.base.value, hz.caps.per_firm_year.value) == (
        0.3,
        0.2,
        8e6,
    )
    assert load_programme("shenzhen-2024").rates.small_firm.value == 0.6
    assert load_programme("henan-2025").caps.per_firm_year.value == 1e6


def test_unknown_field_is_rejected_with_file_and_field(tmp_path: Path) -> None:
    path = write_programme(tmp_path, "typo", MINIMAL.replace("stacking =", "stackin ="))
    with pytest.raises(UserError, match=r"typo\.toml: stackin: unknown field"):
        load_programme(str(path))


def test_bad_term_names_the_field(tmp_path: Path) -> None:
    path = write_programme(tmp_path, "bad", MINIMAL.replace("base = 0.25", 'base = "lots"'))
    with pytest.raises(UserError, match=r"bad\.toml: rates\.base: expected a number"):
        load_programme(str(path))
    path = write_programme(tmp_path, "big", MINIMAL.replace("base = 0.25", "base = 25"))
    with pytest.raises(UserError, match=r"big\.toml: rates\.base: 25.0 is out of range"):
        load_programme(str(path))


def test_a_programme_without_sources_is_refused(tmp_path: Path) -> None:
    text = MINIMAL[: MINIMAL.index("[[sources]]")]
    path = write_programme(tmp_path, "nosource", text)
    with pytest.raises(UserError, match=r"nosource\.toml: sources"):
        load_programme(str(path))


def test_user_directory_is_searched_first(tmp_path: Path) -> None:
    write_programme(tmp_path, "beijing-2023", MINIMAL)
    p = load_programme("beijing-2023", [tmp_path])
    assert p.region == "Testville"
    assert p.payment_lag_months.value == 6


def test_domestic_rate_only_for_domestic_chips(tmp_path: Path) -> None:
    p = load_programme("hangzhou-2024")
    assert p.rate_for(Spend.COMPUTE_RENT, domestic=True, small_firm=False).rate == 0.3
    assert p.rate_for(Spend.COMPUTE_RENT, domestic=False, small_firm=False).rate == 0.2
    assert p.rate_for(Spend.MODEL_SERVICES, domestic=False, small_firm=False).rate == 0.3


def test_small_firm_rate_lasts_its_window_then_base() -> None:
    rule = load_programme("shanghai-2025-compute").rate_for(
        Spend.COMPUTE_RENT, domestic=False, small_firm=True
    )
    assert rule.rate == 1.0
    assert rule.after_rate == 0.3
    assert rule.window_hours == pytest.approx(12 * HOURS_PER_MONTH)
    assert rule.window_hours == pytest.approx(365.25 * 24)


def test_rules_refuse_what_a_programme_does_not_pay() -> None:
    sh = load_programme("shanghai-2025-compute")
    with pytest.raises(UserError, match="only for domestic chips"):
        sh.rate_for(Spend.COMPUTE_BUILD, domestic=False, small_firm=False)
    assert sh.rate_for(Spend.COMPUTE_BUILD, domestic=True, small_firm=False).rate == 0.1
    with pytest.raises(UserError, match="does not pay towards datasets"):
        sh.rate_for(Spend.DATASETS, domestic=False, small_firm=False)
    with pytest.raises(UserError, match="no rule for small"):
        load_programme("beijing-2023").rate_for(Spend.COMPUTE_RENT, domestic=False, small_firm=True)


def test_unknown_rate_asks_for_rate() -> None:
    p = load_programme("chengdu-2023")
    with pytest.raises(UserError, match=r"rates\.base is unknown") as caught:
        p.rate_for(Spend.COMPUTE_RENT, domestic=False, small_firm=False)
    # The input, named for each front end to say: the CLI's --rate, the page's rate field.
    assert caught.value.inputs == ("rate",)
    assert caught.value.say(flag_of).endswith("give --rate")


def test_to_dict_keeps_unknowns_as_words() -> None:
    d = load_programme("shanghai-2025-compute").to_dict()
    assert d["caps"]["per_contract"] == "unknown"
    assert d["rates"]["domestic"] == "none"
    assert d["pool"] == 6e8
    assert not math.isnan(d["rates"]["base"])
