"""A server rank: target servers (or the drafter) in their own process, driven by rank 0.

The rank's main thread receives messages from rank 0 (:mod:`gpu_runtime.distributed.wire`)
and never computes; each server it hosts has a compute thread with its own job queue and its
own :class:`gpu_runtime.workers.ServerCache` (KV cache) for the request:

* ``SETUP`` — a new request: its prompt, sampling, seed, result protocol and the model
  (pickled bytes, sent when it changes: the rank keeps the models in use); READY back, with the
  error text if the rank cannot load the model;
* ``JOB`` — run forward f on server i: crop the cache, forward, validate and process the rows
  (``RuntimeRequest.processed``, as the thread runtime), then, with emulated latency, *hold*
  the floor until the absolute instant rank 0 asked for (the forward's nominal end less its
  result message, in this rank's clock), then send the result
  (:mod:`gpu_runtime.distributed.protocol`);
* ``CANCEL`` — forward f is no longer needed: a queued job is dropped, a held floor is cut at
  once (``STOPPED``), a running compute finishes first (a torch forward is not interrupted:
  see docs/distributed.md);
* ``END`` — the request is over: everything is cancelled, the compute threads finish, then
  ``ENDED``; ``PING`` → ``PONG`` with this rank's clock; ``ECHO`` → ``ECHOED`` with the
  payload size asked for (message latency measurements); ``SHUTDOWN`` → ``BYE`` and exit.

A forward that raises is reported (``FAILED``) and the rank carries on; the connection to
rank 0 breaking ends the process (no orphan outlives its scheduler).
"""

from __future__ import annotations

import hashlib
import math
import pickle
import queue
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from gpu_runtime.distributed import wire
from gpu_runtime.distributed.protocol import NOTHING, encode_target
from gpu_runtime.distributed.wire import Channel, Message
from gpu_runtime.floors import Floors
from gpu_runtime.models import as_runtime_model
from gpu_runtime.request import RuntimeRequest
from gpu_runtime.workers import ServerCache
from reference.processing import SamplingConfig

ROLES = ("target", "drafter")


@dataclass
class RankJob:
    """A forward as the rank sees it."""

    forward_id: int
    server: int
    role: str
    first: int
    last: int
    generated: tuple[int, ...]
    hold_until: float  # this rank's perf_counter; NaN: no floor (real latency)
    q_at_drafts: list[float] | None
    received: float
    warmup: bool = False
    cancel: threading.Event = field(default_factory=threading.Event)


@dataclass
class RequestSetup:
    """What SETUP carries (pickled): the request as a rank needs it."""

    request_id: int
    prompt: tuple[int, ...]
    sampling: SamplingConfig
    seed: int
    protocol: str
    models: dict[str, tuple[str, bytes | None]]  # role → (digest, pickled model or None if held)


def clock_domain() -> int:
    """An id of this machine's monotonic clock (Linux: the boot id; 0 if unknown): processes with
    the same nonzero id read the same ``perf_counter``."""
    try:
        with open("/proc/sys/kernel/random/boot_id", "rb") as handle:
            return int.from_bytes(hashlib.blake2b(handle.read().strip(), digest_size=7).digest(), "little")
    except OSError:
        return 0


def model_digest(blob: bytes) -> str:
    return hashlib.sha256(blob).hexdigest()


class ServerThread:
    """One hosted server: a compute thread running its jobs in order."""

    def __init__(self, owner: RankServer, role: str, index: int, request: RuntimeRequest, protocol: str,
                 request_id: int) -> None:
        self.owner = owner
        self.role = role
        self.index = index
        self.request = request
        self.protocol = protocol
        self.request_id = request_id
        self.cache = ServerCache(request.target)
        self.jobs: queue.SimpleQueue[RankJob | None] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._loop, name=f"dsi-rank-{role}:{index}", daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while (job := self.jobs.get()) is not None:
            try:
                self.run(job)
            except wire.LinkLost:
                return
            except Exception as exc:  # reported; rank 0 ends the generation
                self.owner.send(Message(wire.FAILED, self.request_id, job.forward_id, job.server,
                                        blob=f"{type(exc).__name__}: {exc}".encode()))

    def run(self, job: RankJob) -> None:
        """Compute, hold the floor (cut by a cancellation), send the result."""
        if job.cancel.is_set():
            self.stopped(job, computed=False, began=time.perf_counter())
            return
        began = time.perf_counter()
        ids = self.request.prompt + job.generated
        need = job.last - job.first + 1
        raw, reused = self.cache.forward(ids, need)
        rows = np.stack([self.request.processed(row, name=self.role) for row in raw])
        counts = [reused, len(ids) - reused]
        if not math.isnan(job.hold_until):
            job.cancel.wait(max(0.0, job.hold_until - time.perf_counter()))
        if job.cancel.is_set():
            self.stopped(job, computed=True, began=began, counts=counts)
            return
        if self.role == "drafter":
            draft = self.request.draft(job.first, rows[0])
            ints, floats = [draft], rows[0]
        elif job.warmup:
            ints, floats = [NOTHING], np.zeros(0)
        else:
            drafts = list(job.generated[job.first:job.last])
            ints, floats = encode_target(self.protocol, self.request.sampling.mode, rows, job.first, drafts,
                                         job.q_at_drafts, self.request.seed)
        self.owner.send(Message(wire.RESULT, self.request_id, job.forward_id, job.server,
                                ints=np.array(counts + list(ints), np.int64),
                                floats=np.concatenate([[job.received, began, time.perf_counter()], floats])))

    def stopped(self, job: RankJob, *, computed: bool, began: float, counts: list[int] | None = None) -> None:
        ints = [int(computed), *(counts or [0, 0])]
        self.owner.send(Message(wire.STOPPED, self.request_id, job.forward_id, job.server,
                                ints=np.array(ints, np.int64),
                                floats=np.array([job.received, began, time.perf_counter()])))


class RankServer:
    """The message loop of one server rank (rank ≥ 1). Subclasses may override :meth:`send`
    (tests: a rank that sends garbage)."""

    def __init__(self, rank: int, world_size: int) -> None:
        self.rank = rank
        self.world_size = world_size
        self.channel = Channel(0, name="rank 0")
        self.models: dict[str, object] = {}  # digest → runtime model
        self.setup_: RequestSetup | None = None
        self.requests: dict[str, RuntimeRequest] = {}
        self.servers: dict[tuple[str, int], ServerThread] = {}
        self.jobs: dict[int, RankJob] = {}

    def send(self, message: Message) -> None:
        try:
            self.channel.send(message)
        except RuntimeError as exc:
            raise wire.LinkLost(f"rank {self.rank}: lost rank 0: {exc}") from exc

    def serve(self) -> None:
        """Say hello, then handle messages until SHUTDOWN or until rank 0 is gone."""
        import os

        self.send(Message(wire.HELLO, ints=np.array([self.rank, self.world_size, os.getpid(), clock_domain()],
                                                    np.int64)))
        while True:
            message = self.channel.recv()
            kind = message.kind
            if kind == wire.JOB:
                self.job(message)
            elif kind == wire.CANCEL:
                job = self.jobs.get(message.forward_id)
                if job is not None:
                    job.cancel.set()
            elif kind == wire.SETUP:
                self.setup(message)
            elif kind == wire.END:
                self.end()
                self.send(Message(wire.ENDED, message.request_id))
            elif kind == wire.PING:
                self.send(Message(wire.PONG, message.request_id, floats=np.array([time.perf_counter()])))
            elif kind == wire.ECHO:
                size = int(message.ints[0]) if message.ints.size else 0
                self.send(Message(wire.ECHOED, message.request_id, message.forward_id,
                                  floats=np.zeros(size)))
            elif kind == wire.SHUTDOWN:
                self.end()
                self.send(Message(wire.BYE))
                return
            else:
                raise wire.WireError(f"rank {self.rank}: unexpected {message.name} from rank 0")

    def setup(self, message: Message) -> None:
        """A new request; READY, or READY with the error text if this rank cannot serve it."""
        self.end()
        self.setup_ = None
        try:
            self._setup(message)
        except Exception as exc:  # an unpicklable model, a model class this rank cannot import, ...
            self.send(Message(wire.READY, message.request_id, blob=f"{type(exc).__name__}: {exc}".encode()))

    def _setup(self, message: Message) -> None:
        setup: RequestSetup = pickle.loads(message.blob)  # rank 0 of our own job (trusted, see docs)
        requests, models = {}, {}
        for role, (digest, blob) in setup.models.items():
            if blob is not None:
                if model_digest(blob) != digest:
                    raise wire.WireError(f"rank {self.rank}: model bytes do not match their digest")
                self.models[digest] = as_runtime_model(pickle.loads(blob))
            if digest not in self.models:
                raise wire.WireError(f"rank {self.rank}: model {digest[:12]} was never sent")
            models[digest] = self.models[digest]
            requests[role] = RuntimeRequest(target=self.models[digest], drafter=None, prompt=setup.prompt,  # type: ignore[arg-type]
                                            max_new_tokens=1, sampling=setup.sampling, seed=setup.seed,
                                            floors=Floors())
        self.setup_, self.requests, self.models = setup, requests, models  # keep only the models in use
        self.send(Message(wire.READY, setup.request_id))

    def job(self, message: Message) -> None:
        setup = self.setup_
        if setup is None or message.request_id != setup.request_id:
            raise wire.WireError(f"rank {self.rank}: JOB for request {message.request_id} without its SETUP")
        role_code, first, last, kind_warmup, n = (int(v) for v in message.ints[:5])
        generated = tuple(int(v) for v in message.ints[5:5 + n])
        role = ROLES[role_code]
        q = message.floats[1:].tolist()
        job = RankJob(message.forward_id, message.server, role, first, last, generated, float(message.floats[0]),
                      q if q else None, message.received, warmup=bool(kind_warmup))
        self.jobs[job.forward_id] = job
        key = (role, message.server)
        if key not in self.servers:
            self.servers[key] = ServerThread(self, role, message.server, self.requests[role], setup.protocol,
                                             setup.request_id)
        self.servers[key].jobs.put(job)

    def end(self) -> None:
        """Cancel every job of the request and wait for the compute threads to finish."""
        for job in self.jobs.values():
            job.cancel.set()
        for server in self.servers.values():
            server.jobs.put(None)
        for server in self.servers.values():
            server.thread.join()
        self.servers, self.jobs = {}, {}
