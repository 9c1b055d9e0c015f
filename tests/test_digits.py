"""Small answers keep their digits: significant figures, never a fixed number of decimals."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from subsidybench.cli import app
from subsidybench.digits import figure, money, share


@pytest.mark.parametrize(
    ("value", "as_figure", "as_money", "as_share"),
    [
        (0.0, "0", "0.00", "0.0%"),
        (1_023_392.4, "1,023,392", "1,023,392.40", "102,339,240.0%"),
        (9.0636, "9.064", "9.06", "906.4%"),
        (0.013118, "0.01312", "0.01312", "1.3%"),
        (58_333 / 1e8, "0.0005833", "0.0005833", "0.0583%"),
        (1.2e-9, "1.200e-09", "1.200e-09", "1.20e-07%"),
    ],
)
def test_significant_figures(value: float, as_figure: str, as_money: str, as_share: str) -> None:
    assert (figure(value), money(value), share(value)) == (as_figure, as_money, as_share)


PRICE = ["--price", "4", "--currency", "USD"]


def _out(*args: str) -> str:
    result = CliRunner().invoke(app, ["cost", *args], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.stdout


def test_a_small_job_keeps_its_digits() -> None:
    out = _out("--serve", "1e6", "--params", "7e9", "--tflops", "296.82", *PRICE)
    # 1e6 tokens x 1.4e10 FLOPs / 296.82e12 FLOP/s = 47.17 s = 0.0131 h = 0.000546 days.
    assert "0.0005459 days (0.0131 h)" in out
    assert re.search(r"device-hours\s+│\s+0\.0131 ", out)
    assert "0.000162 PFLOP-days" in out
    assert "0.00 " not in out and "(0.0 h)" not in out


def test_units_yi_keeps_a_small_amount() -> None:
    out = _out("--hours", "14620", "--price", "3.99", "--currency", "USD", "--units", "yi")
    assert "0.0005833 x10^8 USD" in out  # 58,333.80 USD, not "0.00"
    zh = _out(
        "--hours", "14620", "--price", "3.99", "--currency", "USD", "--units", "yi", "--lang", "zh"
    )
    assert "0.0005833 亿美元" in zh
