"""The statistics module on hand-computed values."""

from __future__ import annotations

import pytest
from scipy import stats

from properties.statistics import (
    bonferroni_alpha,
    chi_square_gof,
    holm,
    least_favourable_noncentrality,
    merge_bins,
    power,
    required_sample_size,
)
from reference.errors import ConfigError


def test_chi_square_of_a_60_40_split_against_a_fair_coin() -> None:
    # (60-50)^2/50 + (40-50)^2/50 = 4, df = 1, p = P[chi2_1 > 4] = 0.0455
    result = chi_square_gof({(0,): 0.5, (1,): 0.5}, {(0,): 60, (1,): 40})
    assert result.statistic == pytest.approx(4.0)
    assert result.df == 1
    assert result.p_value == pytest.approx(0.0455, abs=1e-4)


def test_an_impossible_outcome_has_p_value_zero() -> None:
    result = chi_square_gof({(0,): 1.0}, {(0,): 9, (1,): 1})
    assert result.p_value == 0.0


def test_bins_with_expected_count_below_five_are_merged() -> None:
    pi, counts = merge_bins([0.9, 0.04, 0.03, 0.03], [90, 4, 3, 3], 100)
    # 0.03 + 0.03 = 0.06 (6 expected >= 5); 0.04 alone is 4 < 5 -> merged with 0.06 -> 0.10
    assert pi.round(6).tolist() == [0.1, 0.9]
    assert counts.tolist() == [10, 90]


def test_noncentrality_of_the_two_bin_shift_uses_the_two_largest_bins() -> None:
    # n δ² (1/0.5 + 1/0.3) = 1000 * 0.0025 * (2 + 10/3) = 13.333...
    assert least_favourable_noncentrality([0.2, 0.5, 0.3], 1000, 0.05) == pytest.approx(40 / 3)


def test_required_sample_size_reaches_the_power_and_one_less_does_not() -> None:
    probs = [0.25] * 4
    alpha = 1e-6
    n = required_sample_size(probs, alpha, effect_tv=0.05, target_power=0.99)
    assert power(probs, n, alpha) >= 0.99 > power(probs, n - 1, alpha)
    # cross-check with scipy directly: λ = n * 0.0025 * 8
    critical = stats.chi2.isf(alpha, 3)
    assert stats.ncx2.sf(critical, 3, n * 0.02) >= 0.99


@pytest.mark.parametrize(("alpha", "power_", "effect"), [(0, 0.9, 0.1), (0.1, 1.0, 0.1), (0.1, 0.9, 0.0)])
def test_invalid_power_calculations_are_refused(alpha: float, power_: float, effect: float) -> None:
    with pytest.raises(ConfigError):
        required_sample_size([0.5, 0.5], alpha, target_power=power_, effect_tv=effect)


def test_holm_rejects_step_down() -> None:
    # sorted: 1e-8 <= 1e-6/3 yes; 4e-7 <= 1e-6/2 yes; 6e-7 <= 1e-6/1 yes
    assert holm({"a": 4e-7, "b": 1e-8, "c": 6e-7}) == {"a": True, "b": True, "c": True}
    # 4e-7 > 1e-6/3 stops at the first step
    assert holm({"a": 4e-7, "b": 5e-7, "c": 6e-7}) == {"a": False, "b": False, "c": False}


def test_bonferroni_share() -> None:
    assert bonferroni_alpha(4) == pytest.approx(2.5e-7)
    with pytest.raises(ConfigError):
        bonferroni_alpha(0)
