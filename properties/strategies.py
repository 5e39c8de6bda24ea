"""Hypothesis strategies for the property suite (SPEC §7).

Small composable strategies with plural names and keyword-only bounds, in Hypothesis' house
style: models (tabular with float or rational rows, mixture drafters with a chosen overlap
``Σ min(p, q)``, synthetic i.i.d.-acceptance pairs), prompts, lookaheads k, server counts N,
lengths S, latency models (decode and prefill latencies, schedule jitter), seeds and
processing (temperature, top-k, top-p), and ``generation_requests()`` combining them.

Blind spots covered on purpose: rows with exact ties, point masses, zeros and near-ties
(:class:`properties.tie_models.TiedLM`, also inside ``model_pairs()``); dyadic rational rows
(``dyadic_pairs()``: every probability a multiple of 1/8, so top-p boundaries are hit exactly
in floating point too) with combined temperature / top-k / top-p (``processing_combinations()``);
stop-token sets (``stop_sets()``); long generations (``long_requests()``: S in the hundreds,
whole-prefix models, so a slip in a window or cache index past position 100 shows).
"""

from __future__ import annotations

from fractions import Fraction

from hypothesis import strategies as st

from properties.engines import EngineRequest
from properties.exact_models import RationalTabularLM
from properties.tie_models import TiedLM
from reference.errors import ConfigError
from reference.latency import LatencyModel
from reference.toy_models import MixtureDrafter, SyntheticAcceptancePair, TabularLM


def _check_bounds(name: str, min_value: int, max_value: int, floor: int) -> None:
    if min_value < floor or max_value < min_value:
        raise ConfigError(f"{name}: need {floor} <= min_value <= max_value, got {min_value}, {max_value}")


def vocab_sizes(*, min_value: int = 2, max_value: int = 8) -> st.SearchStrategy[int]:
    """Vocabulary widths V."""
    _check_bounds("vocab_sizes", min_value, max_value, 2)
    return st.integers(min_value, max_value)


def seeds() -> st.SearchStrategy[int]:
    """Canonical seeds (uint64), edge values included."""
    return st.one_of(st.just(0), st.just(2**64 - 1), st.integers(0, 2**64 - 1))


def _uniform_integers(min_value: int, max_value: int) -> st.SearchStrategy[int]:
    """Integers drawn evenly (``st.integers`` favours the bounds; these ranges are small)."""
    return st.sampled_from(range(min_value, max_value + 1))


def lookaheads(*, min_value: int = 1, max_value: int = 5) -> st.SearchStrategy[int]:
    """Lookahead k."""
    _check_bounds("lookaheads", min_value, max_value, 1)
    return _uniform_integers(min_value, max_value)


def num_target_servers_values(*, min_value: int = 1, max_value: int = 6, unlimited: bool = True
               ) -> st.SearchStrategy[int | None]:
    """Number of target servers N (None = unlimited, if allowed)."""
    _check_bounds("num_target_servers_values", min_value, max_value, 1)
    finite = _uniform_integers(min_value, max_value)
    return st.one_of(finite, st.none()) if unlimited else finite


def lengths(*, min_value: int = 1, max_value: int = 12) -> st.SearchStrategy[int]:
    """Number of new tokens S."""
    _check_bounds("lengths", min_value, max_value, 1)
    return _uniform_integers(min_value, max_value)


def prompts(vocab_size: int, *, min_size: int = 1, max_size: int = 3) -> st.SearchStrategy[tuple[int, ...]]:
    """Non-empty prompts over ``range(vocab_size)``."""
    return st.lists(st.integers(0, vocab_size - 1), min_size=min_size, max_size=max_size).map(tuple)


#: Typical drafter latencies c (the paper's range), drawn evenly before arbitrary rationals.
TYPICAL_C = tuple(Fraction(x) for x in ("1/20", "1/10", "1/8", "1/5", "1/4", "1/3", "1/2", "2/3",
                                        "3/4", "1"))


def drafter_latencies() -> st.SearchStrategy[Fraction]:
    """c in (0, 1] as small rationals (edge value 1 included)."""
    return st.one_of(st.sampled_from(TYPICAL_C),
                     st.fractions(min_value=Fraction(1, 20), max_value=1, max_denominator=20))


@st.composite
def latency_models(draw: st.DrawFn, *, prefill: bool = True, jitter: bool = True) -> LatencyModel:
    """Latency models in target-decode units: c, prefills (drafter's ≤ target's), jitter.

    With ``prefill``, the drafter's prefill never exceeds the target's (the condition under
    which the latency theorems are checked with prefill, SPEC §10).
    """
    c = draw(drafter_latencies())
    kwargs: dict[str, object] = {}
    if prefill and draw(st.booleans()):
        target_prefill = draw(st.fractions(min_value=1, max_value=8, max_denominator=4))
        kwargs["target_prefill"] = target_prefill
        kwargs["drafter_prefill"] = draw(st.fractions(min_value=Fraction(1, 20),
                                                      max_value=target_prefill, max_denominator=20))
    if jitter and draw(st.booleans()):
        kwargs["jitter"] = draw(st.fractions(min_value=0, max_value=Fraction(9, 10), max_denominator=10))
        kwargs["jitter_seed"] = draw(st.integers(0, 2**31))
    return LatencyModel.time_units(c, **kwargs)  # type: ignore[arg-type]


@st.composite
def processing(draw: st.DrawFn, vocab_size: int) -> dict[str, object]:
    """Temperature / top-k / top-p keyword arguments (identity often)."""
    out: dict[str, object] = {}
    if draw(st.booleans()):
        out["temperature"] = draw(st.sampled_from([0.5, 0.7, 1.3, 2.0]))
    if draw(st.booleans()):
        out["top_k"] = draw(st.integers(1, vocab_size))
    if draw(st.booleans()):
        out["top_p"] = draw(st.sampled_from([0.3, 0.5, 0.8, 0.95]))
    return out


@st.composite
def tabular_pairs(draw: st.DrawFn, *, min_vocab: int = 2, max_vocab: int = 8) -> tuple[object, object]:
    """(TabularLM target, MixtureDrafter) with a drawn order and overlap Σ min(p, q)."""
    V = draw(vocab_sizes(min_value=min_vocab, max_value=max_vocab))
    order = draw(st.sampled_from([0, 1, 2, None]))
    target = TabularLM(V, order=order, seed=draw(st.integers(0, 10**6)),
                       concentration=draw(st.sampled_from([0.3, 1.0, 3.0])))
    overlap = draw(st.sampled_from([0.0, 0.3, 0.6, 0.9, 1.0]))
    return target, MixtureDrafter(target, overlap=overlap, seed=draw(st.integers(0, 10**6)))


@st.composite
def synthetic_pairs(draw: st.DrawFn, *, min_vocab: int = 2, max_vocab: int = 8, mode: str = "sample"
                    ) -> tuple[object, object]:
    """(target, drafter) of a SyntheticAcceptancePair with acceptance a."""
    V = draw(vocab_sizes(min_value=min_vocab, max_value=max_vocab))
    a = draw(st.sampled_from([0.0, 0.2, 0.5, 0.8, 0.95, 1.0]))
    pair = SyntheticAcceptancePair(V, a, seed=draw(st.integers(0, 10**6)), mode=mode)
    return pair.target, pair.drafter


@st.composite
def tied_pairs(draw: st.DrawFn, *, min_vocab: int = 2, max_vocab: int = 8, order: int | None = None
               ) -> tuple[object, object]:
    """(TiedLM target, drafter): ties, point masses, zeros and near-ties in p and in q.

    The drafter is the target itself (q = p), another TiedLM (ties in both), or a mixture
    drafter (ties in p only). ``order`` fixes the target's context length (drawn if None).
    """
    V = draw(vocab_sizes(min_value=max(min_vocab, 2), max_value=max_vocab))
    context = order if order is not None else draw(st.sampled_from([0, 1, 2, None]))
    target = TiedLM(V, order=context, seed=draw(st.integers(0, 10**6)))
    kind = draw(st.sampled_from(["same", "tied", "mixture"]))
    if kind == "same":
        return target, target
    if kind == "tied":
        return target, TiedLM(V, order=context, seed=draw(st.integers(0, 10**6)))
    return target, MixtureDrafter(target, overlap=draw(st.sampled_from([0.3, 0.7])),
                                  seed=draw(st.integers(0, 10**6)))


def model_pairs(*, min_vocab: int = 2, max_vocab: int = 8) -> st.SearchStrategy[tuple[object, object]]:
    """Tabular, synthetic or tied (target, drafter) pairs."""
    return st.one_of(tabular_pairs(min_vocab=min_vocab, max_vocab=max_vocab),
                     synthetic_pairs(min_vocab=min_vocab, max_vocab=max_vocab),
                     tied_pairs(min_vocab=min_vocab, max_vocab=max_vocab))


@st.composite
def rational_models(draw: st.DrawFn, vocab_size: int, *, order: int = 1, max_weight: int = 4
                    ) -> RationalTabularLM:
    """Rational tabular models: rows of integer weights in [0, max_weight], normalised."""
    n_rows = 1 if order == 0 else vocab_size
    row = st.lists(st.integers(0, max_weight), min_size=vocab_size, max_size=vocab_size).filter(
        lambda w: sum(w) > 0)
    return RationalTabularLM.from_weights(draw(st.lists(row, min_size=n_rows, max_size=n_rows)),
                                          order=order)


@st.composite
def rational_pairs(draw: st.DrawFn, *, min_vocab: int = 2, max_vocab: int = 3
                   ) -> tuple[RationalTabularLM, RationalTabularLM]:
    """(target, drafter) with exact rational rows (for exact enumeration)."""
    V = draw(vocab_sizes(min_value=min_vocab, max_value=max_vocab))
    order = draw(st.sampled_from([0, 1]))
    return draw(rational_models(V, order=order)), draw(rational_models(V, order=order))


@st.composite
def dyadic_models(draw: st.DrawFn, vocab_size: int, *, order: int = 1, total: int = 8) -> RationalTabularLM:
    """Rational models whose rows are multiples of 1/``total`` (a power of two).

    Rows are compositions of ``total`` into ``vocab_size`` parts, so ties and zeros are
    frequent, and every partial sum is exact in binary floating point: a top-p boundary that
    an exact mass reaches is reached by the engine's float sums too.
    """
    n_rows = 1 if order == 0 else vocab_size
    rows = draw(st.lists(st.sampled_from(_compositions(total, vocab_size)), min_size=n_rows, max_size=n_rows))
    return RationalTabularLM.from_weights([list(row) for row in rows], order=order)


def _compositions(total: int, parts: int) -> tuple[tuple[int, ...], ...]:
    """Every way to write ``total`` as ``parts`` non-negative integers, in a fixed order
    (drawn evenly: Hypothesis would otherwise favour one-hot rows).

    >>> len(_compositions(8, 3)), _compositions(2, 2)
    (45, ((0, 2), (1, 1), (2, 0)))
    """
    if parts == 1:
        return ((total,),)
    return tuple((head, *rest) for head in range(total + 1) for rest in _compositions(total - head, parts - 1))


@st.composite
def dyadic_pairs(draw: st.DrawFn, *, min_vocab: int = 2, max_vocab: int = 4
                 ) -> tuple[RationalTabularLM, RationalTabularLM]:
    """(target, drafter) of :func:`dyadic_models` (exact enumeration with processing)."""
    V = draw(vocab_sizes(min_value=min_vocab, max_value=max_vocab))
    order = draw(st.sampled_from([0, 1]))
    return draw(dyadic_models(V, order=order)), draw(dyadic_models(V, order=order))


@st.composite
def processing_combinations(draw: st.DrawFn, vocab_size: int) -> dict[str, object]:
    """Temperature, top-k and top-p together (each also absent or at its identity value).

    top-p values are dyadic (1/4, 1/2, 3/4) so they can coincide with a mass exactly; top-k
    runs over 1..V, so it cuts through ties.
    """
    return {"temperature": draw(st.sampled_from([0.5, 2.0, 1.0])),
            "top_k": draw(st.sampled_from([*range(1, vocab_size + 1), None])),
            "top_p": draw(st.sampled_from([0.5, 0.75, 0.25, None, 1.0]))}


def stop_sets(vocab_size: int, *, max_size: int = 2) -> st.SearchStrategy[frozenset[int]]:
    """Non-empty sets of stop tokens over ``range(vocab_size)``."""
    return st.frozensets(st.integers(0, vocab_size - 1), min_size=1, max_size=max_size)


@st.composite
def long_requests(draw: st.DrawFn, *, min_length: int = 100, max_length: int = 300,
                  modes: tuple[str, ...] = ("sample", "greedy")) -> EngineRequest:
    """Requests with S in the hundreds on whole-prefix models (every token matters).

    Models: TabularLM or TiedLM with ``order=None`` (a new row per prefix), so a token read
    from the wrong position of a window or a cache changes the row, not just a statistic.
    """
    V = draw(vocab_sizes(min_value=2, max_value=6))
    if draw(st.booleans()):
        target = TabularLM(V, order=None, seed=draw(st.integers(0, 10**6)),
                           concentration=draw(st.sampled_from([0.3, 1.0])))
        drafter = MixtureDrafter(target, overlap=draw(st.sampled_from([0.5, 0.8, 0.95])),
                                 seed=draw(st.integers(0, 10**6)))
    else:
        target, drafter = draw(tied_pairs(max_vocab=V, min_vocab=V, order=None))
    return EngineRequest(
        target=target, drafter=drafter, prompt=draw(prompts(V, max_size=4)),  # type: ignore[arg-type]
        max_new_tokens=draw(st.integers(min_length, max_length)), algorithm="dsi",
        lookahead=draw(lookaheads(max_value=8)), num_target_servers=draw(num_target_servers_values(max_value=8)),
        mode=draw(st.sampled_from(modes)), seed=draw(seeds()),
        latency=draw(latency_models(prefill=True, jitter=True)), preemptive=draw(st.booleans()))


@st.composite
def generation_requests(draw: st.DrawFn, *, modes: tuple[str, ...] = ("sample", "greedy"),
                        max_vocab: int = 8, max_length: int = 12, prefill: bool = True,
                        jitter: bool = True, with_processing: bool = True,
                        pairs: st.SearchStrategy[tuple[object, object]] | None = None) -> EngineRequest:
    """A full request (algorithm "dsi"; properties vary the algorithm themselves).

    pairs: where (target, drafter) come from (default :func:`model_pairs`; an engine that
        runs only its own models passes ``st.sampled_from(engine.model_pairs())``).
    """
    target, drafter = draw(pairs if pairs is not None else model_pairs(max_vocab=max_vocab))
    V = target.vocab_size  # type: ignore[attr-defined]
    extra = draw(processing(V)) if with_processing else {}
    return EngineRequest(
        target=target, drafter=drafter, prompt=draw(prompts(V)),  # type: ignore[arg-type]
        max_new_tokens=draw(lengths(max_value=max_length)), algorithm="dsi",
        lookahead=draw(lookaheads()), num_target_servers=draw(num_target_servers_values()),
        mode=draw(st.sampled_from(modes)), seed=draw(seeds()),
        latency=draw(latency_models(prefill=prefill, jitter=jitter)),
        preemptive=draw(st.booleans()), **extra,  # type: ignore[arg-type]
    )
