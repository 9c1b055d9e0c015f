"""report.run_grid: more runs than the bar charts' colours are a grid, a cell per run and
workload, coloured against the workload's median over its valid runs."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from subsidybench.report import ReportOptions, build_report, label_runs, parse_price
from subsidybench.report.charts import COLOURS, render_charts
from subsidybench.report.i18n import ENGLISH
from subsidybench.report.run_grid import cells, factor, ratios_to, run_grid, span_for


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "run": ["a", "b", "c", "a", "b"],
            "id": ["x", "x", "x", "y", "y"],
            "valid": [True, True, False, True, True],
            "v": [10.0, 20.0, 1000.0, 3.0, 5.0],
        }
    )


def test_a_workloads_median_is_over_its_valid_runs_and_a_gap_stays_a_gap() -> None:
    f = _frame()
    grid, valid, medians = cells(f, f["v"].to_numpy(), ["x", "y"], ["a", "b", "c"])
    assert medians.tolist() == [15.0, 4.0]  # c's invalid 1,000 is not in x's median
    assert valid.tolist() == [[True, True, False], [True, True, True]]
    assert math.isnan(grid[1, 2])  # c did not measure y
    assert grid[0].tolist() == [10.0, 20.0, 1000.0]  # shown, hatched: never hidden


def test_a_workload_with_only_invalid_figures_has_their_median() -> None:
    f = _frame().assign(valid=False)
    _, _, medians = cells(f, f["v"].to_numpy(), ["x", "y"], ["a", "b", "c"])
    assert medians.tolist() == [20.0, 4.0]


def test_a_zero_median_reads_as_equal_not_as_unmeasured() -> None:
    """A 100% subsidy leaves every run's net cost 0: the same as the median, not a gap; a cost
    above a 0 median is the dearest end of the scale, not infinite."""
    grid = np.array([[0.0, 0.0, 5.0, math.nan], [1.0, 2.0, 4.0, 0.0]])
    ratios = ratios_to(grid, np.array([0.0, 2.0]))
    assert ratios[0, :3].tolist() == [1.0, 1.0, 1000.0]
    assert math.isnan(ratios[0, 3])
    assert ratios[1].tolist() == [0.5, 1.0, 2.0, 0.001]


@pytest.mark.parametrize(
    ("ratios", "span"),
    [([1.0, 1.0], 1.25), ([0.9, 1.1], 1.25), ([0.5, 1.2], 2.0), ([3.0], 4.0), ([1e-6], 1000.0)],
)
def test_the_colour_scale_holds_every_cell_either_way(ratios: list[float], span: float) -> None:
    assert span_for(np.array([*ratios, math.nan])) == span


def test_factors_read_plainly() -> None:
    assert [factor(x) for x in (0.5, 1.0, 1 / 1.5, 2.0, 100.0, 1000.0, 0.001)] == [
        "0.5x",
        "1x",
        "0.667x",
        "2x",
        "100x",
        "1,000x",
        "0.001x",
    ]


def test_a_grid_is_an_svg_with_its_invalid_cells_hatched() -> None:
    f = _frame()
    kw = dict(
        ids=["x", "y"],
        runs=["a", "b", "c"],
        key="t",
        title="t",
        colour_label="c",
        median_label="m",
        invalid="invalid",
    )
    svg = run_grid(f, f["v"].to_numpy(), lower_is_better=False, **kw)
    assert svg.startswith("<svg") and "<pattern" in svg  # matplotlib's hatching
    clean = run_grid(f.assign(valid=True), f["v"].to_numpy(), lower_is_better=True, **kw)
    assert "<pattern" not in clean


def test_more_runs_than_colours_draw_grids_and_say_so(run_file: Path, tmp_path: Path) -> None:
    paths = []
    for i in range(len(COLOURS) + 1):
        paths.append(tmp_path / f"run-{i:02d}.json")
        shutil.copyfile(run_file, paths[-1])
    options = ReportOptions(prices=(parse_price("2", "USD"),))
    few = {c.key: c for c in render_charts(build_report(label_runs(paths[:-1]), options))}
    many = {c.key: c for c in render_charts(build_report(label_runs(paths), options))}
    said = ENGLISH("chart.grid_caption")
    for key in ("throughput", "cost"):
        assert said in many[key].caption, key
        assert said not in few[key].caption, key
