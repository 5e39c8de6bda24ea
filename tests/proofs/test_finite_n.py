"""T6N: its lemmas can fail, and its conclusion holds on the event simulation for long paths."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proofs import t6_finite_n
from proofs.core import ProofRefuted
from proofs.t6_two_servers import _pigeonhole
from properties.profiles import examples
from reference import LatencyModel, generate
from reference.results import max_concurrent_target_tasks
from reference.toy_models import AcceptancePathPair

#: c values with kc landing exactly on 1, on 1/n and between (exact rationals)
C_VALUES = (Fraction(1), Fraction(3, 4), Fraction(1, 2), Fraction(1, 3), Fraction(1, 4), Fraction(2, 7),
            Fraction(1, 10), Fraction(1, 20), Fraction(3, 50))


def servers_needed(k: int, c: Fraction) -> int:
    """max(3, ⌈1/(kc)⌉ + 1), computed exactly."""
    return max(3, math.ceil(1 / (k * c)) + 1)


def _run(accept: list[bool], k: int, c: Fraction, N: int | None):
    pair = AcceptancePathPair(accept)
    return generate(pair.target, pair.drafter, [0], len(accept), lookahead=k, num_target_servers=N, mode="greedy",
                    latency=LatencyModel.time_units(c))


@settings(max_examples=examples(150))
@given(accept=st.lists(st.booleans(), min_size=1, max_size=60), k=st.integers(1, 8), c=st.sampled_from(C_VALUES),
       bias=st.floats(0.0, 1.0))
def test_with_enough_servers_no_task_waits_and_the_schedule_is_the_unlimited_one(accept, k, c, bias):
    """S up to 60 (T5/T6's z3 models stop at S = 8): at N = max(3, n0 + 1) every task starts at
    its dispatch, the resolution times equal those with unlimited servers, the unlimited
    schedule never runs more than N tasks or two frontier tasks at once."""
    N = servers_needed(k, c)
    finite, unlimited = _run(accept, k, c, N), _run(accept, k, c, None)
    assert finite.times == unlimited.times
    targets = [r for r in finite.trace if r.server.startswith("target")]
    assert all(r.start == r.dispatch for r in targets if r.start is not None)
    assert all(r.start is not None for r in targets if r.cancelled is None or r.cancelled > r.dispatch)
    assert max_concurrent_target_tasks(unlimited.trace) <= N
    frontier = tuple(r for r in unlimited.trace if r.kind == "frontier")
    assert max_concurrent_target_tasks(frontier) <= 1


def test_t6n_is_proved_and_its_lemmas_can_fail() -> None:
    assert "pigeonhole" in t6_finite_n.prove_finite_n()
    with pytest.raises(ProofRefuted, match="dispatch gaps"):
        t6_finite_n.lemma_dispatch_gaps(extra_servers=0)  # N = n0: the last window can wait
    with pytest.raises(ProofRefuted, match="pigeonhole: 3 tasks, 3 kinds"):
        _pigeonhole(3, 3)  # N = 2 with the last window: three tasks can meet


def test_below_the_bound_a_task_can_wait() -> None:
    """k = 2, c = 1/2 (kc = 1, n0 = 1), N = 2 < 3, S = 4, all accepted. At t = 1 F0 ends and x0
    resolves before window 0 (drafts 0, 1, ready at 1) is dispatched, so the chain requests F1;
    F1 and window 0 take both servers on [1, 2), and the cut-short window [2, 3], dispatched
    at 3/2, waits until 2."""
    result = _run([True] * 4, 2, Fraction(1, 2), 2)
    waited = [(r.kind, r.first_position, r.dispatch, r.start) for r in result.trace
              if r.server.startswith("target") and r.start is not None and r.start > r.dispatch]
    assert waited == [("window", 2, Fraction(3, 2), Fraction(2))]
    enough = _run([True] * 4, 2, Fraction(1, 2), servers_needed(2, Fraction(1, 2)))  # N = 3: no wait
    assert enough.times == (1, 2, 2, Fraction(5, 2))
