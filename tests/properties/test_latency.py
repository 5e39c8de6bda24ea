"""Latency helpers on hand-computed values, and the prefill counterexample (a finding)."""

from __future__ import annotations

from fractions import Fraction as F

import pytest

from properties.engines import EngineRequest, ReferenceEngine
from properties.latency import check_latency_dominance, expected_si_times, si_expected_latency
from properties.violation import PropertyViolation
from reference.closed_forms import si_expected_latency as lead_si_expected_latency
from reference.latency import LatencyModel
from reference.toy_models import TabularLM


def test_si_times_from_an_acceptance_path() -> None:
    # k = 2, c = 1/2: iteration 1 drafts 2 (time 1) + verify 1 -> t = 2; accept, reject -> 2 tokens.
    # 1 token left: kk = 0, verify only -> t = 3.
    assert expected_si_times([True, False, True], 2, LatencyModel.time_units(F(1, 2))) == [2, 2, 3]


def test_si_times_with_prefill() -> None:
    # drafter prefill 2 then decode 1/2; target prefill 3: iteration 1 = 2 + 1/2 + max(3, 1/2)
    lat = LatencyModel.time_units(F(1, 2), target_prefill=3, drafter_prefill=2)
    assert expected_si_times([True, True, True], 2, lat) == [F(11, 2)] * 3


@pytest.mark.parametrize(("a", "expected"), [(1.0, 3.5), (0.0, 8.5)])
def test_si_expected_latency_at_the_extremes(a: float, expected: float) -> None:
    # S = 5, k = 2, c = 1/2. a = 1: iterations of 2 and 1 drafts: 2 + 1.5.
    # a = 0: one token per iteration: 2 + 2 + 2 + 1.5 + 1.
    assert si_expected_latency(F(1, 2), a, 2, 5) == pytest.approx(expected)


@pytest.mark.parametrize(("c", "a", "k", "S"), [(0.1, 0.8, 5, 30), (0.5, 0.3, 2, 17), (1.0, 0.95, 7, 40)])
def test_si_expectation_agrees_with_the_reference_closed_forms(c: float, a: float, k: int, S: int) -> None:
    assert si_expected_latency(F(repr(c)), a, k, S) == pytest.approx(lead_si_expected_latency(c, a, k, S))


def test_prefill_counterexample_to_pathwise_dominance() -> None:
    """Finding: with per-server prefill (SPEC §10), T_DSI <= T_nonSI fails although the
    drafter's latencies do not exceed the target's.

    S = 2, k = 1, N = 2, c = 1/2, target prefill 4, drafter prefill 2, drafts accepted (q = p).
    non-SI: x0 at 4 (prefill), x1 at 5. DSI: frontier task on server 0 gives p at 0 at 4;
    d0 is ready at 2, so the window [0, 1] starts at 2 on the fresh server 1 and pays its
    prefill: p at 1 at 6. The window covers position 1, so no frontier task is chained, and
    x1 resolves at 6 > 5.
    """
    model = TabularLM(2, order=0, seed=0)
    latency = LatencyModel.time_units(F(1, 2), target_prefill=4, drafter_prefill=2)
    request = EngineRequest(model, model, (0,), 2, lookahead=1, num_target_servers=2, latency=latency)
    engine = ReferenceEngine()
    assert engine.generate(request.but(algorithm="nonsi")).times == (4, 5)
    assert engine.generate(request.but(algorithm="dsi")).times == (4, 6)
    with pytest.raises(PropertyViolation, match="T_DSI = 6 > T_nonSI = 5"):
        check_latency_dominance(engine, request)


def test_warm_start_removes_the_prefill_counterexample() -> None:
    """The request above with warm start: server 1 prefills the prompt over [0, 4], the window
    [0, 1] runs [4, 5] on the first free server, x1 at 5 = T_nonSI (the suite's
    warm_start_dominance property)."""
    model = TabularLM(2, order=0, seed=0)
    latency = LatencyModel.time_units(F(1, 2), target_prefill=4, drafter_prefill=2)
    request = EngineRequest(model, model, (0,), 2, lookahead=1, num_target_servers=2, latency=latency)
    engine = ReferenceEngine()
    assert engine.generate(request.but(warm_start=True)).times == (4, 5)
    check_latency_dominance(engine, request.but(warm_start=True), against_si=False)
    with pytest.raises(PropertyViolation, match="T_DSI = 6 > T_nonSI = 5"):
        check_latency_dominance(engine, request, against_si=False)


def test_non_preemptive_counterexample_to_pathwise_dominance() -> None:
    """Finding: without preemption (the runtime's variant, SPEC §4.3 step 6) T_DSI <= T_nonSI
    fails when c > 1/2.

    S = 2, k = 1, c = 3/4, every draft rejected. Preemptive: x0 at 1 (frontier task), the
    drafter restarts at 1 and d1 is ready at 7/4; the new round's frontier task gives p at 1
    at 2, so x1 at 2 = T_nonSI. Non-preemptive: the stale draft of position 1 keeps the
    drafter until 3/2, the new d1 is ready at 3/2 + 3/4 = 9/4 > 2.
    """
    from properties.latency import PointMass

    request = EngineRequest(PointMass(0), PointMass(1), (0,), 2, lookahead=1,
                            latency=LatencyModel.time_units(F(3, 4)))
    engine = ReferenceEngine()
    assert engine.generate(request.but(algorithm="nonsi")).times == (1, 2)
    assert engine.generate(request).times == (1, 2)
    assert engine.generate(request.but(preemptive=False)).times == (1, F(9, 4))
    with pytest.raises(PropertyViolation, match="T_DSI = 9/4 > T_nonSI = 2"):
        check_latency_dominance(engine, request.but(preemptive=False))
