"""The one generation configuration (SPEC §9): every parameter of a request but the models
and the prompt, with one default each, validated once.

``reference.generate``, the runtime (``gpu_runtime.engine.RuntimeEngine.generate``), the
property engines (``properties.engines.EngineRequest``) and the CLIs all build a
:class:`GenerationConfig`; none of them declares these parameters again. A difference that must
exist between engines is a setting of that engine with its own name (the runtime's
``emulate_latency``: whether ``latency`` is emulated by floors or forwards take their real time;
its ``max_servers``: the servers it runs for an unlimited N).

>>> GenerationConfig(max_new_tokens=8, lookahead=3).num_target_servers is None  # unlimited
True
>>> GenerationConfig(max_new_tokens=8, num_target_servers=True)
Traceback (most recent call last):
    ...
reference.errors.ConfigError: num_target_servers N must be an integer >= 1 or None, got True
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields, replace

import numpy as np

from reference.errors import ConfigError, check_count
from reference.latency import LatencyModel
from reference.processing import SamplingConfig
from reference.randomness import check_seed
from reference.scheduler.build import ALGORITHMS


@dataclass(frozen=True)
class GenerationConfig:
    """How to generate: algorithm, schedule, sampling, stopping, latency."""

    max_new_tokens: int  # S: new tokens to generate (the prompt excluded)
    algorithm: str = "dsi"  # "dsi" | "si" | "nonsi" (drafter alongside, canonical tokens) | "plain"
    lookahead: int = 5  # k: drafts per window (DSI) or per iteration (SI)
    num_target_servers: int | None = None  # N: DSI target servers; None = unlimited (SI, non-SI use 1)
    mode: str = "sample"  # "sample" (rejection kernel) or "greedy" (argmax, lowest id on ties)
    seed: int = 0  # canonical randomness u(seed, i, stream), a uint64
    temperature: float = 1.0  # T > 0 divides log-probabilities (greedy mode for T = 0)
    top_k: int | None = None  # keep the k most probable ids (None = all)
    top_p: float | None = None  # keep the smallest prefix of mass >= top_p (None = all)
    stop_tokens: frozenset[int] = frozenset()  # position i is the last if x_i is one of these
    latency: LatencyModel = field(default_factory=LatencyModel)  # target 1, drafter 1/10 (None: the same)
    preemptive: bool = True  # DSI: a cancelled forward stops at once (False: runs to its end)
    warm_start: bool = False  # DSI: every target server prefills the prompt at t = 0 (finite N)

    def __post_init__(self) -> None:
        check_count(self.max_new_tokens, "max_new_tokens (S)")
        if self.algorithm not in ALGORITHMS:
            raise ConfigError(f"algorithm must be one of {ALGORITHMS}, got {self.algorithm!r}")
        check_count(self.lookahead, "lookahead k")
        check_count(self.num_target_servers, "num_target_servers N", allow_none=True)
        object.__setattr__(self, "seed", check_seed(self.seed))  # a Python int (numpy integers accepted)
        self.sampling  # noqa: B018 (validates mode, temperature, top-k, top-p)
        if isinstance(self.stop_tokens, str | bytes) or not isinstance(self.stop_tokens, Iterable):
            raise ConfigError(f"stop_tokens must be a collection of token ids, got {self.stop_tokens!r}")
        stops = frozenset(self.stop_tokens)
        if any(isinstance(t, bool) or not isinstance(t, int | np.integer) or t < 0 for t in stops):
            raise ConfigError(f"stop_tokens must be non-negative integers, got {sorted(stops, key=repr)!r}")
        stops = frozenset(int(t) for t in stops)
        object.__setattr__(self, "stop_tokens", stops)
        if self.latency is None:  # SPEC §10.5: None means the default model (target 1, drafter 0.1)
            object.__setattr__(self, "latency", LatencyModel())
        if not isinstance(self.latency, LatencyModel):
            raise ConfigError(f"latency must be a reference.latency.LatencyModel, got {self.latency!r}")
        for name in ("preemptive", "warm_start"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name} must be True or False, got {getattr(self, name)!r}")
        if self.warm_start and self.algorithm == "dsi" and self.num_target_servers is None:
            raise ConfigError("warm_start needs a finite num_target_servers N "
                              "(every server prefills the prompt at t = 0)")

    @property
    def sampling(self) -> SamplingConfig:
        """The validated logits-processing part."""
        return SamplingConfig(mode=self.mode, temperature=self.temperature, top_k=self.top_k, top_p=self.top_p)

    def but(self, **changes: object) -> GenerationConfig:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


def generation_config(config: GenerationConfig | None, max_new_tokens: int | None,
                      overrides: dict[str, object]) -> GenerationConfig:
    """The config of a ``generate(...)`` call: ``config`` (if given) with ``max_new_tokens`` and
    keyword ``overrides`` applied; an unknown keyword is a ConfigError naming the valid ones."""
    unknown = sorted(set(overrides) - set(GenerationConfig.field_names()))
    if unknown:
        raise ConfigError(f"unknown generation parameter(s) {unknown}; valid: {list(GenerationConfig.field_names())}")
    if max_new_tokens is not None:
        overrides = {**overrides, "max_new_tokens": max_new_tokens}
    if config is None:
        if "max_new_tokens" not in overrides:
            raise ConfigError("max_new_tokens (S) is required")
        return GenerationConfig(**overrides)  # type: ignore[arg-type]
    return config.but(**overrides) if overrides else config
