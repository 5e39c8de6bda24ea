"""Trajectory and greedy properties (SPEC §3 consequence 1, §7).

* :func:`check_result_contract` — every engine: S tokens in range(V) (no stop tokens), one
  resolution time per token, times non-decreasing and positive, latency = last time.
* :func:`check_trajectory_equality` — canonical engines: for one request, non-SI with the
  drafter, SI(k) and DSI(k, N) (preemptive and not) emit the identical tokens, whatever the
  latencies and the schedule jitter. No statistics: any difference is a bug.
* :func:`check_greedy_equality` — every engine: greedy DSI (and SI, non-SI) equals the
  target's greedy decode ``x_i = argmax p(· | x_<i)`` (lowest id on ties), computed here
  from the target model alone.
* :func:`check_greedy_acceptances` — canonical engines: in greedy mode a draft is accepted
  iff ``argmax q = argmax p`` on the true prefix (T2), so the accepted-draft counter of each
  algorithm equals the number of such positions (drafts of the rejected tails are not
  counted: each position is resolved once).
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np

from properties.engines import Engine, EngineRequest
from properties.violation import PropertyViolation


def _describe(request: EngineRequest) -> str:
    return (f"target={request.target!r} drafter={request.drafter!r} prompt={request.prompt} "
            f"S={request.max_new_tokens} k={request.lookahead} N={request.sp_degree} "
            f"mode={request.mode} seed={request.seed} latency={request.latency} "
            f"T={request.temperature} top_k={request.top_k} top_p={request.top_p} "
            f"preemptive={request.preemptive}")


def check_result_contract(engine: Engine, request: EngineRequest) -> None:
    """The shape of a Result, for each algorithm the engine supports."""
    request = request.but(stop_tokens=frozenset())
    V = int(request.target.vocab_size)
    for algorithm in sorted(engine.capabilities.algorithms):
        result = engine.generate(request.but(algorithm=algorithm))
        tokens, times = tuple(result.tokens), tuple(result.times)
        problems = []
        if len(tokens) != request.max_new_tokens:
            problems.append(f"{len(tokens)} tokens for S = {request.max_new_tokens}")
        if any(not 0 <= t < V for t in tokens):
            problems.append(f"tokens outside range({V}): {tokens}")
        if len(times) != len(tokens):
            problems.append(f"{len(times)} times for {len(tokens)} tokens")
        if any(b < a for a, b in pairwise(times)) or (times and times[0] <= 0):
            problems.append(f"times not positive and non-decreasing: {times}")
        if times and result.latency != times[-1]:
            problems.append(f"latency {result.latency} != last time {times[-1]}")
        if problems:
            raise PropertyViolation("result_contract", f"{algorithm}: {'; '.join(problems)}; "
                                    f"{_describe(request)}")


def check_trajectory_equality(engine: Engine, request: EngineRequest) -> None:
    """non-SI == SI == DSI (preemptive and non-preemptive) token for token."""
    runs = {
        "nonsi": engine.generate(request.but(algorithm="nonsi")).tokens,
        "si": engine.generate(request.but(algorithm="si")).tokens,
        "dsi": engine.generate(request.but(algorithm="dsi")).tokens,
        "dsi-other-preemption": engine.generate(
            request.but(algorithm="dsi", preemptive=not request.preemptive)).tokens,
    }
    if len(set(runs.values())) != 1:
        raise PropertyViolation("trajectory_equality", f"tokens differ: {runs} for {_describe(request)}")


def target_greedy_decode(request: EngineRequest) -> tuple[int, ...]:
    """``x_i = argmax p(· | prompt, x_<i)`` for S steps (processing keeps the argmax)."""
    tokens: list[int] = []
    for _ in range(request.max_new_tokens):
        probs = np.asarray(request.target.next_token_probs(request.prompt + tuple(tokens)))
        tokens.append(int(np.argmax(probs)))
        if tokens[-1] in request.stop_tokens:
            break
    return tuple(tokens)


def check_greedy_equality(engine: Engine, request: EngineRequest,
                          algorithms: tuple[str, ...] = ("dsi", "si", "nonsi")) -> None:
    """Greedy generation equals the target's own greedy decode, for each algorithm."""
    request = request.but(mode="greedy")
    expected = target_greedy_decode(request)
    for algorithm in algorithms:
        if algorithm not in engine.capabilities.algorithms:
            continue
        got = engine.generate(request.but(algorithm=algorithm)).tokens
        if tuple(got) != expected:
            raise PropertyViolation(
                "greedy_equality",
                f"{algorithm} emitted {got}, target greedy decode is {expected}; {_describe(request)}")


def check_greedy_acceptances(engine: Engine, request: EngineRequest) -> None:
    """Greedy: accepted drafts == #positions with argmax q = argmax p on the true prefix."""
    request = request.but(mode="greedy")
    for algorithm in ("nonsi", "si", "dsi"):
        result = engine.generate(request.but(algorithm=algorithm))
        agree = 0
        for i in range(len(result.tokens)):
            prefix = request.prompt + tuple(result.tokens[:i])
            p = np.asarray(request.target.next_token_probs(prefix))
            q = np.asarray(request.drafter.next_token_probs(prefix))  # type: ignore[union-attr]
            agree += int(np.argmax(p) == np.argmax(q))
        if result.counters.accepted_drafts != agree:
            raise PropertyViolation(
                "greedy_acceptances",
                f"{algorithm} counted {result.counters.accepted_drafts} accepted drafts, but argmax q "
                f"= argmax p at {agree} of {len(result.tokens)} positions; {_describe(request)}")
