"""The exact schedule model in time units, vectorised over acceptance paths (SPEC §4.1-4.3).

Same model as the event simulation (``reference.algorithms``), decode latencies only
(target 1, drafter c), preemptive cancellation. Input: acceptance paths ``accept`` of shape
(R, S), ``accept[r, i]`` = "the draft at position i is accepted on path r". Output: the
latency T (time of the last token) of each path, float64. A test checks equality with the
event simulation on many random paths (tolerance 1e-9); nothing here calls it.

**c is an exact rational** (the tie rule at kc = 1 and at every other tie, SPEC §4.3 step 8):
``c`` may be a ``Fraction``, an int, a decimal string or a float, and a float means its
shortest decimal repr (:func:`reference.latency.to_fraction`, the same conversion
``LatencyModel.time_units`` applies), so every simulator takes the same c. Every decision
(which case applies, frontier task or window, a task cancelled before it starts) is taken
in exact arithmetic; only the latencies are then evaluated in float64, by formulas
continuous in c (a max and sums), so ``float(c)`` there moves them by rounding only.

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

* Case C, ``k·c ≥ 1`` and ``N ≤ 2``: tasks may wait, and a frontier task and a window
  compete for the servers. :func:`queued_round_times` walks the positions in order with
  the FIFO queue as state. W(j) is the first window covering j (window ``ceil(j/k) − 1``,
  dispatched at ``D(j)``)::

      D(j) < R(j−1):  R(j) = max(R(j−1), start(W(j)) + 1)
      otherwise:      frontier task F_j enqueued at R(j−1) (before a window dispatched at
                      the same instant);  R(j) = start(F_j) + 1

  with FIFO starts ``start(n) = max(enqueue(n), start(n−1), earliest free server)``; a task
  frees its server at ``min(start + 1, R(last))`` (preempted when its last position
  resolves first) and never starts if ``R(last) ≤`` its would-be start. Every task ahead of
  the one that decides R(j) delivers positions < j only, so those ends are known. Drafts
  never delay a resolution (a task delivering p at j ends at ≥ j·c + 1 ≥ (j + 1)·c). Times
  are integers in units of ``1/q`` for ``c = p/q`` (target forward q, draft p): exact.

In cases A and B only the last, cut-short window depends on m, so ``R_m(j) = R_∞(j)``
unless ``ceil(j/k)·k > m − 1``; those tail entries are recomputed per round. In case C the
cut-short window can delay earlier frontier tasks, so each round length m is walked once.

**Messages** (SPEC §13; ``LatencyModel.dispatch_latency + result_latency``): with ``message``
μ ≥ 0, every target forward lasts ``1 + μ`` (the drafter, on the scheduler's process, still c).
The schedule's decisions depend on the order of events only and every time is a sum of
forward durations, so all times scale: ``T(c, μ) = (1 + μ) · T(c / (1 + μ), 0)`` — which is
how the functions below compute it (checked against the event simulation with message
latencies in tests/reference/test_fast.py, not assumed).
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import numpy as np

from reference.errors import ConfigError, check_count
from reference.latency import Number, to_fraction


def exact_c(c: Number) -> Fraction:
    """c as an exact rational in (0, 1] (a float means its shortest decimal repr).

    >>> exact_c(0.1), exact_c(Fraction(1, 3)), exact_c("1/3")
    (Fraction(1, 10), Fraction(1, 3), Fraction(1, 3))
    """
    value = to_fraction(c, name="c")
    if not 0 < value <= 1:
        raise ConfigError(f"c must be in (0, 1] target forwards, got {c!r}")
    return value


def _check(accept: np.ndarray, k: int, c: Number, N: int | None = None) -> tuple[np.ndarray, Fraction]:
    accept = np.asarray(accept, dtype=bool)
    if accept.ndim == 1:
        accept = accept[None, :]
    if accept.ndim != 2 or accept.shape[1] < 1:
        raise ConfigError(f"accept must have shape (repeats, S) with S >= 1, got {accept.shape}")
    check_count(k, "lookahead k")
    check_count(N, "num_target_servers N", allow_none=True)
    return accept, exact_c(c)
def next_rejection(accept: np.ndarray) -> np.ndarray:
    """``out[r, i]`` = smallest ``j ≥ i`` with ``accept[r, j]`` False (S if none).

    >>> next_rejection(np.array([[True, False, True]])).tolist()
    [[1, 1, 3]]
    """
    S = accept.shape[1]
    index = np.where(accept, S, np.arange(S)[None, :])
    return np.minimum.accumulate(index[:, ::-1], axis=1)[:, ::-1]


def message_scale(message: Number) -> Fraction:
    """``1 + μ``: a target forward's duration with messages (μ ≥ 0 and finite, target decode
    units), exactly (``message`` as :func:`reference.latency.to_fraction` reads it).

    >>> message_scale("1/4")
    Fraction(5, 4)
    """
    mu = to_fraction(message, name="message latency")
    if mu < 0:
        raise ConfigError(f"message latency must be >= 0 target forwards, got {message!r}")
    return 1 + mu


def nonsi_latency(accept: np.ndarray, message: Number = 0) -> np.ndarray:
    """non-SI: one target forward per token, ``T = S·(1 + μ)`` on every path."""
    accept = np.asarray(accept, dtype=bool).reshape(-1, np.shape(accept)[-1])
    return np.full(accept.shape[0], float(accept.shape[1]) * float(message_scale(message)))


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


def si_latency(accept: np.ndarray, k: int, c: Number, message: Number = 0) -> np.ndarray:
    """SI(k) latency of each path: Σ over iterations of ``kk·c + 1 + μ``."""
    scale = message_scale(message)
    accept, c = _check(accept, k, c)
    drafted, iterations = si_iteration_totals(accept, k)
    return float(c) * drafted + iterations * float(scale)


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


def round_resolution_times(c: Number, k: int, N: int | None, m: int) -> np.ndarray:
    """``R_m(j)`` for j = 0..m−1: resolution times of the all-accepted round of length m."""
    if m < 1:
        raise ConfigError(f"round length m must be >= 1, got {m}")
    _, c = _check(np.ones((1, 1), dtype=bool), k, c, N)
    return round_times(c, k, N, np.arange(m), np.full(m, m))


def case(c: Number, k: int, N: int | None) -> str:
    """Which recurrence applies: ``"A"`` (kc < 1), ``"B"`` (kc ≥ 1, N ≥ 3 or unlimited) or
    ``"C"`` (kc ≥ 1, N ≤ 2), decided on the exact c.

    >>> case(Fraction(1, 3), 3, 1), case(0.3333333333333333, 3, 1), case(Fraction(1, 3), 3, 3)
    ('C', 'A', 'B')
    """
    if k * exact_c(c) < 1:
        return "A"
    return "B" if N is None or N >= 3 else "C"


def round_times(c: Number, k: int, N: int | None, js: np.ndarray, ms: np.ndarray) -> np.ndarray:
    """``R_m(j)`` for arrays of (j, m), every case."""
    js = np.asarray(js, dtype=np.int64)
    ms = np.asarray(ms, dtype=np.int64)
    which = case(c, k, N)
    if which == "C":
        return _case_c_times(exact_c(c), k, N, js, ms)  # type: ignore[arg-type]
    c = float(exact_c(c))
    max_m = int(ms.max()) if ms.size else 1
    block = -(-js // k)  # ceil(j / k): FIFO index of the window covering j (0 for j = 0)
    tail = block * k > ms - 1  # the covering window is the cut-short last one
    out = np.empty(js.shape[0])
    if which == "A":
        finish = _case_a_finish(c, k, N, int(block.max()) + 1 if block.size else 1)
        out[:] = finish[block]
        if tail.any():
            tb, tm = block[tail], ms[tail]
            lag = tb - N if N is not None else np.full(tb.shape, -1)
            earlier = np.where(lag >= 0, finish[np.maximum(lag, 0)], -np.inf)
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


def _case_c_times(c: Fraction, k: int, N: int, js: np.ndarray, ms: np.ndarray) -> np.ndarray:
    """Case C for arrays of (j, m): one walk per distinct round length m, up to its largest j."""
    out = np.empty(js.shape[0])
    for m in np.unique(ms):
        rows = np.nonzero(ms == m)[0]
        times = queued_round_times(c, k, N, int(m), upto=int(js[rows].max()))
        out[rows] = [float(times[j]) for j in js[rows]]
    return out


def queued_round_times(c: Number, k: int, N: int | None, m: int, *, upto: int | None = None) -> list[Fraction]:
    """``R_m(j)`` for j = 0..upto (default m − 1), exactly, by the FIFO recurrence of case C.

    Valid in every case (it models waiting and the frontier chain in general), so tests
    also hold cases A and B to it; :func:`round_times` uses it for case C only.

    >>> [str(t) for t in queued_round_times(Fraction(1, 3), 3, 1, 4)]  # the kc = 1 boundary
    ['1', '2', '3', '3']
    >>> [str(t) for t in queued_round_times(0.3333333333333333, 3, 1, 4)]  # just below it
    ['1', '2', '2', '2']
    """
    c = exact_c(c)
    check_count(k, "lookahead k")
    if m < 1:
        raise ConfigError(f"round length m must be >= 1, got {m}")
    last_j = m - 1 if upto is None else min(upto, m - 1)
    p, q = c.numerator, c.denominator  # times in units of 1/q: a target forward is q, a draft p
    # windows b = 0..: first position b·k <= m − 2, last position and dispatch time
    window_last = [min((b + 1) * k, m - 1) for b in range((m - 2) // k + 1 if m >= 2 else 0)]
    window_dispatch = [last * p for last in window_last]
    # at most one frontier task and every window are live at once: more servers never matter
    servers = len(window_last) + 1 if N is None else min(N, len(window_last) + 1)
    queue = _FifoServers(servers, q)
    window_index: list[int] = []  # queue index of each window already enqueued
    resolved: list[int] = []  # R(j) in units of 1/q

    def enqueue_windows_before(time: int) -> None:
        while len(window_index) < len(window_last) and window_dispatch[len(window_index)] < time:
            b = len(window_index)
            window_index.append(queue.enqueue(window_dispatch[b], window_last[b]))

    queue.enqueue(0, 0)  # F0
    resolved.append(queue.start_of(0, resolved) + q)
    for j in range(1, last_j + 1):
        b = -(-j // k) - 1  # W(j): the first window covering j
        previous = resolved[j - 1]
        if window_dispatch[b] < previous:  # dispatched before j − 1 resolved: p at j comes from it
            enqueue_windows_before(window_dispatch[b] + 1)
            resolved.append(max(previous, queue.start_of(window_index[b], resolved) + q))
        else:  # frontier chain: F_j at R(j − 1), ahead of a window dispatched at that instant
            enqueue_windows_before(previous)
            resolved.append(queue.start_of(queue.enqueue(previous, j), resolved) + q)
    return [Fraction(t, q) for t in resolved]


class _FifoServers:
    """Unit tasks (duration q) on N servers in FIFO order; starts computed on demand."""

    def __init__(self, servers: int, q: int) -> None:
        self.q = q
        self.enqueued: list[int] = []
        self.last: list[int] = []
        self.start: list[int | None] = []  # None: not yet computed, or cancelled in the queue
        self.computed = 0
        self.previous_start = 0
        self.holder: list[int | None] = [None] * servers  # queue index of each server's latest task
        self.free = [0] * servers

    def enqueue(self, time: int, last: int) -> int:
        self.enqueued.append(time)
        self.last.append(last)
        self.start.append(None)
        return len(self.enqueued) - 1

    def start_of(self, index: int, resolved: Sequence[int]) -> int:
        """Start of task ``index``; every task ahead of it delivers positions in ``resolved``."""
        while self.computed <= index:
            n = self.computed
            self.computed += 1
            for server, task in enumerate(self.holder):  # a preempted task frees its server early
                if task is not None and self.last[task] < len(resolved):
                    self.free[server] = min(self.start[task] + self.q, resolved[self.last[task]])  # type: ignore[operator]
            server = min(range(len(self.free)), key=self.free.__getitem__)
            start = max(self.enqueued[n], self.previous_start, self.free[server])
            if self.last[n] < len(resolved) and resolved[self.last[n]] <= start:
                continue  # its last position resolved while it waited: dropped from the queue
            self.start[n] = start
            self.previous_start = start
            self.holder[server] = n
            self.free[server] = start + self.q
        start = self.start[index]
        assert start is not None, "the task deciding a position is never cancelled before it starts"
        return start


def dsi_latency(accept: np.ndarray, k: int, c: Number, N: int | None = None,
                message: Number = 0) -> np.ndarray:
    """DSI(k, N) latency of each path (N = None: unlimited target servers); with messages μ,
    ``(1 + μ) · T(c / (1 + μ), 0)`` (module docstring)."""
    scale = message_scale(message)
    if scale != 1:
        return float(scale) * dsi_latency(accept, k, exact_c(c) / scale, N)
    accept, c = _check(accept, k, c, N)
    R = accept.shape[0]
    paths, js, ms = rounds_of(accept)
    times = round_times(c, k, N, js, ms)
    return np.bincount(paths, weights=times, minlength=R)
