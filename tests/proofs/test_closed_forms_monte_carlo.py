"""T9's closed forms against Monte Carlo on the reference's fast simulators.

Statistical tests outside the registered family of properties/suite.py (they test the
closed forms of proofs/, not an engine); fixed seeds, so a CI failure is deterministic.

Each check: PATHS = 60 independent paths of S = 3000 tokens; the estimate is the mean of
T/S over the paths, se its sample standard error (df = 59).

* **Bias.** The closed forms are S → ∞ limits; the finite-S mean is biased by O(1/S): the
  rounds (iterations, segments) are renewal cycles with geometric tails, so
  ``E[T_S] = rate·S + β + O(ρ^S)`` (ρ < 1) and ``E[T_S]/S − rate = β/S`` up to an
  exponentially small term. β is computed from the exact finite-S dynamic programmes of
  ``reference.closed_forms`` at S₀ = 200 and 2S₀, ``β = 2·E[T_{S₀}] − E[T_{2S₀}]``, which
  does not use the closed form under test (β changes by < 1e-6 from S₀ = 100 to 200).
  The allowance is ``2|β|/S`` (factor 2: margin for the O(ρ^S) remainder). Here |β| ≤ 0.69, so
  the allowance is ≤ 4.6e-4 (the old "+4/S" = 1.3e-3 was a generous, unexplained bound).
* **Level.** Fail when ``|mean − closed form| > t_{59, 1−α/2}·se + 2|β|/S`` with
  α = 1e-6 two-sided per check (t_{59} quantile 5.46, not the normal 4.89: 60 paths;
  each path's T/S is a sum of ≥ 300 cycles, so close to normal and the t-test is accurate).
* **Power.** The measured se is 4.1e-4 to 2.1e-3 (largest: SI paper, c = 0.2, a = 0.5,
  k = 5, rate 1.016). A closed-form error ε is detected with probability ≥ 0.99 when
  ``|ε| ≥ 3|β|/S + (t_{59,1−α/2} + t_{59,0.99})·se`` (5.46 + 2.39 = 7.85): 3.3e-3 to
  1.7e-2 per token over the 14 checks, i.e. 0.4 % to 2.6 % of the rate (largest relative:
  DSI paper c = 0.1, a = 0.8, k = 3, 8.1e-3 on 0.311). The assertion message prints it.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from proofs.t9_closed_forms import dsi_exact_rate, dsi_paper_rate_small_c, round_time_formula, si_rate
from reference.closed_forms import dsi_expected_latency, paper_dsi_expected_latency, si_expected_latency
from reference.fast.exact import dsi_latency, si_latency
from reference.fast.paper import paper_latencies

S, PATHS = 3000, 60
ALPHA = 1e-6
T_CRIT = stats.t.isf(ALPHA / 2, PATHS - 1)  # 5.46
T_POWER = stats.t.isf(0.01, PATHS - 1)  # 2.39
BIAS_S0 = 200


def _paths(a: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.random((PATHS, S)) < a


def _bias(expected_latency) -> float:
    """β/S: ``β = 2·E[T_{S₀}] − E[T_{2S₀}]`` from an exact finite-S DP (not the closed form)."""
    return (2 * expected_latency(BIAS_S0) - expected_latency(2 * BIAS_S0)) / S


def _assert_close(samples: np.ndarray, expected: float, bias: float, what: str) -> None:
    rate = samples / S
    se = rate.std(ddof=1) / np.sqrt(rate.size)
    tolerance = T_CRIT * se + 2 * abs(bias)
    detectable = 3 * abs(bias) + (T_CRIT + T_POWER) * se  # power 0.99 against |ε| ≥ this
    assert abs(rate.mean() - expected) <= tolerance, (
        f"{what}: Monte Carlo {rate.mean():.5f} ± {se:.5f} vs closed form {expected:.5f} "
        f"(bias β/S = {bias:.2e}, tolerance {tolerance:.2e}, α = {ALPHA}, "
        f"power 0.99 for |error| ≥ {detectable:.2e})")


def test_bias_allowance_is_o_of_one_over_s() -> None:
    # β has converged at S₀ = 200 (exponential renewal convergence), so β/S is the bias.
    c, a, k = 0.4, 0.9, 2
    beta = [2 * paper_dsi_expected_latency(c, a, k, s0) - paper_dsi_expected_latency(c, a, k, 2 * s0)
            for s0 in (100, 200)]
    assert abs(beta[0] - beta[1]) < 1e-5  # 6.5e-7: geometric convergence (a = 0.9)
    assert 0.3 < abs(beta[1]) < 0.5  # 0.408: the bias at S = 3000 is 1.4e-4, far below 4/S


@pytest.mark.parametrize(("c", "a", "k", "N"), [
    (0.1, 0.8, 3, None),   # kc < 1, h = 0
    (0.25, 0.6, 2, 3),     # kc = 1/2, N = 3 >= max(3, ceil(1/(kc)) + 1)
    (0.5, 0.9, 4, 3),      # kc = 2 >= 1, h = 2, no waiting at N = 3
    (0.75, 0.7, 2, None),  # kc = 3/2, h = 1
])
def test_exact_model_dsi_rate(c: float, a: float, k: int, N: int | None) -> None:
    h = min(k, int(np.floor(k * c)))
    accept = _paths(a, seed=1)
    _assert_close(dsi_latency(accept, k, c, N), float(dsi_exact_rate(a, c, k, h)),
                  _bias(lambda n: dsi_expected_latency(c, a, k, N, n)), "DSI exact")
    _assert_close(si_latency(accept, k, c), float(si_rate(a, c, k)),
                  _bias(lambda n: si_expected_latency(c, a, k, n)), "SI")


@pytest.mark.parametrize(("c", "a", "k"), [(0.1, 0.8, 3), (0.2, 0.5, 5), (0.4, 0.9, 2)])
def test_paper_model_dsi_rate(c: float, a: float, k: int) -> None:
    runs = paper_latencies(c, a, k, tokens=S, repeats=PATHS, seed=7, num_target_servers=None)
    _assert_close(runs["dsi"], float(dsi_paper_rate_small_c(a, c, k)),
                  _bias(lambda n: paper_dsi_expected_latency(c, a, k, n)), "DSI paper")
    _assert_close(runs["si"], float(si_rate(a, c, k)), _bias(lambda n: si_expected_latency(c, a, k, n)), "SI paper")


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
