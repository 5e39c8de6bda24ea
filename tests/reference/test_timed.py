"""The timed fast simulator: equal to the event simulation (prefill, warm start, preemption),
hand-computed latencies with a cost by positions, forward counts, and the cost table itself."""

from __future__ import annotations

import math
from fractions import Fraction as F

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from properties.profiles import examples
from reference import LatencyModel, generate
from reference.errors import ConfigError
from reference.fast import exact
from reference.fast.timed import dsi_time, nonsi_time, si_time
from reference.toy_models import AcceptancePathPair

C_VALUES = [F(1, 100), F(1, 10), F(1, 4), F(3, 10), F(1, 2), F(7, 10), F(1)]


def _event(accept, algorithm, k, N, latency, **kwargs):
    pair = AcceptancePathPair(accept)
    return generate(pair.target, pair.drafter, [0], len(accept), algorithm=algorithm, lookahead=k,
                    num_target_servers=N, mode="greedy", latency=latency, **kwargs)


@settings(max_examples=examples(200))
@given(accept=st.lists(st.booleans(), min_size=1, max_size=24), k=st.integers(1, 6),
       N=st.one_of(st.none(), st.integers(1, 5)), c=st.sampled_from(C_VALUES),
       target_prefill=st.one_of(st.none(), st.sampled_from([F(1), F(3, 2), F(4)])),
       drafter_prefill_factor=st.sampled_from([F(1), F(2), F(5)]),
       warm=st.booleans(), preemptive=st.booleans(),
       positions_cost=st.sampled_from([(), (F(1), F(3, 2), F(2)), (F(1), F(8, 5), F(12, 7), F(27, 10))]),
       messages=st.sampled_from([(F(0), F(0)), (F(1, 5), F(0)), (F(1, 2), F(1, 2)), (F(1, 7), F(2, 9))]))
def test_timed_equals_event_simulation(accept, k, N, c, target_prefill, drafter_prefill_factor, warm, preemptive,
                                       positions_cost, messages):
    """The timed simulator against the event simulation (the virtual driver of the one scheduler),
    with prefill, warm start, cost by positions and message latencies (SPEC §12, §13)."""
    drafter_prefill = None
    if target_prefill is not None:
        drafter_prefill = min(c * drafter_prefill_factor, target_prefill)
    latency = LatencyModel(target_decode=1, drafter_decode=c, target_prefill=target_prefill,
                           drafter_prefill=drafter_prefill, target_positions_cost=positions_cost,
                           dispatch_latency=messages[0], result_latency=messages[1])
    warm = warm and N is not None
    event = _event(accept, "dsi", k, N, latency, preemptive=preemptive, warm_start=warm)
    timed = dsi_time(accept, k, N, latency, preemptive=preemptive, warm_start=warm)
    assert timed.latency == pytest.approx(float(event.latency), abs=1e-9)
    started = [r for r in event.trace if r.server.startswith("target") and r.start is not None]
    assert timed.target_forwards == len(started)
    assert si_time(accept, k, latency).latency == pytest.approx(float(_event(accept, "si", k, N, latency).latency))
    assert nonsi_time(accept, latency).latency == pytest.approx(
        float(_event(accept, "nonsi", k, N, latency).latency))


def test_exact_ties_where_floats_would_reorder_events():
    # 0.3 + 0.3 + 0.3 + ... in floats ends just before 3.0; the tie rule needs exact ticks
    latency = LatencyModel(target_decode=1, drafter_decode=F(3, 10))
    accept = [False, False, True, True, True, False]
    assert dsi_time(accept, 3, 1, latency, preemptive=False).latency == 5.0
    assert float(_event(accept, "dsi", 3, 1, latency, preemptive=False).latency) == 5.0


@settings(max_examples=examples(50))
@given(accept=st.lists(st.booleans(), min_size=1, max_size=60), k=st.integers(1, 8),
       N=st.one_of(st.none(), st.integers(3, 8)), c=st.sampled_from(C_VALUES))
def test_timed_equals_vectorised_recurrences_with_unit_costs(accept, k, N, c):
    latency = LatencyModel.time_units(c)
    row = np.array(accept)[None, :]
    assert math.isclose(dsi_time(accept, k, N, latency).latency, exact.dsi_latency(row, k, float(c), N)[0],
                        abs_tol=1e-9)
    assert math.isclose(si_time(accept, k, latency).latency, exact.si_latency(row, k, float(c))[0], abs_tol=1e-9)


TABLE = LatencyModel(target_decode=1, drafter_decode=F(1, 10), target_positions_cost=(1, F(3, 2), 2, F(5, 2)))


def test_si_pays_the_cost_of_its_window():
    # one iteration: 3 drafts (0.3), then a forward over 4 positions (2.5) beside the bonus draft
    assert si_time([True] * 4, 3, TABLE).latency == pytest.approx(2.8)
    # a = 0, k = 1: 3 iterations of 0.1 + cost(2) = 1.6, then kk = 0: cost(1) = 1
    assert si_time([False] * 4, 1, TABLE).latency == pytest.approx(3 * 1.6 + 1)


def test_dsi_window_costs_more_than_a_frontier_task():
    # S = 3, k = 2: F0 (1 position) ends at 1; drafts at 0.1, 0.2, 0.3; the window with drafts
    # 0, 1 (3 positions, cost 2) is dispatched at 0.2 and ends at 2.2; position 0 resolves at 1,
    # the window covers 1, so no frontier task: positions 1 and 2 resolve at 2.2
    assert dsi_time([True] * 3, 2, None, TABLE).latency == pytest.approx(2.2)
    assert dsi_time([True] * 3, 2, None, LatencyModel(target_decode=1, drafter_decode=F(1, 10))).latency \
        == pytest.approx(1.2)
    assert nonsi_time([True] * 3, TABLE).latency == 3.0  # one position per forward: unchanged


def test_jitter_is_refused():
    with pytest.raises(ConfigError, match="jitter"):
        dsi_time([True], 1, 1, LatencyModel(jitter=F(1, 2)))


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"target_positions_cost": (2, 3)}, "must be 1"),
    ({"target_positions_cost": (1, 2, F(3, 2))}, "non-decreasing"),
    ({"target_positions_cost": (1, "x")}, "not a number"),
])
def test_invalid_cost_tables(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        LatencyModel(**kwargs)


def test_duration_by_positions():
    assert TABLE.duration("target", 0, 0, prefill=False, positions=4) == F(5, 2)
    assert TABLE.duration("target", 0, 0, prefill=False, positions=6) == F(7, 2)  # the last step extended
    assert TABLE.duration("drafter", 0, 0, prefill=False, positions=4) == F(1, 10)  # drafter: unchanged
    plain = LatencyModel()
    assert plain.duration("target", 0, 0, prefill=False, positions=9) == plain.target_decode  # default: no change
    with pytest.raises(ConfigError, match="positions"):
        TABLE.duration("target", 0, 0, prefill=False, positions=0)


def test_costly_windows_can_make_dsi_slower_than_nonsi():
    # A finding, outside the theorems' unit-cost model. S = 2, k = 1, N = 2, c = 1/10, cost(2) = 2.
    # F0 on server 0 [0, 1] resolves position 0 (accepted) at 1; the window with draft 0 (two
    # positions) was dispatched at 0.1 on server 1 and ends at 2.1. It covers position 1, so the
    # frontier chain does not fire, and position 1 resolves at 2.1 > 2 = non-SI.
    latency = LatencyModel(target_decode=1, drafter_decode=F(1, 10), target_positions_cost=(1, 2))
    assert dsi_time([True, False], 1, 2, latency).latency == pytest.approx(2.1)
    assert nonsi_time([True, False], latency).latency == 2.0
