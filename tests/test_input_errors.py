"""The costing library's errors name inputs, and each front end says them its own way: the CLI
by the flag, the page by its field (marked beside it), a comparison file by its key."""

from __future__ import annotations

import ast
import json
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


LIBRARY = ROOT / "src" / "subsidybench"


def _spelled(path: Path) -> list[int]:
    """Lines of `path` whose code (docstrings left out) holds a text that spells a flag."""
    tree = ast.parse(path.read_text())
    docs = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr)}
    return sorted(
        {
            n.lineno
            for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs
            if FLAG.search(n.value)
        }
    )


def test_no_text_of_the_costing_library_or_the_catalogue_spells_a_flag() -> None:
    """Every message and every assumption cost/ and catalogue/ write names its inputs
    (errors.named), never a flag: the front end, or the scenario that knows how its user wrote
    each input, says them. The inputs table's help texts are the CLI's and the page's own."""
    paths = [*(LIBRARY / "cost").glob("*.py"), *(LIBRARY / "catalogue").glob("*.py")]
    spelled = {
        f"{p.parent.name}/{p.name}": lines
        for p in sorted(paths)
        if p.name != "inputs.py" and (lines := _spelled(p))
    }
    assert not spelled, f"texts that spell a flag, by line: {spelled}"


# A catalogue's mistakes: Chengdu's sources state no base rate; no data file converts EUR.
UNKNOWN_RATE = (
    *("cost", "--train", "7e9:2e12", "--tflops", "400", "--price", "2.5", "--currency", "USD"),
    *("--subsidy", "chengdu-2023", "--in", "CNY"),
)
NO_FX = ("cost", "--hours", "100", "--price", "2", "--currency", "EUR", "--in", "CNY")


def test_a_catalogue_error_names_its_input(tmp_path: Path) -> None:
    asked = dict(train=(7e9, 2e12), tflops=np.array([400.0]), price=np.array([2.5]))
    with pytest.raises(UserError) as caught:
        resolve(Request(**asked, currency="USD", subsidy="chengdu-2023", report_currency="CNY"))
    assert caught.value.inputs == ("rate",) and not FLAG.search(caught.value.template)
    with pytest.raises(UserError) as caught:
        resolve(
            Request(
                hours=np.array([100.0]),
                price=np.array([2.0]),
                currency="EUR",
                report_currency="CNY",
            )
        )
    assert caught.value.inputs == ("fx",) and not FLAG.search(caught.value.template)
    with pytest.raises(UserError) as caught:
        resolve(
            Request(
                **asked, currency="USD", subsidy="hangzhou-2024", profiles_dirs=(tmp_path / "nope",)
            )
        )
    assert caught.value.inputs == ("profiles_dirs",)


def test_the_cli_says_a_catalogue_error_with_its_flag(tmp_path: Path) -> None:
    nope = tmp_path / "nope"
    for args, said in (
        (UNKNOWN_RATE, "rates.base is unknown in the programme's sources; give --rate"),
        (NO_FX, "no exchange rate between EUR and CNY: give --fx (CNY per EUR)"),
        ((*UNKNOWN_RATE, "--profiles-dir", str(nope)), f"--profiles-dir: {nope} is not a"),
    ):
        result = CliRunner().invoke(app, list(args))
        assert result.exit_code == 1, result.output
        line = " ".join(result.stderr.split())
        assert said in line and "<input:" not in line, line


def test_the_page_says_a_catalogue_error_beside_its_field(live_server: LiveServer) -> None:  # noqa: F811
    q = "train=7e9:2e12&tflops=400&price=2.5&currency=USD&subsidy=chengdu-2023&in=CNY"
    status, html = _get(live_server, "/cost?" + q)
    assert status == 400
    said = html.split('<p class="error" id="err-rate" role="alert">')[1].split("</p>")[0]
    assert said.endswith("in the programme&#39;s sources; give rate"), said
    assert '<div class="field invalid" data-input="rate">' in html
    status, html = _get(live_server, "/cost?hours=100&price=2&currency=EUR&in=CNY")
    assert status == 400
    assert (
        '<p class="error" id="err-fx" role="alert">no exchange rate between EUR and CNY:'
        " give fx (CNY per EUR)</p>" in html
    )


def test_a_comparison_file_says_its_key_in_errors_and_sources(tmp_path: Path) -> None:
    path = tmp_path / "o.toml"
    option = '[[option]]\nprice = 2.5\ncurrency = "USD"\ntflops = 400\n'
    path.write_text(option + 'label = "chengdu"\nsubsidy = "chengdu-2023"\n')
    job = ["cost", "--train", "7e9:2e12", "--in", "CNY", "--compare", str(path)]
    result = CliRunner().invoke(app, job)
    assert result.exit_code == 1
    line = " ".join(result.stderr.split())
    assert line.endswith(f"sources; give {path}: option 'chengdu': rate"), line
    # A rate the file gives is the file's among the answer's sources too, not a flag's.
    path.write_text(option + 'label = "given"\nrate = 0.3\n')
    out = tmp_path / "a.json"
    result = CliRunner().invoke(app, [*job[:3], "--compare", str(path), "--json", str(out)])
    assert result.exit_code == 0, result.output
    sources = {
        a["name"]: a["source"] for a in json.loads(out.read_text())["ranked"][0]["assumptions"]
    }
    assert sources["subsidy rate"] == f"{path}: option 'given': rate"


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("--profile", "h100-sxm"), "--rent ID or --market cn|us takes another"),
        (("--profile", "h100-sxm", "--market", "us"), "--market us: on-demand first"),
        (("--price", "2", "--currency", "CNY", "--rate", "0.3", "--cap", "50"), "--cap"),
        (("--price", "2", "--currency", "CNY", "--subsidy", "hangzhou-2024"), "--domestic gives"),
        (
            (
                "--price",
                "2",
                "--currency",
                "USD",
                "--subsidy",
                "shanghai-2025-compute",
                "--small-firm",
                "--duration",
                "400",
            ),
            "--duration",
        ),
    ],
)
def test_an_answers_notes_say_their_inputs_as_the_cli_does(
    args: tuple[str, ...], said: str, tmp_path: Path
) -> None:
    """The costing modules' notes name inputs (a rent's market, a programme's origin rule, a
    rate window's duration); the scenario says them as the question's user wrote them."""
    out = tmp_path / "a.json"
    result = CliRunner().invoke(
        app, ["cost", "--hours", "1000", *args, "--json", str(out)], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    doc = out.read_text()
    assert "<input:" not in result.stdout + doc
    assert said in json.dumps([a["source"] + a["value"] for a in json.loads(doc)["assumptions"]])


# A name the catalogue does not hold, given to each input that names an entry of it.
HOURS = ("--hours", "10", "--price", "1", "--currency", "USD")
OWNED = ("--hours", "10", "--capex", "1", "--lifetime", "3", "--currency", "CNY", "--power-w")
OWNED += ("700", "--tariff", "0.5", "--pue", "1.2", "--cost-of-capital", "0.05")
SERVE = ("--serve", "1e9", "--profile", "h100-sxm", "--price", "1", "--currency", "USD")


@pytest.mark.parametrize(
    ("args", "said"),
    [
        ((*HOURS, "--subsidy", "nosuch"), "--subsidy: no subsidies entry named 'nosuch'"),
        (("--hours", "10", "--profile", "nosuch"), "--profile: no devices entry named 'nosuch'"),
        (("--hours", "10", "--profile", "./nosuch.toml"), "--profile: nosuch.toml: no such file"),
        ((*HOURS, "--estimate-on", "nosuch"), "--estimate-on: no devices entry named 'nosuch'"),
        ((*HOURS, "--published", "nosuch"), "--published: no published entry named 'nosuch'"),
        ((*SERVE, "--model", "nosuch"), "--model: no published decode/offline result for nosuch"),
        ((*OWNED, "--power-subsidy", "nosuch"), "--power-subsidy: no subsidies entry named"),
        (
            ("--hours", "10", "--profile", "h100-sxm", "--vs", "nosuch"),
            "--vs: no devices entry named 'nosuch'",
        ),
    ],
    ids=lambda x: x.split(":")[0] if isinstance(x, str) else None,
)
def test_a_name_the_catalogue_lacks_names_its_input(args: tuple[str, ...], said: str) -> None:
    result = CliRunner().invoke(app, ["cost", *args])
    assert result.exit_code == 1, result.output
    line = " ".join(result.stderr.split())
    assert line.startswith(f"error: {said}"), line


def test_a_comparison_file_names_its_key_for_a_name_the_catalogue_lacks(tmp_path: Path) -> None:
    path = tmp_path / "o.toml"
    path.write_text('[[option]]\nlabel = "x"\nprofile = "nosuch"\nmfu = 0.4\n')
    result = CliRunner().invoke(app, ["cost", "--train", "7e9:2e12", "--compare", str(path)])
    assert result.exit_code == 1
    line = " ".join(result.stderr.split())
    assert line.startswith(f"error: {path}: option 'x': profile: no devices entry named"), line
