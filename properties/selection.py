"""Which engine the suite runs against: a registered name, ``mutant:NAME`` or ``module:factory``.

One switch for every entry point — ``DSI_ENGINE`` (the pytest suite), ``dsi check --engine``,
``pytest --dsi-engine``, the property sweep of ``dsi repro all``:

* ``reference`` — :class:`properties.engines.ReferenceEngine`;
* ``runtime`` — gpu_runtime/ through :class:`properties.runtime_adapter.RuntimeAdapter`;
* ``distributed`` — gpu_runtime/distributed/ (one process per server) through
  :class:`properties.distributed_adapter.DistributedAdapter`;
* ``mutant:NAME`` — a broken engine of the catalogue (:mod:`properties.mutants`);
* ``module:attribute`` — a zero-argument factory of any other adapter (docs/adapters.md).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable

from properties.engines import Engine, ReferenceEngine
from reference.errors import ConfigError

#: The environment variable that names the engine of the pytest suite.
ENGINE_VARIABLE = "DSI_ENGINE"


def _runtime() -> Engine:
    from properties.runtime_adapter import RuntimeAdapter

    return RuntimeAdapter()


def _distributed() -> Engine:
    from properties.distributed_adapter import DistributedAdapter

    return DistributedAdapter()


_FACTORIES: dict[str, Callable[[], Engine]] = {"reference": ReferenceEngine, "runtime": _runtime,
                                               "distributed": _distributed}


def register_engine(name: str, factory: Callable[[], Engine]) -> None:
    """Make ``DSI_ENGINE=name`` select ``factory()`` (for adapters that live elsewhere)."""
    _FACTORIES[name] = factory


def get_engine(spec: str) -> Engine:
    """An engine by registered name, ``mutant:NAME`` (the catalogue of ``properties.mutants``),
    or ``module:attribute`` (a zero-argument factory)."""
    if spec.startswith("mutant:"):
        from properties.mutants import MUTANTS

        name = spec.removeprefix("mutant:")
        if name not in MUTANTS:
            raise ConfigError(f"unknown mutant {name!r}; known: {sorted(MUTANTS)}")
        engine = MUTANTS[name].build()
    elif spec in _FACTORIES:
        engine = _FACTORIES[spec]()
    elif ":" in spec:
        module_name, _, attribute = spec.partition(":")
        try:
            factory = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"engine {spec!r} cannot be imported: {exc}") from None
        try:
            engine = factory()
        except Exception as exc:  # the factory is third-party code: report, do not crash
            raise ConfigError(f"engine factory {spec!r} raised {type(exc).__name__}: {exc}") from exc
    else:
        raise ConfigError(
            f"unknown engine {spec!r}; expected one of {sorted(_FACTORIES)} or 'module:factory'"
        )
    if not isinstance(engine, Engine):
        raise ConfigError(f"engine {spec!r} does not implement the engine protocol: {engine!r}")
    return engine


def engine_from_env() -> Engine:
    """The engine named by ``DSI_ENGINE`` (``reference`` when unset)."""
    return get_engine(os.environ.get(ENGINE_VARIABLE, "reference"))
