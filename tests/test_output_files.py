"""Files asked for are written whatever happens to stdout, and each one is announced."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from subsidybench.cli import app

DATA = Path(__file__).parent / "data"
SRC = Path(__file__).parents[1] / "src"


def _closed_stdout(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the command with a stdout whose reader has gone (`| head` after it stopped reading):
    the read end is closed before the command starts, so its first write meets EPIPE."""
    read, write = os.pipe()
    os.close(read)
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    try:
        return subprocess.run(
            [sys.executable, "-m", "subsidybench", *args],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            timeout=120,
        )
    finally:
        os.close(write)


def test_cost_writes_every_file_to_a_closed_pipe_and_exits_0(tmp_path: Path) -> None:
    files = {flag: tmp_path / f"a.{flag[2:]}" for flag in ("--json", "--csv", "--xlsx")}
    flags = [x for flag, path in files.items() for x in (flag, str(path))]
    done = _closed_stdout("cost", "--hours", "1000", "--price", "2", "--currency", "USD", *flags)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "Broken pipe" not in done.stderr
    for path in files.values():
        assert path.is_file() and path.stat().st_size > 0
        assert f"wrote {path}" in done.stderr
    assert json.loads(files["--json"].read_text())["gross"] == pytest.approx(2000)


def test_accept_keeps_its_verdict_status_on_a_closed_pipe(tmp_path: Path) -> None:
    contract = tmp_path / "c.toml"
    contract.write_text("contract = 'x'\n[[clause]]\nfigure = 'matmul_tflops'\ndtype = 'fp32'\n")
    contract.write_text(contract.read_text() + "min = 1000\n")
    out = tmp_path / "v.json"
    done = _closed_stdout(
        "accept", str(contract), str(DATA / "ci-v3-quiet-run.json"), "--json", str(out)
    )
    assert done.returncode == 3, done.stderr  # not accepted: a closed pipe must not turn it into 0
    assert json.loads(out.read_text())["accepted"] is False
    assert f"wrote {out}" in done.stderr and "Traceback" not in done.stderr


def test_cost_xlsx_without_openpyxl_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "openpyxl", None)  # import openpyxl now raises ImportError
    out = tmp_path / "a.xlsx"
    args = ["cost", "--hours", "10", "--price", "2", "--currency", "USD", "--xlsx", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "error: --xlsx needs openpyxl, which is not installed: pip install 'subsidybench[report]'"
    )
    assert not out.exists()


def test_cost_xlsx_is_refused_where_it_would_be_dropped(tmp_path: Path) -> None:
    args = ["cost", "--hours", "10:20:10", "--price", "2", "--currency", "USD"]
    result = CliRunner().invoke(app, [*args, "--xlsx", str(tmp_path / "a.xlsx")])
    assert result.exit_code == 1
    assert "--xlsx writes one answer's live workbook; a sweep has none" in result.stderr
