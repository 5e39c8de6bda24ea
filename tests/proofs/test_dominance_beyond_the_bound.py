"""T5/T6 beyond the z3 bound (S ≤ 8): random acceptance paths up to S = 16 on the reference
event simulation (exact Fractions). Evidence, not proof: the proofs cover S ≤ 8."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from properties.profiles import examples
from reference.generate import generate
from reference.latency import LatencyModel
from reference.toy_models import AcceptancePathPair


@st.composite
def schedules(draw: st.DrawFn) -> tuple[list[bool], int, int, Fraction]:
    S = draw(st.integers(min_value=9, max_value=16))
    accept = draw(st.lists(st.booleans(), min_size=S, max_size=S))
    k = draw(st.integers(min_value=1, max_value=6))
    N = draw(st.integers(min_value=1, max_value=4))
    q = draw(st.integers(min_value=1, max_value=12))
    c = Fraction(draw(st.integers(min_value=1, max_value=q)), q)
    return accept, k, N, c


@settings(max_examples=examples(60), deadline=None)
@given(schedules())
def test_dsi_never_slower_than_nonsi_and_si_with_two_servers(case: tuple) -> None:
    accept, k, N, c = case
    pair = AcceptancePathPair(accept)
    kwargs = {"mode": "greedy", "latency": LatencyModel.time_units(c), "lookahead": k}
    S = len(accept)
    dsi = generate(pair.target, pair.drafter, [0], S, algorithm="dsi", num_target_servers=N, **kwargs)
    si = generate(pair.target, pair.drafter, [0], S, algorithm="si", **kwargs)
    assert dsi.latency <= S
    if N >= 2:
        assert dsi.latency <= si.latency
