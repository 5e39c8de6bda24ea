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
