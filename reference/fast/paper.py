"""The paper's own offline cost model ("paper model", SPEC §4.4, §10), vectorised.

Faithful to the authors' simulation, *not* to the exact schedule:

* accepted drafts of iteration t: ``min(G_t − 1, kk)``, ``G_t ~ Geometric(1 − a)`` on
  {1, 2, ...} (a = 0 → 0 accepted, a = 1 → kk); SI and DSI of one repeat read the same
  stream ``G_0, G_1, ...`` (iteration t of either uses ``G_t``);
* SI: ``kk = min(k, S − 1 − toks)``, cost ``kk·c + 1``, tokens ``accepted + 1``;
* DSI: an iteration with ``accepted = kk > 0`` costs ``kk·c`` and yields kk tokens (no
  bonus); a *rejecting* one (``accepted < kk`` or ``kk = 0``) costs ``kk·c + 1`` and yields
  ``accepted + 1``; the drafting cost ``kk·c`` is skipped when an iteration accepts nothing
  right after a rejecting one. A *segment* is a run of iterations up to and including a
  rejecting one; it costs ``min(c·K + 1, tokens)`` where K sums its (unskipped) kk; the run
  costs the sum over segments;
* non-SI costs S;
* validity: a (c, k) pair needs ``N ≥ ceil(1 / (k·c))`` target servers, on the exact c
  (:func:`reference.fast.exact.exact_c`: the same rule every simulator applies).

Streams (SPEC §10): ``numpy.random.default_rng(seed)`` is created afresh for every
(c, a, k) row and draws ``G`` of shape (repeats, S) — repeat r reads row r. Because the
stream depends on (seed, a) only, rows that share a share draws. Speedups are ratios of
repeat means.
"""

from __future__ import annotations

import math

import numpy as np

from reference.errors import ConfigError, check_count
from reference.fast.exact import exact_c, message_scale
from reference.latency import Number


def required_servers(c: Number, k: int) -> int:
    """``ceil(1 / (k·c))`` computed exactly (c exact; a float means its shortest decimal repr).

    >>> required_servers(0.05, 20), required_servers(0.01, 5), required_servers(1.0, 1)
    (1, 20, 1)
    >>> from fractions import Fraction
    >>> required_servers(Fraction(1, 3), 3), required_servers(1 / 3, 3)  # kc = 1, and just below
    (1, 2)
    """
    return math.ceil(1 / (k * exact_c(c)))


def check_valid(c: Number, k: int, N: int) -> None:
    """Raise ConfigError when the paper model's validity rule excludes (c, k, N)."""
    needed = required_servers(c, k)
    if needed > N:
        raise ConfigError(
            f"the paper model needs N >= ceil(1/(k*c)) = {needed} target servers for c={c}, k={k}; got N={N}"
        )


def geometric_draws(a: float, tokens: int, repeats: int, seed: int) -> np.ndarray:
    """``G`` of shape (repeats, tokens) from a fresh ``default_rng(seed)``; a=1 gives a huge G."""
    if not 0 <= a <= 1:
        raise ConfigError(f"acceptance rate a must be in [0, 1], got {a!r}")
    rng = np.random.default_rng(seed)
    if a >= 1:
        return np.full((repeats, tokens), np.iinfo(np.int64).max // 4, dtype=np.int64)
    return rng.geometric(1.0 - a, size=(repeats, tokens)).astype(np.int64)


def si_totals(draws: np.ndarray, k: np.ndarray | int) -> tuple[np.ndarray, np.ndarray]:
    """SI's (Σ kk, iterations) per path in the paper model: ``T_SI = c·Σkk + iterations``."""
    P, S = draws.shape
    lookahead = np.broadcast_to(np.asarray(k, dtype=np.int64), (P,))
    toks = np.zeros(P, dtype=np.int64)
    drafted = np.zeros(P, dtype=np.int64)
    iterations = np.zeros(P, dtype=np.int64)
    for t in range(S):
        active = toks < S
        if not active.any():
            break
        kk = np.minimum(lookahead, S - 1 - toks)
        accepted = np.minimum(draws[:, t] - 1, kk)
        drafted += np.where(active, kk, 0)
        iterations += active
        toks = np.where(active, toks + accepted + 1, toks)
    return drafted, iterations


def dsi_segments(draws: np.ndarray, k: np.ndarray | int) -> tuple[np.ndarray, np.ndarray]:
    """Per path and segment slot: (K, tokens) with ``T_DSI(c) = Σ min(c·K + 1, tokens)``.

    Returns two arrays of shape (paths, S); unused slots hold (0, 0) and cost 0.
    """
    P, S = draws.shape
    lookahead = np.broadcast_to(np.asarray(k, dtype=np.int64), (P,))
    toks = np.zeros(P, dtype=np.int64)
    seg_k = np.zeros(P, dtype=np.int64)
    seg_tokens = np.zeros(P, dtype=np.int64)
    seg_index = np.zeros(P, dtype=np.int64)
    prev_rejected = np.zeros(P, dtype=bool)
    out_k = np.zeros((P, S), dtype=np.int64)
    out_tokens = np.zeros((P, S), dtype=np.int64)
    rows = np.arange(P)
    for t in range(S):
        active = toks < S
        if not active.any():
            break
        kk = np.minimum(lookahead, S - 1 - toks)
        accepted = np.minimum(draws[:, t] - 1, kk)
        rejecting = (accepted < kk) | (kk == 0)
        skip = (accepted == 0) & prev_rejected
        seg_k += np.where(active & ~skip, kk, 0)
        gained = np.where(rejecting, accepted + 1, kk)
        seg_tokens += np.where(active, gained, 0)
        toks = np.where(active, toks + gained, toks)
        close = active & rejecting
        out_k[rows[close], seg_index[close]] = seg_k[close]
        out_tokens[rows[close], seg_index[close]] = seg_tokens[close]
        seg_index += close
        seg_k[close] = 0
        seg_tokens[close] = 0
        prev_rejected = np.where(active, rejecting, prev_rejected)
    return out_k, out_tokens


def dsi_latency_from_segments(seg_k: np.ndarray, seg_tokens: np.ndarray, c: float) -> np.ndarray:
    """``Σ_segments min(c·K + 1, tokens)`` per path (empty slots cost 0)."""
    return np.minimum(c * seg_k + 1.0, seg_tokens).sum(axis=1)


def paper_latencies(c: Number, a: float, k: int, tokens: int = 1000, repeats: int = 5,
                    seed: int = 42, num_target_servers: int | None = 7, message: Number = 0) -> dict[str, np.ndarray]:
    """Latency per repeat of non-SI, SI and DSI for one (c, a, k) row of the paper model.

    ``num_target_servers`` is checked against the validity rule (None skips the check), on the exact c.
    ``message``: μ ≥ 0 added to every target forward (SPEC §13), the model taken in units of
    ``1 + μ``: ``(1 + μ) · latencies(c / (1 + μ))`` (so SI pays ``kk·c + 1 + μ`` per iteration).
    """
    scale = message_scale(message)
    if scale != 1:
        scaled = paper_latencies(exact_c(c) / scale, a, k, tokens, repeats, seed, num_target_servers)
        return {name: float(scale) * values for name, values in scaled.items()}
    exact = exact_c(c)
    check_count(k, "lookahead k")
    if tokens < 1 or repeats < 1:
        raise ConfigError(f"tokens and repeats must be >= 1, got {tokens}, {repeats}")
    if num_target_servers is not None:
        if num_target_servers < 1:
            raise ConfigError(f"num_target_servers N must be >= 1, got {num_target_servers}")
        check_valid(exact, k, num_target_servers)
    draws = geometric_draws(a, tokens, repeats, seed)
    drafted, iterations = si_totals(draws, k)
    seg_k, seg_tokens = dsi_segments(draws, k)
    return {
        "nonsi": np.full(repeats, float(tokens)),
        "si": float(exact) * drafted + iterations,
        "dsi": dsi_latency_from_segments(seg_k, seg_tokens, float(exact)),
    }
