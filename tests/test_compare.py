"""Comparison files: the same job on several devices, ranked by net cost per unit of work."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from subsidybench.cli import app
from subsidybench.cost.options import load_options
from subsidybench.errors import UserError

OPTIONS = """
[[option]]
label = "fast and dear"
price = 2.5
currency = "USD"
tflops = 400
subsidy = "shanghai-2025-compute"

[[option]]
label = "slow and cheap"
price = 9.0
currency = "CNY"
mfu = 0.35
peak_tflops = 320
domestic = true
subsidy = "hangzhou-2024"

[[option]]
label = "measured"
price = 12.0
currency = "CNY"
run = "run.json"
workload = "gemm-bf16"
"""


def test_ranking_by_net_cost_per_pflop_hour(tmp_path: Path, run_file: Path) -> None:
    path = run_file.parent / "options.toml"
    path.write_text(OPTIONS)
    out_json = tmp_path / "ranked.json"
    result = CliRunner().invoke(
        app,
        [
            "cost",
            "--train",
            "7e9:2e12",
            "--compare",
            str(path),
            "--in",
            "CNY",
            "--fx",
            "7.2",
            "--json",
            str(out_json),
        ],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    ranked = json.loads(out_json.read_text())["ranked"]
    # Per PFLOP-hour of work (an hour at 1 TFLOP/s is 0.001 PFLOP-hours):
    #   fast and dear: 2.5 x 7.2 = 18 CNY/h x 70% = 12.6 / 0.4 PFLOP-h = 31.5
    #   measured (400 TFLOP/s from the run, no subsidy): 12 / 0.4 = 30.0
    #   slow and cheap: 9 x 70% (domestic, Hangzhou) = 6.3 / (0.35 x 0.32) = 56.25
    assert [r["label"] for r in ranked] == ["measured", "fast and dear", "slow and cheap"]
    assert [r["net_per_pflop_hour"] for r in ranked] == pytest.approx([30.0, 31.5, 56.25])
    assert "measured: run" in result.stdout


def test_file_errors_name_file_and_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[[option]]\nlabel = "x"\nprice = 1\ncurrency = "CNY"\ntflop = 3\n')
    with pytest.raises(UserError, match=r"bad\.toml: option\[0\]\.tflop: unknown field"):
        load_options(path)
    path.write_text('[[option]]\nlabel = "x"\nprice = 1\ncurrency = "CNY"\n')
    with pytest.raises(UserError, match=r"bad\.toml: option\[0\]: give one throughput"):
        load_options(path)
    path.write_text('[[option]]\nlabel = "x"\nprice = 1\ntflops = 3\n')
    with pytest.raises(UserError, match="needs its currency"):
        load_options(path)


def test_compare_refuses_device_flags(tmp_path: Path) -> None:
    path = tmp_path / "o.toml"
    path.write_text(OPTIONS)
    result = CliRunner().invoke(
        app, ["cost", "--train", "7e9:2e12", "--compare", str(path), "--price", "3"]
    )
    assert result.exit_code == 1
    assert "drop --price" in result.stderr
