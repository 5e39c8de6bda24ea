"""``DistributedEngine``: the runtime with its servers on torch.distributed ranks (SPEC §13).

The same engine as :class:`gpu_runtime.engine.RuntimeEngine` — the same ``generate`` (one
:class:`~reference.config.GenerationConfig`), the same settings (``emulate_latency``,
``max_servers``), same validation, same scheduler, the same
:class:`~gpu_runtime.driver.WallDriver` — with one difference: its :meth:`open_pool` returns a
:class:`~gpu_runtime.distributed.pool.DistributedPool`, whose target servers (and optionally
the drafter) live on server ranks of a :class:`~gpu_runtime.distributed.cluster.Cluster`. The
cluster is started on first use (ranks spawned on this machine over gloo, or joined from
torchrun's environment with ``launched``) and kept across requests; a request that fails
because a rank died, hung or sent garbage tears it down (no process left), and the next
request starts a fresh one.

Target server i runs on rank ``1 + i mod target_ranks``: one server per rank when N equals
``target_ranks`` (the intended use); more servers share ranks round robin (N unlimited in
the property suite), each with its own compute thread and KV cache on its rank.
"""

from __future__ import annotations

from dataclasses import dataclass

from gpu_runtime.distributed.cluster import ClusterConfig, acquire, active
from gpu_runtime.distributed.pool import DistributedPool
from gpu_runtime.distributed.protocol import PROTOCOLS
from gpu_runtime.driver import Inbox
from gpu_runtime.engine import CAPABILITIES, RuntimeEngine
from gpu_runtime.pool import ServerPool
from gpu_runtime.request import RuntimeRequest
from reference.errors import ConfigError


@dataclass(frozen=True)
class DistributedEngine(RuntimeEngine):
    """The runtime over torch.distributed; fields beyond :class:`RuntimeEngine`'s:

    target_ranks: server ranks for target servers (the world is 1 + target_ranks [+ 1]);
    backend: ``gloo`` (CPU) or ``nccl`` (GPUs, one rank per device; messages still go over
        gloo, see docs/distributed.md);
    protocol: what a target rank sends back (:mod:`gpu_runtime.distributed.protocol`);
    drafter_rank: the drafter on a rank of its own instead of a thread of rank 0;
    launched: this process is rank 0 of a torchrun job (join it instead of spawning ranks);
    startup_timeout_s: how long the ranks may take to start and report;
    server_class: the ranks' server (``module:attribute``; tests use faulty ones).
    """

    target_ranks: int = 3
    backend: str = "gloo"
    protocol: str = "verify"
    drafter_rank: bool = False
    launched: bool = False
    startup_timeout_s: float = 120.0
    server_class: str = "gpu_runtime.distributed.rank:RankServer"
    name: str = "distributed"

    def __post_init__(self) -> None:
        self.check_settings()
        if self.protocol not in PROTOCOLS:
            raise ConfigError(f"protocol must be one of {PROTOCOLS}, got {self.protocol!r}")
        self.cluster_config()  # validates ranks, backend, timeout

    @property
    def capabilities(self) -> dict:
        return {**CAPABILITIES, "processes": True}

    def cluster_config(self) -> ClusterConfig:
        return ClusterConfig(target_ranks=self.target_ranks, backend=self.backend, drafter_rank=self.drafter_rank,
                             server_class=self.server_class, startup_timeout_s=self.startup_timeout_s)

    def start(self) -> None:
        """Start the ranks now (else on the first request)."""
        acquire(self.cluster_config(), launched=self.launched)

    def open_pool(self, request: RuntimeRequest, inbox: Inbox, *, num_target_servers: int | None,
                  with_drafter: bool) -> ServerPool:
        cluster = acquire(self.cluster_config(), launched=self.launched)
        return DistributedPool(cluster, request, inbox.post, num_target_servers=num_target_servers,
                               with_drafter=with_drafter, protocol=self.protocol,
                               setup_timeout_s=self.startup_timeout_s)

    def close(self) -> None:
        """Shut the ranks down (they also go when this process exits)."""
        cluster = active()
        if cluster is not None and cluster.config == self.cluster_config():
            cluster.close()
