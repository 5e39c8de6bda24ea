"""The runtime emits exactly the reference's tokens for the seed (SPEC §3, consequence 1).

Random tabular pairs, synthetic-acceptance pairs and tiny transformers; k in 1..8, N in 1..8,
sampling and greedy, temperature/top-k/top-p, with random jitter injected into forward
times. Any difference is a bug (a race, a stale task, an off-by-one).
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gpu_runtime.tiny_transformer import TinyConfig, TinyTransformerLM
from properties.profiles import examples
from reference import generate
from reference.toy_models import MixtureDrafter, SyntheticAcceptancePair, TabularLM
from tests.gpu_runtime.helpers import FAST_LATENCY, jittery_engine, replay_cache, starts_in_order


@st.composite
def toy_pairs(draw: st.DrawFn) -> tuple[object, object]:
    """A target/drafter pair: tabular + mixture drafter, or a synthetic-acceptance pair."""
    vocab_size = draw(st.integers(min_value=2, max_value=12))
    seed = draw(st.integers(min_value=0, max_value=10_000))
    if draw(st.booleans()):
        target = TabularLM(vocab_size, order=draw(st.sampled_from([1, 2, None])), seed=seed)
        return target, MixtureDrafter(target, overlap=draw(st.floats(0.0, 1.0)), seed=seed + 1)
    pair = SyntheticAcceptancePair(vocab_size, draw(st.floats(0.0, 1.0)), seed=seed,
                                   mode=draw(st.sampled_from(["sample", "greedy"])))
    return pair.target, pair.drafter


generation_params = st.fixed_dictionaries({
    "lookahead": st.integers(min_value=1, max_value=8),
    "num_target_servers": st.integers(min_value=1, max_value=8),
    "mode": st.sampled_from(["sample", "greedy"]),
    "seed": st.integers(min_value=0, max_value=2**32),
})


@settings(max_examples=examples(40))
@given(pair=toy_pairs(), params=generation_params, tokens=st.integers(1, 24),
       jitter_seed=st.integers(0, 1000), preemptive=st.booleans(), charge_wakeups=st.booleans(),
       warm_start=st.booleans())
def test_dsi_tokens_equal_reference_under_jitter(pair, params, tokens, jitter_seed, preemptive,
                                                 charge_wakeups, warm_start):
    target, drafter = pair
    expected = generate(target, drafter, [1, 0], tokens, algorithm="dsi", **params)
    engine = jittery_engine(jitter_seed, charge_wakeups=charge_wakeups)
    got = engine.generate(target, drafter, [1, 0], tokens, algorithm="dsi", latency=FAST_LATENCY,
                          preemptive=preemptive, warm_start=warm_start, **params)
    assert got.tokens == expected.tokens
    assert len(got.times) == len(got.tokens)
    assert replay_cache(got.trace) == []
    assert starts_in_order(got.trace)


@settings(max_examples=examples(15))
@given(pair=toy_pairs(), params=generation_params, tokens=st.integers(1, 16),
       algorithm=st.sampled_from(["si", "nonsi", "plain"]))
def test_si_nonsi_plain_tokens_equal_reference(pair, params, tokens, algorithm):
    target, drafter = pair
    expected = generate(target, drafter, [0], tokens, algorithm=algorithm, **params)
    got = jittery_engine(params["seed"] % 97).generate(target, drafter, [0], tokens, algorithm=algorithm,
                                                       latency=FAST_LATENCY, **params)
    assert got.tokens == expected.tokens
    assert replay_cache(got.trace) == []


@settings(max_examples=examples(8))
@given(params=generation_params, tokens=st.integers(1, 12),
       processing=st.sampled_from([{}, {"temperature": 0.7}, {"top_k": 3}, {"top_p": 0.8}]))
def test_tiny_transformer_tokens_equal_reference(params, tokens, processing):
    target = TinyTransformerLM(TinyConfig(vocab_size=16, dim=32, n_layers=2), seed=1)
    drafter = TinyTransformerLM(TinyConfig(vocab_size=16, dim=16, n_layers=1), seed=2)
    expected = generate(target, drafter, [3, 1, 4], tokens, algorithm="dsi", **params, **processing)
    got = jittery_engine(7).generate(target, drafter, [3, 1, 4], tokens, algorithm="dsi",
                                     latency=FAST_LATENCY, **params, **processing)
    assert got.tokens == expected.tokens
    assert replay_cache(got.trace) == []


def test_without_floors_tokens_still_agree():
    """No latency floor: forwards take their compute time only (an arbitrary schedule)."""
    target = TabularLM(6, order=2, seed=4)
    drafter = MixtureDrafter(target, overlap=0.6)
    for seed in range(5):
        expected = generate(target, drafter, [1], 30, lookahead=3, num_target_servers=4, seed=seed)
        got = jittery_engine(seed).generate(target, drafter, [1], 30, lookahead=3, num_target_servers=4, seed=seed)
        assert got.tokens == expected.tokens


def test_stop_token_ends_generation_as_in_reference():
    target = TabularLM(5, order=1, seed=9)
    drafter = MixtureDrafter(target, overlap=0.7)
    expected = generate(target, drafter, [1], 40, lookahead=3, num_target_servers=3, seed=2, stop_tokens=[4])
    got = jittery_engine().generate(target, drafter, [1], 40, lookahead=3, num_target_servers=3, seed=2,
                                    stop_tokens=[4], latency=FAST_LATENCY)
    assert expected.tokens[-1] == 4 and len(expected.tokens) < 40  # the seed does stop early
    assert got.tokens == expected.tokens
