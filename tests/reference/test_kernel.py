"""The verification kernel: hand-computed cases, edge cases, exact losslessness."""

from fractions import Fraction as F

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from properties.profiles import examples
from reference.errors import ConfigError
from reference.kernel import (
    acceptance_probability_exact,
    accepts,
    draft_token,
    output_law_exact,
    sample,
    verify,
)


@pytest.mark.parametrize(
    ("weights", "uniform", "expected"),
    [
        ([0.2, 0.3, 0.5], 0.0, 0),
        ([0.2, 0.3, 0.5], 0.19999, 0),
        ([0.2, 0.3, 0.5], 0.2, 1),
        ([0.2, 0.3, 0.5], 0.5, 2),
        ([0.2, 0.3, 0.5], 0.9999999, 2),
        ([0.0, 0.0, 1.0], 0.0, 2),
        ([0.5, 0.0, 0.5], 0.5, 2),
        ([2.0, 6.0], 0.25, 1),  # unnormalised weights: 0.25 * 8 = 2 -> first cdf > 2 is id 1
    ],
)
def test_sample_inverse_cdf(weights, uniform, expected):
    assert sample(weights, uniform) == expected


@settings(max_examples=examples(300))
@given(weights=st.lists(st.sampled_from([0.0, 1e-300, 1e-9, 0.1, 0.5, 3.0]), min_size=1, max_size=8),
       uniform=st.floats(0, 1, exclude_max=True))
def test_sample_never_returns_zero_weight(weights, uniform):
    if sum(weights) == 0:
        with pytest.raises(ConfigError):
            sample(weights, uniform)
        return
    assert weights[sample(weights, uniform)] > 0


def test_verify_hand_computed():
    p = np.array([0.5, 0.5, 0.0])
    q = np.array([0.25, 0.5, 0.25])
    assert verify(p, q, 0, 0.999, 0.0) == 0  # p/q = 2 -> always accepted
    assert verify(p, q, 1, 0.999, 0.0) == 1  # p/q = 1 -> always accepted
    # p(2) = 0 -> always rejected; residual max(p - q, 0) = [0.25, 0, 0] -> token 0
    assert verify(p, q, 2, 0.0, 0.9) == 0
    q2 = np.array([0.1, 0.9, 0.0])
    # draft 1: ratio 0.5/0.9 = 0.555...; u = 0.55 accepts, u = 0.56 rejects to residual [0.4, 0, 0]
    assert verify(p, q2, 1, 0.55, 0.3) == 1
    assert verify(p, q2, 1, 0.56, 0.3) == 0


def test_greedy_mode_ignores_uniforms_and_breaks_ties_low():
    p = np.array([0.4, 0.4, 0.2])
    q = np.array([0.1, 0.2, 0.7])
    assert draft_token(q, 0.3, mode="greedy") == 2
    assert verify(p, q, 2, 0.0, 0.0, mode="greedy") == 0


def test_p_equal_q_never_rejects_and_zero_draft_prob_is_an_error():
    p = np.array([0.3, 0.7])
    assert accepts(p, p, 1, np.nextafter(1.0, 0.0))
    with pytest.raises(ConfigError, match="zero drafter probability"):
        accepts(p, np.array([1.0, 0.0]), 1, 0.5)


@st.composite
def rational_distributions(draw, size):
    weights = draw(st.lists(st.integers(0, 6), min_size=size, max_size=size).filter(lambda w: sum(w) > 0))
    total = sum(weights)
    return [F(w, total) for w in weights]


@settings(max_examples=examples(300))
@given(data=st.data(), size=st.integers(1, 6))
def test_output_law_is_exactly_p(data, size):
    p = data.draw(rational_distributions(size))
    q = data.draw(rational_distributions(size))
    assert output_law_exact(p, q) == p
    assert acceptance_probability_exact(p, q) == sum(min(a, b) for a, b in zip(p, q, strict=True))


@pytest.mark.parametrize(
    ("p", "q", "accept"),
    [
        ([F(1, 2), F(1, 2)], [F(1, 2), F(1, 2)], F(1)),  # p = q
        ([F(1), F(0)], [F(0), F(1)], F(0)),  # disjoint supports
        ([F(0), F(1), F(0)], [F(1, 3)] * 3, F(1, 3)),  # one-hot target
    ],
)
def test_edge_cases_exact(p, q, accept):
    assert output_law_exact(p, q) == p
    assert acceptance_probability_exact(p, q) == accept


def test_float_kernel_law_matches_exact_law_by_uniform_grid():
    """Integrate the float kernel over a fine grid of (u_draft, u_accept, u_residual)."""
    p = np.array([0.5, 0.25, 0.25])
    q = np.array([0.25, 0.25, 0.5])
    grid = (np.arange(40) + 0.5) / 40
    counts = np.zeros(3)
    for ud in grid:
        d = draft_token(q, ud)
        for ua in grid:
            for ur in grid:
                counts[verify(p, q, d, ua, ur)] += 1
    # midpoint grid with 40 points resolves the breakpoints 0.25, 0.5, 0.75 exactly
    assert (counts / counts.sum()).tolist() == [0.5, 0.25, 0.25]
