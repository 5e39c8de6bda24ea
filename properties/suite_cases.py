"""The Hypothesis cases each property of the suite draws (what ``properties.suite`` runs on).

Built from the strategies of :mod:`properties.strategies`. A case strategy that takes the
engine draws its (target, drafter) pairs from ``engine.model_pairs()`` when the engine runs only
its own models (``Capabilities.any_model`` False); the others build their own models (rational
rows for exact enumeration, tied rows, whole-prefix tables, mismatched vocabularies) and need
``any_model``.
"""

from __future__ import annotations

from fractions import Fraction

from hypothesis import strategies as st

from properties import strategies as pst
from properties.engines import Engine, EngineRequest
from properties.isolation import SharedPromptCase
from properties.tie_models import TiedLM
from reference.latency import LatencyModel
from reference.toy_models import MixtureDrafter, TabularLM


def engine_pairs(engine: Engine) -> st.SearchStrategy[tuple[object, object]] | None:
    """``None`` (the default model strategies) or the engine's own pairs."""
    if engine.capabilities.any_model:
        return None
    pairs = list(engine.model_pairs())  # type: ignore[attr-defined]
    return st.sampled_from(pairs)


def engine_requests(engine: Engine, **kwargs: object) -> st.SearchStrategy[EngineRequest]:
    """:func:`properties.strategies.generation_requests` on the models this engine runs."""
    return pst.generation_requests(pairs=engine_pairs(engine), **kwargs)  # type: ignore[arg-type]


@st.composite
def exact_cases(draw: st.DrawFn) -> tuple[EngineRequest, object, object, int]:
    """(request, target, drafter, m): rational pair V ∈ {2, 3}, m ≤ 3 (V = 2) or ≤ 2 (V = 3)."""
    target, drafter = draw(pst.rational_pairs())
    V = target.vocab_size
    length = draw(st.integers(1, 3 if V == 2 else 2))
    return _exact_request(draw, target, drafter, length), target, drafter, length


def _exact_request(draw: st.DrawFn, target: object, drafter: object, length: int, **extra: object
                   ) -> EngineRequest:
    V = target.vocab_size  # type: ignore[attr-defined]
    return EngineRequest(target, drafter, draw(pst.prompts(V, max_size=2)), length,  # type: ignore[arg-type]
                         algorithm=draw(st.sampled_from(["dsi", "si", "nonsi"])),
                         lookahead=draw(pst.lookaheads(max_value=3)),
                         num_target_servers=draw(pst.num_target_servers_values(max_value=3)),
                         latency=draw(pst.latency_models()), preemptive=draw(st.booleans()),
                         **extra)  # type: ignore[arg-type]


@st.composite
def processed_cases(draw: st.DrawFn) -> tuple[EngineRequest, object, object, int, dict[str, object]]:
    """(request, target, drafter, m, processing): dyadic pair V ∈ 2..4, one combination of
    temperature, top-k and top-p, m ≤ 2 (m = 1 for V = 4)."""
    target, drafter = draw(pst.dyadic_pairs())
    V = target.vocab_size
    length = draw(st.integers(1, 2 if V <= 3 else 1))
    combination = draw(pst.processing_combinations(V))
    return _exact_request(draw, target, drafter, length), target, drafter, length, combination


@st.composite
def stopped_cases(draw: st.DrawFn) -> tuple[EngineRequest, object, object, int]:
    """(request with one stop token, target, drafter, m): rational pair, m = 3 (V = 2) or 2 (V = 3)."""
    target, drafter = draw(pst.rational_pairs())
    V = target.vocab_size
    length = 3 if V == 2 else 2
    stops = frozenset({draw(st.integers(0, V - 1))})
    return _exact_request(draw, target, drafter, length, stop_tokens=stops), target, drafter, length


def stop_cases(engine: Engine, *, modes: tuple[str, ...] = ("greedy",)
               ) -> st.SearchStrategy[tuple[EngineRequest, int, frozenset[int]]]:
    """(request, pick, extra): the stop set is the token at index ``pick`` of the stop-free run
    plus ``extra`` (empty, or one id that may sit in the prompt)."""

    @st.composite
    def cases(draw: st.DrawFn) -> tuple[EngineRequest, int, frozenset[int]]:
        request = draw(engine_requests(engine, modes=modes, max_length=12))
        V = int(request.target.vocab_size)  # type: ignore[attr-defined]
        extra = draw(st.one_of(st.just(frozenset()), st.sampled_from(request.prompt).map(lambda t: frozenset({t})),
                               pst.stop_sets(V, max_size=1)))
        return request, draw(st.integers(0, 50)), extra

    return cases()


def _whole_prefix_model(draw: st.DrawFn, V: int) -> tuple[object, object]:
    if draw(st.booleans()):
        target = TabularLM(V, order=None, seed=draw(st.integers(0, 10**6)))
        return target, MixtureDrafter(target, overlap=draw(st.sampled_from([0.5, 0.9])),
                                      seed=draw(st.integers(0, 10**6)))
    target = TiedLM(V, order=None, seed=draw(st.integers(0, 10**6)))
    return target, draw(st.sampled_from([target, TiedLM(V, order=None, seed=draw(st.integers(0, 10**6)))]))


def shared_prompt_cases(engine: Engine) -> st.SearchStrategy[SharedPromptCase]:
    """Two pairs of one vocabulary (whole-prefix models, or the engine's own), a prompt, one token."""

    @st.composite
    def cases(draw: st.DrawFn) -> SharedPromptCase:
        pairs = engine_pairs(engine)
        if pairs is None:
            V = draw(pst.vocab_sizes(min_value=2, max_value=6))
            (target, drafter), (other_target, other_drafter) = _whole_prefix_model(draw, V), \
                _whole_prefix_model(draw, V)
        else:
            own = list(engine.model_pairs())  # type: ignore[attr-defined]
            target, drafter = draw(st.sampled_from(own))
            V = int(target.vocab_size)  # type: ignore[attr-defined]
            same = [pair for pair in own if int(pair[0].vocab_size) == V and pair[0] is not target]
            other_target, other_drafter = draw(st.sampled_from(same)) if same else (target, drafter)
        base = EngineRequest(target, drafter, draw(pst.prompts(V, max_size=4)),  # type: ignore[arg-type]
                             draw(pst.lengths(min_value=2, max_value=10)), lookahead=draw(pst.lookaheads()),
                             num_target_servers=draw(pst.num_target_servers_values()), seed=draw(pst.seeds()),
                             latency=draw(pst.latency_models()))
        return SharedPromptCase(base, other_target, other_drafter, draw(st.integers(0, V - 1)))

    return cases()


def batch_cases(engine: Engine) -> st.SearchStrategy[list[EngineRequest]]:
    """2–4 requests on one or two pairs, prompts of different lengths, own S and stop tokens."""

    @st.composite
    def cases(draw: st.DrawFn) -> list[EngineRequest]:
        first = draw(engine_requests(engine, max_length=10))
        V = int(first.target.vocab_size)  # type: ignore[attr-defined]
        out = [first]
        for _ in range(draw(st.integers(1, 3))):
            stops = draw(st.one_of(st.just(frozenset()), pst.stop_sets(V, max_size=1)))
            out.append(first.but(prompt=draw(pst.prompts(V, max_size=6)), stop_tokens=stops,
                                 max_new_tokens=draw(pst.lengths(max_value=10)), seed=draw(pst.seeds())))
        return out

    return cases()


@st.composite
def vocab_mismatch_requests(draw: st.DrawFn) -> EngineRequest:
    """A whole-prefix target of vocabulary V and a drafter of V − 1 or V + 1 (prompt ids < both)."""
    V = draw(pst.vocab_sizes(min_value=3, max_value=8))
    V_d = V + draw(st.sampled_from([-1, 1]))
    target = TabularLM(V, order=None, seed=draw(st.integers(0, 10**6)), concentration=0.5)
    drafter = TabularLM(V_d, order=None, seed=draw(st.integers(0, 10**6)))
    return EngineRequest(target, drafter, draw(pst.prompts(min(V, V_d), max_size=3)),  # type: ignore[arg-type]
                         draw(pst.lengths(min_value=4, max_value=12)), lookahead=draw(pst.lookaheads()),
                         num_target_servers=draw(pst.num_target_servers_values()), mode="greedy")


@st.composite
def warm_start_requests(draw: st.DrawFn) -> EngineRequest:
    """Requests with prefill latencies (drafter's ≤ target's), finite N, warm start, no jitter."""
    request = draw(pst.generation_requests(max_length=14, jitter=False, with_processing=False))
    lat = request.latency
    target_prefill = draw(st.fractions(min_value=1, max_value=8, max_denominator=4))
    drafter_prefill = draw(st.fractions(min_value=Fraction(1, 20), max_value=target_prefill, max_denominator=20))
    return request.but(latency=LatencyModel(lat.target_decode, lat.drafter_decode, target_prefill, drafter_prefill),
                       num_target_servers=draw(pst.num_target_servers_values(unlimited=False)), preemptive=True,
                       warm_start=True)


def canonical_cases() -> st.SearchStrategy[EngineRequest]:
    """Long sampled requests (S in the hundreds; greedy ones are ``long_greedy``'s, short ones
    every other property's)."""
    return pst.long_requests(modes=("sample",))
