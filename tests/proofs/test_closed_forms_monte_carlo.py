"""T9's closed forms against Monte Carlo on the reference's fast simulators.

Each comparison: R independent paths of S tokens; the estimate is the mean of T/S, its
standard error se from the sample; tolerance 5·se (two-sided normal α ≈ 5.7e-7 per check)
plus the finite-S bias bound 4/S (the last round and the first one are not renewal cycles;
each contributes at most 2 time units per S... generously bounded). Fixed seeds: a CI
failure is deterministic. Power: with se ≈ 2e-3, a formula error of 0.02 per token (about
1%) would be detected.
"""

from __future__ import annotations

import numpy as np
import pytest

from proofs.t9_closed_forms import dsi_exact_rate, dsi_paper_rate_small_c, round_time_formula, si_rate
from reference.fast.exact import dsi_latency, si_latency
from reference.fast.paper import paper_latencies

S, PATHS = 3000, 60


def _paths(a: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.random((PATHS, S)) < a


def _assert_close(samples: np.ndarray, expected: float, what: str) -> None:
    rate = samples / S
    se = rate.std(ddof=1) / np.sqrt(rate.size)
    tolerance = 5 * se + 4 / S
    assert abs(rate.mean() - expected) <= tolerance, (
        f"{what}: Monte Carlo {rate.mean():.5f} ± {se:.5f} vs closed form {expected:.5f}")


@pytest.mark.parametrize(("c", "a", "k", "N"), [
    (0.1, 0.8, 3, None),   # kc < 1, h = 0
    (0.25, 0.6, 2, 3),     # kc = 1/2, N = 3 >= max(3, ceil(1/(kc)) + 1)
    (0.5, 0.9, 4, 3),      # kc = 2 >= 1, h = 2, no waiting at N = 3
    (0.75, 0.7, 2, None),  # kc = 3/2, h = 1
])
def test_exact_model_dsi_rate(c: float, a: float, k: int, N: int | None) -> None:
    h = min(k, int(np.floor(k * c)))
    accept = _paths(a, seed=1)
    _assert_close(dsi_latency(accept, k, c, N), float(dsi_exact_rate(a, c, k, h)), "DSI exact")
    _assert_close(si_latency(accept, k, c), float(si_rate(a, c, k)), "SI")


@pytest.mark.parametrize(("c", "a", "k"), [(0.1, 0.8, 3), (0.2, 0.5, 5), (0.4, 0.9, 2)])
def test_paper_model_dsi_rate(c: float, a: float, k: int) -> None:
    runs = paper_latencies(c, a, k, tokens=S, repeats=PATHS, seed=7, sp_degree=None)
    _assert_close(runs["dsi"], float(dsi_paper_rate_small_c(a, c, k)), "DSI paper")
    _assert_close(runs["si"], float(si_rate(a, c, k)), "SI paper")


def test_round_formula_by_hand() -> None:
    # k = 2, c = 0.6 (kc = 1.2): R = 1, 2, 2.2, 3.2, 3.4 (hand-computed from the recurrence)
    got = [round_time_formula(j, 2, 0.6) for j in range(5)]
    np.testing.assert_allclose(got, [1, 2, 2.2, 3.2, 3.4])
    # kc < 1: R(j) = 1 + ceil(j/k)·kc
    np.testing.assert_allclose([round_time_formula(j, 3, 0.1) for j in range(7)],
                               [1, 1.3, 1.3, 1.3, 1.6, 1.6, 1.6])


def test_exact_model_is_below_the_paper_model() -> None:
    for a in (0.3, 0.7, 0.95):
        for k in (1, 3, 6):
            c = 0.1
            assert dsi_exact_rate(a, c, k, 0) <= dsi_paper_rate_small_c(a, c, k)
