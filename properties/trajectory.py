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
* :func:`check_canonical_tokens` — canonical engines: every algorithm emits the canonical
  sequence of SPEC §3, recomputed here from the models and ``u(seed, i, ·)`` alone by
  :func:`canonical_sequence` (its own inverse-CDF sampler, kernel and processing: nothing
  from ``reference.kernel`` or ``reference.processing``). Run with S in the hundreds, this is
  where an index that drifts past position 100 or 128 (a window, a cache slot, a counter
  field) shows even when every algorithm drifts the same way.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np

from properties.engines import Engine, EngineRequest
from properties.exact_models import process_exact
from properties.violation import PropertyViolation
from reference.randomness import u


def describe_request(request: EngineRequest) -> str:
    """The fields of a request that make a counterexample reproducible, on one line."""
    return (f"target={request.target!r} drafter={request.drafter!r} prompt={request.prompt} "
            f"S={request.max_new_tokens} k={request.lookahead} N={request.num_target_servers} "
            f"mode={request.mode} seed={request.seed} latency={request.latency} "
            f"T={request.temperature} top_k={request.top_k} top_p={request.top_p} "
            f"preemptive={request.preemptive} stop_tokens={sorted(request.stop_tokens)}")


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
                                    f"{describe_request(request)}")


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
        raise PropertyViolation("trajectory_equality", f"tokens differ: {runs} for {describe_request(request)}")


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
                          algorithms: tuple[str, ...] = ("dsi", "si", "nonsi"), *,
                          prop: str = "greedy_equality") -> None:
    """Greedy generation equals the target's own greedy decode, for each algorithm.

    ``prop`` names the property in the violation (``greedy_ties``, ``long_greedy`` run this
    check on tied rows and on S in the hundreds).
    """
    request = request.but(mode="greedy")
    expected = target_greedy_decode(request)
    for algorithm in algorithms:
        if algorithm not in engine.capabilities.algorithms:
            continue
        got = engine.generate(request.but(algorithm=algorithm)).tokens
        if tuple(got) != expected:
            raise PropertyViolation(
                prop, f"{algorithm} emitted {got}, target greedy decode is {expected}; {describe_request(request)}")


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
                f"= argmax p at {agree} of {len(result.tokens)} positions; {describe_request(request)}")


# ---------------------------------------------------------------- the canonical sequence


def _sample(weights: np.ndarray, uniform: float) -> int:
    """Smallest id j with ``u·W < cumsum(w)[j]``, W the total (SPEC §3), never a zero weight."""
    cdf = np.cumsum(weights)
    for j in range(weights.shape[0]):
        if weights[j] > 0 and uniform * cdf[-1] < cdf[j]:
            return j
    return int(np.flatnonzero(weights > 0)[-1])


def _processed(model: object, prefix: tuple[int, ...], request: EngineRequest) -> np.ndarray:
    raw = np.asarray(model.next_token_probs(prefix), dtype=np.float64)  # type: ignore[attr-defined]
    if raw.sum() != 1.0:
        raw = raw / raw.sum()
    return np.array(process_exact([float(x) for x in raw], temperature=request.temperature,
                                  top_k=request.top_k, top_p=request.top_p), dtype=np.float64)


def canonical_sequence(request: EngineRequest, algorithm: str = "nonsi") -> tuple[int, ...]:
    """The canonical tokens of SPEC §3 for ``request`` (stop tokens honoured).

    ``d_i = sample(q̃, u(i, "draft"))`` (argmax q̃ in greedy mode); ``x_i = d_i`` if
    ``u(i, "accept") < min(1, p̃(d_i)/q̃(d_i))``, else ``sample(max(p̃ − q̃, 0), u(i, "residual"))``
    (``p̃`` if that residual is 0); greedy: ``x_i = argmax p̃`` (lowest id on ties). For
    ``algorithm="plain"``: ``x_i = sample(p̃, u(i, "plain"))``.
    """
    tokens: list[int] = []
    greedy = request.mode == "greedy"
    for i in range(request.max_new_tokens):
        prefix = request.prompt + tuple(tokens)
        p = _processed(request.target, prefix, request)
        if greedy:
            x = int(np.argmax(p))
        elif algorithm == "plain":
            x = _sample(p, u(request.seed, i, "plain"))
        else:
            q = _processed(request.drafter, prefix, request)
            d = _sample(q, u(request.seed, i, "draft"))
            if u(request.seed, i, "accept") < min(1.0, float(p[d]) / float(q[d])):
                x = d
            else:
                res = np.maximum(p - q, 0.0)
                x = _sample(res if res.sum() > 0 else p, u(request.seed, i, "residual"))
        tokens.append(x)
        if x in request.stop_tokens:
            break
    return tuple(tokens)


def check_canonical_tokens(engine: Engine, request: EngineRequest) -> None:
    """Every algorithm the engine declares emits :func:`canonical_sequence`'s tokens."""
    speculative = canonical_sequence(request)
    for algorithm in sorted(engine.capabilities.algorithms):
        expected = canonical_sequence(request, "plain") if algorithm == "plain" else speculative
        got = tuple(engine.generate(request.but(algorithm=algorithm)).tokens)
        if got != expected:
            first = next((i for i, (a, b) in enumerate(zip(got, expected, strict=False)) if a != b),
                         min(len(got), len(expected)))
            raise PropertyViolation(
                "canonical_tokens",
                f"{algorithm} departs from the canonical sequence at position {first} of "
                f"{len(expected)}: emitted {got[max(0, first - 3):first + 3]}..., canonical "
                f"{expected[max(0, first - 3):first + 3]}... (positions {max(0, first - 3)}-); "
                f"{describe_request(request)}")
