"""The engine protocol, the switch, and the reference adapter's fidelity to reference.generate."""

from __future__ import annotations

import sys
import types

import pytest

from properties.engines import (
    Capabilities,
    Engine,
    EngineRequest,
    ReferenceEngine,
    speculative_algorithm,
)
from properties.selection import engine_from_env, get_engine
from reference import generate
from reference.errors import ConfigError
from reference.latency import LatencyModel
from reference.randomness import u
from reference.toy_models import MixtureDrafter, TabularLM

TARGET = TabularLM(5, order=1, seed=4)
DRAFTER = MixtureDrafter(TARGET, overlap=0.6)


@pytest.mark.parametrize("algorithm", ["dsi", "si", "nonsi", "plain"])
def test_reference_engine_equals_reference_generate(algorithm: str) -> None:
    latency = LatencyModel.time_units("1/3", target_prefill=2, jitter="1/2", jitter_seed=9)
    expected = generate(TARGET, DRAFTER, [1, 2], 15, algorithm=algorithm, lookahead=3, num_target_servers=2,
                        seed=77, latency=latency, temperature=0.8, top_k=4)
    got = ReferenceEngine().generate(EngineRequest(TARGET, DRAFTER, (1, 2), 15, algorithm=algorithm,
                                                   lookahead=3, num_target_servers=2, seed=77, latency=latency,
                                                   temperature=0.8, top_k=4))
    assert (got.tokens, got.times) == (expected.tokens, expected.times)


def test_injecting_the_canonical_uniforms_changes_nothing() -> None:
    request = EngineRequest(TARGET, DRAFTER, (0,), 10, seed=5, lookahead=2, num_target_servers=3)
    plain = ReferenceEngine().generate(request)
    injected = ReferenceEngine().generate(request.but(uniforms=lambda i, s: u(5, i, s)))
    assert injected.tokens == plain.tokens


def test_the_switch_defaults_to_the_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DSI_ENGINE", raising=False)
    assert engine_from_env().name == "reference"
    monkeypatch.setenv("DSI_ENGINE", "properties.engines:ReferenceEngine")
    assert isinstance(engine_from_env(), Engine)


@pytest.mark.parametrize("spec", ["nope", "no.such.module:factory", "properties.engines:missing"])
def test_unknown_engines_are_refused(spec: str) -> None:
    with pytest.raises(ConfigError):
        get_engine(spec)


@pytest.mark.parametrize(("field", "value"), [("max_new_tokens", 0), ("lookahead", 0), ("num_target_servers", 0),
                                              ("algorithm", "fast"), ("seed", -1)])
def test_invalid_requests_are_refused(field: str, value: object) -> None:
    kwargs = {"target": TARGET, "drafter": DRAFTER, "prompt": (0,), "max_new_tokens": 3, field: value}
    with pytest.raises(ConfigError):
        EngineRequest(**kwargs)  # type: ignore[arg-type]


def test_runtime_adapter_matches_the_reference_tokens() -> None:
    from properties.runtime_adapter import RuntimeAdapter

    request = EngineRequest(TARGET, DRAFTER, (1,), 8, lookahead=2, num_target_servers=2, seed=11)
    runtime = RuntimeAdapter()
    assert runtime.capabilities.canonical and not runtime.capabilities.virtual_time
    for algorithm in ("dsi", "si", "nonsi"):
        expected = ReferenceEngine().generate(request.but(algorithm=algorithm)).tokens
        assert runtime.generate(request.but(algorithm=algorithm)).tokens == expected


def test_mutants_are_engines_by_name() -> None:
    engine = get_engine("mutant:stop_ignored")
    assert isinstance(engine, Engine) and engine.name == "mutant:stop_ignored"
    with pytest.raises(ConfigError, match="unknown mutant 'nope'"):
        get_engine("mutant:nope")


def _broken_factory() -> Engine:
    raise RuntimeError("no GPU here")


def test_a_factory_that_raises_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "broken_engine_module", types.SimpleNamespace(make=_broken_factory))
    with pytest.raises(ConfigError, match="raised RuntimeError: no GPU here"):
        get_engine("broken_engine_module:make")


def test_statistical_cases_fall_back_to_the_engines_speculative_algorithm() -> None:
    class SIOnly:
        name = "si-only"
        capabilities = Capabilities(canonical=False, virtual_time=False, wall_time=False, uniform_injection=False,
                                    algorithms=frozenset({"si", "plain"}))

    assert speculative_algorithm(SIOnly(), "dsi") == "si"
    assert speculative_algorithm(ReferenceEngine(), "dsi") == "dsi"


def test_an_engine_request_holds_one_generation_config() -> None:
    from reference.config import GenerationConfig

    config = GenerationConfig(max_new_tokens=4, lookahead=2, num_target_servers=3)
    request = EngineRequest(TARGET, DRAFTER, [1], config=config)
    assert request.config is config and request.prompt == (1,)
    assert (request.lookahead, request.num_target_servers, request.sampling) == (2, 3, config.sampling)
    changed = request.but(algorithm="si", prompt=(0,))
    assert changed.config == config.but(algorithm="si") and changed.prompt == (0,)
    assert EngineRequest(TARGET, DRAFTER, [1], 4).config == GenerationConfig(max_new_tokens=4)  # one default each
    with pytest.raises(ConfigError, match="got True"):
        EngineRequest(TARGET, DRAFTER, [1], 4, num_target_servers=True)
    with pytest.raises(AttributeError):
        request.no_such_field  # noqa: B018
