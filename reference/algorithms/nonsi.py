"""non-SI: plain autoregressive decoding on one target server (SPEC §4.1).

Token i resolves at ``r_i = r_{i-1} + target forward`` (the first forward is the prefill).

* ``"plain"``: ``x_i = sample(p, u(seed, i, "plain"))`` — a different coupling with the
  target's law (the baseline for distribution tests).
* ``"nonsi"``: the drafter computes ``d_i`` alongside (it starts when ``x_{i-1}`` is known
  and ``c <= 1``, so it costs no time unless its latency exceeds the target's) and the token
  is the canonical ``K(p, q, d)`` — identical to SI's and DSI's tokens for the seed.
"""

from __future__ import annotations

from fractions import Fraction

from reference.algorithms.canonical import Request
from reference.results import Counters, Result, TaskRecord


def run_nonsi(request: Request, *, with_drafter: bool = True) -> Result:
    """Run non-SI (``with_drafter``: canonical tokens; else plain sampling)."""
    lat = request.latency
    t = Fraction(0)
    tokens: list[int] = []
    times: list[Fraction] = []
    trace: list[TaskRecord] = []
    accepted = rejected = 0
    for i in range(request.max_new_tokens):
        target_time = lat.duration("target", 0, i, prefill=i == 0)
        trace.append(TaskRecord(len(trace), "target:0", "decode", i, i, t, t, t + target_time, None))
        p = request.target_probs(tokens)
        end = t + target_time
        if with_drafter:
            draft_time = lat.duration("drafter", 0, i, prefill=i == 0)
            trace.append(TaskRecord(len(trace), "drafter", "draft", i, i, t, t, t + draft_time, None))
            d, q = request.draft(i, tokens)
            x = request.resolve(i, p, q, d)
            accepted, rejected = accepted + (x == d), rejected + (x != d)
            end = max(end, t + draft_time)
        else:
            x = request.plain(i, p)
        t = end
        tokens.append(x)
        times.append(t)
        if request.is_stop(x):
            break
    n = len(tokens)
    counters = Counters(
        target_forwards=n, drafter_forwards=n if with_drafter else 0,
        accepted_drafts=accepted, rejected_drafts=rejected,
    )
    return Result("nonsi" if with_drafter else "plain", tuple(tokens), tuple(times), tuple(trace), counters)
