"""A resolved scenario's serving answer: every point of its serving curve costed as the scenario
costs its job (through cost.evaluate, so the headline and the table never disagree), then split
into input and output tokens by cost.serving's rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from subsidybench.cost.evaluate import one
from subsidybench.cost.scenario import Scenario
from subsidybench.cost.serving import (
    CurveCosts,
    ServingAnswer,
    ServingPick,
    prefill_share,
    split_per_million,
)
from subsidybench.cost.throughput import ThroughputAxis, WorkUnit
from subsidybench.provenance import Basis
from subsidybench.results.serving import Curve, CurvePoint, Slo
from subsidybench.units import MILLION

if TYPE_CHECKING:
    from subsidybench.cost.answer import Estimate


def curve_costs(
    scenario: Scenario | None,
    curve: Curve,
    slo: Slo | None = None,
    chosen: CurvePoint | None = None,
    costed: Sequence[CurvePoint] | None = None,
) -> tuple[CurveCosts, list[Estimate | None]]:
    """Every point of `curve` costed as `scenario` costs its job (one Estimate each, through
    cost.evaluate, so headline and table never disagree), then split into input and output.

    Without a scenario (no price), the speeds and split only. Points not in `costed` (default:
    all) get no money, as an invalid measurement gets none in a report."""
    pts = curve.points
    basis = Basis.DERIVED if curve.derived else Basis.MEASURED
    wanted = set(pts if costed is None else costed)
    estimates: list[Any] = []
    for p in pts:
        if scenario is None or p not in wanted:
            estimates.append(None)
            continue
        axis = ThroughputAxis(
            WorkUnit.TOKENS, basis, p.result_id, np.array([p.output_tokens_per_s])
        )
        estimates.append(one(replace(scenario, throughput=axis)))
    share = prefill_share(
        [p.ttft_s.p50 for p in pts], [p.tpot_s.p50 for p in pts], [p.new_tokens for p in pts]
    )
    front = set(curve.pareto_front())
    on_front = np.array([p in front for p in pts])
    meets = None if slo is None else np.array([not slo.misses(p) for p in pts])
    costs = CurveCosts(pts, share, on_front, meets, None if chosen is None else pts.index(chosen))
    if any(e is not None and e.gross is not None for e in estimates):
        nan = float("nan")
        tokens = np.array([e.tokens if e else nan for e in estimates]) / MILLION
        gross = np.array([e.gross if e else nan for e in estimates], dtype=np.float64) / tokens
        net = np.array([e.net if e else nan for e in estimates], dtype=np.float64) / tokens
        p0 = pts[0]
        in_gross, out_gross = split_per_million(gross, share, p0.prompt, p0.new_tokens)
        in_net, out_net = split_per_million(net, share, p0.prompt, p0.new_tokens)
        costs = replace(
            costs, all_in=(gross, net), input=(in_gross, in_net), output=(out_gross, out_net)
        )
    return costs, estimates


def answer(scenario: Scenario) -> ServingAnswer:
    """The serving answer to a scenario whose throughput is a serving curve's point."""
    chosen = serving_pick(scenario)
    if chosen is None:
        raise ValueError("the scenario costs no serving curve")
    costs, estimates = curve_costs(scenario, chosen.curve, chosen.slo, chosen.point)
    assert costs.chosen is not None
    head = estimates[costs.chosen]
    assert head is not None
    throughput = chosen.throughput()
    notes = [a for a in head.assumptions if a.name != "throughput"]
    picked = [a.said(scenario.name) for a in chosen.assumptions()]
    head = replace(head, assumptions=(*throughput.assumptions(), *picked, *notes))
    return ServingAnswer(head, chosen, costs)


def serving_pick(scenario: Scenario) -> ServingPick | None:
    """The serving pick a resolved scenario costs, if its throughput came from a curve."""
    axis = scenario.throughput
    return None if axis is None else axis.serving
