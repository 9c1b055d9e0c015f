"""A contract is money: its subsidy and net need no price; device-hours appear only with one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from subsidybench.cli import app

HANGZHOU = ["cost", "--contract", "40e6", "--currency", "CNY", "--subsidy", "hangzhou-2024"]
HANGZHOU += ["--domestic"]
SMALL_FIRM = ["cost", "--contract", "40e6", "--currency", "CNY"]
SMALL_FIRM += ["--subsidy", "shanghai-2025-compute", "--small-firm"]


def _answer(tmp_path: Path, *args: str) -> tuple[str, dict]:  # type: ignore[type-arg]
    out = tmp_path / "a.json"
    result = CliRunner().invoke(app, [*args, "--json", str(out)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.stdout, json.loads(out.read_text())


def test_a_contract_needs_no_price(tmp_path: Path) -> None:
    # Hangzhou: 30% for domestic chips, capped at 8M CNY a firm: 40M pays 8M, effective 20%.
    out, doc = _answer(tmp_path, *HANGZHOU)
    assert doc["gross"] == 40e6 and doc["net"] == 32e6 and doc["currency"] == "CNY"
    assert doc["subsidy"]["amount"] == 8e6 and doc["subsidy"]["effective_rate"] == 0.2
    assert doc["subsidy"]["cap_binds"] is True
    assert doc["device_hours"] is None and doc["price_per_device_hour"] is None
    assert "device-hours" not in out and "wall time" not in out
    # A price adds the device-hours it buys, and changes nothing else.
    _, priced = _answer(tmp_path, *HANGZHOU, "--price", "10")
    assert priced["device_hours"] == 4e6
    assert (priced["gross"], priced["net"], priced["subsidy"]["amount"]) == (40e6, 32e6, 8e6)


def test_a_contract_needs_its_currency() -> None:
    result = CliRunner().invoke(app, ["cost", "--contract", "40e6", "--subsidy", "hangzhou-2024"])
    assert result.exit_code == 1
    assert (
        result.stderr.strip() == "error: --contract: give the contract's currency (--currency CNY)"
    )


def test_a_time_windowed_rate_needs_only_the_duration(tmp_path: Path) -> None:
    runner = CliRunner()
    for extra in ([], ["--devices", "8"]):
        result = runner.invoke(app, [*SMALL_FIRM, *extra])
        assert result.exit_code == 1
        # The one input that answers it, named first; --devices cannot tell it without a price.
        assert "give --duration DAYS (with no price, --devices cannot tell it)" in result.stderr
    _, doc = _answer(tmp_path, *SMALL_FIRM, "--duration", "400")
    # 100% for the first 8,766 h of 9,600 h, 30% after: (8766 + 0.3 x 834) / 9600 of 40M.
    share = (8766 + 0.3 * 834) / 9600
    assert doc["subsidy"]["amount"] == pytest.approx(40e6 * share)
    assert doc["device_hours"] is None
    priced = runner.invoke(app, [*SMALL_FIRM, "--price", "10"])
    assert priced.exit_code == 1
    assert "give --duration DAYS, or --devices" in priced.stderr


def test_a_contract_sweeps_and_ranges_without_a_price(tmp_path: Path) -> None:
    _, doc = _answer(tmp_path, *HANGZHOU[:2], "30e6:50e6:10e6", *HANGZHOU[3:])
    assert [r["net"] for r in doc["rows"]] == [22e6, 32e6, 42e6]
    assert "device_hours" not in doc["rows"][0] and "effective_price" not in doc["rows"][0]
    _, doc = _answer(tmp_path, *HANGZHOU[:2], "30e6~50e6", *HANGZHOU[3:])
    net = doc["ranges"]["figures"]["net"]
    assert 22e6 <= net["p10"] <= net["p50"] <= net["p90"] <= 42e6
    assert "device_hours" not in doc["ranges"]["figures"]
