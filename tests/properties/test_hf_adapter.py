"""transformers' assisted generation behind the engine protocol (tiny random-init models)."""

from __future__ import annotations

import pytest

from properties.engines import EngineRequest
from properties.hf_adapter import HFAssistedEngine, tiny_llama
from properties.trajectory import check_greedy_equality
from reference.errors import ConfigError


@pytest.fixture(scope="module")
def pair() -> tuple[object, object]:
    return tiny_llama(0, layers=2), tiny_llama(1, layers=1)


@pytest.mark.parametrize("prompt", [(1,), (7, 0, 3)])
def test_hf_assisted_greedy_equals_target_greedy(pair: tuple[object, object], prompt: tuple[int, ...]) -> None:
    # (7, 0, 3) holds the pad id 0: without an explicit attention mask generate() masks it.
    target, drafter = pair
    request = EngineRequest(target, drafter, prompt, 10, algorithm="si", lookahead=3, mode="greedy")  # type: ignore[arg-type]
    check_greedy_equality(HFAssistedEngine(), request, algorithms=("si", "plain"))


def test_hf_engine_emits_exactly_the_requested_tokens(pair: tuple[object, object]) -> None:
    target, drafter = pair
    result = HFAssistedEngine().generate(EngineRequest(target, drafter, (2, 5), 6, algorithm="si", seed=3))  # type: ignore[arg-type]
    assert len(result.tokens) == 6 and all(0 <= t < 8 for t in result.tokens)


def test_hf_engine_refuses_what_it_cannot_do(pair: tuple[object, object]) -> None:
    target, drafter = pair
    with pytest.raises(ConfigError):
        HFAssistedEngine().generate(EngineRequest(target, drafter, (1,), 2, algorithm="dsi"))  # type: ignore[arg-type]


def test_transformers_top_k_and_top_p_differ_from_spec_processing_on_ties() -> None:
    """A documented difference (docs/hf_assisted_generation.md), pinned so a change shows.

    Row (3/8, 3/8, 1/4). SPEC §10: top-k = 1 keeps the lowest id of the tie; top-k = 2 then
    top-p = 1/2 measures mass on the full row (3/8 < 1/2 <= 3/4: two ids). transformers keeps
    every id tied with the k-th logit, and measures top-p on the renormalised top-k row
    ((1/2, 1/2): one id reaches 1/2).
    """
    import numpy as np
    import torch
    from transformers.generation.logits_process import TopKLogitsWarper, TopPLogitsWarper

    from reference.processing import SamplingConfig, process

    row = np.array([3, 3, 2]) / 8
    logits = torch.log(torch.tensor([row.tolist()], dtype=torch.float64))
    hf_top1 = torch.softmax(TopKLogitsWarper(top_k=1)(None, logits), -1)[0].tolist()
    assert hf_top1 == [0.5, 0.5, 0.0] and process(row, SamplingConfig(top_k=1)).tolist() == [1.0, 0.0, 0.0]
    hf_both = torch.softmax(TopPLogitsWarper(top_p=0.5)(None, TopKLogitsWarper(top_k=2)(None, logits)), -1)[0]
    assert int((hf_both > 0).sum()) == 1
    assert process(row, SamplingConfig(top_k=2, top_p=0.5)).tolist() == [0.5, 0.5, 0.0]


def test_hf_engine_stops_at_the_first_stop_token(pair: tuple[object, object]) -> None:
    from properties.stopping import check_stop_tokens

    target, drafter = pair
    for pick in (0, 4):
        check_stop_tokens(HFAssistedEngine(), EngineRequest(target, drafter, (1, 2), 10, algorithm="si",  # type: ignore[arg-type]
                                                            lookahead=2), pick)
