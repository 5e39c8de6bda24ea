"""Rank 0's side of a running job: the server ranks, their links, start-up and teardown.

A :class:`Cluster` is the world of one torch.distributed job seen from rank 0 (the scheduler's
process). It is started in one of two ways:

* :meth:`Cluster.spawn` — one machine, no setup: rank 0 hosts a ``TCPStore`` on a free port of
  127.0.0.1 and starts ``python -m gpu_runtime.distributed.serve``, which forks one process
  per server rank (gloo);
* :meth:`Cluster.join` — this process is rank 0 of a job launched by ``torchrun``
  (``--nnodes``, ``--rdzv-endpoint``; the environment names the rendezvous), the other ranks
  run :func:`gpu_runtime.distributed.serve.serve_forever`.

Either way every server rank says HELLO (its rank, world size, pid and clock domain; a world-size
mismatch is a :class:`LaunchError`); a rank on another machine gets its clock offset estimated
from the fastest of a few PING round trips (on one machine the monotonic clock is shared), so
times a rank reports can be read on rank 0's clock. Each link has a
receiver thread: control replies (HELLO, READY, ENDED, PONG, ECHOED, BYE) go to its queue,
results to the handler of the request in progress; a link whose connection breaks or that
sends a malformed message is *lost* (:class:`~gpu_runtime.distributed.wire.LinkLost`), which
marks the cluster broken. :meth:`Cluster.close` sends SHUTDOWN, waits a moment, kills any rank
process it started that is still there, and destroys the process group: no orphan is left.
Only one cluster per process (torch.distributed has one default group): :func:`acquire`
reuses the running one if it fits, else replaces it.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from gpu_runtime.distributed import wire
from gpu_runtime.distributed.rank import clock_domain
from gpu_runtime.distributed.wire import Channel, LinkLost, Message, WireError
from reference.errors import ConfigError, check_count

#: Process-group timeout: links idle between requests must not time out (faults are detected
#: by the driver's forward timeout and by broken connections, not by this).
GROUP_TIMEOUT = datetime.timedelta(days=7)
#: Seconds the ranks get to exit after SHUTDOWN before they are killed.
EXIT_GRACE_S = 3.0
BACKENDS = ("gloo", "nccl")


class LaunchError(ConfigError):
    """The job could not start: rendezvous unreachable, world size mismatch, a rank that died
    or never reported during start-up."""


@dataclass(frozen=True)
class ClusterConfig:
    """What a cluster is: server ranks, backend, whether the drafter has a rank of its own,
    the rank's server class (``module:attribute``) and the start-up limit."""

    target_ranks: int = 3
    backend: str = "gloo"
    drafter_rank: bool = False
    server_class: str = "gpu_runtime.distributed.rank:RankServer"
    startup_timeout_s: float = 120.0

    def __post_init__(self) -> None:
        check_count(self.target_ranks, "target ranks")
        if self.backend not in BACKENDS:
            raise ConfigError(f"backend must be one of {BACKENDS}, got {self.backend!r}")
        if self.backend == "nccl":
            import torch.distributed as dist

            if not dist.is_nccl_available():
                raise ConfigError("backend 'nccl' needs a CUDA build of torch with NCCL (this one has none); "
                                  "use 'gloo'")
        if not self.startup_timeout_s > 0:
            raise ConfigError(f"startup_timeout_s must be > 0, got {self.startup_timeout_s!r}")

    @property
    def world_size(self) -> int:
        return 1 + self.target_ranks + int(self.drafter_rank)


class RankLink:
    """Rank 0's link to one server rank: a channel, a receiver thread, a clock offset."""

    def __init__(self, rank: int, on_lost: Callable[[RankLink, Exception], None]) -> None:
        self.rank = rank
        self.channel = Channel(rank)
        self.control: queue.Queue[Message | Exception] = queue.Queue()
        self.handler: Callable[[RankLink, Message | Exception], None] | None = None
        self.offset = 0.0  # this rank's perf_counter minus rank 0's
        self.pid = 0
        self.lost: Exception | None = None
        self.closing = False
        self.on_lost = on_lost
        self.label = f"rank {rank}"
        self.thread = threading.Thread(target=self._receive, name=f"dsi-link-{rank}", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _receive(self) -> None:
        while True:
            try:
                message = self.channel.recv()
            except WireError as exc:
                self._lose(exc)
                return
            except RuntimeError as exc:  # gloo: the connection closed or failed
                if not self.closing:
                    self._lose(LinkLost(f"{self.label} is gone: {str(exc).splitlines()[0][:200]}"))
                return
            if message.kind in (wire.RESULT, wire.STOPPED, wire.FAILED):
                handler = self.handler
                if handler is not None:
                    handler(self, message)
                continue  # a late reply of a finished request: dropped
            self.control.put(message)
            if message.kind == wire.BYE:
                return

    def _lose(self, error: Exception) -> None:
        self.lost = error
        self.control.put(error)
        handler = self.handler
        if handler is not None:
            handler(self, error)
        self.on_lost(self, error)

    def send(self, message: Message, *, wait: bool = False) -> None:
        """Queue ``message`` for the rank (never blocks on a stopped rank unless ``wait``)."""
        if self.lost is not None:
            raise self.lost
        try:
            self.channel.send(message, wait=wait)
        except RuntimeError as exc:
            raise LinkLost(f"{self.label} is gone: {str(exc).splitlines()[0][:200]}") from exc

    def expect(self, kind: int, timeout: float, what: str, request_id: int = 0) -> Message:
        """The next control message, which must be of ``kind``, within ``timeout`` seconds
        (replies to requests before ``request_id`` are skipped: a request that failed early
        leaves them behind)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                message = self.control.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise LinkLost(f"{self.label} did not answer {what} within {timeout:.3g} s (hung rank)") from None
            if isinstance(message, Exception):
                raise message
            if message.request_id < request_id:
                continue
            if message.kind != kind:
                raise WireError(f"{self.label} answered {what} with {message.name}")
            return message


class Cluster:
    """The server ranks of one job, seen from rank 0."""

    def __init__(self, config: ClusterConfig) -> None:
        self.config = config
        self.links: dict[int, RankLink] = {}
        self.processes: list[subprocess.Popen] = []
        self.broken: Exception | None = None
        self.closed = False
        self.requests = 0
        self.shipped: dict[int, dict[str, tuple]] = {}  # rank → role → (ref to the model sent, digest)
        self.models_sent = 0  # pickled models sent (a model goes to a rank once, not per request)
        self.last_timings: list = []  # the message timings of the last request (pool.TaskTiming)

    # ------------------------------------------------------------------ placement

    def rank_of(self, role: str, server: int) -> int:
        """Target server i on rank 1 + i mod (target ranks); the drafter on the last rank."""
        if role == "drafter":
            if not self.config.drafter_rank:
                raise ConfigError("this cluster has no drafter rank")
            return self.config.world_size - 1
        return 1 + server % self.config.target_ranks

    # ------------------------------------------------------------------ start-up

    @classmethod
    def spawn(cls, config: ClusterConfig) -> Cluster:
        """Start the server ranks on this machine (gloo over 127.0.0.1) and connect to them."""
        import torch.distributed as dist

        cluster = cls(config)
        try:
            store = dist.TCPStore("127.0.0.1", 0, config.world_size, True,
                                  timeout=datetime.timedelta(seconds=config.startup_timeout_s),
                                  wait_for_workers=False)
            root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
            env = {**os.environ, "DSI_FORK_RANKS": ",".join(map(str, range(1, config.world_size))),
                   "WORLD_SIZE": str(config.world_size), "MASTER_ADDR": "127.0.0.1",
                   "MASTER_PORT": str(store.port), "DSI_PARENT_PID": str(os.getpid()),
                   "DSI_BACKEND": config.backend, "DSI_SERVER_CLASS": config.server_class,
                   "DSI_STARTUP_TIMEOUT_S": str(config.startup_timeout_s),
                   "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}
            env.pop("TORCHELASTIC_RUN_ID", None)
            cluster.processes.append(subprocess.Popen(  # the launcher: forks one process per rank
                [sys.executable, "-m", "gpu_runtime.distributed.serve"], env=env, stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL))
            check_world(store, 0, config.world_size, config.startup_timeout_s, cluster.processes)
            init_group(config.backend, store, 0, config.world_size)
            cluster.connect()
        except BaseException:
            cluster.close()
            raise
        return cluster

    @classmethod
    def join(cls, config: ClusterConfig) -> Cluster:
        """This process is rank 0 of a job launched by torchrun: join its process group."""
        import torch.distributed as dist

        world = int(os.environ.get("WORLD_SIZE", "0"))
        if int(os.environ.get("RANK", "-1")) != 0:
            raise LaunchError("Cluster.join runs on rank 0 only")
        if world != config.world_size:
            raise LaunchError(f"the job has WORLD_SIZE={world}, but {config.target_ranks} target ranks"
                              f"{' and a drafter rank' if config.drafter_rank else ''} need {config.world_size} "
                              "(rank 0 runs the scheduler): check --nnodes and --nproc-per-node")
        cluster = cls(config)
        try:
            if not dist.is_initialized():
                init_group(config.backend, None, 0, world)
            cluster.connect()
        except BaseException:
            cluster.close()
            raise
        return cluster

    def connect(self) -> None:
        """Start the links, take every rank's HELLO, estimate clock offsets."""
        deadline = time.monotonic() + self.config.startup_timeout_s
        for rank in range(1, self.config.world_size):
            link = RankLink(rank, self._lost)
            self.links[rank] = link
            link.start()
        for link in self.links.values():
            try:
                hello = link.expect(wire.HELLO, max(0.1, deadline - time.monotonic()), "HELLO")
            except LinkLost as exc:
                raise LaunchError(f"start-up failed: {exc}") from None
            rank, world, pid, domain = (int(v) for v in hello.ints[:4])
            if (rank, world) != (link.rank, self.config.world_size):
                raise LaunchError(f"rank {link.rank} reports rank {rank} of a world of {world}; rank 0 expects "
                                  f"a world of {self.config.world_size}")
            link.pid = pid
            # one machine, one monotonic clock; else the fastest of a few round trips
            link.offset = 0.0 if domain and domain == clock_domain() else self.clock_offset(link)

    def clock_offset(self, link: RankLink, pings: int = 5) -> float:
        """The rank's clock minus ours, from the fastest of ``pings`` round trips."""
        best = (float("inf"), 0.0)
        for _ in range(pings):
            sent = time.perf_counter()
            link.send(Message(wire.PING), wait=True)
            pong = link.expect(wire.PONG, self.config.startup_timeout_s, "PING")
            back = time.perf_counter()
            best = min(best, (back - sent, float(pong.floats[0]) - (sent + back) / 2))
        return best[1]

    # ------------------------------------------------------------------ faults and teardown

    def _lost(self, link: RankLink, error: Exception) -> None:
        if not self.closed and self.broken is None:
            self.broken = error

    def rank_pids(self) -> list[int]:
        """The server ranks' process ids (as they said HELLO)."""
        return [link.pid for link in self.links.values() if link.pid]

    def close(self) -> None:
        """SHUTDOWN every rank, kill what is left of the ranks started here, destroy the group."""
        if self.closed:
            return
        self.closed = True
        for link in self.links.values():
            link.closing = True
            if link.lost is None:
                with contextlib.suppress(Exception):
                    link.send(Message(wire.SHUTDOWN))
        deadline = time.monotonic() + EXIT_GRACE_S
        for process in self.processes:
            try:
                process.wait(max(0.05, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
        for process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):  # SIGKILL did not take: nothing left to do
                process.wait(EXIT_GRACE_S)
        for link in self.links.values():
            link.thread.join(max(0.05, deadline - time.monotonic()) if link.thread.is_alive() else 0)
        import torch.distributed as dist

        if dist.is_initialized():
            with contextlib.suppress(Exception):
                dist.destroy_process_group()
        global _ACTIVE
        if _ACTIVE is self:
            _ACTIVE = None


def check_world(store: object, rank: int, world_size: int, timeout_s: float,
                processes: list[subprocess.Popen] | None = None) -> None:
    """Rendezvous check through the store: every rank publishes its world size; a rank whose
    world size differs from rank 0's is a :class:`LaunchError` (rank 0 also fails when a rank
    it started exits, or none reports within ``timeout_s``)."""
    store.set(f"dsi/world/{rank}", str(world_size))  # type: ignore[attr-defined]
    deadline = time.monotonic() + timeout_s
    others = range(1, world_size) if rank == 0 else [0]
    for other in others:
        key = f"dsi/world/{other}"
        while True:
            if store.check([key]):  # type: ignore[attr-defined]
                break
            for process in processes or ():
                if process.poll() is not None:
                    raise LaunchError(f"a server rank exited during start-up (status {process.returncode})")
            if time.monotonic() > deadline:
                raise LaunchError(f"rank {other} did not join the rendezvous within {timeout_s:.3g} s")
            time.sleep(0.02)
        theirs = int(store.get(key))  # type: ignore[attr-defined]
        if theirs != world_size:
            raise LaunchError(f"world size mismatch: rank {rank} was launched with WORLD_SIZE={world_size}, "
                              f"rank {other} with WORLD_SIZE={theirs}")


def init_group(backend: str, store: object | None, rank: int, world_size: int) -> None:
    """The default process group: gloo, or gloo for the CPU messages and NCCL for CUDA tensors
    (then this rank's device is ``cuda:LOCAL_RANK``: one rank per GPU). ``store`` None: the
    rendezvous of the environment (torchrun)."""
    import torch.distributed as dist

    if backend == "nccl":
        import torch

        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", rank)))
    spec = "gloo" if backend == "gloo" else "cpu:gloo,cuda:nccl"
    where = {"store": store} if store is not None else {"init_method": "env://"}
    dist.init_process_group(spec, rank=rank, world_size=world_size, timeout=GROUP_TIMEOUT, **where)


# ---------------------------------------------------------------------- the one cluster

_ACTIVE: Cluster | None = None
_LOCK = threading.Lock()


def acquire(config: ClusterConfig, *, launched: bool = False) -> Cluster:
    """The running cluster if it has this configuration and is healthy; else a new one
    (spawned here, or joined from torchrun's environment when ``launched``)."""
    global _ACTIVE
    with _LOCK:
        active = _ACTIVE
        if active is not None and active.config == config and active.broken is None and not active.closed \
                and not any(p.poll() is not None for p in active.processes):
            return active
        if active is not None:
            active.close()
        _ACTIVE = Cluster.join(config) if launched else Cluster.spawn(config)
        return _ACTIVE


def active() -> Cluster | None:
    """The running cluster, if any."""
    return _ACTIVE


def shutdown() -> None:
    """Close the running cluster (also run at interpreter exit)."""
    if _ACTIVE is not None:
        _ACTIVE.close()


atexit.register(shutdown)


def kill_rank(cluster: Cluster, rank: int, sig: int = signal.SIGKILL) -> None:
    """Send ``sig`` to a server rank's process (fault tests)."""
    os.kill(cluster.links[rank].pid, sig)

