"""The engine protocol the properties run against (SPEC §9, §10) and the reference adapter.

An *engine* turns an :class:`EngineRequest` into a :class:`reference.results.Result` and
declares what it can do in :class:`Capabilities`:

* ``canonical``: tokens follow the canonical coupling of SPEC §3 (token i is a function of
  the prefix and ``u(seed, i, ·)``), so trajectory equality and exact timing apply;
* ``virtual_time`` / ``wall_time``: ``Result.times`` are exact virtual times / seconds;
* ``uniform_injection``: the engine accepts ``EngineRequest.uniforms``, a function
  ``(position, stream) -> float`` that replaces ``u(seed, ·, ·)`` (exact enumeration needs it);
* ``modes`` and ``algorithms``: what it supports;
* ``batching``: the engine also has ``generate_batch(requests) -> list[Result]`` (one call for
  several requests, e.g. padded into one batch); default False;
* ``any_model``: the engine runs any :class:`~reference.models.LanguageModel` the suite
  builds (toy tables, tied rows, rational rows); default True. An engine that can only run
  models of its own kind sets it False and offers ``model_pairs() -> Sequence[(target,
  drafter)]``: the properties that can use any pair draw from those, the others are not
  applicable (``dsi check`` names the capability).

Distribution and greedy properties apply to every engine; the others check the capability
they need and are skipped by the suite (not by a test) for an engine that lacks it.

One switch chooses the engine (:mod:`properties.selection`): ``DSI_ENGINE``, ``dsi check
--engine`` or ``pytest --dsi-engine`` name ``reference``, ``runtime`` (gpu_runtime/ on threads),
``distributed`` (gpu_runtime/distributed/ on processes), ``mutant:NAME`` or a
``module:attribute`` factory.

The reference adapter runs the one scheduler (``reference/scheduler``) on the virtual driver with a
:class:`PropertyRequest`, a :class:`~reference.algorithms.canonical.Request` whose draft,
kernel and probability hooks are methods, so a mutant engine is a subclass away
(``properties/mutants.py``) and ``reference/`` is never edited.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from reference.algorithms.canonical import Request
from reference.config import GenerationConfig, generation_config
from reference.errors import ConfigError, EngineContractError
from reference.kernel import draft_token, verify
from reference.models import LanguageModel, check_pair, check_prompt
from reference.randomness import u
from reference.results import Result
from reference.scheduler import DSIScheduler, VirtualDriver, build_scheduler
from reference.scheduler.build import ALGORITHMS

#: A uniform source replacing ``u(seed, position, stream)``.
UniformSource = Callable[[int, str], float]


#: The request fields that are not generation parameters (the engine protocol's own).
_REQUEST_FIELDS = ("target", "drafter", "prompt", "config", "uniforms")


@dataclass(frozen=True, init=False)
class EngineRequest:
    """One generation, engine-independent: the models, the prompt and one
    :class:`reference.config.GenerationConfig` (SPEC §9), built like ``reference.generate``'s
    arguments: ``EngineRequest(target, drafter, prompt, max_new_tokens, *, config=None,
    uniforms=None, **overrides)``. The generation parameters (``request.lookahead``,
    ``request.num_target_servers``, ``request.sampling``, ...) are read from the config; their
    defaults and validation are the config's.

    uniforms: if given, replaces the canonical ``u(seed, i, stream)`` (engines with the
        ``uniform_injection`` capability only); ``seed`` is then ignored for tokens.
    """

    target: LanguageModel
    drafter: LanguageModel | None
    prompt: tuple[int, ...]
    config: GenerationConfig
    uniforms: UniformSource | None = field(default=None, compare=False)

    def __init__(self, target: LanguageModel, drafter: LanguageModel | None, prompt: Iterable[int],
                 max_new_tokens: int | None = None, *, config: GenerationConfig | None = None,
                 uniforms: UniformSource | None = None, **overrides: object) -> None:
        object.__setattr__(self, "target", target)
        object.__setattr__(self, "drafter", drafter)
        object.__setattr__(self, "prompt", tuple(int(t) for t in prompt))
        object.__setattr__(self, "config", generation_config(config, max_new_tokens, overrides))
        object.__setattr__(self, "uniforms", uniforms)

    def __getattr__(self, name: str) -> object:
        """A generation parameter (or ``sampling``): the config's."""
        config = self.__dict__.get("config")
        if config is not None and (name in _CONFIG_FIELDS or name == "sampling"):
            return getattr(config, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def but(self, **changes: object) -> EngineRequest:
        """A copy with some fields changed (request fields or generation parameters)."""
        own = {name: changes.pop(name) if name in changes else getattr(self, name)
               for name in _REQUEST_FIELDS}
        config = own.pop("config")
        return EngineRequest(own["target"], own["drafter"], own["prompt"], config=config,  # type: ignore[arg-type]
                             uniforms=own["uniforms"], **changes)  # type: ignore[arg-type]


_CONFIG_FIELDS = frozenset(GenerationConfig.field_names())


@dataclass(frozen=True)
class Capabilities:
    """What an engine declares it can do (SPEC §10, §12).

    schedule_trace: a wall-time engine that reports the schedule it followed (a trace with
        nominal times in latency units, and ``Result.nominal_times``): the schedule and
        latency properties then run on it. time_unit_s: seconds per latency unit;
        timing_tolerance_s: how far observed times may lag the schedule. kv_cache: the trace
        reports each forward's input and KV-cache counts (``cache_reused``, ``tokens_processed``).
    """

    canonical: bool
    virtual_time: bool
    wall_time: bool
    uniform_injection: bool
    modes: frozenset[str] = frozenset({"sample", "greedy"})
    algorithms: frozenset[str] = frozenset(ALGORITHMS)
    batching: bool = False
    any_model: bool = True
    schedule_trace: bool = False
    kv_cache: bool = False
    time_unit_s: float | None = None
    timing_tolerance_s: float | None = None

    @property
    def timed(self) -> bool:
        """Latencies can be checked exactly: virtual times, or a reported schedule."""
        return self.virtual_time or self.schedule_trace


@runtime_checkable
class Engine(Protocol):
    """Anything the properties can run: a name, capabilities and ``generate``."""

    name: str
    capabilities: Capabilities

    def generate(self, request: EngineRequest) -> Result:
        """Run one request; ``Result.tokens`` excludes the prompt."""
        ...


# ---------------------------------------------------------------- the reference adapter


@dataclass
class PropertyRequest(Request):
    """The canonical token rule with hooks: uniform source, kernel, p and q.

    Behaves exactly like :class:`Request` when ``uniforms`` is None. Mutants override
    :meth:`kernel`, :meth:`draft`, :meth:`target_probs` or :meth:`draft_probs`.
    """

    uniforms: UniformSource | None = None

    def uniform(self, position: int, stream: str) -> float:
        """``u(seed, position, stream)`` or the injected value."""
        if self.uniforms is not None:
            return float(self.uniforms(position, stream))
        return u(self.seed, position, stream)

    def kernel(self, p: np.ndarray, q: np.ndarray, draft: int, u_accept: float,
               u_residual: float) -> int:
        """The verification kernel K (SPEC §3)."""
        return verify(p, q, draft, u_accept, u_residual, mode=self.sampling.mode)

    def draft(self, position: int, generated: Iterable[int]) -> tuple[int, np.ndarray]:
        q = self.draft_probs(tuple(generated))
        return draft_token(q, self.uniform(position, "draft"), mode=self.sampling.mode), q

    def resolve(self, position: int, p: np.ndarray, q: np.ndarray, draft: int) -> int:
        return self.kernel(p, q, draft, self.uniform(position, "accept"),
                           self.uniform(position, "residual"))

    def plain(self, position: int, p: np.ndarray) -> int:
        if self.sampling.mode == "greedy":
            return int(np.argmax(p))
        from reference.kernel import sample

        return sample(p, self.uniform(position, "plain"))


class ReferenceEngine:
    """The reference's event simulations behind the engine protocol.

    request_class: the :class:`PropertyRequest` subclass to build (mutants change it).
    dsi_scheduler: the DSI scheduler class (schedule mutants override its public rule hooks).
    """

    capabilities = Capabilities(canonical=True, virtual_time=True, wall_time=False,
                                uniform_injection=True, batching=True)

    def __init__(self, name: str = "reference", *,
                 request_class: type[PropertyRequest] = PropertyRequest,
                 dsi_scheduler: type[DSIScheduler] = DSIScheduler) -> None:
        self.name = name
        self.request_class = request_class
        self.dsi_scheduler = dsi_scheduler

    def __repr__(self) -> str:
        return f"ReferenceEngine({self.name!r})"

    def generate(self, request: EngineRequest) -> Result:
        """Validate like ``reference.generate`` and run the requested algorithm."""
        drafter = request.drafter if request.algorithm != "plain" else None
        if request.algorithm != "plain" and request.drafter is None:
            raise ConfigError(f"algorithm {request.algorithm!r} needs a drafter")
        vocab_size = check_pair(request.target, drafter)
        req = self.request_class(
            target=request.target, drafter=request.drafter,
            prompt=check_prompt(request.prompt, vocab_size),
            max_new_tokens=request.max_new_tokens, sampling=request.sampling,
            seed=request.seed, latency=request.latency,
            stop_tokens=request.stop_tokens, uniforms=request.uniforms,
        )
        scheduler = build_scheduler(req, request.algorithm, lookahead=request.lookahead,
                                    num_target_servers=request.num_target_servers, preemptive=request.preemptive,
                                    warm_start=request.warm_start, dsi_scheduler=self.dsi_scheduler)
        return VirtualDriver(req, scheduler).run()

    def generate_batch(self, requests: Sequence[EngineRequest]) -> list[Result]:
        """One result per request (the reference runs them one after the other)."""
        return [self.generate(request) for request in requests]


def supports(engine: Engine, algorithm: str) -> bool:
    """True when the engine declares ``algorithm``."""
    return algorithm in engine.capabilities.algorithms


def speculative_algorithm(engine: Engine, preferred: str = "dsi") -> str:
    """``preferred`` if the engine has it, else its first speculative algorithm (dsi, si).

    Statistical cases written for DSI then run on an SI-only engine (Hugging Face).
    """
    for algorithm in (preferred, "dsi", "si", "nonsi", "plain"):
        if supports(engine, algorithm):
            return algorithm
    raise EngineContractError(f"{engine.name} declares no algorithm of {ALGORITHMS}")


