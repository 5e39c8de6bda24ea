"""The pieces behind the blind-spot properties, on hand-computed values: processing variants,
the independent canonical sequence, tied rows, stopped laws, profiles."""

from __future__ import annotations

from fractions import Fraction as F

import numpy as np
import pytest

from properties.engine_mutants import processed_variant
from properties.engines import EngineRequest, ReferenceEngine
from properties.enumeration import engine_sequence_law
from properties.exact_models import RationalTabularLM
from properties.profiles import active_profile, effect_factor, examples, using_profile
from properties.tie_models import TiedLM
from properties.trajectory import canonical_sequence
from reference.errors import ConfigError
from reference.processing import SamplingConfig, process
from reference.randomness import u

TIED = np.array([3, 3, 2]) / 8  # ids 0 and 1 tie


@pytest.mark.parametrize(("variant", "config", "row", "expected"), [
    # top-k = 1 on a tie: SPEC keeps the lowest id; keeping ties keeps both
    ("top_k_keeps_ties", SamplingConfig(top_k=1), TIED, [0.5, 0.5, 0.0]),
    # top-p = 1/2: 3/8 < 1/2 <= 3/4, the crossing id 1 is kept; dropping it leaves id 0
    ("top_p_crossing_dropped", SamplingConfig(top_p=0.5), TIED, [1.0, 0.0, 0.0]),
    # top-k = 2 then top-p = 1/2: SPEC measures mass on the full row (crossing at 2 ids);
    # renormalising the top-2 row first gives (1/2, 1/2), whose first id already reaches 1/2
    ("top_p_after_top_k_renormalised", SamplingConfig(top_k=2, top_p=0.5), TIED, [1.0, 0.0, 0.0]),
    # T = 2 on (1/2, 1/4, 1/4): top-p = 1/2 on the raw row keeps id 0 alone
    ("top_p_before_temperature", SamplingConfig(temperature=2.0, top_p=0.5), np.array([0.5, 0.25, 0.25]),
     [1.0, 0.0, 0.0]),
])
def test_processing_variants_against_spec_processing(variant: str, config: SamplingConfig, row: np.ndarray,
                                                      expected: list[float]) -> None:
    assert processed_variant(row, config, variant) == pytest.approx(expected)
    assert process(row, config) != pytest.approx(expected)  # the reference differs on this very row


def test_spec_processing_on_the_same_rows() -> None:
    assert process(TIED, SamplingConfig(top_k=1)).tolist() == [1.0, 0.0, 0.0]
    assert process(TIED, SamplingConfig(top_p=0.5)).tolist() == [0.5, 0.5, 0.0]
    # T = 2: sqrt(1/2, 1/4, 1/4) / sum = (0.4142, 0.2929, 0.2929); mass 0.7071 reaches 1/2 at id 1
    assert process(np.array([0.5, 0.25, 0.25]), SamplingConfig(temperature=2.0, top_p=0.5)) == pytest.approx(
        [0.5858, 0.4142, 0.0], abs=1e-4)


class _Half:
    vocab_size = 2

    def next_token_probs(self, prefix: object) -> np.ndarray:
        return np.array([0.5, 0.5])


def test_canonical_sequence_from_the_uniforms_alone() -> None:
    # p = q = (1/2, 1/2): every draft is accepted, so x_i = d_i = 0 iff u(seed, i, "draft") < 1/2;
    # plain decoding uses the "plain" stream the same way; greedy takes the lowest id of the tie.
    request = EngineRequest(_Half(), _Half(), (0,), 12, seed=7)
    assert canonical_sequence(request) == tuple(int(u(7, i, "draft") >= 0.5) for i in range(12))
    assert canonical_sequence(request, "plain") == tuple(int(u(7, i, "plain") >= 0.5) for i in range(12))
    assert canonical_sequence(request.but(mode="greedy")) == (0,) * 12
    stop = canonical_sequence(request)[3]
    assert canonical_sequence(request.but(stop_tokens=frozenset({stop})))[-1] == stop


def test_tied_rows_have_their_patterns() -> None:
    model = TiedLM(6, order=None, seed=1)
    rows = [model.next_token_probs((i,)) for i in range(200)]
    top_two = [np.sort(r)[-2:] for r in rows]
    assert any(b == a for a, b in top_two)  # exact ties at the maximum
    assert any(np.max(r) == 1.0 for r in rows)  # point masses
    assert any(np.min(r) == 0.0 and np.max(r) < 1.0 for r in rows)  # zeros
    assert any(0 < b - a <= 1e-6 for a, b in top_two)  # near-ties
    assert all(abs(r.sum() - 1.0) < 1e-12 for r in rows)
    assert np.array_equal(model.next_token_probs((5,)), TiedLM(6, order=None, seed=1).next_token_probs((5,)))
    with pytest.raises(ConfigError):
        TiedLM(4, patterns=("nope",))


def test_exact_law_of_a_stopped_sequence_on_the_reference() -> None:
    # p = (1/4, 3/4) i.i.d., stop token 0, at most 2 tokens:
    # (0,) = 1/4, (1, 0) = 3/16, (1, 1) = 9/16
    target = RationalTabularLM.from_weights([[1, 3]], order=0)
    drafter = RationalTabularLM.from_weights([[1, 1]], order=0)
    request = EngineRequest(target, drafter, (1,), 2, lookahead=2, num_target_servers=2, stop_tokens=frozenset({0}))
    law = engine_sequence_law(ReferenceEngine(), request, target, drafter, 2)
    assert law == {(0,): F(1, 4), (1, 0): F(3, 16), (1, 1): F(9, 16)}


def test_profiles_scale_examples_and_effects() -> None:
    with using_profile("ci"):
        assert (active_profile(), examples(60), effect_factor()) == ("ci", 60, 1.0)
    with using_profile("quick"):
        assert (examples(60), examples(5), examples(1), effect_factor()) == (30, 3, 1, 2.0)
        with using_profile("thorough"):
            assert examples(60) == 600
        assert active_profile() == "quick"
    with pytest.raises(ConfigError, match="unknown profile"), using_profile("fast"):
        pass
