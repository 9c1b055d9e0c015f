"""A real browser for the tests: Debian's chromium, driven by Playwright for Python.

Playwright drives the system's chromium (`executable_path`); it never downloads a browser of its
own (`playwright install` needs a host the tests may not reach). Where Playwright or chromium is
missing, the tests that need them skip, saying which and how to get it. `live_server` serves the
page (subsidybench.ui) on 127.0.0.1 at a free port, in a thread of the test process.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

CHROMIUM_ENV = "SUBSIDYBENCH_CHROMIUM"
STARTUP_S = 60.0
"""A bound on the server's start, not a measurement: a start takes well under a second."""


def chromium_path() -> str | None:
    """The system's chromium: SUBSIDYBENCH_CHROMIUM, else chromium on the PATH."""
    given = os.environ.get(CHROMIUM_ENV)
    if given:
        return given if os.access(given, os.X_OK) else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


class LiveServer:
    """The page's app under uvicorn on 127.0.0.1, in a thread; `url` is its root."""

    def __init__(self) -> None:
        uvicorn = pytest.importorskip("uvicorn", reason="the ui extra is not installed")
        from subsidybench.cli.ui import free_port
        from subsidybench.ui.app import create_app

        self.app = create_app()
        port = free_port("127.0.0.1")
        config = uvicorn.Config(self.app, host="127.0.0.1", port=port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + STARTUP_S
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the page's server did not start")
            time.sleep(0.02)
        self.url = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=STARTUP_S)


@pytest.fixture(scope="session")
def live_server() -> Iterator[LiveServer]:
    pytest.importorskip("starlette", reason="the ui extra is not installed")
    server = LiveServer()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """A headless chromium, or a skip that says what is missing."""
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="Playwright is not installed: pip install -e '.[dev]'"
    )
    path = chromium_path()
    if path is None:
        pytest.skip(f"no chromium found (apt-get install chromium, or set {CHROMIUM_ENV})")
    with sync_api.sync_playwright() as p:
        try:
            # --no-sandbox: CI runs as root, where chromium's sandbox refuses to start.
            b = p.chromium.launch(executable_path=path, args=["--no-sandbox"])
        except sync_api.Error as e:
            pytest.skip(f"chromium at {path} does not start: {str(e).splitlines()[0]}")
        yield b
        b.close()
