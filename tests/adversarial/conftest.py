"""Prints the adversarial tally (inputs tried, handled cleanly, defects) after the session."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import hostile


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    t = hostile.TALLY
    if not t.tried:
        return
    write = terminalreporter.write_line
    defects = sum(t.defects.values())
    write(f"adversarial: {t.tried} inputs tried, {t.clean} handled cleanly, {defects} defects")
    for kind, n in sorted(t.defects.items()):
        write(f"  {kind}: {n}")
    if hostile.REPORT_ONLY:
        for label, detail in sorted(t.examples.items()):
            write(f"  - {label[:200]}\n      {detail[:200]!r}")
