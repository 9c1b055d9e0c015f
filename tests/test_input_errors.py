"""The costing library's errors name inputs, and each front end says them its own way: the CLI
by the flag, the page by its field (marked beside it), a comparison file by its key."""

from __future__ import annotations

import ast
import re
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from browser import LiveServer, live_server  # noqa: F401  (a fixture)
from typer.testing import CliRunner

from subsidybench.cli import app
from subsidybench.cost.door import read
from subsidybench.cost.inputs import flag_of, param_of
from subsidybench.cost.request import Request
from subsidybench.cost.scenario import resolve
from subsidybench.errors import UserError, named

ROOT = Path(__file__).resolve().parents[1]
FLAG = re.compile(r"--[a-z]")

# One mistake, three front ends: a price below zero.
CLI = ["cost", "--contract", "40e6", "--currency", "CNY", "--price", "-3"]
OPTION = 'label = "cheap"\nprice = -3\ncurrency = "USD"\ntflops = 400\n'


def test_an_error_names_its_inputs_and_a_front_end_says_them() -> None:
    e = UserError(f"give {named('devices')} or {named('duration_days')}, not both")
    assert e.inputs == ("devices", "duration_days")
    assert str(e) == "give devices or duration_days, not both"  # said by no front end
    assert e.say(flag_of) == "give --devices or --duration, not both"
    assert e.say(param_of) == "give devices or duration, not both"
    named_by_file = e.renamed({"devices": "o.toml: option 'a': devices"})
    assert named_by_file.say(flag_of) == "give o.toml: option 'a': devices or --duration, not both"
    assert flag_of("report_currency") == "--in" and param_of("small_firm") == "small-firm"


def test_the_costing_library_names_no_flag_in_its_errors() -> None:
    with pytest.raises(UserError) as caught:
        read({"price": "-3"})
    assert caught.value.inputs == ("price",)
    assert not FLAG.search(caught.value.template)
    request = Request(hours=np.array([10.0]), devices=np.array([2.0]), duration_days=3.0)
    with pytest.raises(UserError) as caught:
        resolve(request)
    assert not FLAG.search(caught.value.template), caught.value.template
    assert "duration_days" in caught.value.inputs


def test_the_cli_says_the_flag() -> None:
    result = CliRunner().invoke(app, CLI)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: --price: ")
    assert "<input:" not in result.stderr


def test_a_comparison_file_says_its_key(tmp_path: Path) -> None:
    path = tmp_path / "o.toml"
    path.write_text("[[option]]\n" + OPTION)
    result = CliRunner().invoke(app, ["cost", "--train", "7e9:2e12", "--compare", str(path)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {path}: option 'cheap': price: "), result.stderr
    assert "--price" not in result.stderr


def _get(server: LiveServer, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(server.url + path, timeout=60) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_the_page_marks_its_field_and_says_its_label(live_server: LiveServer) -> None:  # noqa: F811
    status, html = _get(live_server, "/cost?contract=40e6&currency=CNY&price=-3")
    assert status == 400
    cli = CliRunner().invoke(app, CLI).stderr.strip().removeprefix("error: ")
    said = cli.replace("--price", "price", 1)
    assert f'<p class="error" id="err-price" role="alert">{said}</p>' in html
    assert '<div class="field invalid" data-input="price">' in html
    assert "--price" not in html.split('id="err-price"')[1].split("</p>")[0]
    # A page's option says the key of the comparison file it becomes.
    status, html = _get(
        live_server, "/cost?train=7e9:2e12&o1.label=cheap&o1.price=-3&o1.currency=USD&o1.tflops=400"
    )
    assert status == 400 and "options.toml: option &#39;cheap&#39;: price: " in html


def test_no_error_of_the_costing_library_spells_a_flag() -> None:
    """Every UserError raised in cost/ names its inputs (errors.named), never a flag."""
    spelled = []
    for path in sorted((ROOT / "src" / "subsidybench" / "cost").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "UserError"):
                continue
            texts = [
                c.value
                for c in ast.walk(node)
                if isinstance(c, ast.Constant) and isinstance(c.value, str)
            ]
            spelled += [f"{path.name}:{node.lineno}" for t in texts if FLAG.search(t)]
    assert not spelled, f"errors that spell a flag: {spelled}"
