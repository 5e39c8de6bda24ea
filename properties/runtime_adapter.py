"""The runtime (gpu_runtime/) behind the properties' engine protocol.

``gpu_runtime.engine.RuntimeEngine.generate`` takes ``reference.generate``'s arguments (one
:class:`~reference.config.GenerationConfig`) and declares its capabilities as a dict; this
adapter passes an :class:`EngineRequest`'s models, prompt and config, and turns the dict into
:class:`Capabilities`. Select it with ``DSI_ENGINE=runtime``. The engine emulates the request's
latency (``emulate_latency=True``): floors of ``latency · time_unit_s`` seconds per forward
(default 0.1 ms per unit, so the schedule is exercised without slowing the suite).
"""

from __future__ import annotations

from properties.engines import Capabilities, EngineRequest
from reference.errors import ConfigError
from reference.results import Result


class RuntimeAdapter:
    """Wraps a ``gpu_runtime.engine.RuntimeEngine`` (imported lazily; ``engine_factory`` names
    the class, so that an engine with the same arguments can reuse this adapter)."""

    engine_factory = "gpu_runtime.engine:RuntimeEngine"

    def __init__(self, time_unit_s: float = 1e-4, **settings: object) -> None:
        import importlib

        module, _, name = self.engine_factory.partition(":")
        engine_class = getattr(importlib.import_module(module), name)
        self.runtime = engine_class(time_unit_s=time_unit_s, **{"emulate_latency": True, **settings})
        self.name = f"runtime({self.runtime.name})"
        caps = self.runtime.capabilities
        self.capabilities = Capabilities(
            canonical=bool(caps["canonical"]), virtual_time=bool(caps["virtual_time"]),
            wall_time=bool(caps["wall_time"]), uniform_injection=bool(caps["uniform_injection"]),
            modes=frozenset(caps["modes"]), algorithms=frozenset(caps["algorithms"]),
            schedule_trace=bool(caps["schedule_trace"]), kv_cache=bool(caps["kv_cache"]),
            time_unit_s=self.runtime.time_unit_s,
            timing_tolerance_s=float(caps["timing_tolerance_s"]))

    def with_settings(self, **settings: object) -> RuntimeAdapter:
        """The same adapter over the engine with some settings changed (e.g.
        ``emulate_latency=False``: forwards take their compute time, no floors)."""
        import copy
        import dataclasses

        clone = copy.copy(self)
        clone.runtime = dataclasses.replace(self.runtime, **settings)
        return clone

    def generate(self, request: EngineRequest) -> Result:
        """Run the request on the runtime."""
        if request.uniforms is not None and not self.capabilities.uniform_injection:
            raise ConfigError(f"{self.name} cannot take injected uniforms")
        return self.runtime.generate(request.target, request.drafter, request.prompt, config=request.config)
