"""Runtime models: a cached forward gives the distributions of a full forward; crop works."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gpu_runtime.engine import RuntimeEngine
from gpu_runtime.hf import HFCausalLM
from gpu_runtime.models import ReferenceModelAdapter, as_runtime_model
from gpu_runtime.tiny_transformer import TinyConfig, TinyTransformerLM
from reference import generate
from reference.errors import ConfigError
from reference.toy_models import TabularLM
from tests.gpu_runtime.helpers import FAST_LATENCY, jittery_engine, replay_cache

SEQUENCE = [1, 2, 3, 4, 5, 6, 7]


def tiny_hf_models() -> list[HFCausalLM]:
    from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    llama = LlamaForCausalLM(LlamaConfig(vocab_size=24, hidden_size=32, intermediate_size=64,
                                         num_hidden_layers=2, num_attention_heads=4,
                                         num_key_value_heads=2, max_position_embeddings=64))
    gpt2 = GPT2LMHeadModel(GPT2Config(vocab_size=24, n_embd=32, n_layer=2, n_head=4, n_positions=64,
                                      bos_token_id=0, eos_token_id=0))
    return [HFCausalLM(llama.double()), HFCausalLM(gpt2.double())]


def _check_cached_equals_full(model) -> None:
    cache = model.new_cache()
    first = model.forward(cache, SEQUENCE[:5], 0, last=5)  # positions 0..4
    cache = model.crop(cache, 2)  # keep positions 0, 1
    second = model.forward(cache, SEQUENCE[2:], 2, last=5)  # positions 2..6
    for j in range(len(SEQUENCE)):
        row = first[j] if j < 2 else second[j - 2]
        assert row.dtype == np.float64
        np.testing.assert_allclose(row, model.next_token_probs(SEQUENCE[: j + 1]), rtol=0, atol=1e-12)


def test_reference_adapter_rows_are_next_token_probs_bit_for_bit():
    target = TabularLM(6, order=None, seed=5)
    adapter = ReferenceModelAdapter(target)
    cache = adapter.new_cache()
    rows = adapter.forward(cache, SEQUENCE[:4], 0, last=2)
    assert cache == SEQUENCE[:4]
    assert np.array_equal(rows[0], target.next_token_probs(SEQUENCE[:3]))
    assert np.array_equal(rows[1], target.next_token_probs(SEQUENCE[:4]))
    with pytest.raises(ConfigError, match="cache holds 4"):
        adapter.forward(cache, [1], 2, last=1)


def test_tiny_transformer_cached_forward_equals_full_forward():
    _check_cached_equals_full(TinyTransformerLM(TinyConfig(vocab_size=16), seed=3))


def test_tiny_transformer_crop_is_an_integer_reset():
    model = TinyTransformerLM(TinyConfig(vocab_size=16), seed=3)
    cache = model.new_cache()
    model.forward(cache, SEQUENCE, 0, last=1)
    keys = cache.k
    assert model.crop(cache, 3) is cache and cache.length == 3 and cache.k is keys


@pytest.mark.parametrize("index", [0, 1], ids=["llama", "gpt2"])
def test_hf_adapter_cached_forward_equals_full_forward(index):
    _check_cached_equals_full(tiny_hf_models()[index])


def test_hf_models_agree_with_reference_through_the_runtime():
    target, drafter = tiny_hf_models()
    assert as_runtime_model(target) is target
    for seed, mode in ((0, "sample"), (1, "greedy")):
        expected = generate(target, drafter, [3, 5], 10, lookahead=3, num_target_servers=3, seed=seed, mode=mode)
        got = jittery_engine(seed).generate(target, drafter, [3, 5], 10, lookahead=3, num_target_servers=3,
                                            seed=seed, mode=mode, latency=FAST_LATENCY)
        assert got.tokens == expected.tokens
        assert replay_cache(got.trace) == []


def test_hf_drafter_with_another_vocabulary_is_refused():
    from transformers import GPT2Config, GPT2LMHeadModel

    target = tiny_hf_models()[0]
    drafter = HFCausalLM(GPT2LMHeadModel(GPT2Config(vocab_size=30, n_embd=16, n_layer=1, n_head=2)))
    from reference.errors import VocabularyMismatchError

    with pytest.raises(VocabularyMismatchError, match=r"24.*30"):
        RuntimeEngine().generate(target, drafter, [1], 5)
