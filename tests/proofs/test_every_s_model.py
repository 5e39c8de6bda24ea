"""The models under the every-S theorems, checked against the reference event simulation.

* The state rules R1–R3, R6 of :mod:`proofs.state_model` (the hypotheses of T5all's progress
  lemma) and its conclusion hold at the end of every resolution instant of random traces
  (positions from the trace's tasks; the simulation is the independent side).
* The path model (:mod:`proofs.path_model`) equals the event simulation on every acceptance
  path of length ≤ 3, and the schedule that keeps stale tasks is slower than non-SI on a path
  where DSI is not.
* T5all's and T6all's conclusions on long random paths (S up to 40; the z3 round model stops
  at S = 8): r_u ≤ r_{u−1} + 1, T_DSI ≤ T_nonSI, and T_DSI ≤ T_SI for N ≥ 2.
"""

from __future__ import annotations

from fractions import Fraction
from itertools import pairwise, product

from hypothesis import given, settings
from hypothesis import strategies as st

from proofs.path_model import path_latency, round_spans
from proofs.schedule_model import KEEP_STALE
from properties.profiles import examples
from reference.generate import generate
from reference.latency import LatencyModel
from reference.toy_models import AcceptancePathPair


def _run(accept: list[bool], k: int, c: Fraction, N: int | None, algorithm: str = "dsi"):
    pair = AcceptancePathPair(accept)
    extra = {"num_target_servers": N} if algorithm == "dsi" else {}
    return generate(pair.target, pair.drafter, [0], len(accept), algorithm=algorithm, lookahead=k,
                    mode="greedy", latency=LatencyModel.time_units(c), **extra)


@st.composite
def cases(draw: st.DrawFn, max_S: int = 30) -> tuple[list[bool], int, Fraction, int | None]:
    S = draw(st.integers(min_value=1, max_value=max_S))
    accept = draw(st.lists(st.booleans(), min_size=S, max_size=S))
    k = draw(st.integers(min_value=1, max_value=6))
    q = draw(st.integers(min_value=1, max_value=12))
    c = Fraction(draw(st.integers(min_value=1, max_value=q)), q)
    N = draw(st.sampled_from([1, 2, 3, None]))
    return accept, k, c, N


def _round_of_position(accept: list[bool]) -> list[int]:
    """The round each position belongs to (a rejection at i ≤ S − 2 starts a new round)."""
    rounds, current = [], 0
    for i in range(len(accept)):
        rounds.append(current)
        if not accept[i] and i < len(accept) - 1:
            current += 1
    return rounds


@settings(max_examples=examples(80), deadline=None)
@given(cases())
def test_state_rules_and_progress_hold_at_every_resolution_instant(case: tuple) -> None:
    accept, k, c, N = case
    result = _run(accept, k, c, N)
    times, rounds = result.times, _round_of_position(accept)
    targets = [r for r in result.trace if r.server.startswith("target")]
    for t in sorted(set(times)):
        u = sum(1 for r in times if r <= t)  # smallest unresolved position at the end of t
        if u >= len(accept):
            break
        current = rounds[u]
        running = [r for r in targets if r.start is not None and r.start <= t < r.end]
        queued = [r for r in targets if r.dispatch <= t and (r.start is None or r.start > t)
                  and (r.cancelled is None or r.cancelled > t)]
        live = running + queued
        # R1: live tasks belong to the current round and still have an unresolved position
        assert all(r.round == current and r.last_position >= u for r in live), (t, u)
        # R2: FIFO (task ids are dispatch order)
        assert all(a.task_id < b.task_id for a in running for b in queued), t
        # R3: a queued task means every server is busy
        if queued and N is not None:
            assert len(running) == N, t
        done = [r for r in targets if r.round == current and r.start is not None and r.cancelled is None
                and r.end <= t and r.first_position <= u <= r.last_position]
        covering = [r for r in live if r.first_position <= u <= r.last_position]
        assert done or covering, (t, u)  # R6
        # the progress lemma's conclusion, hence r_u <= r_{u-1} + 1
        assert done or any(r.first_position <= u <= r.last_position for r in running), (t, u)
        assert times[u] <= t + 1


def test_path_model_is_the_event_simulation_on_short_paths() -> None:
    for S in (1, 2, 3):
        for bits in product((True, False), repeat=S):
            for k, N, c in ((1, 1, Fraction(1, 2)), (2, 2, Fraction(1, 3)), (1, 2, Fraction(1))):
                assert path_latency(bits, k, N, c) == _run(list(bits), k, c, N).latency, (bits, k, N, c)


def test_keeping_stale_tasks_is_slower_than_nonsi_where_dsi_is_not() -> None:
    # S = 2, k = 1, N = 1, c = 1/2, draft 0 rejected: the window dispatched at 1/2 waits
    # behind F0; DSI cancels it at the rejection (t = 1) and F1 runs on [1, 2]; kept, it runs
    # on [1, 2] first and F1 on [2, 3].
    path = (False, True)
    assert path_latency(path, 1, 1, Fraction(1, 2)) == 2 == _run(list(path), 1, Fraction(1, 2), 1).latency
    assert path_latency(path, 1, 1, Fraction(1, 2), variant=KEEP_STALE) == 3
    assert round_spans(path) == [(0, 0), (1, None)]


@settings(max_examples=examples(60), deadline=None)
@given(cases(max_S=40))
def test_every_s_conclusions_on_long_paths(case: tuple) -> None:
    accept, k, c, N = case
    dsi = _run(accept, k, c, N)
    times = (Fraction(0), *dsi.times)
    assert all(b - a <= 1 for a, b in pairwise(times))
    assert dsi.latency <= len(accept)
    if N is None or N >= 2:
        assert dsi.latency <= _run(accept, k, c, N, algorithm="si").latency
