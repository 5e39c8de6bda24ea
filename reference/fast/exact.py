"""The exact schedule model in time units, vectorised over acceptance paths (SPEC §4.1-4.3).

Same model as the event simulation (``reference.algorithms``), decode latencies only
(target 1, drafter c), preemptive cancellation. Input: acceptance paths ``accept`` of shape
(R, S), ``accept[r, i]`` = "the draft at position i is accepted on path r". Output: the
latency T (time of the last token) of each path, float64. A test checks equality with the
event simulation on many random paths (tolerance 1e-9).

**non-SI**: ``T = S``.

**SI(k)**: from n resolved tokens, ``kk = min(k, S − n − 1)``; cost ``kk·c + 1``; gain the
number of consecutive accepted drafts among the kk, plus one.

**DSI(k, N)** — round decomposition. A rejection at position i cancels every task and the
drafter, and a new round starts clean at ``r_i`` with ``f = i + 1``; by causality ``r_i``
does not depend on whether i is accepted. So with ``R_m(j)`` the resolution time of
relative position j in the *all-accepted* round of length ``m = S − f``::

    T_DSI = Σ_rounds R_{S − f}(j) ,   j = rejected position − f  (last round: j = S − 1 − f).

All-accepted round (relative time 0): frontier task F0 → p at 0 at time 1; draft j at
``(j + 1)c``; window b holds drafts ``bk .. min((b+1)k, m−1) − 1``, is dispatched at
``D_b = min((b+1)k, m−1)·c`` and yields p at ``bk .. min((b+1)k, m−1)``.

* Case A, ``k·c < 1``: the window covering j is dispatched before j − 1 resolves, so the
  frontier chain never fires and no task is cancelled early: a FIFO queue with N unit
  servers and tasks F0 (index 0) and window b (index b + 1)::

      finish(n) = max(dispatch(n), finish(n − N)) + 1,   R_m(j) = finish(ceil(j/k))  (j ≥ 1).

* Case B, ``k·c ≥ 1`` and ``N ≥ 3``: no task ever waits (at most one frontier task, one
  full window and the cut-short window run at once), and with
  ``D = min(ceil(j/k)·k, m − 1)·c``::

      R(0) = 1;  R(j) = max(R(j−1), D + 1) if D < R(j−1) else R(j−1) + 1.

* Otherwise (``k·c ≥ 1``, ``N ≤ 2``) tasks may wait; those paths run through the event
  simulation with an :class:`~reference.toy_models.AcceptancePathPair` (exact, slower).

Only the last, cut-short window depends on m, so ``R_m(j) = R_∞(j)`` unless
``ceil(j/k)·k > m − 1``; those tail entries are recomputed per round.

**Messages** (SPEC §13; ``LatencyModel.dispatch_latency + result_latency``): with ``message``
μ ≥ 0, every target forward lasts ``1 + μ`` (the drafter, on the scheduler's process, still c).
The schedule's decisions depend on the order of events only and every time is a sum of
forward durations, so all times scale: ``T(c, μ) = (1 + μ) · T(c / (1 + μ), 0)`` — which is
how the functions below compute it (checked against the event simulation with message
latencies in tests/reference/test_fast.py, not assumed).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from reference.errors import ConfigError


def _check(accept: np.ndarray, k: int, c: float, N: int | None = None) -> np.ndarray:
    accept = np.asarray(accept, dtype=bool)
    if accept.ndim == 1:
        accept = accept[None, :]
    if accept.ndim != 2 or accept.shape[1] < 1:
        raise ConfigError(f"accept must have shape (repeats, S) with S >= 1, got {accept.shape}")
    if isinstance(k, bool) or int(k) != k or k < 1:
        raise ConfigError(f"lookahead k must be an integer >= 1, got {k!r}")
    if not 0 < c <= 1:
        raise ConfigError(f"c must be in (0, 1] target forwards, got {c!r}")
    if N is not None and (int(N) != N or N < 1):
        raise ConfigError(f"sp_degree N must be an integer >= 1 or None, got {N!r}")
    return accept


def next_rejection(accept: np.ndarray) -> np.ndarray:
    """``out[r, i]`` = smallest ``j ≥ i`` with ``accept[r, j]`` False (S if none).

    >>> next_rejection(np.array([[True, False, True]])).tolist()
    [[1, 1, 3]]
    """
    S = accept.shape[1]
    index = np.where(accept, S, np.arange(S)[None, :])
    return np.minimum.accumulate(index[:, ::-1], axis=1)[:, ::-1]


def message_scale(message: float) -> float:
    """``1 + μ``: a target forward's duration with messages (μ ≥ 0, target decode units)."""
    if not message >= 0:
        raise ConfigError(f"message latency must be >= 0 target forwards, got {message!r}")
    return 1.0 + float(message)


def nonsi_latency(accept: np.ndarray, message: float = 0.0) -> np.ndarray:
    """non-SI: one target forward per token, ``T = S·(1 + μ)`` on every path."""
    accept = np.asarray(accept, dtype=bool).reshape(-1, np.shape(accept)[-1])
    return np.full(accept.shape[0], float(accept.shape[1]) * message_scale(message))


def si_iteration_totals(accept: np.ndarray, k: int | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """SI's (Σ kk, number of iterations) per path: ``T_SI = c·Σkk + iterations``.

    ``k`` may be a scalar or an array with one lookahead per path.
    """
    accept = np.asarray(accept, dtype=bool)
    R, S = accept.shape
    nxt = np.concatenate([next_rejection(accept), np.full((R, 1), S)], axis=1)
    lookahead = np.broadcast_to(np.asarray(k, dtype=np.int64), (R,))
    n = np.zeros(R, dtype=np.int64)
    drafted = np.zeros(R, dtype=np.int64)
    iterations = np.zeros(R, dtype=np.int64)
    rows = np.arange(R)
    active = n < S
    while active.any():
        kk = np.minimum(lookahead, S - n - 1)
        accepted_run = np.minimum(nxt[rows, np.minimum(n, S)] - n, kk)
        drafted += np.where(active, kk, 0)
        iterations += active
        n = np.where(active, n + accepted_run + 1, n)
        active = n < S
    return drafted, iterations


def si_latency(accept: np.ndarray, k: int, c: float, message: float = 0.0) -> np.ndarray:
    """SI(k) latency of each path: Σ over iterations of ``kk·c + 1 + μ``."""
    accept = _check(accept, k, c)
    drafted, iterations = si_iteration_totals(accept, k)
    return c * drafted + iterations * message_scale(message)


# ---------------------------------------------------------------- DSI rounds


def rounds_of(accept: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flatten the rounds of every path: (path index, j, m) per round.

    A round starts at f (0, or one past a rejection at a position <= S − 2) and ends at the
    next rejection at a position <= S − 2 (j = that position − f), or at S − 1 (last round).
    ``m = S − f`` is the number of positions left when the round starts.
    """
    accept = np.asarray(accept, dtype=bool)
    R, S = accept.shape
    path, position = np.nonzero(~accept[:, : S - 1])
    first_of_path = np.ones(position.shape[0], dtype=bool)
    first_of_path[1:] = path[1:] != path[:-1]
    start = np.where(first_of_path, 0, np.concatenate([[0], position[:-1] + 1]))
    last_start = np.zeros(R, dtype=np.int64)
    if position.size:
        last_rejection = np.full(R, -1, dtype=np.int64)
        np.maximum.at(last_rejection, path, position)
        last_start = last_rejection + 1
    paths = np.concatenate([path, np.arange(R)])
    starts = np.concatenate([start, last_start])
    ends = np.concatenate([position, np.full(R, S - 1)])
    return paths, ends - starts, S - starts


def _case_a_finish(c: float, k: int, N: int | None, blocks: int) -> np.ndarray:
    """FIFO finish times of F0 (index 0) and full windows 0..blocks-1 (indices 1..blocks).

    Along each chain n, n+N, n+2N, ... the recurrence ``f_i = max(d_i, f_{i−1}) + 1``
    unrolls to ``f_i = (i + 1) + max_{l ≤ i} (d_l − l)``: a cumulative maximum.
    """
    dispatch = np.arange(blocks + 1, dtype=np.float64) * (k * c)
    if N is None or blocks < N:
        return dispatch + 1.0
    finish = np.empty(blocks + 1)
    for residue in range(N):
        chain = dispatch[residue::N]
        steps = np.arange(chain.shape[0])
        finish[residue::N] = steps + 1.0 + np.maximum.accumulate(chain - steps)
    return finish


def round_resolution_times(c: float, k: int, N: int | None, m: int) -> np.ndarray:
    """``R_m(j)`` for j = 0..m−1: resolution times of the all-accepted round of length m.

    Cases A and B of the module docstring; otherwise the event simulation.
    """
    if m < 1:
        raise ConfigError(f"round length m must be >= 1, got {m}")
    _check(np.ones((1, m), dtype=bool), k, c, N)
    if not is_vectorised(c, k, N):
        return np.array([float(t) for t in _event_result(np.ones(m, dtype=bool), k, c, N).times])
    return round_times(c, k, N, np.arange(m), np.full(m, m))


def is_vectorised(c: float, k: int, N: int | None) -> bool:
    return k * c < 1 or N is None or N >= 3


def round_times(c: float, k: int, N: int | None, js: np.ndarray, ms: np.ndarray) -> np.ndarray:
    """``R_m(j)`` for arrays of (j, m) (cases A and B only)."""
    js = np.asarray(js, dtype=np.int64)
    ms = np.asarray(ms, dtype=np.int64)
    max_m = int(ms.max()) if ms.size else 1
    block = -(-js // k)  # ceil(j / k): FIFO index of the window covering j (0 for j = 0)
    tail = block * k > ms - 1  # the covering window is the cut-short last one
    out = np.empty(js.shape[0])
    if k * c < 1:
        finish = _case_a_finish(c, k, N, int(block.max()) + 1 if block.size else 1)
        out[:] = finish[block]
        if tail.any():
            tb, tm = block[tail], ms[tail]
            lag = tb - N if N is not None else np.full(tb.shape, -1)
            earlier = np.where(lag >= 0, finish[np.maximum(lag, 0)], -math.inf)
            out[tail] = np.maximum((tm - 1) * c, earlier) + 1.0
        out[js == 0] = 1.0
        return out
    # case B: the no-wait recurrence
    full = _case_b_full(c, k, max_m)
    out[:] = full[js]
    if tail.any():
        tj, tm = js[tail], ms[tail]
        start = (tm - 1) // k * k  # last position whose covering window is a full one
        r = full[start].copy()
        d_cut = (tm - 1) * c
        for step in range(1, k + 1):
            j_now = start + step
            live = j_now <= tj
            if not live.any():
                break
            r_new = np.where(d_cut < r, np.maximum(r, d_cut + 1.0), r + 1.0)
            r = np.where(live, r_new, r)
        out[tail] = r
    return out


def _case_b_full(c: float, k: int, length: int) -> np.ndarray:
    """``R_∞(j)`` in case B (no waiting), j = 0..length−1."""
    r = np.empty(length)
    r[0] = 1.0
    for j in range(1, length):
        dispatch = -(-j // k) * k * c
        prev = r[j - 1]
        r[j] = max(prev, dispatch + 1.0) if dispatch < prev else prev + 1.0
    return r


def dsi_latency(accept: np.ndarray, k: int, c: float, N: int | None = None, message: float = 0.0) -> np.ndarray:
    """DSI(k, N) latency of each path (N = None: unlimited target servers); with messages μ,
    ``(1 + μ) · T(c / (1 + μ), 0)`` (module docstring)."""
    scale = message_scale(message)
    if scale != 1.0:
        return scale * dsi_latency(accept, k, c / scale, N)
    accept = _check(accept, k, c, N)
    R = accept.shape[0]
    if not is_vectorised(c, k, N):
        return np.array([float(_event_result(row, k, c, N).latency) for row in accept])
    paths, js, ms = rounds_of(accept)
    times = round_times(c, k, N, js, ms)
    return np.bincount(paths, weights=times, minlength=R)


def _event_result(accept_row: np.ndarray, k: int, c: float, N: int | None):
    """One path through the event simulation (cases the recurrences do not cover)."""
    from reference.generate import generate
    from reference.latency import LatencyModel
    from reference.toy_models import AcceptancePathPair

    pair = AcceptancePathPair(np.asarray(accept_row, dtype=bool).tolist())
    return generate(pair.target, pair.drafter, [0], len(accept_row), algorithm="dsi",
                    lookahead=k, sp_degree=N, mode="greedy",
                    latency=LatencyModel.time_units(Fraction(repr(float(c)))))
