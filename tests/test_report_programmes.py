"""Every shipped programme can be reported on (issue: `report --subsidy shanghai-2025-compute
--small-firm` once asked for flags `report` did not take): one `report` per programme, with the
flags its terms need (a rate where its sources state none, the days a timed rate needs)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from subsidybench.catalogue.subsidies import load_programme
from subsidybench.cli import app

SUBSIDIES = Path(__file__).parents[1] / "profiles" / "subsidies"
PROGRAMMES = sorted(p.stem for p in SUBSIDIES.glob("*.toml"))


def test_programmes_are_found() -> None:
    assert len(PROGRAMMES) >= 20 and "shanghai-2025-compute" in PROGRAMMES


@pytest.mark.parametrize("pid", PROGRAMMES)
def test_every_programme_is_reportable(pid: str, run_file: Path, tmp_path: Path) -> None:
    programme = load_programme(pid, ())
    args = ["report", str(run_file), "--out", str(tmp_path), "--subsidy", pid]
    args += ["--price", "2.5", "--currency", programme.currency, "--duration", "365"]
    if not programme.rates.base.stated:
        args += ["--rate", "0.2"]  # the error names --rate: the sources state no rate
    if programme.rates.small_firm.stated:
        args.append("--small-firm")
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    answer = md[md.index("## The answer") : md.index("## Runs")]
    row = next(line for line in answer.splitlines() if line.startswith("| run |"))
    if "compute-rent" in programme.eligible:
        assert "## Cost per unit of work" in md and f"[{pid}]" in md
        assert f" {programme.currency} " in answer or programme.currency in row
    else:  # costed without it, and said so at the top
        assert f"programme {pid} pays towards" in row and "| 0% |" in row


def test_shanghai_small_firm_for_a_year(run_file: Path, tmp_path: Path) -> None:
    """The command that was a dead end: the small-firm rate (100% for 12 months) over a job of
    365 days pays the whole rent; over 730 days, half of it at the base rate of 30%."""
    rows = {}
    for days in ("365", "730"):
        out = tmp_path / days
        args = ["report", str(run_file), "--out", str(out), "--subsidy", "shanghai-2025-compute"]
        args += ["--small-firm", "--price", "2.5", "--currency", "USD", "--duration", days]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        md = (out / "report.md").read_text(encoding="utf-8")
        rows[days] = next(line for line in md.splitlines() if line.startswith("| run |"))
    assert "| 100% |" in rows["365"]
    assert "the rate granted may be lower" in rows["365"]  # every stated rate is a maximum
    assert "| 65% |" in rows["730"]  # 365.25 of 730 days at 100%, the rest at 30%


def test_duration_out_of_range_is_one_line(run_file: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["report", str(run_file), "--out", str(tmp_path), "--duration", "0"]
    )
    assert result.exit_code == 2
    assert "--duration" in result.output and "Traceback" not in result.output


def _report_flags() -> set[str]:
    import typer.main

    from subsidybench.cli.report import app as report_app

    report = typer.main.get_command(report_app)
    return {flag for p in report.params for flag in p.opts if flag.startswith("--")}


@pytest.mark.parametrize("small_firm", [False, True])
def test_a_refusal_names_only_flags_report_takes(
    small_firm: bool, run_file: Path, tmp_path: Path
) -> None:
    """Asked with the fewest flags, a programme that needs more says which: only flags `report`
    has (it once offered --devices, a flag of `cost`, a dead end)."""
    import re

    flags = _report_flags()
    refused = 0
    for pid in PROGRAMMES:
        args = ["report", str(run_file), "--out", str(tmp_path), "--subsidy", pid]
        args += ["--price", "2.5", "--currency", "USD"] + (["--small-firm"] if small_firm else [])
        result = CliRunner().invoke(app, args)
        if result.exit_code == 0:
            continue
        refused += 1
        named = set(re.findall(r"--[a-z][a-z-]*", result.output))
        assert named and named <= flags, (pid, result.output)
    assert refused  # the timed rates and the programmes with no stated rate
