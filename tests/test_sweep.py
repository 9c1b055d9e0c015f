"""The matmul shape sweep: a suite entry's grid expands to bounded combinations, and the run's
best matmul is reported with the shape that gave it (mamf-finder's question)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from subsidybench.datafile import Fields
from subsidybench.errors import UserError
from subsidybench.report.terminal import sweep_lines
from subsidybench.results.query import best_matmul_shapes
from subsidybench.results.record import RunResult
from subsidybench.suites import load_suite, parse_suite


def _suite(grid: dict[str, object], params: dict[str, object] | None = None) -> dict[str, object]:
    entry: dict[str, object] = {"name": "matmul", "grid": grid, "dtypes": ["bf16"]}
    if params is not None:
        entry["params"] = params
    return {"name": "s", "version": 1, "workloads": [entry]}


def test_grid_expands_to_every_combination() -> None:
    suite = parse_suite(Fields(_suite({"m": [1, 2], "n": [3, 4, 5]}, {"k": 7}), "s.toml"))
    assert [e.params for e in suite.entries] == [
        {"k": 7, "m": m, "n": n} for m in (1, 2) for n in (3, 4, 5)
    ]


@pytest.mark.parametrize(
    ("grid", "params", "message"),
    [
        ({"m": list(range(9)), "n": list(range(8))}, None, "expands to 72 workloads, more than 64"),
        ({"m": []}, None, r"grid.m: needs at least one value"),
        ({"m": [1]}, {"m": 2}, "m given in both params and grid"),
    ],
)
def test_grid_errors_name_the_field(
    grid: dict[str, object], params: dict[str, object] | None, message: str
) -> None:
    with pytest.raises(UserError, match=message):
        parse_suite(Fields(_suite(grid, params), "s.toml"))


def test_full_suite_sweeps_matmul_shapes_within_bounds() -> None:
    full = load_suite("full")
    swept = [e for e in full.entries if e.workload == "matmul" and e.budget_s == 1.0]
    assert len(swept) == 27 and all(len(e.dtypes) == 2 for e in swept)


def test_best_matmul_names_its_shape(run_file) -> None:  # type: ignore[no-untyped-def]
    from subsidybench.results.record import load_run

    run: RunResult = load_run(run_file)
    gemm = next(r for r in run.results if r.id.startswith("gemm"))
    fast = replace(gemm, id="mm-b", workload="matmul", params={"m": 2, "k": 2, "n": 2})
    slow = replace(fast, id="mm-a", params={"m": 1, "k": 1, "n": 1}, work=replace(
        gemm.work, flops=gemm.work.flops / 2))  # type: ignore[arg-type]  # fmt: skip
    run = replace(run, results=(slow, fast))
    [(_, (best, shapes))] = best_matmul_shapes(run).items()
    assert best.id == "mm-b" and shapes == 2
    [line] = sweep_lines(run)
    assert line.startswith("best bf16 matmul of 2 shapes: 400 TFLOP/s at m=2 k=2 n=2")
