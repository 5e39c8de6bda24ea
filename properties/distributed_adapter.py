"""The distributed runtime (gpu_runtime/distributed/) behind the properties' engine protocol.

:class:`gpu_runtime.distributed.engine.DistributedEngine` takes the thread runtime's arguments,
so the adapter is :class:`properties.runtime_adapter.RuntimeAdapter` with the engine replaced:
the same capabilities (schedule trace, KV cache counts, timing tolerance), the target servers
on three gloo ranks spawned on this machine on first use and kept for the session (N larger
than three, or unlimited, shares the ranks round robin). Select it with
``DSI_ENGINE=distributed`` (:mod:`properties.selection`).
"""

from __future__ import annotations

from properties.runtime_adapter import RuntimeAdapter

#: Server ranks of the suite's cluster.
SUITE_RANKS = 3


class DistributedAdapter(RuntimeAdapter):
    """Wraps a ``gpu_runtime.distributed.engine.DistributedEngine`` (imported lazily)."""

    engine_factory = "gpu_runtime.distributed.engine:DistributedEngine"

    def __init__(self, time_unit_s: float = 1e-4, **settings: object) -> None:
        settings.setdefault("target_ranks", SUITE_RANKS)
        super().__init__(time_unit_s, **settings)

