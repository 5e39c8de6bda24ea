"""SI(k): blocking speculative inference (SPEC §4.2).

Repeat until S tokens: the drafter drafts ``kk = min(k, S − resolved − 1)`` tokens back to
back (``kk·c``); one target forward verifies them (1) and yields p at the kk drafted
positions and at the bonus position after them. While the target verifies, the drafter
drafts the bonus position (``c <= 1``, so no time is added), which lets the bonus token be
resolved with K like every other position (SPEC §3, consequence 4). Tokens gained: the
accepted prefix plus one (the corrected token at the first rejection, or the bonus).
Iteration time ``kk·c + 1`` in time units.
"""

from __future__ import annotations

from fractions import Fraction

from reference.algorithms.canonical import Request
from reference.results import Counters, Result, TaskRecord


def run_si(request: Request, lookahead: int) -> Result:
    """Run SI with lookahead ``k``; every position resolves with the canonical kernel."""
    lat = request.latency
    S = request.max_new_tokens
    t = Fraction(0)
    tokens: list[int] = []
    times: list[Fraction] = []
    trace: list[TaskRecord] = []
    drafter_forwards = target_forwards = accepted = rejected = 0
    stopped = False
    while len(tokens) < S and not stopped:
        n = len(tokens)
        kk = min(lookahead, S - n - 1)
        speculative = list(tokens)
        drafts: list[tuple[int, object]] = []
        for j in range(kk):  # drafting phase: kk·c
            dur = lat.duration("drafter", 0, drafter_forwards, prefill=drafter_forwards == 0)
            trace.append(TaskRecord(len(trace), "drafter", "draft", n + j, n + j, t, t, t + dur, None))
            drafter_forwards += 1
            t += dur
            d, q = request.draft(n + j, speculative)
            drafts.append((d, q))
            speculative.append(d)
        # verification (target) in parallel with the bonus draft (drafter)
        verify_time = lat.duration("target", 0, target_forwards, prefill=target_forwards == 0)
        trace.append(TaskRecord(len(trace), "target:0", "verify", n, n + kk, t, t, t + verify_time, None))
        target_forwards += 1
        bonus_time = lat.duration("drafter", 0, drafter_forwards, prefill=drafter_forwards == 0)
        trace.append(TaskRecord(len(trace), "drafter", "draft", n + kk, n + kk, t, t, t + bonus_time, None))
        drafter_forwards += 1
        drafts.append(request.draft(n + kk, speculative))
        t += max(verify_time, bonus_time)
        for j, (d, q) in enumerate(drafts):
            p = request.target_probs(tokens)
            x = request.resolve(n + j, p, q, d)  # type: ignore[arg-type]
            tokens.append(x)
            times.append(t)
            accepted, rejected = accepted + (x == d), rejected + (x != d)
            if request.is_stop(x):
                stopped = True
            if stopped or x != d:
                break
    counters = Counters(target_forwards=target_forwards, drafter_forwards=drafter_forwards,
                        accepted_drafts=accepted, rejected_drafts=rejected)
    return Result("si", tuple(tokens), tuple(times), tuple(trace), counters, {"lookahead": lookahead})
