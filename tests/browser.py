"""A real browser for tests: the system's chromium (Debian: apt-get install chromium) driven by
Playwright for Python. Playwright's own browser download is never used (`playwright install`
needs the internet; CI and this project's machines reach only package registries), so the
browser is the distribution's, found on PATH or named by SUBSIDYBENCH_CHROMIUM.

Shared by every test that needs a page in a browser (the report, the history site, the web app):
conftest.py exposes the `browser` fixture; `page_at` opens a page at a given width. Where no
browser can be had, the tests skip, saying why.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM_ENV = "SUBSIDYBENCH_CHROMIUM"
PHONE = (390, 844)
"""An iPhone 12-15's CSS viewport: the width the phone layout is held to."""
DESKTOP = (1280, 900)


def find_chromium() -> str | None:
    """SUBSIDYBENCH_CHROMIUM, else chromium (Debian) or chromium-browser (Ubuntu) on PATH."""
    named = os.environ.get(CHROMIUM_ENV)
    if named:
        return named if Path(named).exists() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless chromium for one test module; skips where there is none. Not for the whole
    session: Playwright's sync API runs an asyncio loop in the main thread while it is open, and
    asyncio.run() in a later module (serve-bench's tests) would then refuse to start."""
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="no Playwright: pip install -e '.[dev]'"
    )
    path = find_chromium()
    if path is None:
        pytest.skip(f"no chromium: apt-get install chromium (or set {CHROMIUM_ENV})")
    with sync_api.sync_playwright() as pw:
        try:
            instance = pw.chromium.launch(executable_path=path)
        except sync_api.Error as e:
            pytest.skip(f"chromium at {path} does not start: {str(e).splitlines()[0]}")
        yield instance
        instance.close()


@contextmanager
def page_at(browser: Any, size: tuple[int, int] = DESKTOP, url: str | None = None) -> Iterator[Any]:
    """A page of `size` (width, height in CSS pixels), at `url` if given; every request it makes
    to anywhere but a file or 127.0.0.1 is recorded in page.outside (and aborted)."""
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    page = context.new_page()
    page.outside = []

    def route(r: Any) -> None:
        target = r.request.url
        local = target.startswith(("file:", "data:", "about:", "http://127.0.0.1"))
        if local:
            r.continue_()
        else:
            page.outside.append(target)
            r.abort()

    page.route("**/*", route)
    try:
        if url is not None:
            page.goto(url)
        yield page
    finally:
        context.close()


def sideways_scroll(page: Any) -> int:
    """How many CSS pixels the page scrolls sideways (0: it fits its viewport)."""
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))
