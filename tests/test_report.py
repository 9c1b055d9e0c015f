"""Reports: the files written, a self-contained HTML page, Markdown content, a readable workbook,
costs that follow from the run and the price, and a golden rendering of a committed run file."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from subsidybench.cli import app
from subsidybench.report import ReportOptions, build_report, label_runs, parse_price
from subsidybench.report.render_html import external_references
from subsidybench.report.render_md import render_markdown

DATA = Path(__file__).parent / "data"
GOLDEN_RUN = DATA / "run-v1.json"
GOLDEN_MD = DATA / "run-v1.report.md"
SHEETS = [
    "About",
    "Answer",
    "Runs",
    "Results",
    "Utilisation",
    "Costs",
    "Ranges",
    "Sweep",
    "Assumptions",
]


def _report(*args: str, out: Path) -> str:
    result = CliRunner().invoke(app, ["report", *args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_files_written(run_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "rep"
    stdout = _report(str(run_file), "--price", "2", "--currency", "USD", out=out)
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        [
            "report.md",
            "report.html",
            "report.xlsx",
            *(f"{t}.csv" for t in ("answer", "runs", "results", "utilisation", "costs")),
            "ranges.csv",
            "sweep.csv",
            "assumptions.csv",
        ]
    )
    assert f"wrote {out / 'report.html'}" in stdout


def test_html_is_self_contained(run_file: Path, tmp_path: Path) -> None:
    _report(str(run_file), "--price", "2", "--currency", "USD", out=tmp_path)
    page = (tmp_path / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert external_references(page) == []
    for tag in ("<script", "<link", "<img", "<iframe", "<?xml", "<metadata"):
        assert tag not in page
    # Throughput, cost, tornado (the measured rate's bootstrap) and sweep charts, inline (no
    # peak known, no pure data movement).
    assert page.count("<svg") == 4
    for chart in ("throughput", "cost", "tornado", "sweep"):
        assert f'<figure id="chart-{chart}">' in page
    assert "<style>" in page


@pytest.mark.parametrize(
    "snippet",
    [
        '<img src="https://example.com/a.png">',
        "<link href='//cdn.example.com/x.css'>",
        "<style>@import 'x.css';</style>",
        "<div style=\"background: url( 'http://x/y.png')\">",
        '<use xlink:href="http://example.com/s.svg#a"/>',
    ],
)
def test_external_references_are_found(snippet: str) -> None:
    assert external_references(f"<html><body>{snippet}</body></html>")


def test_markdown_content(run_file: Path, tmp_path: Path) -> None:
    _report(str(run_file), "--price", "2", "--currency", "USD", out=tmp_path)
    md = (tmp_path / "report.md").read_text()
    assert md.index("\n## The answer\n") < md.index("Every figure says what it rests on")
    for heading in (
        "## The answer",
        "## Runs",
        "## Results",
        "## Utilisation",
        "## Cost per unit of work",
        "## Subsidy-rate sweep",
        "## Assumptions",
    ):
        assert f"\n{heading}\n" in md
    lines = md.splitlines()
    gemm = next(line for line in lines if line.startswith("| run | gemm-bf16 | bf16 | 10 ms"))
    assert "400 TFLOP/s" in gemm and "| valid | measured |" in gemm
    # An invalid row is marked before its first cell and says so in its verdict and basis.
    noisy = next(line for line in lines if line.startswith("| ✗ run | noisy-bf16 |"))
    assert "| invalid [" in noisy and "| measured (invalid) |" in noisy
    assert any(
        line.startswith("| run | conv-fp8 | fp8 |") and "skipped [" in line for line in lines
    )
    assert "conv-fp8: skipped: fp8 not supported" in md
    # 2 USD an hour at 400 TFLOP/s (0.4 PFLOP-hours an hour): 5.00 USD per PFLOP-hour.
    cost = next(line for line in lines if line.startswith("| run | gemm-bf16 | 400 (measured) |"))
    assert "| 2.00 (given by hand) | 0% (no subsidy) | 2.00 | 5.00 | 5.00 | - |" in cost
    # lm-bf16: 2,000 tokens/s is 7.2M tokens an hour: 2 / 7.2 = 0.2778 USD per million.
    lm = next(line for line in lines if line.startswith("| run | lm-bf16 | 84 (measured) |"))
    assert lm.endswith("| 0.2778 |")
    assert "| 100% | 0.00 |" in md  # the sweep reaches a 100% subsidy
    assert "| run | price | 2 USD per device-hour (rent) | given by hand | --price 2 USD |" in md
    assert "run: not costed, their verdict is invalid: noisy-bf16" in md


def test_workbook_sheets(run_file: Path, tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    import pandas as pd

    _report(str(run_file), "--price", "2", "--currency", "USD", out=tmp_path)
    book = openpyxl.load_workbook(tmp_path / "report.xlsx")
    # The tables, then one live cost sheet per run's reference result (test_live_workbook).
    assert book.sheetnames == [*SHEETS, "Live cost 1"]
    costs = pd.read_excel(tmp_path / "report.xlsx", sheet_name="Costs")
    gemm = costs[costs["workload"] == "gemm-bf16"].iloc[0]
    assert gemm["net per PFLOP-hour"] == pytest.approx(5.0)  # a number, not text
    assumptions = pd.read_excel(tmp_path / "report.xlsx", sheet_name="Assumptions")
    assert {"applies to", "name", "value", "basis", "source"} <= set(assumptions.columns)
    assert (assumptions["basis"] == "measured").any()


def test_programme_and_exchange_rate(run_file: Path, tmp_path: Path) -> None:
    import pandas as pd

    _report(
        str(run_file),
        "--price",
        "2",
        "--currency",
        "USD",
        "--subsidy",
        "shanghai-2025-compute",
        "--fx",
        "7",
        out=tmp_path,
    )
    costs = pd.read_csv(tmp_path / "costs.csv")
    gemm = costs[costs["id"] == "gemm-bf16"].iloc[0]
    # 2 USD x 7 = 14 CNY an hour, 30% off (Shanghai's compute rate) = 9.8 / 0.4 PFLOP-hours.
    assert gemm["currency"] == "CNY" and gemm["subsidy_rate"] == pytest.approx(0.3)
    assert gemm["net_per_pflop_hour"] == pytest.approx(24.5)
    sweep = pd.read_csv(tmp_path / "sweep.csv")
    assert list(sweep["rate"]) == pytest.approx([i / 10 for i in range(11)])
    assert set(sweep["id"]) == {"gemm-bf16"}  # the fastest valid matmul-like result
    assumptions = pd.read_csv(tmp_path / "assumptions.csv")
    fx = assumptions[assumptions["name"] == "exchange rate"].iloc[0]
    assert (fx["basis"], fx["source"]) == ("given by hand", "--fx")
    assert "shanghai-2025-compute" in (tmp_path / "report.md").read_text()


def test_without_a_price_there_is_no_cost(run_file: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["report", str(run_file), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "note: run: not costed: no profile; give --price run=AMOUNT" in result.stderr
    md = (tmp_path / "report.md").read_text()
    assert "## Cost per unit of work" not in md
    # The reason is the answer, at the top, not a line at the bottom of the page.
    top = md[: md.index("## Runs")]
    assert "Nothing in this report is costed: run: not costed: no price known" in top
    assert not (tmp_path / "costs.csv").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--price", "nosuch=2", "--currency", "USD"], "error: --price nosuch=...: no run"),
        (["--price", "2"], "error: --price needs --currency"),
        (["--price", "-2", "--currency", "USD"], "error: --price: -2.0 is out of range"),
        (["--rates", "0:2:0.5"], "error: --rates: 1.5 is out of range: must be in [0, 1]"),
        (["--small-firm"], "error: --small-firm needs --subsidy"),
    ],
)
def test_bad_options_are_one_line(
    run_file: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    result = CliRunner().invoke(app, ["report", str(run_file), "--out", str(tmp_path), *args])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[0].startswith(message)


def _golden_markdown() -> str:
    (run,) = label_runs([GOLDEN_RUN])
    options = ReportOptions(prices=(parse_price("1.5", "USD"),))
    report = build_report([run], options, generated="2026-01-01T00:00:00+00:00")
    # The version is the toolkit's, not the file's: pinned so a release does not move the golden.
    return render_markdown(dataclasses.replace(report, toolkit_version="X.Y.Z"))


def test_golden_markdown() -> None:
    """The committed run file renders to the committed report. After a deliberate change of the
    report's text, regenerate with SUBSIDYBENCH_UPDATE_GOLDEN=1 and review the diff."""
    text = _golden_markdown()
    if os.environ.get("SUBSIDYBENCH_UPDATE_GOLDEN"):
        GOLDEN_MD.write_text(text)
    assert text == GOLDEN_MD.read_text()


def test_report_path_does_not_import_torch(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from subsidybench.cli import app\n"
        "from typer.testing import CliRunner\n"
        f"r = CliRunner().invoke(app, ['report', {str(GOLDEN_RUN)!r}, '--price', '1',"
        f" '--currency', 'USD', '--out', {str(tmp_path)!r}])\n"
        "assert r.exit_code == 0, r.output\n"
        f"r = CliRunner().invoke(app, ['compare', {str(GOLDEN_RUN)!r}, {str(GOLDEN_RUN)!r}])\n"
        "assert r.exit_code == 0, r.output\n"
        f"r = CliRunner().invoke(app, ['ingest', {str(DATA / 'pytest-benchmark-ci.json')!r},"
        f" '--out', {str(tmp_path / 'ci.json')!r}])\n"
        "assert r.exit_code == 0, r.output\n"
        "print('torch' in sys.modules)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
    assert (tmp_path / "report.html").exists()


@pytest.mark.parametrize("command", ["report", "compare", "ingest"])
def test_help(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"])
    assert result.exit_code == 0 and "Usage" in result.stdout


def test_profile_rent_is_the_default_price(run_file: Path, tmp_path: Path) -> None:
    import pandas as pd

    from subsidybench.catalogue.profiles import load_profile
    from subsidybench.results.record import load_run, save_run

    path = tmp_path / "h100.json"
    save_run(dataclasses.replace(load_run(run_file), profile="h100-sxm"), path)
    _report(str(path), out=tmp_path / "rep")
    rent = load_profile("h100-sxm").rent_per_hour()
    assert rent is not None
    costs = pd.read_csv(tmp_path / "rep" / "costs.csv")
    gemm = costs[costs["id"] == "gemm-bf16"].iloc[0]
    assert gemm["price_per_hour"] == pytest.approx(rent.amount)
    assert gemm["price_basis"] == rent.basis.value and gemm["currency"] == rent.currency
    assumptions = pd.read_csv(tmp_path / "rep" / "assumptions.csv")
    price = assumptions[assumptions["name"] == "price"].iloc[0]
    assert price["source"].startswith("h100-sxm rent us-") and rent.date in price["source"]


def test_the_runs_table_gives_the_machines_own_spread(run_file: Path, tmp_path: Path) -> None:
    from subsidybench.results.record import Reference, load_run, save_run
    from subsidybench.timing import Measurement

    steady = Measurement(
        (1.0, 1.0, 1.2, 1.2, 1.0, 1.0), 4, 3, 0.02, True, rounds=(0, 0, 1, 1, 2, 2)
    )
    with_ref = tmp_path / "with.json"
    save_run(
        dataclasses.replace(load_run(run_file), reference=Reference("fp32 mm", steady)), with_ref
    )
    _report(str(run_file), str(with_ref), out=tmp_path / "r")
    runs = (tmp_path / "r" / "runs.csv").read_text().splitlines()
    assert "machine_spread" in runs[0] and "machine_round_spread" in runs[0]
    md = (tmp_path / "r" / "report.md").read_text()
    assert "machine spread (in / across rounds)" in md
    assert "| - / - |" in md  # the run that took no reference
    assert "| 15.0% / 20.0% |" in md  # IQR 0.15 over median 1.0; round medians 1.0 and 1.2


def test_a_title_of_many_runs_says_how_many(run_file: Path, tmp_path: Path) -> None:
    """Forty run names made a heading of six lines: of more than seven, the first, the last and
    how many; up to seven, every name."""
    import shutil

    paths = []
    for i in range(1, 9):
        paths.append(tmp_path / f"run-{i:02d}.json")
        shutil.copyfile(run_file, paths[-1])
    _report(*map(str, paths), out=tmp_path / "many")
    heading = (tmp_path / "many" / "report.md").read_text().splitlines()[0]
    assert heading == "# subsidybench report: 8 runs, run-01 to run-08"
    _report(*map(str, paths[:7]), out=tmp_path / "seven")
    heading = (tmp_path / "seven" / "report.md").read_text().splitlines()[0]
    assert heading == "# subsidybench report: " + ", ".join(p.stem for p in paths[:7])
