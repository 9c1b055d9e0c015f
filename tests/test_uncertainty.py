"""Ranges, not points (cost.uncertainty): the syntax, the point through the vectorised model equal
to the single answer, the bootstrap, the seed, the tornado, the speed, and the CLI."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from subsidybench.cli import app
from subsidybench.cost.evaluate import one
from subsidybench.cost.request import Request
from subsidybench.cost.scenario import resolve
from subsidybench.cost.uncertainty import (
    Spread,
    _figures,
    _sources,
    bootstrap_rates,
    parse_spread,
    ranges,
)
from subsidybench.errors import UserError

runner = CliRunner()
DATA = Path(__file__).parent / "data" / "run-v1.json"
BF16 = "matmul[n=1024,m=1024,k=1024]/bf16"


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


def a(x: float) -> np.ndarray:
    return np.array([x])


def test_spread_syntax() -> None:
    assert parse_spread("1.8:2.4:0.2", "--price") is None  # a sweep, not a range
    assert parse_spread("2", "--price") is None
    u = parse_spread("1.8~2.4", "--price")
    assert u == Spread(1.8, 2.4) and u.centre == pytest.approx(2.1)
    t = parse_spread("1.8~2.0~2.4", "--price")
    assert t == Spread(1.8, 2.4, 2.0) and t.centre == 2.0
    for bad in ("2.4~1.8", "1~3~2", "a~b", "1~2~3~4"):
        with pytest.raises(UserError, match="--price"):
            parse_spread(bad, "--price")
    draws = t.draw(np.random.default_rng(1), 100_000)
    assert draws.min() >= 1.8 and draws.max() <= 2.4
    # Triangular(a, c, b): mean (a + b + c) / 3.
    assert draws.mean() == pytest.approx((1.8 + 2.0 + 2.4) / 3, rel=2e-3)


SCENARIOS = {
    "train, a programme with a rate window, fx": Request(
        train=(7e9, 1e12),
        tflops=a(300.0),
        price=a(2.0),
        currency="USD",
        subsidy="shanghai-2025-compute",
        small_firm=True,
        devices=a(8.0),
        scaling_efficiency=a(0.9),
        report_currency="CNY",
        uncertain={"price": Spread(1.8, 2.4), "fx": Spread(7.0, 7.3)},
        fx=7.15,
    ),
    "hours with a cap": Request(
        hours=a(1e6),
        tflops=a(300.0),
        price=a(2.5),
        currency="USD",
        rate=a(0.3),
        cap=50_000.0,
        devices=a(16.0),
        scaling_efficiency=a(0.85),
        uncertain={"rate": Spread(0.2, 0.4)},
    ),
    "contract": Request(
        contract=a(2e6),
        mfu=a(0.4),
        peak_tflops=989.0,
        price=a(2.5),
        currency="USD",
        rate=a(0.2),
        uncertain={"mfu": Spread(0.35, 0.45)},
    ),
    "serve on a measured run": Request(
        serve=1e9, params=7e9, run=DATA, workload=BF16, price=a(2.0), currency="USD"
    ),
}


@pytest.mark.parametrize("name", SCENARIOS)
def test_point_through_the_vectorised_model_is_the_single_answer(name: str) -> None:
    s = resolve(SCENARIOS[name])
    e = one(s)
    sources = _sources(s)
    assert sources, "each of these scenarios has something uncertain"
    point = _figures(s, {src.key: src.point for src in sources})
    for figure, expected in (
        ("net", e.net),
        ("gross", e.gross),
        ("device_hours", e.device_hours),
        ("net_per_pflop_hour", e.net_per_pflop_hour),
        ("net_per_million_tokens", e.net_per_million_tokens),
    ):
        if expected is None:
            continue
        assert float(point[figure]) == pytest.approx(expected, abs=0.005), figure
    r = ranges(s, draws=20_000)
    assert r is not None
    assert r.figures["net"][0] == pytest.approx(e.net, abs=0.005)
    p10, p50, p90 = r.figures["net"][1:]
    assert p10 <= p50 <= p90


def test_reach_range() -> None:
    s = resolve(
        Request(
            reach="cap",
            subsidy="beijing-2023",
            price=a(15.0),
            currency="CNY",
            tflops=a(300.0),
            uncertain={"price": Spread(12.0, 18.0)},
        )
    )
    r = ranges(s, draws=10_000)
    answer = one(s)
    assert r is not None and r.headline == "pflop_days"
    assert r.figures["device_hours"][0] == pytest.approx(answer.device_hours)
    low, high = r.figures["device_hours"][1], r.figures["device_hours"][3]
    # 2M yuan at 20% buys a 10M contract: 10M / 18 to 10M / 12 device-hours, P10 to P90 inside.
    assert 1e7 / 18 < low < answer.device_hours < high < 1e7 / 12


def test_bootstrap_matches_resampling_by_hand() -> None:
    samples = np.random.default_rng(5).lognormal(0, 0.2, 31)
    rate = 1e12
    draws = bootstrap_rates([(rate, samples)], np.random.default_rng(9), 50_000)
    idx = np.random.default_rng(3).integers(0, samples.size, (20_000, samples.size))
    by_hand = rate * np.median(samples) / np.median(samples[idx], axis=1)
    assert np.percentile(draws, [10, 50, 90]) == pytest.approx(
        np.percentile(by_hand, [10, 50, 90]), rel=0.01
    )


def test_several_runs_spread_wider_than_one(tmp_path: Path) -> None:
    from subsidybench.results.record import load_run, save_run

    run = load_run(DATA)
    slow = tmp_path / "slow.json"
    results = []
    for r in run.results:
        if r.id == BF16:
            assert r.measurement is not None
            m = replace(r.measurement, samples_s=tuple(x * 1.3 for x in r.measurement.samples_s))
            r = replace(r, measurement=m)
        results.append(r)
    save_run(replace(run, results=tuple(results)), slow)
    base = Request(train=(7e9, 1e12), run=DATA, workload=BF16, price=a(2.0), currency="USD")
    alone = ranges(resolve(base))
    both = ranges(resolve(replace(base, also_runs=(slow,))))
    assert alone is not None and both is not None
    width = {k: r.figures["net"][3] - r.figures["net"][1] for k, r in (("1", alone), ("2", both))}
    assert width["2"] > 2 * width["1"]
    assert both.figures["net"][0] == alone.figures["net"][0]  # the point is the first run's
    assert "2 runs" in both.sources[0].describe


def test_seed_repeats_and_tornado_sorted() -> None:
    s = resolve(SCENARIOS["hours with a cap"])
    s = resolve(replace(s.request, uncertain={**s.request.uncertain, "price": Spread(2, 3)}))
    r1, r2, r3 = ranges(s, seed=7), ranges(s, seed=7), ranges(s, seed=8)
    assert r1 is not None and r2 is not None and r3 is not None
    assert r1.figures == r2.figures and r1.figures != r3.figures
    swings = [b.swing for b in r1.tornado]
    assert swings == sorted(swings, reverse=True)
    rate = next(b for b in r1.tornado if b.label == "--rate")
    assert rate.low == pytest.approx(0.22, abs=0.01) and rate.high == pytest.approx(0.38, abs=0.01)
    # 1e6 device-hours at 2.5 USD: 2.5M, and a 50,000 USD cap binds at any of these rates.
    assert rate.swing == 0
    loose = ranges(resolve(replace(s.request, cap=1e6)), seed=7)
    assert loose is not None
    rate = next(b for b in loose.tornado if b.label == "--rate")
    assert rate.at_low > rate.at_high  # more subsidy, lower net cost per PFLOP-hour


def test_a_value_given_as_one_number_is_exact() -> None:
    # --mfu 0.4 and --scaling-efficiency given by hand: no default spread is put on them.
    s = resolve(replace(SCENARIOS["contract"], uncertain={}))
    assert _sources(s) == []
    assert ranges(s) is None


def test_100k_draws_are_summarised_from_every_draw() -> None:
    # How fast they run is bench/bench_cost.py's question; here: all 100k are drawn and summarised.
    s = resolve(SCENARIOS["train, a programme with a rate window, fx"])
    r = ranges(s, draws=100_000)
    assert r is not None and r.draws == 100_000
    again = ranges(s, draws=100_000)
    assert again is not None and again.figures == r.figures  # same seed, same figures
    assert all(p10 <= p50 <= p90 for _, p10, p50, p90 in r.figures.values())


def test_cli_prints_range_seed_and_tornado(tmp_path: Path) -> None:
    out_json = tmp_path / "a.json"
    code, out, err = invoke(
        "cost",
        "--train",
        "7e9:1e12",
        "--run",
        str(DATA),
        "--workload",
        BF16,
        "--price",
        "1.8~2.0~2.4",
        "--currency",
        "USD",
        "--rate",
        "0.3~0.5",
        "--seed",
        "42",
        "--draws",
        "20000",
        "--json",
        str(out_json),
    )
    assert code == 0, err
    assert "P10" in out and "P90" in out and "seed 42" in out
    assert "bootstrap of 30 raw samples" in out and "triangular 1.8 to 2.4, mode 2" in out
    doc = json.loads(out_json.read_text())
    assert doc["ranges"]["seed"] == 42 and doc["ranges"]["draws"] == 20_000
    assert doc["ranges"]["tornado"]["bars"][0]["input"] == "--rate"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--price", "2~1"], "--price: a range low~high needs low < high"),
        (["--price", "2~3", "--rate", "0.1,0.2"], "give one kind at a time"),
        (["--price", "2", "--rate", "0.1~1.4"], "--rate: must be"),
        (["--price", "2", "--devices", "2~4"], "--devices: a range a~b is taken for"),
        (["--price", "2", "--fx", "7~7.2"], "--fx: no exchange rate enters"),
    ],
)
def test_bad_ranges_are_one_line_errors(args: list[str], message: str) -> None:
    code, _, err = invoke(
        "cost", "--train", "7e9:1e12", "--tflops", "300", "--currency", "USD", *args
    )
    assert code == 1, err
    assert err.strip().count("\n") == 0 and message in err


def test_a_figure_no_input_moves_has_numpys_percentiles() -> None:
    """A one-number figure skips numpy's percentile (a copy and a partition of every draw) and
    gets what numpy gives to the last bit: signed zeros, tiny and huge values; inf and nan still
    go through numpy (its P10 of infs is nan)."""
    import math

    from subsidybench.cost.uncertainty import _percentiles

    for x in (0.0, -0.0, 5e-324, 1e-300, -3.5, 2.0 / 3.0, 1.7e308, np.float64(7.25), 3):
        got = _percentiles(np.asarray(x), 1000)
        want = np.percentile(np.broadcast_to(np.asarray(x), (1000,)), (10, 50, 90))
        assert [math.copysign(1.0, g) for g in got] == [math.copysign(1.0, w) for w in want]
        assert list(got) == [float(w) for w in want]
    with np.errstate(invalid="ignore"):
        assert all(math.isnan(g) for g in _percentiles(np.asarray(np.inf), 1000))
