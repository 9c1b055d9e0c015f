"""The page's server over HTTP (no browser): URLs hold the `cost` flags, bad input is one line
beside its field, and the server is bounded (query, draws, uploads; no traceback in a page)."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from browser import LiveServer, live_server  # noqa: F401  (a fixture)
from typer.testing import CliRunner

from subsidybench.cli import app
from subsidybench.ui import form
from subsidybench.ui.uploads import MAX_UPLOAD
from subsidybench.ui.words import WORDS

pytest.importorskip("starlette", reason="the ui extra is not installed")

CONTRACT = "contract=40e6&currency=CNY&price=20&subsidy=hangzhou-2024&domestic=true"
CLI = ["--contract", "40e6", "--currency", "CNY", "--price", "20", "--subsidy", "hangzhou-2024"]


def get(server: LiveServer, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(server.url + path, timeout=60) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as e:
        body = e.read().decode()
        print(body[-300:])  # shown where a test fails
        return e.code, body


def post(server: LiveServer, path: str, data: bytes) -> tuple[int, str]:
    request = urllib.request.Request(server.url + path, data=data, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def cli_json(args: list[str], tmp_path: Path) -> dict[str, Any]:
    out = tmp_path / "answer.json"
    result = CliRunner().invoke(app, ["cost", *args, "--json", str(out)])
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text())


def test_the_answer_json_is_cost_json(live_server: LiveServer, tmp_path: Path) -> None:  # noqa: F811
    status, body = get(live_server, "/answer.json?" + CONTRACT)
    assert status == 200
    assert json.loads(body) == cli_json([*CLI, "--domestic"], tmp_path)


def test_the_page_shows_the_headline_first_and_the_command(live_server: LiveServer) -> None:  # noqa: F811
    status, html = get(live_server, "/cost?" + CONTRACT)
    assert status == 200
    assert html.index('data-figure="net"') < html.index('id="assumptions"')
    assert html.index('id="answer"') < html.index('id="question"')
    assert "32,000,000.00 CNY" in html
    expected = " ".join(["subsidybench cost --contract 40e6 --domestic", *CLI[4:6], *CLI[2:4]])
    assert expected + " --subsidy hangzhou-2024" in html
    assert "http" not in html.replace(live_server.url, "").split("<body>")[0]  # nothing external


def test_a_bad_value_is_the_clis_line_beside_its_field(live_server: LiveServer) -> None:  # noqa: F811
    status, html = get(live_server, "/cost?contract=40e6&currency=CNY&price=-3")
    assert status == 400
    cli = CliRunner().invoke(
        app, ["cost", "--contract", "40e6", "--currency", "CNY", "--price", "-3"]
    )
    # The same line, the input said as the page names its field (price), not as the flag.
    line = cli.output.strip().removeprefix("error: ").replace("--price", "price", 1)
    assert f'<p class="error" id="err-price" role="alert">{line}</p>' in html


def test_the_server_is_bounded(live_server: LiveServer) -> None:  # noqa: F811
    status, html = get(live_server, "/cost?contract=1e6&price=2&currency=CNY&draws=5e6")
    assert status == 400 and "draws: at most 200,000 on the page" in html
    assert "--draws: at most" not in html  # the page says its field, not the flag
    status, html = get(live_server, "/cost?contract=1e6&x=" + "9" * (form.MAX_QUERY + 1))
    assert status == 400 and "query string is over" in html
    status, html = get(live_server, "/cost?nonsense=1")
    assert "nonsense: not an input of `subsidybench cost`" in html
    # A path on the server is never read: programmes and devices are catalogue entries.
    status, html = get(live_server, "/cost?contract=1e6&price=2&currency=CNY&subsidy=/etc/passwd")
    assert ">subsidy: &#39;/etc/passwd&#39; is not in the subsidies catalogue" in html
    # Another site's name pointed at this machine is refused.
    conn = http.client.HTTPConnection(live_server.url.removeprefix("http://"), timeout=60)
    conn.request("GET", "/cost", headers={"Host": "attacker.example"})
    assert conn.getresponse().status == 400
    conn.close()
    # An upload larger than the bound is refused from its Content-Length, before it is read.
    conn = http.client.HTTPConnection(live_server.url.removeprefix("http://"), timeout=60)
    conn.putrequest("POST", "/upload?name=big.json")
    conn.putheader("Content-Length", str(MAX_UPLOAD + 1))
    conn.endheaders()
    reply = conn.getresponse()
    assert reply.status == 413
    assert reply.read().decode() == "error: --run: larger than 16 MiB\n"
    conn.close()
    status, body = post(live_server, "/upload?name=x.json", b"not json")
    assert status == 400 and body.startswith("error: --run: x.json: not a JSON run file")
    status, html = get(live_server, "/cost?run=0123456789abcdef&hours=10&price=1&currency=USD")
    assert "is not a run uploaded to this page" in html


def test_an_internal_error_is_one_line_never_a_traceback(
    live_server: LiveServer,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from subsidybench.cost import door

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(door, "answer", broken)
    status, body = get(live_server, "/cost?" + CONTRACT)
    assert status == 500
    assert body == "error: internal error (RuntimeError); the server's log has the details\n"


def test_an_uploaded_run_is_costed_by_its_measured_rate(
    live_server: LiveServer,  # noqa: F811
    run_file: Path,
    tmp_path: Path,
) -> None:
    status, body = post(live_server, "/upload?name=my%20run.json", run_file.read_bytes())
    assert status == 200
    upload = json.loads(body)
    assert upload["name"] == "my_run.json"
    query = f"run={upload['id']}&workload=lm-bf16&hours=100&price=2&currency=USD&metric=tokens"
    status, html = get(live_server, "/cost?" + query)
    assert status == 200, html
    assert "--run my_run.json" in html
    status, body = get(live_server, "/answer.json?" + query)
    args = ["--run", str(run_file), "--workload", "lm-bf16", "--hours", "100", "--price", "2"]
    expected = cli_json([*args, "--currency", "USD", "--metric", "tokens"], tmp_path)
    assert json.loads(body)["net"] == expected["net"]
    assert json.loads(body)["tokens"] == expected["tokens"]


def test_the_downloads_are_the_answer_on_screen(
    live_server: LiveServer,  # noqa: F811
    run_file: Path,
) -> None:
    import io
    import zipfile

    openpyxl = pytest.importorskip("openpyxl")
    status, _ = get(live_server, "/cost?lang=zh")
    assert status == 200  # the language alone is no question: the empty form
    reply = urllib.request.urlopen(f"{live_server.url}/answer.xlsx?{CONTRACT}", timeout=60)
    book = openpyxl.load_workbook(io.BytesIO(reply.read()))
    assert book.sheetnames == ["Cost"]
    status, body = post(live_server, "/upload?name=run.json", run_file.read_bytes())
    upload = json.loads(body)["id"]
    query = f"run={upload}&workload=gemm-bf16&hours=10&price=2&currency=USD"
    status, _ = get(live_server, "/cost?" + query)
    assert status == 200
    reply = urllib.request.urlopen(f"{live_server.url}/evidence.zip?{query}", timeout=60)
    names = zipfile.ZipFile(io.BytesIO(reply.read())).namelist()
    assert "runs/run.json" in names or any(n.startswith("runs/") for n in names)
    assert any(n.startswith("report/") for n in names)


def test_options_are_compared_as_cost_compare_ranks_them(
    live_server: LiveServer,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    options = [
        {"label": "rented H100", "price": "2.5", "currency": "USD", "tflops": "400"},
        {"label": "domestic", "price": "12", "currency": "CNY", "tflops": "200", "domestic": "true",
         "subsidy": "shanghai-2025-compute"},
    ]  # fmt: skip
    query = "train=7e9:2e12&in=USD&fx=7.2&" + "&".join(
        f"o{n}.{k}={urllib.request.quote(v)}"
        for n, o in enumerate(options, 1)
        for k, v in o.items()
    )
    status, body = get(live_server, "/answer.json?" + query)
    assert status == 200, body
    monkeypatch.chdir(tmp_path)  # the page names its comparison file options.toml, as here
    toml = Path("options.toml")
    toml.write_text(form.options_toml(options))
    expected = cli_json(
        ["--train", "7e9:2e12", "--in", "USD", "--fx", "7.2", "--compare", str(toml)], tmp_path
    )
    assert json.loads(body)["ranked"] == expected["ranked"]
    status, html = get(live_server, "/cost?" + query)
    assert "--compare options.toml" in html and 'id="ranked"' in html


def test_both_languages_have_every_word() -> None:
    assert set(WORDS["en"]) == set(WORDS["zh"])


def test_subsidybench_ui_prints_its_url_and_serves() -> None:
    pytest.importorskip("uvicorn", reason="the ui extra is not installed")
    proc = subprocess.Popen(
        [sys.executable, "-m", "subsidybench", "ui", "--no-browser"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("subsidybench ui: http://127.0.0.1:"), line
        url = line.split()[2]
        for _ in range(600):  # the server binds a moment after it prints
            try:
                with urllib.request.urlopen(url, timeout=60) as reply:
                    assert "subsidybench" in reply.read().decode()
                break
            except urllib.error.URLError:
                proc.poll()
                assert proc.returncode is None, proc.stdout.read()
                time.sleep(0.1)
        else:
            pytest.fail("the server never answered")
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def test_ui_refuses_a_bad_port(live_server: LiveServer) -> None:  # noqa: F811
    result = CliRunner().invoke(app, ["ui", "--port", "70000", "--no-browser"])
    assert result.exit_code == 1
    assert "--port: must be in [0, 65535], got 70000" in result.output
    taken = live_server.url.rsplit(":", 1)[1]
    result = CliRunner().invoke(app, ["ui", "--port", taken, "--no-browser"])
    assert result.exit_code == 1
    assert result.output.startswith(f"error: --port: {taken}: cannot serve on 127.0.0.1: ")


def test_programmes_are_offered_valid_first_and_expired_marked(
    live_server: LiveServer,  # noqa: F811
) -> None:
    from subsidybench.catalogue.subsidies import list_programmes

    _, html = get(live_server, "/cost")
    select = html[html.index('id="f-subsidy"') :]
    select = select[: select.index("</select>")]
    programmes = list_programmes()
    shown = [p.id + (" (expired)" if p.expired() else "") for p in programmes]
    for text in shown:
        assert f">{text}</option>" in select
    positions = [select.index(f">{text}</option>") for text in shown]
    expired = [pos for pos, p in zip(positions, programmes, strict=True) if p.expired()]
    valid = [pos for pos, p in zip(positions, programmes, strict=True) if not p.expired()]
    assert not expired or not valid or max(valid) < min(expired)


def test_the_page_shows_no_flag_in_its_help(live_server: LiveServer) -> None:  # noqa: F811
    """The inputs table's help is written for the CLI ("with --train"); the page says those
    inputs by its fields' names, in both languages, in help texts and panel titles."""
    assert str(form.help_html("with --train and --in <b>")) == (
        "with <code>train</code> and <code>in</code> &lt;b&gt;"
    )
    for lang in ("en", "zh"):
        status, html = get(live_server, f"/cost?lang={lang}")
        assert status == 200
        helps = html.split('<small class="help">')[1:]
        summaries = html.split("<summary>")[1:]
        shown = [h.split("</small>")[0] for h in helps] + [
            s.split("</summary>")[0] for s in summaries
        ]
        assert helps and not [t for t in shown if "--" in t], [t for t in shown if "--" in t]
        assert "<code>run</code>" in html  # the serving panel's title names its inputs so
