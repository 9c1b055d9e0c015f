"""An invalid serving point looks invalid wherever it is read, as an invalid result does: greyed
with a red verdict and its reason in the page, marked and footnoted in Markdown, a verdict column
in the csv, a greyed row with a red verdict in the workbook, a dim row with a red mark in the
terminal (`cost --serve`, serve-bench's table)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from factories import SERVING_SWEEP, point_result, serving_run
from rich.console import Console
from typer.testing import CliRunner

from subsidybench.cli import app
from subsidybench.report.display import INVALID_MARK
from subsidybench.results.record import save_run

PRICE = ["--price", "3.6", "--currency", "USD"]
REASON = "spread too wide"  # factories.point_result's reason for an invalid point


@pytest.fixture(scope="module")
def noisy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The four-point sweep with c=8 invalid."""
    path = tmp_path_factory.mktemp("serving") / "noisy.json"
    points = list(SERVING_SWEEP)
    points[3] = point_result(8, 4.0, 0.25, 0.5, valid=False)
    save_run(serving_run(*points), path)
    return path


@pytest.fixture(scope="module")
def out(noisy: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("report")
    args = ["report", str(noisy), *PRICE, "--tpot-ms", "250", "--out", str(folder)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return folder


def _section(text: str, start: str, end: str) -> str:
    body = text[text.index(start) :]
    return body[: body.index(end)]


def test_markdown_marks_the_row_and_footnotes_the_reason(out: Path) -> None:
    section = _section((out / "report.md").read_text(), "## Serving curve", "\n## ")
    rows = [line for line in section.splitlines() if line.startswith("| ") and "---" not in line]
    body = rows[1:]  # the header first
    assert len(body) == 4
    marked = [r for r in body if r.startswith(f"| {INVALID_MARK} ")]
    assert len(marked) == 1 and "| 8 |" in marked[0]
    assert "| invalid [1] | measured (invalid) |" in marked[0]
    assert all("| valid | measured |" in r for r in body if r not in marked)
    assert re.search(rf"\[1\] noisy: gpt_serve\[concurrency=8\]/bf16: invalid: {REASON}", section)
    assert "!" not in "".join(r.split("|")[3] for r in body)  # the old lone "!" is gone


def test_html_greys_the_row_and_badges_its_verdict(out: Path) -> None:
    section = _section((out / "report.html").read_text(), '<section class="serving">', "</section>")
    rows = re.findall(r"<tr[^>]*>.*?</tr>", section, re.S)[1:]
    invalid = [r for r in rows if r.startswith('<tr class="invalid"')]
    assert len(rows) == 4 and len(invalid) == 1
    row = invalid[0]
    assert f'title="invalid: {REASON}"' in row
    assert re.search(rf'<span class="badge-invalid" title="{REASON}">invalid \[1\]</span>', row)
    assert '<span class="basis b-invalid">measured (invalid)</span>' in row
    assert not any("badge-invalid" in r for r in rows if r not in invalid)


def test_csv_has_the_verdict_beside_valid(out: Path) -> None:
    table = pd.read_csv(out / "serving.csv")
    assert list(table["valid"]) == [True, True, True, False]
    assert list(table["verdict"][:3]) == ["valid"] * 3
    assert table["verdict"][3] == f"invalid: {REASON}"


def test_workbook_greys_the_row_and_reds_the_verdict(out: Path) -> None:
    from openpyxl import load_workbook

    ws = load_workbook(out / "report.xlsx")["Serving"]
    heads = [c.value for c in ws[1]]
    verdict, valid = heads.index("verdict") + 1, heads.index("valid") + 1
    for row in range(2, 6):
        cell = ws.cell(row=row, column=verdict)
        greyed = cell.fill.fgColor.rgb == "FFF1F1F1"
        if row == 5:  # c=8
            assert cell.value == f"invalid: {REASON}" and greyed
            assert cell.font.color.rgb == "FFB42318" and cell.font.bold
            assert ws.cell(row=row, column=valid).value is False
            assert ws.cell(row=row, column=2).font.color.rgb == "FF6B6B6B"
        else:
            assert cell.value == "valid" and not greyed


def test_cost_serve_dims_an_invalid_point_and_marks_it_red(noisy: Path) -> None:
    args = ["cost", "--serve", "1e6", "--run", str(noisy), *PRICE]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    curve = _section(result.stdout, "Serving curve:", "on the Pareto front")
    rows = [line for line in curve.splitlines() if line.count("│") > 3 and "users" not in line]
    assert [INVALID_MARK in line for line in rows] == [False, False, False, True]
    assert f"{INVALID_MARK} (dim row) invalid verdict" in result.stdout


def test_serve_bench_table_dims_an_invalid_point_and_keeps_its_reason() -> None:
    from subsidybench.report.endpoint_view import endpoint_table

    points = list(SERVING_SWEEP)
    points[1] = point_result(2, 1.0, 0.1, 0.08, valid=False)
    table, notes = endpoint_table(serving_run(*points))
    assert [r.style for r in table.rows] == [None, "dim", None, None]
    console = Console(record=True, width=200)
    console.print(table)
    text = console.export_text()
    assert f"{INVALID_MARK} invalid [1]" in text
    assert len(notes) == 1 and notes[0].startswith("[1] ") and notes[0].endswith(REASON)
