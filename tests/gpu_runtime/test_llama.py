"""The plain-PyTorch Llama: logits equal transformers' LlamaForCausalLM on the same weights;
cached, chunked and cropped forwards equal a full forward; early exit is the layer prefix;
the LlamaLM protocols (runtime forward rows, next_token_probs) agree."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gpu_runtime.engine import RuntimeEngine
from gpu_runtime.llama import LlamaConfig, LlamaStack
from gpu_runtime.llama_lm import LlamaLM
from reference import generate
from reference.errors import ConfigError

IDS = [3, 17, 5, 9, 22, 1, 14, 8, 30, 2, 11]


@pytest.fixture(scope="module")
def hf_and_ours():
    from transformers import LlamaConfig as HFLlamaConfig
    from transformers import LlamaForCausalLM

    torch.manual_seed(0)
    config = HFLlamaConfig(vocab_size=32, hidden_size=48, intermediate_size=96, num_hidden_layers=3,
                           num_attention_heads=6, num_key_value_heads=2, max_position_embeddings=128,
                           rope_theta=100000.0, rms_norm_eps=1e-5, tie_word_embeddings=True)
    hf = LlamaForCausalLM(config).double().eval()
    with torch.no_grad():  # random norms: a unit norm weight would hide a missing multiplication
        for name, tensor in hf.named_parameters():
            if "norm" in name:
                tensor.uniform_(0.5, 1.5)
    ours = LlamaStack.from_state_dict(LlamaConfig.from_dict(config.to_dict()),
                                      {k: v.detach() for k, v in hf.state_dict().items()})
    return hf, ours


def test_logits_equal_transformers_llama(hf_and_ours):
    hf, ours = hf_and_ours
    ids = torch.tensor(IDS)
    with torch.no_grad():
        expected = hf(ids[None]).logits[0]  # [L, V]
    got = ours.forward(ids, None, 0)
    assert got.shape == (len(IDS), 32)
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-10)


def test_cached_chunks_and_crop_equal_a_full_forward(hf_and_ours):
    _, ours = hf_and_ours
    ids = torch.tensor(IDS)
    full = ours.forward(ids, None, 0)
    cache = ours.new_cache()
    cache.keys = [k[:, :4].clone() for k in cache.keys]  # capacity 4: the forwards below must grow it
    cache.values = [v[:, :4].clone() for v in cache.values]
    first = ours.forward(ids[:6], cache, 0)
    cache.length = 3  # crop: keep positions 0..2 (rows 3..5 are recomputed below)
    rest = ours.forward(ids[3:], cache, 3)
    assert cache.length == len(IDS) and cache.capacity >= len(IDS)
    torch.testing.assert_close(torch.cat([first[:3], rest]), full, rtol=0, atol=1e-12)
    with pytest.raises(ConfigError, match="cache holds 11"):
        ours.forward(ids[:1], cache, 4)


def test_early_exit_is_the_first_layers_then_final_norm_and_head(hf_and_ours):
    hf, ours = hf_and_ours
    ids = torch.tensor(IDS)
    with torch.no_grad():
        hidden = hf(ids[None], output_hidden_states=True).hidden_states[2][0]  # after 2 layers
        expected = hf.lm_head(hf.model.norm(hidden))
    torch.testing.assert_close(ours.truncated(2).forward(ids, None, 0), expected, rtol=0, atol=1e-10)
    with pytest.raises(ConfigError, match="early-exit layer"):
        ours.truncated(4)


def test_llama_lm_rows_and_next_token_probs_agree(hf_and_ours):
    _, ours = hf_and_ours
    model = LlamaLM(ours)
    cache = model.new_cache()
    rows = model.forward(cache, IDS, 0, last=4)  # p after IDS[:8], ..., IDS[:11]
    for j in range(4):
        prefix = IDS[: len(IDS) - 4 + j + 1]
        np.testing.assert_allclose(rows[j], model.next_token_probs(prefix), rtol=0, atol=1e-12)
    shorter = model.next_token_probs(IDS[:5])  # the model's cache is cropped, not rebuilt
    expected = torch.softmax(ours.forward(torch.tensor(IDS[:5]), None, 0)[-1], -1).numpy()
    np.testing.assert_allclose(shorter, expected, rtol=0, atol=1e-12)
    assert rows.dtype == np.float64 and abs(rows.sum(axis=1) - 1).max() < 1e-12


def test_runtime_equals_reference_on_a_llama_pair(hf_and_ours):
    _, ours = hf_and_ours
    target, drafter = LlamaLM(ours), LlamaLM(ours.truncated(1))
    for mode in ("greedy", "sample"):
        kwargs = {"lookahead": 3, "num_target_servers": 2, "mode": mode, "seed": 7}
        expected = generate(target, drafter, IDS[:4], 12, algorithm="nonsi", **kwargs).tokens
        got = RuntimeEngine().generate(target, drafter, IDS[:4], 12, algorithm="dsi", **kwargs).tokens
        assert got == expected


def test_config_refuses_other_architectures():
    with pytest.raises(ConfigError, match="not a llama"):
        LlamaConfig.from_dict({"model_type": "gpt2"})
    with pytest.raises(ConfigError, match="rotary scaling"):
        LlamaConfig.from_dict({"model_type": "llama", "rope_parameters": {"rope_type": "yarn"}})
