"""The inputs table (cost.inputs) is where every cost input is declared: the command's options,
the range checks, the sweep and range parsing, a comparison file's keys, the page's fields and
URL parameters and the live workbook's input rows all come from it. A made-up input added to the
table turns up in each."""

from __future__ import annotations

import inspect
import re
from dataclasses import fields, make_dataclass
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from subsidybench.bounds import Range
from subsidybench.cli import app
from subsidybench.cli import cost as cost_cli
from subsidybench.cost import door
from subsidybench.cost.inputs import (
    INPUTS,
    OPTION_KEYS,
    RANGES,
    Input,
    Kind,
    Panel,
    flag_of,
    option_keys,
    ranges,
    sweepable,
    uncertain,
)
from subsidybench.cost.options import load_options
from subsidybench.cost.request import Request
from subsidybench.errors import UserError, named
from subsidybench.ui import form

MADE_UP = Input(
    "widgets",
    Kind.VALUES,
    Panel.DEVICE,
    "Widgets per device.",
    "每设备的小部件数。",
    "widgets",
    Range(0.0, 10.0, "widgets a device holds"),
    sweepable=True,
    uncertain=True,
    option_key=True,
    sheet=True,
)
TABLE = (*INPUTS, MADE_UP)

# Request fields that are no input a user gives: set by the door or by a comparison file.
NOT_INPUTS = {"run_label", "price_basis", "price_source", "label", "names", "uncertain"}
NOT_INPUTS |= {"also_runs", "devices_asked"}


def _command(table: tuple[Input, ...]) -> typer.Typer:
    """A `cost` command made from `table` the way cli/cost.py makes the real one."""
    got: dict[str, object] = {}

    def cost_command(**given: object) -> None:
        got.update(door.read(given, table).values)
        typer.echo(repr(got.get("widgets")))

    params = [cost_cli.parameter(i) for i in table]
    cost_command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    cost_command.__annotations__ = {p.name: p.annotation for p in params}
    t = typer.Typer()
    t.command("cost")(cost_command)
    t.command("other")(lambda: None)
    return t


def test_a_made_up_input_is_a_flag_with_help_and_its_range() -> None:
    runner = CliRunner()
    helped = runner.invoke(_command(TABLE), ["cost", "--help"], terminal_width=200)
    assert helped.exit_code == 0
    assert "--widgets" in helped.output and "Widgets per device." in helped.output
    ok = runner.invoke(_command(TABLE), ["cost", "--widgets", "1:3:1"])
    assert ok.exit_code == 0, ok.output
    assert "array([1., 2., 3.])" in ok.output
    bad = runner.invoke(_command(TABLE), ["cost", "--widgets", "11"])
    assert isinstance(bad.exception, UserError)
    said = bad.exception.say(lambda key: flag_of(key, TABLE))  # as the CLI says it
    assert said == "--widgets: must be in [0, 10] (widgets a device holds), got 11"


def test_a_made_up_input_is_checked_swept_and_uncertain() -> None:
    assert ranges(TABLE)["widgets"] == MADE_UP.range
    assert "widgets" in sweepable(TABLE) and "widgets" in uncertain(TABLE)
    assert "widgets" in option_keys(TABLE)
    read = door.read({"widgets": "2~4"}, TABLE)
    assert read.values["widgets"].tolist() == [3.0]
    assert read.uncertain["widgets"].low == 2.0
    with pytest.raises(UserError) as caught:
        door.read({"widgets": "2~12"}, TABLE)
    said = caught.value.say(lambda key: flag_of(key, TABLE))
    assert re.match(r"^--widgets: must be in \[0, 10\].*got 12$", said), said


def test_a_made_up_input_is_a_page_field_and_a_url_parameter() -> None:
    assert MADE_UP in form.page_inputs(TABLE)
    assert any(MADE_UP in inputs for _, inputs in form.sections("zh", TABLE))
    asked = form.question([("widgets", "2"), ("price", "3")], TABLE)
    assert asked.texts == {"widgets": "2", "price": "3"}
    assert form.command(asked.texts, {}, TABLE) == "subsidybench cost --price 3 --widgets 2"
    assert form.field_of(UserError(f"{named('widgets')}: must be in [0, 10]"), TABLE) == "widgets"
    with pytest.raises(UserError, match=r"^widgets: not an input"):
        form.question([("widgets", "2")])


def test_a_made_up_input_needs_its_request_field() -> None:
    """Request is declared by hand (a frozen, typed record): the table names the field a new
    input needs, and the door refuses to run without it."""
    declared = {f.name for f in fields(Request)}
    assert [i.name for i in TABLE if i.request and i.name not in declared] == ["widgets"]
    with pytest.raises(TypeError, match="widgets"):
        door.request_of(door.read({"widgets": "2"}, TABLE))


def test_a_made_up_input_is_a_row_of_the_live_workbook(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With its Request field (a Request that has one, put in by monkeypatch), the made-up input
    is an input row of the live workbook: its help as the label, its value as given, edited in
    the Input style; the workbook's code names no input of its own accord."""
    from openpyxl import load_workbook

    from subsidybench.report.i18n import Messages
    from subsidybench.report.live_workbook import INPUT_STYLE, SHEET, write_answer_xlsx

    with_widgets = make_dataclass(
        "WithWidgets", [("widgets", Any, None)], bases=(Request,), frozen=True, slots=True
    )
    monkeypatch.setattr(door, "Request", with_widgets)
    given = {"hours": "1000", "price": "2", "currency": "USD", "widgets": "3"}
    o = door.answer(door.request_of(door.read(given, TABLE)))
    for lang, label in (
        ("en", "Widgets per device. (widgets)"),
        ("zh", "每设备的小部件数。 (widgets)"),
    ):
        path = tmp_path / f"{lang}.xlsx"
        where = write_answer_xlsx(o.scenario, o.result, path, Messages(lang), TABLE)
        ws = load_workbook(path)[SHEET]
        row = int(where["widgets"][1:])
        assert [ws.cell(row, c).value for c in (1, 2, 4)] == [label, 3, "--widgets"]
        assert ws.cell(row, 2).style == INPUT_STYLE
        assert row < int(where["gross"][1:])  # an input row, above the formulas
    assert "widgets" not in write_answer_xlsx(o.scenario, o.result, tmp_path / "real.xlsx")


def test_the_table_and_the_request_declare_the_same_inputs() -> None:
    declared = {f.name for f in fields(Request)} - NOT_INPUTS
    assert declared == {i.name for i in INPUTS if i.request}


def test_a_made_up_input_is_a_comparison_file_key(tmp_path: Path) -> None:
    path = tmp_path / "options.toml"
    path.write_text(
        '[[option]]\nlabel = "a"\nprice = 1\ncurrency = "USD"\nmfu = 0.4\nwidgets = 2\n'
    )
    [spec] = load_options(path, TABLE)
    assert spec.values == {"price": 1.0, "currency": "USD", "mfu": 0.4, "widgets": 2.0}
    with pytest.raises(UserError, match=r"options\.toml: option\[0\]\.widgets: unknown field"):
        load_options(path)
    assert "widgets" not in OPTION_KEYS


def test_every_numeric_input_has_a_range_and_every_flag_is_one_option() -> None:
    for i in INPUTS:
        if i.kind in (Kind.VALUES, Kind.NUMBER, Kind.INTEGER) and i.name not in ("rows",):
            assert i.name in RANGES, i.name
        assert i.help and i.zh, i.name
    flags = [i.option for i in INPUTS]
    assert len(flags) == len(set(flags))
    real = CliRunner().invoke(app, ["cost", "--help"], terminal_width=200)
    for i in INPUTS:
        assert i.option in real.output, i.option


def test_the_cli_and_the_door_give_one_message() -> None:
    result = CliRunner().invoke(app, ["cost", "--layers", "x", "--train", "7e9:2e12"])
    assert result.exit_code == 1
    with pytest.raises(UserError) as e:
        door.read({"layers": "x"})
    # One message: the library names the input, the CLI says it as its flag.
    assert str(e.value) == "layers: expected a whole number, got 'x'"
    assert result.output.strip() == f"error: {e.value.say(flag_of)}"
