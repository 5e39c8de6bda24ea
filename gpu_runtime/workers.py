"""Servers that only compute: one worker thread per target server and one for the drafter.

A worker owns its server's KV cache for the request (:class:`ServerCache`) and runs the
forwards the driver hands it, one at a time, in order:

    crop the cache to the reusable prefix → forward the rest (on the worker's device and
    stream) → synchronise → validate and process p or q → post the output to the driver

and posts the output *at once*: latency floors, the schedule and cancellation are the
driver's (:mod:`gpu_runtime.driver`). A compute cannot be interrupted (CPython cannot stop a
thread inside torch); a forward cancelled before the worker picks it up is skipped. A failure
is posted as :class:`Failure`. Threads are daemons, so a forward that never returns cannot
block interpreter exit (SPEC §10); the driver reports it as a hung server.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from gpu_runtime.devices import DeviceBinding
from gpu_runtime.models import RuntimeModel
from gpu_runtime.request import RuntimeRequest
from reference.errors import GenerationError
from reference.scheduler.protocol import Start


def common_prefix_length(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    """Length of the longest common prefix.

    >>> common_prefix_length((1, 2, 3), (1, 2, 4, 5))
    2
    """
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


class ServerCache:
    """One server's cache for one request and the ids it holds (positions 0..len−1)."""

    def __init__(self, model: RuntimeModel) -> None:
        self.model = model
        self.cache = model.new_cache()
        self.ids: tuple[int, ...] = ()

    def reusable(self, ids: tuple[int, ...], need: int) -> int:
        """Positions of ``ids`` the cache can keep: ``min(LCP(cached ids, ids), len(ids) − need)``
        (the positions whose p is needed are processed anew)."""
        return min(common_prefix_length(self.ids, ids), len(ids) - need)

    def forward(self, ids: tuple[int, ...], need: int) -> tuple[np.ndarray, int]:
        """Raw probs (need, V) at the ``need`` newest positions of ``ids``, and positions reused.

        Reuses :meth:`reusable` positions and processes the rest.
        """
        reused = self.reusable(ids, need)
        try:
            self.cache = self.model.crop(self.cache, reused)
            self.ids = ids[:reused]
            raw = np.asarray(self.model.forward(self.cache, ids[reused:], reused, last=need))
        except BaseException:
            self.cache, self.ids = self.model.new_cache(), ()  # state unknown: start afresh
            raise
        self.ids = ids
        if raw.shape != (need, int(self.model.vocab_size)):
            raise GenerationError(f"forward returned shape {raw.shape}, expected ({need}, "
                                  f"{self.model.vocab_size})")
        return raw, reused


@dataclass
class Job:
    """A forward handed to a worker; the driver cancels it with :meth:`cancel` (a worker thread
    checks ``cancelled`` before it starts).

    deadline: with emulated latency, the ``perf_counter`` instant at which the forward's floor
        ends in the driver (None: real latency); a server that holds the floor itself (a rank,
        :mod:`gpu_runtime.distributed`) holds it until then, less its result message.
    on_cancel: set by a worker that must hear of a cancellation (a remote server); called once.
    """

    start: Start
    cancelled: threading.Event = field(default_factory=threading.Event)
    deadline: float | None = None
    on_cancel: Callable[[], None] | None = None

    def cancel(self) -> None:
        """Cancel the forward (idempotent): set ``cancelled`` and tell the worker."""
        if self.cancelled.is_set():
            return
        self.cancelled.set()
        if self.on_cancel is not None:
            self.on_cancel()


@dataclass(frozen=True)
class Computed:
    """A worker's output for one forward (``skipped``: cancelled before it started)."""

    forward_id: int
    target_probs: dict[int, np.ndarray] = field(default_factory=dict)  # processed p by position
    draft: int | None = None
    draft_probs: np.ndarray | None = None
    input_ids: tuple[int, ...] = ()
    cache_reused: int = 0
    tokens_processed: int = 0
    compute_start: float = 0.0  # perf_counter when the worker took the job (began computing, or dropped it)
    skipped: bool = False


@dataclass(frozen=True)
class Failure:
    """A forward raised (or returned a bad distribution)."""

    server: str
    what: str
    error: BaseException


class Worker:
    """One server: a daemon thread computing the jobs put in its inbox, in order."""

    #: The KV-cache bookkeeping of a server (a mutant may replace it).
    cache_class: type[ServerCache] = ServerCache

    def __init__(self, role: str, index: int, model: RuntimeModel, binding: DeviceBinding,
                 request: RuntimeRequest, post: object) -> None:
        self.role = role
        self.index = index
        self.name = "drafter" if role == "drafter" else f"target:{index}"
        self.binding = binding
        self.request = request
        self.post = post  # callable(message): the driver's inbox
        self.cache = self.cache_class(model)
        self.jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self.busy_since: float | None = None  # perf_counter when the running compute began
        self.thread = threading.Thread(target=self._loop, name=f"dsi-{self.name}", daemon=True)
        self.thread.start()

    def submit(self, job: Job) -> None:
        self.jobs.put(job)

    def stop(self) -> None:
        self.jobs.put(None)

    def _loop(self) -> None:
        while (job := self.jobs.get()) is not None:
            start = job.start
            if job.cancelled.is_set():
                self.post(Computed(start.forward_id, compute_start=time.perf_counter(), skipped=True))
                continue
            try:
                self.post(self.compute(start))
            except BaseException as exc:  # reported; the driver ends the generation
                self.post(Failure(self.name, f"{start.kind} {start.first}..{start.last}", exc))
            finally:
                self.busy_since = None

    def compute(self, start: Start) -> Computed:
        """One forward over the prompt and ``start.generated``: p at first..last, or d and q."""
        ids = self.request.prompt + start.generated
        need = start.last - start.first + 1
        began = self.busy_since = time.perf_counter()
        with self.binding.active():
            raw, reused = self.cache.forward(ids, need)
        self.binding.synchronize()
        rows = [self.request.processed(row, name=self.role) for row in raw]
        counts = {"input_ids": ids, "cache_reused": reused, "tokens_processed": len(ids) - reused,
                  "compute_start": began}
        if self.role == "drafter":
            draft = self.request.draft(start.first, rows[0])
            return Computed(start.forward_id, draft=draft, draft_probs=rows[0], **counts)
        return Computed(start.forward_id, target_probs=dict(zip(range(start.first, start.last + 1), rows,
                                                                 strict=True)), **counts)
