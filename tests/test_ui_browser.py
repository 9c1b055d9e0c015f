"""The page in a real browser (chromium, through Playwright; skipped, saying why, without one):
answers equal `cost --json` to the cent, Chinese, a bad value's message, a 390-px phone without
sideways scrolling, the form used by keyboard alone, and no request leaving 127.0.0.1.

SUBSIDYBENCH_SCREENSHOTS=DIR keeps a screenshot of each page looked at (en, zh, phone) in DIR.
"""

from __future__ import annotations

import json
import os
import random
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlparse

import pytest
from browser import LiveServer, browser, live_server  # noqa: F401  (fixtures)
from typer.testing import CliRunner

from subsidybench.catalogue.subsidies import list_programmes
from subsidybench.cli import app

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def page(browser: Any, live_server: LiveServer) -> Iterator[Any]:  # noqa: F811
    """A page whose every request is recorded; anything not for 127.0.0.1 is refused and fails
    the test."""
    yield from _page(browser, {"viewport": {"width": 1280, "height": 900}})


@pytest.fixture
def phone(browser: Any, live_server: LiveServer) -> Iterator[Any]:  # noqa: F811
    yield from _page(
        browser, {"viewport": PHONE, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
    )


def _page(browser: Any, options: dict[str, Any]) -> Iterator[Any]:  # noqa: F811
    context = browser.new_context(**options)
    outside: list[str] = []

    def route(r: Any) -> None:
        host = urlparse(r.request.url).hostname
        if host == "127.0.0.1" or r.request.url.startswith(("data:", "about:")):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.requested = []
    page.on("request", lambda r: page.requested.append(r.url))
    yield page
    context.close()
    assert outside == [], f"requests left 127.0.0.1: {outside}"


def _shot(page: Any, name: str) -> None:
    folder = os.environ.get("SUBSIDYBENCH_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=False)


def _cli(args: list[str], tmp_path: Path) -> tuple[dict[str, Any] | None, str]:
    out = tmp_path / "answer.json"
    out.unlink(missing_ok=True)
    result = CliRunner().invoke(app, ["cost", *args, "--json", str(out)])
    if result.exit_code != 0:
        return None, result.output.strip().splitlines()[-1].removeprefix("error: ")
    return json.loads(out.read_text()), ""


def _scenarios(count: int) -> list[list[tuple[str, str]]]:
    """Contract questions drawn at random (a fixed seed): value, price, currency, programme,
    origin, firm size, devices."""
    rng = random.Random(23)
    programmes = [p.id for p in list_programmes() if "compute-rent" in p.eligible]
    out = []
    for _ in range(count):
        q = [
            ("contract", f"{rng.uniform(1e5, 5e8):.6g}"),
            ("currency", rng.choice(["CNY", "USD"])),
            ("price", f"{rng.uniform(0.5, 60):.4g}"),
        ]
        if rng.random() < 0.8:
            q.append(("subsidy", rng.choice(programmes)))
        if rng.random() < 0.5:
            q.append(("domestic", rng.choice(["true", "false"])))
        if rng.random() < 0.3 and q[-1][0] == "subsidy":
            q.append(("small-firm", "true"))
        if rng.random() < 0.5:
            q.append(("devices", str(rng.choice([8, 64, 512]))))
        out.append(q)
    return out


def _as_page_says(cli_error: str) -> str:
    """The CLI's message as the page says it: each input by its field's name, not its flag."""
    return re.sub(r"--(?=[a-z])", "", cli_error)


def _args(q: list[tuple[str, str]]) -> list[str]:
    args: list[str] = []
    for key, value in q:
        if key == "small-firm":
            args.append("--small-firm")
        elif key == "domestic":
            args.append("--domestic" if value == "true" else "--not-domestic")
        else:
            args += [f"--{key}", value]
    return args


def test_twenty_contract_answers_equal_cost_json_to_the_cent(
    page: Any,
    live_server: LiveServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    """Random questions until 20 have answers (many programmes leave a rate or a small-firm rule
    unknown: those questions get the CLI's own error on the page, checked too)."""
    answered = refused = 0
    for q in _scenarios(100):
        doc, error = _cli(_args(q), tmp_path)
        page.goto(f"{live_server.url}/cost?{urlencode(q)}")
        if doc is None:
            said = page.locator(".error").first.inner_text()
            # The costing library's and the catalogue's errors name inputs: the page says its
            # fields where the CLI says its flags.
            assert _as_page_says(error) in said, q
            refused += 1
            continue
        net = page.locator('[data-figure="net"] .value').inner_text()
        assert net == f"{doc['net']:,.2f} {doc['currency']}", q
        answered += 1
        if answered == 20:
            break
    assert answered == 20 and refused > 0


def test_the_chinese_page(page: Any, live_server: LiveServer) -> None:  # noqa: F811
    query = "contract=4e7&currency=CNY&price=18~22&subsidy=hangzhou-2024&domestic=true&lang=zh"
    page.goto(f"{live_server.url}/cost?{query}&devices=100")
    _shot(page, "zh")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.locator('[data-figure="net"] dt').inner_text() == "净成本"
    assert "万元" in page.locator('[data-figure="net"] .note').inner_text()
    assert page.locator("#answer h3").first.inner_text()
    names = page.locator("#assumptions tbody td:first-child").all_inner_texts()
    assert any("价格" in n or "合同" in n for n in names), names
    assert page.locator("#tornado li").count() >= 1
    # A bar is named as the assumptions name its input, not by its flag (--price).
    assert page.locator("#tornado .bar-label").first.inner_text().startswith("价格 ")
    assert "Net cost" not in page.locator("#answer").inner_text()


def test_the_english_page_reads_answer_first(
    page: Any,
    live_server: LiveServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    query = [
        ("train", "7e9:2e12"), ("tflops", "300~450"), ("price", "2~3"), ("currency", "USD"),
        ("devices", "256"), ("scaling-efficiency", "0.85~0.95"),
        ("subsidy", "shanghai-2025-compute"),
    ]  # fmt: skip
    page.goto(f"{live_server.url}/cost?{urlencode(query)}")
    _shot(page, "en")
    net = page.locator('[data-figure="net"]').bounding_box()
    form = page.locator("#question").bounding_box()
    assert net is not None and form is not None and net["y"] < form["y"]
    assert net["y"] + net["height"] < 900  # in the first screen
    doc, _ = _cli(_args(query), tmp_path)
    assert doc is not None
    p10, p90 = (doc["ranges"]["figures"]["net"][k] for k in ("p10", "p90"))
    shown = page.locator('[data-figure="range"] .value').inner_text()
    assert shown == f"{p10:,.2f} USD - {p90:,.2f} USD"
    assert page.locator("#tornado li").count() == len(doc["ranges"]["tornado"]["bars"])
    # The command the page shows gives the same answer.
    words = shlex.split(page.locator("#command").inner_text())
    assert words[:2] == ["subsidybench", "cost"]
    again, _ = _cli(words[2:], tmp_path)
    assert again == doc


def test_a_bad_value_shows_the_clis_message_beside_its_field(
    page: Any,
    live_server: LiveServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    page.goto(f"{live_server.url}/cost?contract=4e7&currency=CNY&price=-3")
    _, error = _cli(["--contract", "4e7", "--currency", "CNY", "--price", "-3"], tmp_path)
    assert page.locator("#err-price").inner_text() == _as_page_says(error)
    assert error.startswith("--price: ")  # the same message, the CLI naming its flag
    assert page.locator("#f-price").get_attribute("aria-invalid") == "true"
    assert page.locator("#f-price").input_value() == "-3"  # kept, to be corrected


def test_a_phone_shows_the_answer_without_sideways_scrolling(
    phone: Any,
    live_server: LiveServer,  # noqa: F811
) -> None:
    phone.goto(
        f"{live_server.url}/cost?contract=4e7&currency=CNY&price=18~22&devices=100"
        "&subsidy=hangzhou-2024&domestic=true"
    )
    _shot(phone, "phone")
    wide = phone.evaluate("document.documentElement.scrollWidth")
    assert wide <= PHONE["width"], f"the page is {wide} px wide"
    net = phone.locator('[data-figure="net"]').bounding_box()
    assert net is not None and net["x"] >= 0 and net["x"] + net["width"] <= PHONE["width"]
    assert net["y"] < PHONE["height"]  # the net cost is on the first screen


def test_the_form_works_by_keyboard_alone(page: Any, live_server: LiveServer) -> None:  # noqa: F811
    page.goto(f"{live_server.url}/cost")

    def tab_to(element_id: str) -> None:
        for _ in range(200):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.id") == element_id:
                return
        pytest.fail(f"Tab never reaches #{element_id}")

    tab_to("f-contract")
    page.keyboard.type("4e7")
    tab_to("f-price")
    page.keyboard.type("20")
    tab_to("f-currency")
    page.keyboard.type("CNY")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert urlparse(page.url).query == "contract=4e7&price=20&currency=CNY"
    assert page.locator('[data-figure="net"] .value').inner_text() == "40,000,000.00 CNY"


def test_no_request_leaves_this_machine(page: Any, live_server: LiveServer) -> None:  # noqa: F811
    page.goto(f"{live_server.url}/cost?contract=4e7&currency=CNY&price=20&lang=zh")
    page.wait_for_load_state("networkidle")
    paths = {urlparse(u).path for u in page.requested}
    assert {"/cost", "/static/page.css", "/static/page.js"} <= paths
    assert {urlparse(u).hostname for u in page.requested} == {"127.0.0.1"}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_assumptions_read_on_a_phone(
    phone: Any,
    live_server: LiveServer,  # noqa: F811
    lang: str,
) -> None:
    """At 390 px each assumption is a card: its cells stacked at the card's full width, each
    under its column's name, so a value wraps between words, not inside them (four columns
    side by side left ~80 px a column and broke words mid-way)."""
    phone.goto(
        f"{live_server.url}/cost?contract=4e7&currency=CNY&price=18~22&devices=100"
        f"&subsidy=hangzhou-2024&domestic=true&lang={lang}"
    )
    table = phone.locator("#assumptions")
    table.scroll_into_view_if_needed()
    _shot(phone, f"phone-assumptions-{lang}")
    cells = phone.eval_on_selector_all(
        "#assumptions tbody td",
        """cells => cells.map(c => ({
            display: getComputedStyle(c).display,
            width: c.getBoundingClientRect().width,
            label: getComputedStyle(c, '::before').content,
            empty: c.textContent.trim() === '',
        }))""",
    )
    shown = [c for c in cells if not c["empty"]]
    assert len(shown) >= 8
    assert all(c["display"] == "block" for c in shown)
    assert min(c["width"] for c in shown) >= 0.75 * PHONE["width"]
    assert all(c["label"] not in ("none", "normal", '""') for c in shown)
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    words = phone.locator("#assumptions thead").evaluate("h => getComputedStyle(h).display")
    assert words == "none"
