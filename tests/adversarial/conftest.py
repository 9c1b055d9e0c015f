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
    defects = sum(n for kind, n in t.defects.items() if kind != "known-cost-defect")
    known = t.defects.get("known-cost-defect", 0)
    write(
        f"adversarial: {t.tried} inputs tried, {t.clean} handled cleanly, {defects} defects"
        f" (+ {known} known cost defects, hostile.KNOWN_COST_DEFECTS)"
    )
    for kind, n in sorted(t.defects.items()):
        write(f"  {kind}: {n}")
    if hostile.KNOWN_SEEN:
        write(f"  known cost defects seen on: {', '.join(sorted(hostile.KNOWN_SEEN))}")
    if quiet := sorted(hostile.KNOWN_COST_DEFECTS - hostile.KNOWN_SEEN):
        write(f"  KNOWN_COST_DEFECTS that did not fail (fixed, or not drawn): {', '.join(quiet)}")
    if hostile.REPORT_ONLY:
        for label, detail in sorted(t.examples.items()):
            write(f"  - {label[:200]}\n      {detail[:200]!r}")
