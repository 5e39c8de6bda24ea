"""Prompt lookup: the n-gram rule on hand-made prefixes, a point-mass q, and the runtime with it
emits the reference's tokens (the kernel keeps a point-mass drafter lossless)."""

from __future__ import annotations

import pytest

from gpu_runtime.engine import RuntimeEngine
from gpu_runtime.models import as_runtime_model
from gpu_runtime.prompt_lookup import PromptLookupDrafter, lookup_draft
from reference import generate
from reference.errors import ConfigError
from reference.toy_models import TabularLM


@pytest.mark.parametrize(("prefix", "max_ngram", "draft"), [
    ([7], 3, 7),  # nothing before: the last token
    ([1, 2, 3, 1], 3, 2),  # "1" was followed by 2
    ([1, 2, 1, 3, 1], 3, 3),  # the most recent "1" wins (followed by 3)
    ([4, 5, 6, 9, 5, 7, 4, 5], 3, 6),  # "4 5" → 6 (n = 2) beats the latest "5" → 7
    ([4, 5, 6, 9, 5, 7, 4, 5], 1, 7),  # with unigrams only, the latest "5" → 7
    ([2, 2, 2], 3, 2),
])
def test_lookup_rule(prefix, max_ngram, draft):
    assert lookup_draft(prefix, max_ngram) == draft


def test_distribution_is_a_point_mass_and_forward_rows_match():
    drafter = PromptLookupDrafter(10)
    q = drafter.next_token_probs([1, 2, 3, 1])
    assert q.tolist() == [0, 0, 1, 0, 0, 0, 0, 0, 0, 0]
    runtime = as_runtime_model(drafter)  # the runtime's view: one row per prefix
    cache = runtime.new_cache()
    rows = runtime.forward(cache, [1, 2, 3, 1], 0, last=2)  # after [1, 2, 3] and [1, 2, 3, 1]
    assert rows.argmax(axis=1).tolist() == [3, 2]


@pytest.mark.parametrize("bad", [{"vocab_size": 0}, {"vocab_size": 5, "max_ngram": 0}])
def test_invalid_arguments(bad):
    with pytest.raises(ConfigError):
        PromptLookupDrafter(**bad)


def test_empty_prefix_is_refused():
    with pytest.raises(ConfigError, match="non-empty"):
        lookup_draft([])


@pytest.mark.parametrize("mode", ["greedy", "sample"])
def test_runtime_dsi_with_prompt_lookup_equals_reference(mode):
    target = TabularLM(6, order=2, seed=4, concentration=0.3)  # peaked rows: repeats happen
    drafter = PromptLookupDrafter(6)
    prompt = [1, 2, 3, 1, 2]
    expected = generate(target, drafter, prompt, 30, algorithm="nonsi", mode=mode, seed=3)
    got = RuntimeEngine().generate(target, drafter, prompt, 30, algorithm="dsi", lookahead=3,
                                   num_target_servers=2, mode=mode, seed=3)
    assert got.tokens == expected.tokens
    assert 0 < expected.counters.accepted_drafts < 30  # both branches of the kernel were exercised
