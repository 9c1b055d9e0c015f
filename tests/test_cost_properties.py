"""Properties every subsidy answer must have, whatever the numbers: the net cost is never
negative and never above the gross, it falls (or holds) as the rate rises, and the cap holds."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from subsidybench.cost import model as cost
from subsidybench.cost.model import SubsidyTerms

# Zero, or an amount within bounds.MONEY (from a millionth of a unit: subnormal floats lose the
# digits a rate needs, and no input reaches the model below it).
money = st.one_of(st.just(0.0), st.floats(min_value=1e-6, max_value=1e12))
rates = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
caps = st.one_of(st.just(math.inf), money)
hours = st.floats(min_value=1e-3, max_value=1e6, allow_nan=False)
windows = st.one_of(st.just(math.inf), st.floats(min_value=0.0, max_value=1e6, allow_nan=False))


@given(gross=money, rate=rates, cap=caps, wall=hours, window=windows, after=rates)
def test_net_is_between_zero_and_gross(
    gross: float, rate: float, cap: float, wall: float, window: float, after: float
) -> None:
    terms = SubsidyTerms(
        rate, "p", "r", cap_per_contract=cap, window_hours=window, after_rate=after
    )
    outcome = cost.apply_subsidy(gross, terms, wall_hours=wall)
    assert 0.0 <= outcome.net <= gross
    assert 0.0 <= outcome.amount <= gross
    assert outcome.amount <= cap
    assert math.isclose(outcome.net + outcome.amount, gross, rel_tol=1e-12, abs_tol=1e-6)


@given(gross=money, low=rates, high=rates, cap=caps)
def test_net_never_rises_with_the_rate(gross: float, low: float, high: float, cap: float) -> None:
    low, high = min(low, high), max(low, high)
    net_low = cost.apply_subsidy(gross, SubsidyTerms(low, "p", "r", pool=cap)).net
    net_high = cost.apply_subsidy(gross, SubsidyTerms(high, "p", "r", pool=cap)).net
    assert net_high <= net_low + 1e-9 * max(1.0, gross)


@given(gross=money, rate=rates, cap=money)
def test_cap_binds_exactly_above_cap_over_rate(gross: float, rate: float, cap: float) -> None:
    outcome = cost.apply_subsidy(gross, SubsidyTerms(rate, "p", "r", cap_per_firm_year=cap))
    if outcome.cap_binds:
        assert outcome.amount == cap
        assert gross >= outcome.binds_above * (1 - 1e-12)
    else:
        assert math.isclose(outcome.amount, gross * rate, rel_tol=1e-12, abs_tol=1e-9)


@given(
    gross=st.lists(money, min_size=1, max_size=20),
    rate=st.lists(rates, min_size=1, max_size=20),
    cap=caps,
)
def test_vectorised_subsidy_respects_the_same_bounds(
    gross: list[float], rate: list[float], cap: float
) -> None:
    g = np.array(gross)[:, None]
    r = np.array(rate)[None, :]
    out = cost.evaluate_hours(g, g, 1.0, r, cap)
    assert (out["net"] >= 0).all()
    assert (out["net"] <= g + 1e-9).all()
    assert (out["subsidy"] <= cap).all()
    # Along the rate axis, sorted rates give a net that never rises.
    order = np.argsort(rate)
    net_sorted = out["net"][:, order]
    assert (np.diff(net_sorted, axis=1) <= 1e-6 * np.maximum(1.0, g)).all()


@given(
    capex=st.floats(min_value=1.0, max_value=1e7),
    years=st.floats(min_value=0.5, max_value=20),
    r=st.floats(min_value=0, max_value=0.5),
)
def test_annuity_repays_at_least_the_capital(capex: float, years: float, r: float) -> None:
    # The yearly payments add up to no less than the capex (more, when money costs something).
    paid = capex * float(cost.capital_recovery_factor(r, years)) * years
    assert paid >= capex * (1 - 1e-9)


@given(gross=money, rate=rates, cap=caps, wall=hours, window=windows, after=rates)
def test_effective_rate_never_exceeds_the_highest_rate(
    gross: float, rate: float, cap: float, wall: float, window: float, after: float
) -> None:
    terms = SubsidyTerms(
        rate, "p", "r", cap_per_contract=cap, window_hours=window, after_rate=after
    )
    outcome = cost.apply_subsidy(gross, terms, wall_hours=wall)
    assert outcome.effective_rate <= max(rate, after) + 1e-12
    assert outcome.amount <= gross and outcome.amount <= terms.cap


@given(
    price_a=st.floats(min_value=1e-3, max_value=1e4),
    price_b=st.floats(min_value=1e-3, max_value=1e4),
    params=st.floats(min_value=1e6, max_value=1e13),
    tokens=st.floats(min_value=1e6, max_value=1e14),
    tflops=st.floats(min_value=1e-3, max_value=1e4),
    devices=st.integers(min_value=1, max_value=100_000),
)
def test_time_answers_do_not_depend_on_the_price(
    price_a: float, price_b: float, params: float, tokens: float, tflops: float, devices: int
) -> None:
    from subsidybench.cost.jobs import Cluster, TrainJob
    from subsidybench.cost.pricing import HourlyPrice
    from subsidybench.cost.throughput import given_tflops
    from subsidybench.provenance import Basis

    job, tp, cluster = TrainJob(params, tokens), given_tflops(tflops), Cluster(devices, 0.9)
    a = cost.estimate(job, HourlyPrice.rent(price_a, "USD", Basis.GIVEN, "t"), tp, cluster)
    b = cost.estimate(job, HourlyPrice.rent(price_b, "USD", Basis.GIVEN, "t"), tp, cluster)
    none = cost.estimate(job, None, tp, cluster)
    assert a.device_hours == b.device_hours == none.device_hours
    assert a.wall_hours == b.wall_hours == none.wall_hours
