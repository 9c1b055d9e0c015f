"""The report and the history site in a real browser (tests/browser.py: the system's chromium,
headless): nothing scrolls sideways on a 390-px phone, the columns a decision rests on stay in
view, charts are drawn for the screen, an invalid row carries its mark, and no request leaves
the file. Skipped, saying why, where no browser can be had."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser import DESKTOP, PHONE, page_at, sideways_scroll
from history_runs import synthetic_runs
from typer.testing import CliRunner

from subsidybench.cli import app
from subsidybench.results.store import Store

DATA = Path(__file__).parent / "data"
RED = "rgb(180, 35, 24)"  # render_html's red for an invalid verdict


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Reports of a quiet 23-workload run beside a noisy one (long workload ids, invalid rows,
    a price range), in English and Chinese; and the history site of a small store."""
    out = tmp_path_factory.mktemp("pages")
    runs = [str(DATA / "ci-v3-quiet-run.json"), str(DATA / "run-v1.json")]
    made = {}
    for lang in ("en", "zh"):
        if lang == "zh":
            pytest.importorskip("matplotlib")
        args = ["report", *runs, "--price", "1.5~2.5", "--currency", "USD", "--lang", lang]
        result = CliRunner().invoke(app, [*args, "--out", str(out / lang)])
        if result.exit_code != 0 and "Chinese font" in result.output:
            continue  # test_i18n says why; the English page is still checked
        assert result.exit_code == 0, result.output
        made[lang] = out / lang / "report.html"
    db = out / "h.sqlite"
    with Store.open(db) as store:
        invalid = {"copy[mib=128]/fp32": (4,)}
        for k, (commit, run) in enumerate(synthetic_runs(12, invalid=invalid)):
            store.add(run, source=f"s-{k}", commit=commit)
    result = CliRunner().invoke(app, ["history", "--store", str(db), "--out", str(out / "h")])
    assert result.exit_code == 0, result.output
    made["history"] = next((out / "h").glob("machine-*.html"))
    return made


@pytest.mark.parametrize("which", ["en", "zh", "history"])
def test_a_phone_does_not_scroll_sideways(
    browser: object, pages: dict[str, Path], which: str
) -> None:
    if which not in pages:
        pytest.skip("no Chinese font for the charts (see test_i18n)")
    with page_at(browser, PHONE, pages[which].as_uri()) as page:
        assert sideways_scroll(page) == 0
        assert page.outside == []  # nothing loaded from elsewhere


def _right_edges(page: object, selector: str) -> list[float]:
    return page.eval_on_selector_all(
        selector, "cells => cells.map(c => c.getBoundingClientRect().right)"
    )


def test_the_answer_and_the_verdicts_stay_in_view_on_a_phone(
    browser: object, pages: dict[str, Path]
) -> None:
    """The range of each answer and every result's verdict are on screen, not past its edge."""
    with page_at(browser, PHONE, pages["en"].as_uri()) as page:
        ranges = _right_edges(page, 'section.answer td[data-label^="P10"]')
        verdicts = _right_edges(page, 'section.results td[data-label="verdict"]')
        assert len(ranges) == 2 and len(verdicts) == 29
        assert max(ranges + verdicts) <= PHONE[0]


def test_charts_are_drawn_for_a_phone(browser: object, pages: dict[str, Path]) -> None:
    """Each chart fits the screen at no less than 55% of its own size: its 8.5-point text
    stays at 6 px or more (a 9-inch chart shrank to 38%: 4-px text)."""
    for which in ("en", "history"):
        with page_at(browser, PHONE, pages[which].as_uri()) as page:
            scales = page.eval_on_selector_all(
                "figure svg",
                "s => s.map(e => e.getBoundingClientRect().width / e.width.baseVal.value)",
            )
            assert scales and min(scales) >= 0.55, (which, min(scales))


def test_an_invalid_row_carries_its_mark(browser: object, pages: dict[str, Path]) -> None:
    """Every row whose verdict is invalid is greyed, its verdict a red badge with the reason a
    hover away; no valid row is marked."""
    with page_at(browser, DESKTOP, pages["en"].as_uri()) as page:
        rows = page.eval_on_selector_all(
            "section.results tbody tr",
            """rows => rows.map(r => {
                const v = r.querySelector('td[data-label="verdict"]');
                const badge = v.querySelector('.badge-invalid');
                return {
                    verdict: v.textContent,
                    marked: r.classList.contains('invalid'),
                    grey: getComputedStyle(r.cells[1]).color,
                    badge: badge ? getComputedStyle(badge).color : null,
                    why: badge ? badge.title : '',
                };
            })""",
        )
    invalid = [r for r in rows if r["verdict"].startswith("invalid")]
    assert len(invalid) == 5
    for r in invalid:
        assert r["marked"] and r["badge"] == RED and "spread too wide" in r["why"]
        assert r["grey"] == "rgb(107, 107, 107)"
    assert not any(r["marked"] for r in rows if not r["verdict"].startswith("invalid"))


@pytest.fixture(scope="module")
def serving_pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Reports of a priced serving sweep whose c=8 point is invalid, in English and Chinese."""
    from factories import SERVING_SWEEP, point_result, serving_run

    from subsidybench.results.record import save_run

    out = tmp_path_factory.mktemp("serving")
    run = out / "noisy.json"
    points = [*SERVING_SWEEP[:3], point_result(8, 4.0, 0.25, 0.5, valid=False)]
    save_run(serving_run(*points), run)
    made = {}
    for lang in ("en", "zh"):
        args = ["report", str(run), "--price", "3.6", "--currency", "USD", "--tpot-ms", "250"]
        result = CliRunner().invoke(app, [*args, "--lang", lang, "--out", str(out / lang)])
        if result.exit_code != 0 and "Chinese font" in result.output:
            continue
        assert result.exit_code == 0, result.output
        made[lang] = out / lang / "report.html"
    return made


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_an_invalid_serving_point_carries_its_mark(
    browser: object, serving_pages: dict[str, Path], lang: str
) -> None:
    """The serving table sets its invalid point apart as the results table does: the row greyed,
    its verdict a red badge with the reason a hover away, its basis marked; the phone's cards
    keep the verdict in view."""
    if lang not in serving_pages:
        pytest.skip("no Chinese font for the charts (see test_i18n)")
    word = {"en": "invalid", "zh": "无效"}[lang]
    for size in (DESKTOP, PHONE):
        with page_at(browser, size, serving_pages[lang].as_uri()) as page:
            rows = page.eval_on_selector_all(
                "section.serving tbody tr",
                """rows => rows.map(r => {
                    const badge = r.querySelector('.badge-invalid');
                    const box = badge ? badge.getBoundingClientRect() : null;
                    return {
                        marked: r.classList.contains('invalid'),
                        grey: getComputedStyle(r.cells[1]).color,
                        badge: badge ? getComputedStyle(badge).color : null,
                        text: badge ? badge.textContent : '',
                        why: badge ? badge.title : '',
                        right: box ? box.right : 0,
                    };
                })""",
            )
            assert sideways_scroll(page) == 0
        assert len(rows) == 4
        assert [r["marked"] for r in rows] == [False, False, False, True]
        bad = rows[3]
        assert bad["badge"] == RED and bad["grey"] == "rgb(107, 107, 107)"
        assert bad["text"].startswith(word) and bad["why"]
        assert 0 < bad["right"] <= size[0]
        assert not any(r["badge"] for r in rows[:3])
