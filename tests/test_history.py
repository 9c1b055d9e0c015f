"""History: steps found in a synthetic history built from real samples, the gate, the site."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from history_runs import commit_of, synthetic_runs
from typer.testing import CliRunner

from subsidybench.cli import app
from subsidybench.report.render_html import external_references
from subsidybench.results.history import (
    GateMethod,
    GateVerdict,
    StepMethod,
    find_steps,
    gate,
)
from subsidybench.results.store import Store

runner = CliRunner()

MATMUL = "matmul[n=1024,m=1024,k=1024]/fp32"
GPT = "gpt_train[batch=8,seq=128,layers=2,heads=4,dim=128,vocab=2048]/bf16"
COPY = "copy[mib=128]/fp32"
SOFTMAX = "softmax[rows=1024,cols=1024]/fp32"
# Two planted 15% steps, and two invalid (wildly spread) results in a third workload.
STEPS = {MATMUL: (30, 1.15), GPT: (22, 1.15)}
INVALID = {COPY: (10, 40)}
N = 50


def _fill(db: Path, n: int, steps: dict[str, tuple[int, float]]) -> None:
    with Store.open(db) as store:
        for k, (commit, run) in enumerate(synthetic_runs(n, steps=steps, invalid=INVALID)):
            store.add(run, source=f"synthetic-{k}", commit=commit)


@pytest.fixture(scope="module")
def history_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("history") / "h.sqlite"
    _fill(db, N, STEPS)
    return db


def _copy(db: Path, to: Path) -> Path:
    target = to / db.name
    shutil.copy(db, target)  # the store was closed: its WAL is checkpointed into the file
    return target


@pytest.fixture(scope="module")
def site(history_db: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The history command run once on the 50-run store: (its output folder, what it printed)."""
    out = tmp_path_factory.mktemp("site")
    args = ["history", "--store", str(history_db), "--out", str(out)]
    result = runner.invoke(app, [*args, "--json", str(out / "steps.json")])
    assert result.exit_code == 0, result.output
    return out, result.output


def test_planted_steps_are_found_and_nothing_else(site: tuple[Path, str]) -> None:
    out, printed = site
    assert "Mann-Whitney U" in printed  # the method is named
    doc = json.loads((out / "steps.json").read_text())
    assert "Mann-Whitney U" in doc["method"]
    found = {s["workload"]: s for s in doc["steps"]}
    assert set(found) == {MATMUL, GPT}
    for workload, (at, factor) in STEPS.items():
        step = found[workload]
        assert step["commit"] == commit_of(at)  # the first run after the step
        assert step["ratio"] == pytest.approx(factor, abs=0.03)
        assert step["describe"].endswith("slower")


def test_history_site_is_self_contained(site: tuple[Path, str]) -> None:
    out, _ = site
    pages = sorted(out.glob("*.html"))
    assert pages[0].name == "index.html" and len(pages) == 2
    for page in pages:
        text = page.read_text()
        assert external_references(text) == []
        assert "<script" not in text.lower()
    index = pages[0].read_text()
    machine = pages[1].read_text()
    assert index.count("slower</td>") == 2
    assert machine.count("<svg") == 23  # one trend per workload
    for workload in STEPS:  # linked from the index to the chart
        anchor = re.search(rf'href="(machine-[^"#]+)#([^"]+)">{re.escape(workload)}<', index)
        assert anchor and f'id="{anchor.group(2)}"' in machine
    assert "invalid, not used" in machine  # the copy workload's invalid results, drawn apart


def test_gate_passes_on_a_quiet_history_and_fails_on_a_slowdown(
    history_db: Path, tmp_path: Path
) -> None:
    db = _copy(history_db, tmp_path)
    quiet = runner.invoke(app, ["gate", "--store", str(db), "--last", "3"])
    assert quiet.exit_code == 0, quiet.output
    # Three more runs, softmax 25% slower in them; the first 50 are the same runs again.
    _fill(db, N + 3, {**STEPS, SOFTMAX: (N, 1.25)})
    with Store.open(db) as store:
        assert store.count_runs() == N + 3
    failed = runner.invoke(app, ["gate", "--store", str(db), "--last", "3"])
    assert failed.exit_code == 3, failed.output
    assert "regression: " in failed.output and SOFTMAX in failed.output
    assert failed.output.count("regression: ") == 1
    loose = runner.invoke(app, ["gate", "--store", str(db), "--last", "3", "--threshold", "40"])
    assert loose.exit_code == 0, loose.output


def test_gate_with_too_little_history_warns_and_passes(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite"
    _fill(db, 3, {SOFTMAX: (2, 2.0)})
    result = runner.invoke(app, ["gate", "--store", str(db), "--last", "1"])
    assert result.exit_code == 0, result.output
    assert "too little history" in result.output


def test_find_steps_on_known_series() -> None:
    rng = np.random.default_rng(1)
    method = StepMethod()
    flat = 1.0 + rng.normal(0, 0.01, 60)
    assert find_steps(flat, method) == []
    spike = flat.copy()
    spike[30] = 3.0  # one slow run is not a step
    assert find_steps(spike, method) == []
    stepped = flat.copy()
    stepped[25:] *= 1.10
    assert [i for i, _ in find_steps(stepped, method)] == [25]
    small = flat.copy()
    small[25:] *= 1.03  # real, but below the 5% minimum
    assert find_steps(small, method) == []
    ((at, _),) = find_steps(small, StepMethod(min_step=0.02))
    assert abs(at - 25) <= 1  # a 3% step in 1% noise: placed within a run


def test_gate_rows_judge_only_the_newest_method_version() -> None:
    rows = []
    for k in range(30):
        version = 1 if k < 25 else 2
        median = 1.0 if version == 1 else 2.0  # a new method, not a regression
        rows.append(
            {"machine": "m", "workload": "w", "method_version": version, "run": k,
             "status": "ok", "valid": True, "median_s": median + 0.001 * (k % 3)}
        )  # fmt: skip
    (row,) = gate(pd.DataFrame(rows), GateMethod(last=1))
    assert row.verdict is GateVerdict.SHORT_HISTORY and row.history_n == 4
