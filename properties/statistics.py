"""Statistics of the distribution properties, with stated error rates (SPEC §7, §10).

* **Test**: Pearson's χ² goodness of fit of observed counts against an exact law, after
  merging bins (in increasing probability order, smallest into the next) until every
  expected count is ≥ ``MIN_EXPECTED`` = 5; ``df = bins − 1``; p-value ``= chi2.sf``.
* **Level**: the family-wise error rate of the suite is ``FAMILY_ALPHA`` = 1e-6. Each
  registered statistical test gets ``α = FAMILY_ALPHA / m`` with m the registered count of
  the active profile (Bonferroni, SPEC §10); a runner that has all p-values uses
  :func:`holm` (Holm–Bonferroni), which rejects a superset of Bonferroni's rejections at the
  same family-wise level.
* **Power**: against the least-favourable *two-bin shift* of total variation δ on the merged
  bins (move δ from bin i to bin j): the χ² statistic is asymptotically noncentral χ² with
  ``λ = n δ² (1/π_i + 1/π_j)``, smallest for the two most probable bins. The sample size is
  the smallest n with ``P[ncx2(df, λ(n)) > chi2.isf(α, df)] ≥ power`` (default δ = 0.05,
  power 0.99).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from reference.errors import ConfigError

FAMILY_ALPHA = 1e-6
MIN_EXPECTED = 5.0
DEFAULT_EFFECT_TV = 0.05
DEFAULT_POWER = 0.99


def merge_bins(probs: Sequence[float], counts: Sequence[int], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Merge bins until each expected count ``n·π`` is ≥ 5; returns (π, counts) merged.

    The smallest bin is merged into the next smallest, repeatedly (deterministic).

    >>> pi, c = merge_bins([0.5, 0.45, 0.03, 0.02], [50, 45, 3, 2], 100)
    >>> pi.round(2).tolist(), c.tolist()
    ([0.05, 0.45, 0.5], [5, 45, 50])
    """
    order = np.argsort(np.asarray(probs, dtype=np.float64), kind="stable")
    groups = [[float(probs[i]), int(counts[i])] for i in order]
    while len(groups) > 1 and groups[0][0] * n < MIN_EXPECTED:
        smallest = groups.pop(0)
        groups[0][0] += smallest[0]
        groups[0][1] += smallest[1]
        groups.sort(key=lambda g: g[0])
    return np.array([g[0] for g in groups]), np.array([g[1] for g in groups])


@dataclass(frozen=True)
class ChiSquareResult:
    """Outcome of one goodness-of-fit test."""

    statistic: float
    df: int
    p_value: float
    n: int
    bins: int


def chi_square_gof(law: Mapping[tuple[int, ...], float], observed: Mapping[tuple[int, ...], int]
                   ) -> ChiSquareResult:
    """Pearson χ² of observed sequence counts against an exact law (merged bins).

    An observed outcome of probability 0 under the law gives p-value 0 (it is impossible).

    >>> r = chi_square_gof({(0,): 0.5, (1,): 0.5}, {(0,): 50, (1,): 50})
    >>> r.statistic, r.p_value
    (0.0, 1.0)
    """
    n = int(sum(observed.values()))
    if n < 1:
        raise ConfigError("no observations")
    if any(count > 0 and float(law.get(key, 0)) <= 0 for key, count in observed.items()):
        return ChiSquareResult(math.inf, 0, 0.0, n, 0)
    keys = sorted(law)
    probs = [float(law[key]) for key in keys]
    counts = [int(observed.get(key, 0)) for key in keys]
    pi, c = merge_bins(probs, counts, n)
    if len(pi) < 2:
        return ChiSquareResult(0.0, 0, 1.0, n, 1)
    expected = n * pi
    statistic = float(np.sum((c - expected) ** 2 / expected))
    df = len(pi) - 1
    return ChiSquareResult(statistic, df, float(stats.chi2.sf(statistic, df)), n, len(pi))


def least_favourable_noncentrality(pi: Sequence[float], n: int, effect_tv: float) -> float:
    """``λ = n δ² (1/π_i + 1/π_j)`` for the two most probable bins.

    >>> round(least_favourable_noncentrality([0.5, 0.5], 100, 0.1), 9)
    4.0
    """
    top = sorted(pi, reverse=True)[:2]
    return n * effect_tv**2 * (1 / top[0] + 1 / top[1])


def power(pi: Sequence[float], n: int, alpha: float, effect_tv: float = DEFAULT_EFFECT_TV) -> float:
    """Asymptotic power of the χ² test at level α against the two-bin shift of TV δ."""
    df = len(pi) - 1
    critical = stats.chi2.isf(alpha, df)
    return float(stats.ncx2.sf(critical, df, least_favourable_noncentrality(pi, n, effect_tv)))


def required_sample_size(probs: Sequence[float], alpha: float, *, effect_tv: float = DEFAULT_EFFECT_TV,
                         target_power: float = DEFAULT_POWER, max_n: int = 10**7) -> int:
    """Smallest n whose merged-bin χ² test has power ≥ ``target_power`` (bisection on n).

    Bins are merged for the candidate n (expected counts ≥ 5), as the test will merge them.
    """
    if not 0 < alpha < 1 or not 0 < target_power < 1 or not 0 < effect_tv <= 1:
        raise ConfigError(f"need 0 < alpha, power < 1 and 0 < effect <= 1; got {alpha}, "
                          f"{target_power}, {effect_tv}")

    def ok(n: int) -> bool:
        pi, _ = merge_bins(probs, [0] * len(probs), n)
        return len(pi) >= 2 and power(pi, n, alpha, effect_tv) >= target_power

    lo, hi = 1, 16
    while not ok(hi):
        lo, hi = hi, hi * 2
        if hi > max_n:
            raise ConfigError(f"no sample size up to {max_n} reaches power {target_power}")
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    return hi


def holm(p_values: Mapping[str, float], alpha: float = FAMILY_ALPHA) -> dict[str, bool]:
    """Holm–Bonferroni: which hypotheses are rejected at family-wise level α.

    Sort p ascending; reject while ``p_(j) ≤ α / (m − j)`` (j = 0-based rank).

    >>> holm({"a": 1e-9, "b": 4e-7, "c": 0.3}, 1e-6)
    {'a': True, 'b': True, 'c': False}
    """
    ranked = sorted(p_values.items(), key=lambda item: item[1])
    m = len(ranked)
    rejected = {name: False for name in p_values}
    for j, (name, p) in enumerate(ranked):
        if p > alpha / (m - j):
            break
        rejected[name] = True
    return rejected


def bonferroni_alpha(registered_tests: int, family_alpha: float = FAMILY_ALPHA) -> float:
    """Per-test level ``family_alpha / registered_tests``."""
    if registered_tests < 1:
        raise ConfigError(f"registered test count must be >= 1, got {registered_tests}")
    return family_alpha / registered_tests
