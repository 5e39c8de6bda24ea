"""Properties of an engine serving many requests: caches, batches, mismatched vocabularies.

A real engine keeps state between requests (prefix caches, KV-cache pools, compiled graphs)
and batches requests with different prompts. None of that may change a token:

* :func:`check_request_isolation` — every engine, greedy: a sequence of requests on one
  engine instance sharing prompts and prefixes across two different models (the same prompt
  on another model, the prompt extended by one token, a prefix of the prompt), run forward
  and then in reverse, each equals the target's greedy decode whatever ran before it.
* :func:`check_request_isolation_sampled` — canonical engines, sampling: the same sequence
  with different processing (temperature, top-k) on the same prompt and model; each request
  emits its canonical tokens (:func:`properties.trajectory.canonical_sequence`). This is where
  a cache keyed by the prompt alone, or by model and prompt but not the processing, shows.
* :func:`check_batch_consistency` — engines with ``generate_batch``: a batch of requests with
  different prompts (different lengths), lengths S and stop tokens gives, per request, the
  target's greedy decode (greedy; cut at the first stop token) and, on canonical engines, the
  canonical tokens (sampling).
* :func:`check_vocab_mismatch` — every engine: with a drafter whose vocabulary is one id
  smaller or larger than the target's, the engine either refuses (raises) or emits the
  target's greedy decode; it never emits an id outside the target's vocabulary. (SPEC §10
  pins "same width" for this suite's engines, which refuse; an engine that pads the smaller
  drafter is allowed if it stays lossless.)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from properties.engines import Engine, EngineRequest, supports
from properties.stopping import cut_at_stop
from properties.trajectory import canonical_sequence, describe_request, target_greedy_decode
from properties.violation import PropertyViolation

SPECULATIVE = ("dsi", "si", "nonsi")


@dataclass(frozen=True)
class SharedPromptCase:
    """Two (target, drafter) pairs of one vocabulary, a prompt, one extra token, and a base request."""

    base: EngineRequest
    other_target: object
    other_drafter: object
    extra_token: int


def shared_prompt_requests(case: SharedPromptCase) -> list[EngineRequest]:
    """Requests that share prompts and prefixes across two models (the order they run in)."""
    base = case.base
    other = base.but(target=case.other_target, drafter=case.other_drafter)
    longer = (*base.prompt, case.extra_token)
    return [base, other, base.but(prompt=longer), other.but(prompt=longer),
            base.but(prompt=base.prompt[:1]), base.but(max_new_tokens=base.max_new_tokens + 2), base]


def _algorithms(engine: Engine) -> list[str]:
    return [a for a in SPECULATIVE if supports(engine, a)] or sorted(engine.capabilities.algorithms)


def check_request_isolation(engine: Engine, case: SharedPromptCase) -> None:
    """Greedy: each request of the sequence (forward, then reversed) == its target greedy decode."""
    requests = [r.but(mode="greedy") for r in shared_prompt_requests(case)]
    _check_in_both_orders(engine, requests, target_greedy_decode, "request_isolation", "target greedy decode",
                          "earlier requests shared its prompt or a prefix of it on another model")


def check_request_isolation_sampled(engine: Engine, case: SharedPromptCase) -> None:
    """Sampling, processing varied on a shared prompt: each request emits its canonical tokens."""
    base = [r.but(mode="sample") for r in shared_prompt_requests(case)]
    V = int(case.base.target.vocab_size)  # type: ignore[attr-defined]
    requests = [base[0], base[0].but(temperature=0.5), base[1], base[0].but(top_k=max(1, V // 2)),
                *base[2:]]
    _check_in_both_orders(engine, requests, canonical_sequence, "request_isolation_sampled", "canonical tokens",
                          "earlier requests shared its prompt with another model or other processing")


def _check_in_both_orders(engine: Engine, requests: list[EngineRequest],
                          expected_of: Callable[[EngineRequest], tuple[int, ...]], prop: str, what: str,
                          why: str) -> None:
    """Run ``requests`` in order, then reversed, with every algorithm of the engine: each must
    emit ``expected_of(request)`` whatever ran before it."""
    for order in ("forward", "reversed"):
        sequence = requests if order == "forward" else requests[::-1]
        for index, request in enumerate(sequence):
            expected = expected_of(request)
            for algorithm in _algorithms(engine):
                got = tuple(engine.generate(request.but(algorithm=algorithm)).tokens)
                if got != expected:
                    raise PropertyViolation(
                        prop, f"request {index} of the {order} sequence, {algorithm}: emitted {got}, {what} "
                              f"{expected}; {why}; {describe_request(request)}")


def check_batch_consistency(engine: Engine, requests: Sequence[EngineRequest]) -> None:
    """``generate_batch`` gives each request's own tokens (greedy decode; canonical when sampling)."""
    batch = getattr(engine, "generate_batch", None)
    if batch is None:
        raise PropertyViolation("batch_consistency", f"{engine.name} declares batching but has no generate_batch")
    modes = ("greedy", "sample") if engine.capabilities.canonical else ("greedy",)
    algorithm = _algorithms(engine)[0]
    for mode in modes:
        reqs = [r.but(mode=mode, algorithm=algorithm) for r in requests]
        results = list(batch(reqs))
        if len(results) != len(reqs):
            raise PropertyViolation("batch_consistency", f"{len(results)} results for a batch of {len(reqs)}")
        for index, (request, result) in enumerate(zip(reqs, results, strict=True)):
            if mode == "greedy":
                expected = cut_at_stop(target_greedy_decode(request.but(stop_tokens=frozenset())),
                                       request.stop_tokens)
            else:
                expected = canonical_sequence(request)
            if tuple(result.tokens) != expected:
                prompts = [r.prompt for r in reqs]
                raise PropertyViolation(
                    "batch_consistency",
                    f"{mode}, {algorithm}: request {index} of a batch with prompts {prompts} emitted "
                    f"{tuple(result.tokens)}, expected {expected} (as if alone); {describe_request(request)}")


def check_vocab_mismatch(engine: Engine, request: EngineRequest) -> None:
    """A drafter of another vocabulary width: refuse, or emit the target's greedy decode."""
    request = request.but(mode="greedy")
    V = int(request.target.vocab_size)  # type: ignore[attr-defined]
    V_d = int(request.drafter.vocab_size)  # type: ignore[union-attr]
    expected = target_greedy_decode(request)
    for algorithm in SPECULATIVE:
        if not supports(engine, algorithm):
            continue
        try:
            got = tuple(engine.generate(request.but(algorithm=algorithm)).tokens)
        except Exception:  # refusing a mismatched pair is allowed (SPEC §10: "same width")
            continue
        if got != expected:
            outside = [t for t in got if not 0 <= t < V]
            raise PropertyViolation(
                "vocab_mismatch",
                f"{algorithm} accepted a drafter of vocabulary {V_d} for a target of {V} and emitted "
                f"{got}{f' (ids outside range({V}): {outside})' if outside else ''}; the target's greedy "
                f"decode is {expected}: refuse the pair or stay lossless; {describe_request(request)}")
