"""Stop-token properties (SPEC §10: position i is the last if x_i is a stop token).

* :func:`check_stop_tokens` — every engine, greedy mode: for each algorithm, the output is
  the target's greedy decode cut just after its first stop token (the stop token emitted,
  nothing after it), one resolution time per token, latency = the stop token's time. A stop
  token that occurs only in the prompt does not stop anything.
* :func:`check_stop_trajectory` — canonical engines, sampling: every algorithm (DSI
  preemptive and not, SI, non-SI) emits the engine's own stop-free canonical tokens cut at
  the first stop token — the same position for every algorithm, however far DSI had drafted
  or verified past it.
* :func:`check_exact_stopped_law` — engines with uniform injection: the exact law of the
  stopped sequence (at most m tokens, ending at the first stop token or at m) equals the
  target's stopped law ``Π p̃(x_i | x_<i)`` over such sequences
  (:mod:`properties.enumeration`).

Stop sets are chosen among tokens the stop-free run emits, so that generation does stop
(a stop set the run never meets would test nothing); the strategies add a second id at random.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from properties.engines import Engine, EngineRequest, supports
from properties.enumeration import engine_sequence_law
from properties.exact_models import RationalTabularLM, target_sequence_law
from properties.trajectory import describe_request, target_greedy_decode
from properties.violation import PropertyViolation
from reference.results import Result


def cut_at_stop(tokens: Sequence[int], stop_tokens: frozenset[int]) -> tuple[int, ...]:
    """``tokens`` up to and including the first stop token.

    >>> cut_at_stop((3, 1, 2, 1), frozenset({1}))
    (3, 1)
    >>> cut_at_stop((3, 0), frozenset({1}))
    (3, 0)
    """
    out: list[int] = []
    for token in tokens:
        out.append(int(token))
        if token in stop_tokens:
            break
    return tuple(out)


def stop_set(tokens: Sequence[int], pick: int, extra: frozenset[int]) -> frozenset[int]:
    """The stop set of a case: the token at index ``pick`` (mod len) of a stop-free run, plus ``extra``."""
    return frozenset({int(tokens[pick % len(tokens)])}) | extra


def _contract(prop: str, algorithm: str, request: EngineRequest, result: Result) -> list[str]:
    """What a stopped Result must satisfy (beyond its tokens)."""
    tokens, times = tuple(result.tokens), tuple(result.times)
    problems = []
    if not tokens or len(tokens) > request.max_new_tokens:
        problems.append(f"{len(tokens)} tokens for S = {request.max_new_tokens}")
    if any(t in request.stop_tokens for t in tokens[:-1]):
        problems.append(f"a stop token of {sorted(request.stop_tokens)} before the last position: {tokens}")
    if len(times) != len(tokens):
        problems.append(f"{len(times)} times for {len(tokens)} tokens")
    if any(b < a for a, b in pairwise(times)):
        problems.append(f"times decrease: {times}")
    if times and result.latency != times[-1]:
        problems.append(f"latency {result.latency} != time of the last token {times[-1]}")
    return [f"{algorithm}: {p}" for p in problems]


def check_stop_tokens(engine: Engine, request: EngineRequest, pick: int = 0,
                      extra: frozenset[int] = frozenset()) -> None:
    """Greedy: each algorithm's output is the target's greedy decode cut at its first stop token."""
    request = request.but(mode="greedy", stop_tokens=frozenset())
    full = target_greedy_decode(request)
    stops = stop_set(full, pick, extra)
    stopped = request.but(stop_tokens=stops)
    expected = cut_at_stop(full, stops)
    for algorithm in ("dsi", "si", "nonsi", "plain"):
        if not supports(engine, algorithm):
            continue
        result = engine.generate(stopped.but(algorithm=algorithm))
        problems = _contract("stop_tokens", algorithm, stopped, result)
        if tuple(result.tokens) != expected:
            problems.append(f"{algorithm} emitted {tuple(result.tokens)}, the target's greedy decode "
                            f"cut at the first stop token is {expected}")
        if problems:
            raise PropertyViolation("stop_tokens", f"{'; '.join(problems)}; stop_tokens={sorted(stops)}, "
                                    f"{describe_request(stopped)}")


def check_stop_trajectory(engine: Engine, request: EngineRequest, pick: int = 0,
                          extra: frozenset[int] = frozenset()) -> None:
    """Sampling: every algorithm emits the stop-free canonical tokens cut at the first stop token."""
    request = request.but(stop_tokens=frozenset())
    full = tuple(engine.generate(request.but(algorithm="nonsi")).tokens)
    stops = stop_set(full, pick, extra)
    stopped = request.but(stop_tokens=stops)
    expected = cut_at_stop(full, stops)
    runs = [("nonsi", stopped), ("si", stopped), ("dsi", stopped),
            ("dsi-other-preemption", stopped.but(preemptive=not stopped.preemptive))]
    for label, req in runs:
        algorithm = label.split("-")[0]
        result = engine.generate(req.but(algorithm=algorithm))
        problems = _contract("stop_trajectory", label, req, result)
        if tuple(result.tokens) != expected:
            problems.append(f"{label} emitted {tuple(result.tokens)}, the stop-free tokens cut at the "
                            f"first stop token are {expected}")
        if problems:
            raise PropertyViolation("stop_trajectory", f"{'; '.join(problems)}; stop_tokens={sorted(stops)}, "
                                    f"{describe_request(stopped)}")


def check_exact_stopped_law(engine: Engine, request: EngineRequest, target: RationalTabularLM,
                            drafter: RationalTabularLM, length: int) -> None:
    """Exact law of the stopped sequence (≤ ``length`` tokens) == the target's stopped law."""
    base = request.but(mode="sample", target=target, drafter=drafter)
    expected = target_sequence_law(target, base.prompt, length, temperature=base.temperature,
                                   top_k=base.top_k, top_p=base.top_p, stop_tokens=base.stop_tokens)
    got = engine_sequence_law(engine, base, target, drafter, length)
    if got != expected:
        diff = {key: (str(got.get(key, 0)), str(expected.get(key, 0)))
                for key in sorted(set(got) | set(expected)) if got.get(key, 0) != expected.get(key, 0)}
        raise PropertyViolation(
            "stopped_law",
            f"{base.algorithm} (k={base.lookahead}, N={base.num_target_servers}) law of the sequence stopped at "
            f"{sorted(base.stop_tokens)} (at most {length} tokens) differs from the target's: "
            f"(engine, target) = {diff}; target={target!r} drafter={drafter!r} prompt={base.prompt}")
