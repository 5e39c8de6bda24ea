"""Servers: one drafter and N targets, each a worker thread bound to a device (SPEC §8).

A server owns its KV cache for the request (:class:`ServerCache`) and runs one forward at
a time; its results go to the orchestrator's event queue as :class:`TaskDone`,
:class:`DraftDone` or :class:`ServerFailure`. Every forward is

    start → crop the cache to the reusable prefix → forward the rest (on the server's
    device and stream) → sync → validate and process p or q → sleep to start + floor

and the sleep is interrupted by a cancellation (preemption frees the server at once).

* :class:`TargetServer` takes :class:`gpu_runtime.trace.TargetTask`s from its inbox, in
  order; a task cancelled before it starts is skipped.
* :class:`DrafterServer` drafts back to back on its own speculative prefix without waiting
  for anyone (DSI step 2): it is given a :class:`DraftCommand` (round, verified tokens,
  positions start..stop−1) and posts each draft; a newer command preempts the current one.

Threads are daemons: a forward that never returns cannot block interpreter exit, and the
orchestrator reports it as a timeout (CPython cannot kill a thread, SPEC §10).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gpu_runtime.devices import DeviceBinding
from gpu_runtime.floors import precise_timers, sleep_until
from gpu_runtime.models import RuntimeModel
from gpu_runtime.request import RuntimeRequest
from gpu_runtime.trace import DraftRecord, TargetTask
from reference.errors import GenerationError


@dataclass(frozen=True)
class TaskDone:
    task: TargetTask
    target_probs: list[np.ndarray]  # processed p at positions first..last
    at: float  # perf_counter at which the forward ended (its floor's deadline)


@dataclass(frozen=True)
class DraftDone:
    round: int
    position: int
    draft: int
    draft_probs: np.ndarray  # processed q at ``position``
    at: float  # perf_counter at which the draft's forward ended (its floor's deadline)


@dataclass(frozen=True)
class ServerFailure:
    server: str
    what: str
    error: BaseException


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

    def forward(self, ids: tuple[int, ...], need: int) -> tuple[np.ndarray, int]:
        """Raw probs (need, V) at the ``need`` newest positions of ``ids``, and positions reused.

        Reuses ``min(LCP(cached ids, ids), len(ids) − need)`` positions and processes the rest.
        """
        reused = min(common_prefix_length(self.ids, ids), len(ids) - need)
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


class _Server:
    """What target and drafter servers share: thread, cache, floors, timing."""

    role = "target"

    def __init__(self, name: str, index: int, model: RuntimeModel, binding: DeviceBinding,
                 request: RuntimeRequest, events: queue.SimpleQueue, t0: float) -> None:
        self.name = name
        self.index = index
        self.binding = binding
        self.request = request
        self.events = events
        self.t0 = t0
        self.cache = ServerCache(model)
        self.forwards = 0
        self.prefilled = False  # a forward of this request has completed on this server
        self.busy_since: float | None = None  # perf_counter when the running compute began
        self.free_at = 0.0  # perf_counter at which the previous forward ended (its deadline)
        self.started = 0.0  # perf_counter at which the current forward started
        self.thread = threading.Thread(target=self._run_thread, name=f"dsi-{name}", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _loop(self) -> None:
        raise NotImplementedError

    def _run_thread(self) -> None:
        precise_timers()
        self._loop()

    def _compute(self, ids: tuple[int, ...], need: int, launched: float,
                 on_start: Callable[[float, bool], None]) -> tuple[list[np.ndarray], int, float]:
        """Start a forward: (processed rows, positions reused, floor deadline in perf_counter s).

        In the emulated timeline the forward starts at ``max(launched, free_at)`` — when it was
        launched, or when this server's previous forward ended — and its floor runs from there;
        it ends at the later of the floor's deadline and the end of the compute.
        """
        start = self.started = max(launched, self.free_at)
        prefill = not self.prefilled
        floor = self.request.floors.seconds(self.role, self.index, self.forwards, prefill=prefill)
        self.forwards += 1
        on_start(start - self.t0, prefill)
        self.busy_since = time.perf_counter()
        with self.binding.active():
            raw, reused = self.cache.forward(ids, need)
        self.binding.synchronize()
        rows = [self.request.processed(row, name=self.role) for row in raw]
        self.busy_since = None
        return rows, reused, max(start + floor, time.perf_counter())

    def _finish(self, deadline: float, interrupt: threading.Event,
                cancelled_at: Callable[[], float]) -> tuple[float, bool]:
        """Sleep to the deadline unless interrupted; the forward's end (perf_counter s).

        An interrupted forward ends when it was cancelled in the emulated timeline
        (``cancelled_at()``, the orchestrator's launch time of the cancelling instant), but not
        before it started: a server's forwards stay in order on its timeline.
        """
        interrupted = sleep_until(deadline, interrupt)
        cancelled = max(self.started, min(time.perf_counter(), cancelled_at()))
        self.free_at = cancelled if interrupted else deadline
        self.prefilled |= not interrupted  # a preempted prefill is paid again, as in the reference
        return self.free_at, interrupted


class TargetServer(_Server):
    """A target server: runs the tasks put in its inbox, in order."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.inbox: queue.SimpleQueue[TargetTask | None] = queue.SimpleQueue()

    def submit(self, task: TargetTask) -> None:
        self.inbox.put(task)

    def stop(self) -> None:
        self.inbox.put(None)

    def _loop(self) -> None:
        while (task := self.inbox.get()) is not None:
            if task.cancel.is_set():
                continue  # cancelled before it started
            try:
                self._run(task)
            except BaseException as exc:  # reported; the orchestrator ends the generation
                self.busy_since = None
                self.events.put(ServerFailure(self.name, f"task {task.task_id} ({task.kind} "
                                              f"{task.first}..{task.last})", exc))

    def _run(self, task: TargetTask) -> None:
        def on_start(start: float, prefill: bool) -> None:
            task.start, task.prefill = start, prefill

        need = task.last - task.first + 1
        rows, reused, deadline = self._compute(task.input_ids, need, task.launched, on_start)
        task.cache_reused, task.tokens_processed = reused, len(task.input_ids) - reused
        end, _ = self._finish(deadline, task.cancel, lambda: task.cancel_at)
        task.end = end - self.t0
        self.events.put(TaskDone(task, rows, end))


@dataclass(frozen=True)
class DraftCommand:
    """Draft positions start..stop−1 of round ``round`` after ``generated`` (verified tokens).

    preempt: a newer command interrupts the running draft (else it runs to its end and is
    discarded).
    """

    round: int
    generated: tuple[int, ...]
    start: int
    stop: int
    preempt: bool = True
    launched: float = 0.0  # perf_counter when the command was issued


class DrafterServer(_Server):
    """The drafter: drafts back to back on its own speculative prefix (DSI step 2)."""

    role = "drafter"

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.records: list[DraftRecord] = []
        self._lock = threading.Lock()
        self._pending: DraftCommand | None = None
        self._stopping = False
        self._wake = threading.Event()  # a command (or stop) is pending
        self._interrupt = threading.Event()  # a preemptive command (or stop) is pending

    def command(self, command: DraftCommand) -> None:
        with self._lock:
            self._pending = command
            self._wake.set()
            if command.preempt:
                self._interrupt.set()

    def _pending_launch(self) -> float:
        with self._lock:
            pending = self._pending
        return pending.launched if pending is not None else time.perf_counter()

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
            self._wake.set()
            self._interrupt.set()

    def _loop(self) -> None:
        command: DraftCommand | None = None
        drafts: list[int] = []
        while True:
            with self._lock:
                if self._stopping:
                    return
                if self._pending is not None:
                    command, self._pending, drafts = self._pending, None, []
                    self._interrupt.clear()
                self._wake.clear()
            if command is None or command.start + len(drafts) >= command.stop:
                self._wake.wait()
                continue
            try:
                self._draft_one(command, drafts)
            except BaseException as exc:
                self.busy_since = None
                self.events.put(ServerFailure(self.name, f"draft at position "
                                              f"{command.start + len(drafts)}", exc))
                command = None

    def _draft_one(self, command: DraftCommand, drafts: list[int]) -> None:
        position = command.start + len(drafts)
        ids = self.request.prompt + command.generated + tuple(drafts)
        starts: list[tuple[float, bool]] = []
        launched = command.launched if not drafts else 0.0  # else: right after the previous draft
        rows, reused, deadline = self._compute(
            ids, 1, launched, lambda start, prefill: starts.append((start, prefill)))
        draft = self.request.draft(position, rows[0])
        end, interrupted = self._finish(deadline, self._interrupt, self._pending_launch)
        if not interrupted:
            self.events.put(DraftDone(command.round, position, draft, rows[0], end))
            drafts.append(draft)
            time.sleep(0)  # yield the GIL: the orchestrator reacts before the next draft computes
        end -= self.t0
        start, prefill = starts[0]
        self.records.append(DraftRecord(position, command.round, start, end,
                                        end if interrupted else None, prefill,
                                        len(ids) - reused, reused, ids))
