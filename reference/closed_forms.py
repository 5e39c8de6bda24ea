"""Closed forms and exact finite-S expectations for the time-unit models (SPEC §6 T4, T9).

Acceptance is i.i.d. with rate a; accepted drafts in an SI iteration with lookahead k are
``min(Geom, k)`` with ``P(≥ j accepted) = a^j``, so the expected tokens per iteration are
``Σ_{j=0}^{k} a^j = (1 − a^{k+1}) / (1 − a)``.

* SI, S → ∞ (renewal–reward): ``E[T_SI]/S → (k·c + 1)(1 − a) / (1 − a^{k+1})``.
* SI slower than non-SI iff ``(k·c + 1)(1 − a) > 1 − a^{k+1}`` (T4).
* DSI in the exact model without waiting (N ≥ ceil(1/(k·c)) + 1), S → ∞: rounds are
  renewal cycles; a round ends at the first rejection, j ~ Geom (``P(j) = a^j (1 − a)``)
  and yields j + 1 tokens, and lasts ``R(j) = min(⌈j/k⌉k·c − k·c + 1 + l_j, ⌈j/k⌉k·c + 1)``
  for j ≥ 1 (``l_j = j − (⌈j/k⌉ − 1)k``; the frontier chain resolves the first
  ``⌊k·c⌋`` positions of a block one per unit before its window returns), R(0) = 1. So
  ``E[T_DSI]/S → (1 − a) · Σ_j a^j (1 − a) R(j)``; for ``k·c < 1`` the sum is
  ``1 + k·c·a / (1 − a^k)``.
* Finite S: exact expectations by dynamic programming over the number of resolved tokens
  (SI) or the round start (DSI), using the exact round schedule of :mod:`reference.fast.exact`.
"""

from __future__ import annotations

import math

import numpy as np

from reference.errors import ConfigError, check_count
from reference.fast.exact import exact_c, round_resolution_times
from reference.latency import Number


def _check(c: float, a: float, k: int) -> None:
    if not 0 < c <= 1:
        raise ConfigError(f"c must be in (0, 1] target forwards, got {c!r}")
    if not 0 <= a <= 1:
        raise ConfigError(f"acceptance rate a must be in [0, 1], got {a!r}")
    check_count(k, "lookahead k")


def si_expected_tokens_per_iteration(a: float, k: int) -> float:
    """``Σ_{j=0}^{k} a^j = (1 − a^{k+1}) / (1 − a)`` (``k + 1`` at a = 1).

    >>> si_expected_tokens_per_iteration(0.5, 2)
    1.75
    """
    return float(sum(a**j for j in range(k + 1)))


def si_time_per_token(c: float, a: float, k: int) -> float:
    """``lim E[T_SI]/S = (k·c + 1) / Σ_{j=0}^{k} a^j``.

    With c = 0.1, a = 0.8, k = 5: ``(5·0.1 + 1)(1 − 0.8) / (1 − 0.8⁶) = 0.3 / 0.737856``
    (0.8⁶ = 0.262144), evaluated here independently of the code:

    >>> abs(si_time_per_token(0.1, 0.8, 5) - 0.3 / 0.737856) < 1e-12
    True
    """
    _check(c, a, k)
    return (k * c + 1) / si_expected_tokens_per_iteration(a, k)


def si_slower_than_nonsi(c: float, a: float, k: int) -> bool:
    """T4: SI is slower than non-SI iff ``(k·c + 1)(1 − a) > 1 − a^{k+1}``."""
    _check(c, a, k)
    return (k * c + 1) > si_expected_tokens_per_iteration(a, k)


def dsi_round_time_nowait(c: float, k: int, j: int) -> float:
    """``R(j)`` of an all-accepted round with no waiting (S → ∞).

    >>> dsi_round_time_nowait(0.1, 5, 0), dsi_round_time_nowait(0.1, 5, 7)
    (1.0, 2.0)
    """
    if j == 0:
        return 1.0
    block = -(-j // k)
    offset = j - (block - 1) * k
    return min((block - 1) * k * c + 1 + offset, block * k * c + 1)


def dsi_time_per_token_nowait(c: float, a: float, k: int, *, tol: float = 1e-15) -> float:
    """``lim E[T_DSI]/S`` in the exact model with no waiting (N ≥ ceil(1/(k·c)) + 1).

    Evaluates the renewal-reward series ``(1 − a)·Σ_j a^j (1 − a) R(j)`` until the tail is
    below ``tol``; for ``k·c < 1`` this equals ``(1 − a)(1 + k·c·a / (1 − a^k))``.
    """
    _check(c, a, k)
    if a >= 1:
        return c  # the drafter is the bottleneck: one token per c
    if k * c < 1:
        return (1 - a) * (1 + k * c * a / (1 - a**k))
    total, weight, j = 0.0, 1 - a, 0
    while weight > tol or j <= k:
        total += weight * dsi_round_time_nowait(c, k, j)
        j += 1
        weight *= a
        if weight == 0:
            break
    return (1 - a) * total


def si_expected_latency(c: float, a: float, k: int, tokens: int) -> float:
    """Exact ``E[T_SI]`` for S tokens: ``E_n = kk·c + 1 + Σ_g P(g) E_{n+g}`` (DP over n)."""
    _check(c, a, k)
    S = tokens
    expected = np.zeros(S + 1)
    for n in range(S - 1, -1, -1):
        kk = min(k, S - n - 1)
        value = kk * c + 1
        for accepted in range(kk + 1):
            prob = a**accepted * ((1 - a) if accepted < kk else 1.0)
            value += prob * expected[min(n + accepted + 1, S)]
        expected[n] = value
    return float(expected[0])


def dsi_expected_latency(c: Number, a: float, k: int, num_target_servers: int | None, tokens: int) -> float:
    """Exact ``E[T_DSI]`` for S tokens in the exact model (DP over round starts).

    ``E_f = Σ_{j=0}^{m−2} a^j (1 − a) (R_m(j) + E_{f+j+1}) + a^{m−1} R_m(m − 1)``, m = S − f.
    """
    _check(c, a, k)
    S = tokens
    expected = np.zeros(S + 1)
    for f in range(S - 1, -1, -1):
        m = S - f
        times = round_resolution_times(c, k, num_target_servers, m)
        j = np.arange(m - 1)
        value = float(np.sum(a**j * (1 - a) * (times[: m - 1] + expected[f + 1 + j])))
        expected[f] = value + a ** (m - 1) * times[m - 1]
    return float(expected[0])


def required_servers_no_wait(c: Number, k: int) -> int:
    """``ceil(1/(k·c)) + 1`` on the exact c: full windows never wait with the frontier chain competing.

    >>> from fractions import Fraction
    >>> required_servers_no_wait(Fraction(1, 10), 5), required_servers_no_wait(1 / 3, 3)
    (3, 3)
    """
    return math.ceil(1 / (k * exact_c(c))) + 1


def paper_dsi_expected_latency(c: float, a: float, k: int, tokens: int) -> float:
    """Exact ``E[T_DSI]`` of the paper's cost model (SPEC §4.4) for S tokens.

    Dynamic programming over segment starts (n tokens done, whether the previous iteration
    rejected): a segment is r all-accepted iterations (probability ``a^kk`` each, kk tokens,
    K += kk) and one rejecting iteration (``acc < kk`` with probability ``a^acc (1 − a)``, or
    ``kk = 0``; its kk is skipped in K when ``acc = 0`` right after a rejection); it costs
    ``min(c·K + 1, tokens)``.
    """
    _check(c, a, k)
    S = tokens
    expected = {}
    for n in range(S - 1, -1, -1):
        for after_rejection in (True, False):
            total = 0.0
            toks, K, prob, first = n, 0, 1.0, True
            while prob > 0:
                kk = min(k, S - 1 - toks)
                if kk == 0:
                    gained = toks - n + 1
                    total += prob * (min(c * K + 1, gained) + expected.get((n + gained, True), 0.0))
                    break
                for acc in range(kk):
                    p_acc = prob * a**acc * (1 - a)
                    if p_acc == 0:
                        continue
                    skipped = acc == 0 and first and after_rejection
                    seg_k = K + (0 if skipped else kk)
                    gained = toks - n + acc + 1
                    total += p_acc * (min(c * seg_k + 1, gained) + expected.get((n + gained, True), 0.0))
                prob *= a**kk
                K += kk
                toks += kk
                first = False
            expected[(n, after_rejection)] = total
    return float(expected[(0, False)])
