"""Tables at 80 columns: columns by priority, no word broken, what was dropped is said; lists
and comparisons as CSV and JSON."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from subsidybench.catalogue.subsidies import list_programmes
from subsidybench.cli import app
from subsidybench.report.listing import Column, fit

RUN = str(Path(__file__).parent / "data" / "ci-v3-quiet-run.json")


def _invoke(*args: str, columns: int = 80) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": str(columns)})
    return result.exit_code, result.stdout, result.stderr


def _words_intact(out: str, words: list[str]) -> list[str]:
    """The words not found whole on any one line of `out`."""
    lines = out.splitlines()
    return [w for w in words if not any(w in line for line in lines)]


def test_fit_keeps_words_whole_and_says_what_it_dropped() -> None:
    columns = [Column("a", "name"), Column("b", "region", 2), Column("c", "notes", 1)]
    rows = [
        {"a": "inner-mongolia-2025-electricity", "b": "Guangzhou Haizhu District", "c": "x"},
        {"a": "beijing-2023", "b": "Beijing", "c": "2023-10-01 one two three four five six"},
    ]
    for width, dropped in ((80, []), (50, ["region"]), (36, ["region", "notes"])):
        table, gone = fit(columns, rows, width)
        console = Console(width=width, record=True, file=io.StringIO())
        console.print(table)
        out = console.export_text()
        assert gone == dropped
        assert all(len(line) <= width for line in out.splitlines())
        kept = [c.key for c in columns if c.header not in gone]
        words = [w for r in rows for k in kept for w in r[k].split()]
        assert not _words_intact(out, words), _words_intact(out, words)


def test_subsidies_list_fits_80_columns() -> None:
    code, out, _ = _invoke("subsidies", "list")
    assert code == 0
    lines = out.splitlines()
    assert max(map(len, lines)) <= 80
    assert len(lines) < 80  # was 288 lines with words broken ("Bei jin g", "202 3-1 0")
    ids = [p.id for p in list_programmes()]
    assert not _words_intact(out, ids)
    assert "not shown at 80 columns: issued, pool, pays towards, cap/contract, region" in out
    code, wide, _ = _invoke("subsidies", "list", columns=300)
    assert "not shown" not in wide and "Beijing" in wide


def test_profiles_list_fits_80_columns() -> None:
    code, out, _ = _invoke("profiles", "list")
    assert code == 0
    assert max(map(len, out.splitlines())) <= 80
    assert "not shown at 80 columns:" in out and "h100-sxm" in out


@pytest.mark.parametrize("command", [["subsidies", "list"], ["profiles", "list"]])
def test_lists_as_csv_and_json(tmp_path: Path, command: list[str]) -> None:
    files = [tmp_path / "l.csv", tmp_path / "l.json"]
    code, _, err = _invoke(*command, "--csv", str(files[0]), "--json", str(files[1]))
    assert code == 0, err
    rows = list(csv.DictReader(files[0].open()))
    doc = json.loads(files[1].read_text())
    assert len(rows) == len(doc) > 5 and rows[0]["id"] == doc[0]["id"]
    assert f"wrote {files[0]}" in err and f"wrote {files[1]}" in err
    code, printed, _ = _invoke(*command, "--json", "-")
    assert code == 0 and json.loads(printed) == doc  # '-': the records instead of the table


def test_subsidies_valid_on_a_date() -> None:
    code, out, _ = _invoke("subsidies", "list", "--valid-on", "2026-06-01", "--json", "-")
    assert code == 0
    ids = {p["id"] for p in json.loads(out)}
    assert "beijing-2023" not in ids and "hangzhou-2024" in ids  # ended 2025-12-31; unknown
    code, out, _ = _invoke("subsidies", "list", "--valid-on", "2026-06-01", columns=200)
    assert "Left out (not yet valid, or ended, by their stated dates): beijing-2023" in out
    assert "state no start or no end in their sources" in out
    code, _, err = _invoke("subsidies", "list", "--valid-on", "June")
    assert code == 1 and err.strip() == "error: --valid-on: expected a date YYYY-MM-DD, got 'June'"


def test_compare_fits_80_columns_and_writes_csv(tmp_path: Path) -> None:
    code, out, _ = _invoke("compare", RUN, RUN)
    assert code == 0
    assert max(map(len, out.splitlines())) <= 80
    assert not _words_intact(out, ["not", "significant", "6.336", "(n=39)", "0.967-1.034"])
    path = tmp_path / "c.csv"
    code, _, err = _invoke("compare", RUN, RUN, "--csv", str(path), "--json", "-")
    assert code == 0 and f"wrote {path}" in err
    rows = list(csv.DictReader(path.open()))
    assert rows[0]["change"] == "not significant" and float(rows[0]["ratio"]) == 1.0


def test_show_says_which_columns_it_dropped() -> None:
    code, out, _ = _invoke("show", RUN)
    assert code == 0
    assert "not shown at 80 columns: %mm, rate, %peak, throughput" in out
