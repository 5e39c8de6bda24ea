"""Straightforward per-token Python loops of both time-unit models.

The baseline that the vectorised simulators are benchmarked against, and an independent
second implementation they are tested against. Same models, same streams, scalar code.
"""

from __future__ import annotations

import math

import numpy as np

from reference.fast.exact import exact_c
from reference.latency import Number


def exact_dsi_latency_loop(accept: np.ndarray, k: int, c: Number, N: int | None) -> float:
    """DSI latency of one path, walking positions round by round (cases A and B only)."""
    fifo = k * exact_c(c) < 1  # case A, decided on the exact c
    c = float(exact_c(c))
    S = len(accept)
    t, f = 0.0, 0
    while f < S:
        m = S - f
        finish: dict[int, float] = {0: 1.0}
        r = 1.0
        j = 0
        while True:
            if j > 0:
                block = -(-j // k)
                dispatch = min(block * k, m - 1) * c
                if fifo:  # FIFO queue of unit tasks
                    if block not in finish:
                        for n in range(max(finish) + 1, block + 1):
                            d_n = min(n * k, m - 1) * c
                            earlier = finish.get(n - N, -math.inf) if N is not None else -math.inf
                            finish[n] = max(d_n, earlier) + 1.0
                    r = finish[block]
                else:  # no waiting: frontier chain or window
                    r = max(r, dispatch + 1.0) if dispatch < r else r + 1.0
            position = f + j
            if position == S - 1 or not accept[position]:
                break
            j += 1
        t += r
        f = f + j + 1
    return t


def exact_si_latency_loop(accept: np.ndarray, k: int, c: float) -> float:
    """SI latency of one path, iteration by iteration."""
    S = len(accept)
    t, n = 0.0, 0
    while n < S:
        kk = min(k, S - n - 1)
        run = 0
        while run < kk and accept[n + run]:
            run += 1
        t += kk * c + 1
        n += run + 1
    return t


def paper_latencies_loop(draws: np.ndarray, k: int, c: float) -> tuple[float, float]:
    """(SI, DSI) latency of one repeat of the paper model, iteration by iteration."""
    S = len(draws)
    si_time, toks = 0.0, 0
    for g in draws:
        if toks >= S:
            break
        kk = min(k, S - 1 - toks)
        accepted = min(int(g) - 1, kk)
        si_time += kk * c + 1
        toks += accepted + 1
    dsi_time, toks, seg_cost, seg_tokens, prev_rejected = 0.0, 0, 0.0, 0, False
    for g in draws:
        if toks >= S:
            break
        kk = min(k, S - 1 - toks)
        accepted = min(int(g) - 1, kk)
        rejecting = accepted < kk or kk == 0
        if not (accepted == 0 and prev_rejected):
            seg_cost += kk * c
        if rejecting:
            seg_cost += 1
            seg_tokens += accepted + 1
            toks += accepted + 1
            dsi_time += min(seg_cost, seg_tokens)
            seg_cost, seg_tokens = 0.0, 0
        else:
            seg_tokens += kk
            toks += kk
        prev_rejected = rejecting
    return si_time, dsi_time
