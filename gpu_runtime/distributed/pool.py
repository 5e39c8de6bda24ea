"""The servers of one request as ranks: the :class:`ServerPool` that the wall driver drives.

:class:`DistributedPool` is a :class:`gpu_runtime.pool.ServerPool` whose target workers (and,
with a drafter rank, whose drafter) are :class:`RankProxy` objects on rank 0: the worker
interface of the thread runtime (``submit(job)``, ``stop()``, ``busy_since``, ``name``) over
messages. The driver (:class:`gpu_runtime.driver.WallDriver`, unchanged) cannot tell the
difference:

* ``submit`` sends JOB: the forward's input, the absolute instant at which its floor ends on
  the rank (the driver's nominal end less the result message, in the rank's clock; none
  without floors) and, for the ``verify`` protocol, ``q_j(d_j)`` at the drafts of its input
  (looked up in the drafts this pool has seen, keyed by their input);
* ``Job.cancel`` (the driver's cancellation) sends CANCEL: a rank cuts the floor it holds;
* the link's receiver thread decodes RESULT / STOPPED / FAILED into the thread runtime's
  :class:`~gpu_runtime.workers.Computed` / :class:`~gpu_runtime.workers.Failure` and posts them
  to the driver's inbox, which stamps their arrival;
* a lost link (a rank killed, a malformed message) posts a Failure: the driver ends the
  generation with :class:`~reference.errors.GenerationError` at once;
* ``busy_since`` is when the oldest unanswered job was sent, so a rank that stops answering
  is a hung server after ``forward_timeout_s``, as a hung thread is.

Each job's message timings are kept in :attr:`DistributedPool.timings` (``dsi bench``: the
per-task overhead from dispatch to result beyond the floor).
"""

from __future__ import annotations

import contextlib
import math
import pickle
import threading
import time
import weakref
from dataclasses import dataclass

import numpy as np

from gpu_runtime.distributed import wire
from gpu_runtime.distributed.cluster import Cluster, RankLink
from gpu_runtime.distributed.protocol import decode_target
from gpu_runtime.distributed.rank import RequestSetup, model_digest
from gpu_runtime.distributed.wire import LinkLost, Message, WireError
from gpu_runtime.pool import ServerPool
from gpu_runtime.request import RuntimeRequest
from gpu_runtime.workers import Computed, Failure, Job, Worker
from reference.distributions import check_probs
from reference.errors import GenerationError

#: After a failed generation, how long the ranks get to end the request before the cluster is
#: torn down (a hung rank has already cost ``forward_timeout_s``).
FAILED_END_S = 2.0


@dataclass
class TaskTiming:
    """When one forward's messages went and came back (rank 0's clock, seconds)."""

    forward_id: int
    role: str
    sent: float
    floor_s: float | None = None  # the compute floor the rank held (None: real latency)
    due: float | None = None  # the forward's nominal end (emulated latency)
    rank_received: float | None = None  # the JOB reached the rank
    rank_replied: float | None = None  # the rank sent its answer
    arrived: float | None = None  # the result reached rank 0
    stopped: bool = False
    result_bytes: int = 0  # payload of the answer


class RankProxy:
    """Rank 0's stand-in for one server on a rank: the worker interface over messages."""

    def __init__(self, pool: DistributedPool, role: str, index: int, link: RankLink) -> None:
        self.pool = pool
        self.role = role
        self.index = index
        self.link = link
        self.name = "drafter" if role == "drafter" else f"target:{index}"
        self.lock = threading.Lock()
        self.outstanding: dict[int, tuple[Job, float]] = {}

    @property
    def busy_since(self) -> float | None:
        """When the oldest job without an answer was sent."""
        with self.lock:
            return min((sent for _, sent in self.outstanding.values()), default=None)

    def submit(self, job: Job) -> None:
        start = job.start
        hold, floor_s = math.nan, None
        if job.deadline is not None:  # emulated latency: the rank holds the floor until then
            floors = self.pool.request.floors
            dispatch_s, result_s = floors.message_seconds(start.role)
            hold = job.deadline - result_s + self.link.offset  # in the rank's clock
            floor_s = floors.seconds(start.role, start.server, start.forward_index,
                                     prefill=start.prefill, positions=start.positions) - dispatch_s - result_s
        q = self.pool.q_at_drafts(start.generated, start.first, start.last) if start.role == "target" else []
        ints = [0 if start.role == "target" else 1, start.first, start.last, int(start.kind == "warmup"),
                len(start.generated), *start.generated]
        message = Message(wire.JOB, self.pool.request_id, start.forward_id, start.server,
                          ints=np.array(ints, np.int64), floats=np.array([hold, *q], np.float64))
        sent = time.perf_counter()
        with self.lock:
            self.outstanding[start.forward_id] = (job, sent)
        self.pool.timings[start.forward_id] = TaskTiming(start.forward_id, start.role, sent, floor_s, job.deadline)
        job.on_cancel = lambda: self._cancel(start.forward_id)
        try:
            self.link.send(message)
        except LinkLost as exc:
            self.pool.post(Failure(self.name, "its dispatch", exc))

    def _cancel(self, forward_id: int) -> None:
        with contextlib.suppress(LinkLost):  # a lost link is reported by its receiver
            self.link.send(Message(wire.CANCEL, self.pool.request_id, forward_id))

    def answered(self, forward_id: int) -> Job:
        with self.lock:
            entry = self.outstanding.pop(forward_id, None)
        if entry is None:
            raise WireError(f"{self.link.label} answered forward {forward_id}, which {self.name} was not running")
        return entry[0]

    def stop(self) -> None:
        """Nothing to stop here: the request's END (:meth:`DistributedPool.close`) ends the rank's jobs."""


class DistributedPool(ServerPool):
    """The drafter and N target servers of one request, the targets on server ranks."""

    def __init__(self, cluster: Cluster, request: RuntimeRequest, post: object, *, num_target_servers: int | None,
                 with_drafter: bool, protocol: str, setup_timeout_s: float) -> None:
        self.cluster = cluster
        self.protocol = protocol
        cluster.requests += 1
        self.request_id = cluster.requests
        self.inbox_post = post
        self.drafts: dict[tuple[int, ...], tuple[int, np.ndarray]] = {}  # draft input → (d, q)
        self.timings: dict[int, TaskTiming] = {}
        self.proxies: dict[int, RankProxy] = {}  # forward id → the proxy running it
        self.ended = False
        self.setup_timeout_s = setup_timeout_s
        self._setup(request, with_drafter)
        for link in cluster.links.values():
            link.handler = self.on_message
        super().__init__(request, self.record, num_target_servers=num_target_servers, with_drafter=with_drafter)

    # ------------------------------------------------------------------ set-up

    def _setup(self, request: RuntimeRequest, with_drafter: bool) -> None:
        """SETUP on every rank (a model only to the ranks that lack it), READY back."""
        cluster = self.cluster
        if cluster.broken is not None:
            raise GenerationError(f"the cluster is broken: {cluster.broken}")
        models = {"target": request.target}
        if with_drafter and cluster.config.drafter_rank:
            models["drafter"] = request.drafter
        pickled: dict[str, tuple[str, bytes]] = {}
        for rank, link in cluster.links.items():
            roles = ["drafter"] if cluster.config.drafter_rank and rank == cluster.config.world_size - 1 else ["target"]
            shipping = {role: self._ship(rank, role, models[role], pickled) for role in roles if role in models}
            setup = RequestSetup(self.request_id, request.prompt, request.sampling, request.seed, self.protocol,
                                 shipping)
            link.send(Message(wire.SETUP, self.request_id, blob=pickle.dumps(setup)))
        refused = []
        for rank, link in cluster.links.items():
            ready = link.expect(wire.READY, self.setup_timeout_s, "SETUP", self.request_id)
            if ready.blob:
                cluster.shipped.pop(rank, None)  # what it holds is unknown now
                refused.append(f"{link.label} cannot set the request up: {ready.blob.decode(errors='replace')}")
        if refused:
            raise GenerationError("; ".join(refused))

    def _ship(self, rank: int, role: str, model: object,
              pickled: dict[str, tuple[str, bytes]]) -> tuple[str, bytes | None]:
        """(digest, pickled model or None): a rank keeps the last model it got per role, and the
        same model object (the caller's, behind any adapter) is not sent again — a toy model's
        memo grows with use, so its pickle changes although the function does not. A new
        object, or one whose pickle differs from what the rank holds, is sent."""
        source = getattr(model, "model", model)  # the caller's object behind ReferenceModelAdapter
        held = self.cluster.shipped.setdefault(rank, {}).get(role)
        if held is not None and held[0]() is source:
            return held[1], None
        if role not in pickled:
            blob = pickle.dumps(model)
            pickled[role] = (model_digest(blob), blob)
        digest, blob = pickled[role]
        try:
            reference = weakref.ref(source)
        except TypeError:  # not weakly referenceable: hold it (it stays alive while it is in use)
            reference = lambda: source  # noqa: E731
        self.cluster.shipped[rank][role] = (reference, digest)
        if held is not None and held[1] == digest:
            return digest, None
        self.cluster.models_sent += 1
        return digest, blob

    def make_worker(self, role: str, index: int) -> Worker:
        if role == "drafter" and not self.cluster.config.drafter_rank:
            return super().make_worker(role, index)  # a thread on rank 0, posting through record
        return RankProxy(self, role, index, self.cluster.links[self.cluster.rank_of(role, index)])  # type: ignore[return-value]

    # ------------------------------------------------------------------ messages

    def record(self, message: object) -> None:
        """Every output passes here on its way to the driver: drafts are kept for the JOBs."""
        if isinstance(message, Computed) and message.draft is not None and message.draft_probs is not None:
            self.drafts[message.input_ids] = (message.draft, message.draft_probs)
        self.inbox_post(message)  # type: ignore[operator]

    def q_at_drafts(self, generated: tuple[int, ...], first: int, last: int) -> list[float]:
        """``q_j(d_j)`` for the drafts at first..last−1 of a target task's input ([] if one is unknown)."""
        if self.protocol != "verify" or self.request.sampling.mode == "greedy":
            return []
        prompt = self.request.prompt
        out = []
        for j in range(first, last):
            seen = self.drafts.get(prompt + generated[:j])
            if seen is None or seen[0] != generated[j]:
                return []
            out.append(float(seen[1][generated[j]]))
        return out

    def on_message(self, link: RankLink, message: Message | Exception) -> None:
        """A link's receiver thread: decode a rank's answer and post it to the driver."""
        if isinstance(message, Exception):
            self.post(Failure(link.label, "its connection", message))
            return
        if self.ended or message.request_id != self.request_id:
            return  # a late answer of an earlier request
        try:
            self.post(self.decode(link, message))
        except WireError as exc:  # a rank that sends nonsense is not trusted again: restart
            self.cluster.broken = self.cluster.broken or exc
            self.post(Failure(link.label, "a message", exc))

    def decode(self, link: RankLink, message: Message) -> object:
        proxy = self._proxy(link, message)
        job = proxy.answered(message.forward_id)
        start = job.start
        if message.kind == wire.FAILED:
            what = f"{start.kind} {start.first}..{start.last} ({link.label})"
            return Failure(proxy.name, what, GenerationError(message.blob.decode(errors="replace")))
        if message.floats.size < 3 or message.ints.size < 2:
            raise WireError(f"{link.label} sent a {message.name} without its timings")
        received, began, replied = (float(v) - link.offset for v in message.floats[:3])
        timing = self.timings.get(start.forward_id)
        if timing is not None:
            timing.rank_received, timing.rank_replied, timing.arrived = received, replied, message.received
            timing.result_bytes = 8 * (message.ints.size + message.floats.size)
        ids = self.request.prompt + start.generated
        if message.kind == wire.STOPPED:
            if not job.cancelled.is_set():
                raise WireError(f"{link.label} stopped forward {start.forward_id}, which was not cancelled")
            computed, reused, processed = (int(v) for v in message.ints[:3])
            if timing is not None:
                timing.stopped = True
            if not computed:
                return Computed(start.forward_id, compute_start=began, skipped=True)
            return Computed(start.forward_id, input_ids=ids, cache_reused=reused, tokens_processed=processed,
                            compute_start=began)
        reused, processed = (int(v) for v in message.ints[:2])
        body_ints, body_floats = message.ints[2:], message.floats[3:]
        counts = {"input_ids": ids, "cache_reused": reused, "tokens_processed": processed, "compute_start": began}
        V = int(self.request.target.vocab_size)
        if start.role == "drafter":
            if body_ints.size != 1 or body_floats.size != V or not 0 <= int(body_ints[0]) < V:
                raise WireError(f"{link.label} sent a malformed draft")
            try:
                check_probs(body_floats, V, name=f"{link.label} q row")
            except Exception as exc:
                raise WireError(f"{link.label} sent a malformed draft: {exc}") from None
            return Computed(start.forward_id, draft=int(body_ints[0]), draft_probs=np.array(body_floats), **counts)
        rows = decode_target(body_ints, body_floats, first=start.first, last=start.last,
                             drafts=list(start.generated[start.first:start.last]), vocab_size=V, peer=link.label)
        return Computed(start.forward_id, target_probs=rows, **counts)  # type: ignore[arg-type]

    def _proxy(self, link: RankLink, message: Message) -> RankProxy:
        role = "drafter" if self.cluster.config.drafter_rank and link.rank == self.cluster.config.world_size - 1 \
            else "target"
        workers = [self.drafter] if role == "drafter" else self.targets
        for worker in workers:
            if isinstance(worker, RankProxy) and worker.link is link and message.forward_id in worker.outstanding:
                return worker
        raise WireError(f"{link.label} answered forward {message.forward_id} of request {message.request_id}, "
                        "which it was not running")

    # ------------------------------------------------------------------ closing

    def close(self, timeout_s: float | None = None) -> None:
        """END on every rank and wait for ENDED (their jobs are over); the drafter thread joins.
        A rank that does not end within ``timeout_s`` (default ``forward_timeout_s``) is hung:
        the cluster is torn down and :class:`GenerationError` raised. Idempotent."""
        if self._closed:
            return
        wait_s = self.request.forward_timeout_s if timeout_s is None else timeout_s
        self.ended = True
        self.cluster.last_timings = list(self.timings.values())
        problem: Exception | None = None
        try:
            for link in self.cluster.links.values():
                link.handler = None
                try:
                    link.send(Message(wire.END, self.request_id))
                except LinkLost as exc:
                    problem = problem or exc
            for link in self.cluster.links.values():
                if link.lost is None and problem is None:
                    try:
                        link.expect(wire.ENDED, wait_s, "END", self.request_id)
                    except GenerationError as exc:
                        problem = exc
        finally:  # whatever the ranks did, the local drafter thread stops and joins
            targets, drafter = self.targets, self.drafter  # proxies have no thread to join
            self.targets = [w for w in targets if not isinstance(w, RankProxy)]
            self.drafter = None if isinstance(drafter, RankProxy) else drafter
            super().close()
            self.targets, self.drafter = targets, drafter
        if problem is not None or self.cluster.broken is not None:
            self.cluster.close()
            if problem is not None:
                raise GenerationError(f"the ranks did not end the request: {problem}") from problem

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self.close()
            return
        # a generation failed: end it on the ranks if they still answer, else tear down (the
        # original error is the one to report)
        with contextlib.suppress(Exception):
            self.close(min(self.request.forward_timeout_s, FAILED_END_S))
        if self.cluster.broken is not None:
            self.cluster.close()
