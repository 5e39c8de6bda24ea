"""The wall-time driver: the one scheduler run for real, on worker threads (SPEC §8.1).

SimPy's ``RealtimeEnvironment`` in one idea: the same event loop as the virtual driver
(:mod:`reference.scheduler.virtual`), paced by the wall clock. Every forward has a *nominal*
start — the instant that started it, in the latency model's time unit — and a nominal end:

* **emulated latency** (``latency`` given: SPEC §10 floors): the floor *is* the forward,
  ``end = start + floor`` exactly, and the real compute that produces its output is hidden
  inside it. The driver takes instant T when the wall clock reaches T and the outputs of
  every forward ending at T have arrived; an output arriving late (compute longer than its
  floor, or a worker delayed by a busy machine) delays the observed clock, not the schedule.
* **real latency** (no floors): the compute is the forward, ``end = arrival of its output``
  (plus the optional ``extra_jitter_s`` floor: ``end = max(start + jitter, arrival)``).

At each instant the scheduler gets *every* forward with that exact (rational) end as one
batch — the virtual driver's simultaneous-event rule (SPEC §4.3 step 9) applied to equal
deadlines, whatever order the threads woke in. With emulated latency the nominal schedule
therefore equals the reference's (tasks, servers, positions, rounds, dispatch order,
cancellations, times), and what the machine adds shows only in the observed times
(``wall_start``, ``wall_end``, ``Result.times``), checked against the prediction within a
tolerance measured from jitter (docs/runtime.md). Nominal times are not charged the driver's
wake-up lag; with ``charge_wakeups=True`` each instant happens when the driver observes it
instead (everything charged: the schedule then drifts by the accumulated lag).

Cancellation (the rule of :mod:`reference.scheduler.base`): an emulated forward is
interruptible, so with ``preemptive=True`` a cancelled one stops at once (a compute still
running for it finishes on its worker, unseen by the schedule); a real compute is not, so a
cancelled forward without floors stops when its output arrives, and its server takes no new
task before. With ``preemptive=False`` a cancelled forward runs to its nominal end. Faults: a
failed forward, a forward computing longer than ``forward_timeout_s`` (a hung server) or no
progress for the stall limit end the generation with
:class:`reference.errors.GenerationError` — never a deadlock.
"""

from __future__ import annotations

import heapq
import threading
import time
from dataclasses import dataclass, replace
from fractions import Fraction

from gpu_runtime.floors import Floors, timer_slack
from gpu_runtime.pool import ServerPool
from gpu_runtime.request import RuntimeRequest
from gpu_runtime.workers import Computed, Failure, Job
from reference.errors import GenerationError
from reference.results import Result, TaskRecord
from reference.scheduler.base import Scheduler
from reference.scheduler.protocol import Ended, Start

POLL_S = 0.05  # how often a silent driver checks for hung forwards


class Inbox:
    """Messages from the workers, each stamped with its arrival time under one lock."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._items: list[tuple[float, object]] = []

    def post(self, message: object) -> None:
        with self._cond:
            self._items.append((time.perf_counter(), message))
            self._cond.notify()

    def drain(self) -> tuple[list[tuple[float, object]], float]:
        """Every message so far and the clock read under the lock: later arrivals are later."""
        with self._cond:
            items, self._items = self._items, []
            return items, time.perf_counter()

    def wait(self, timeout: float) -> None:
        """Block until a message arrives or ``timeout`` seconds pass."""
        with self._cond:
            if not self._items and timeout > 0:
                self._cond.wait(timeout)


@dataclass
class _Flight:
    """A started forward, from its start to its end."""

    start: Start
    job: Job
    deadline: Fraction  # nominal start + floor
    arrival: Fraction | None = None  # nominal time its output arrived
    cancel_at: Fraction | None = None  # cancelled while computing without floors: stops on arrival
    computed: Computed | None = None
    ended: bool = False
    wall_end: float | None = None


class WallDriver:
    """Drive ``scheduler`` in wall time on the workers of ``pool``."""

    def __init__(self, request: RuntimeRequest, scheduler: Scheduler, pool: ServerPool, inbox: Inbox, *,
                 charge_wakeups: bool = False) -> None:
        self.request = request
        self.scheduler = scheduler
        self.pool = pool
        self.inbox = inbox
        self.floors: Floors = request.floors
        self.emulated = request.floors.latency is not None
        self.unit = Fraction(self.floors.time_unit_s)
        self.charge_wakeups = charge_wakeups
        self.flights: dict[int, _Flight] = {}
        self.heap: list[tuple[Fraction, int, int]] = []  # (nominal end, sequence, forward id)
        self.sequence = 0
        self.token_walls: list[float] = []
        self.overruns = 0  # instants that waited for an output past their nominal time
        self.busy_s = 0.0  # the driver's own processing (scheduler, cancellations, dispatches)
        self.stall_s = 2 * request.forward_timeout_s + 10 * self.floors.longest_s()
        self.t0 = 0.0
        self._progress = 0.0

    # ------------------------------------------------------------------ clocks

    def _nominal(self, wall: float) -> Fraction:
        """perf_counter reading → nominal time units since the start (exact)."""
        return Fraction(wall - self.t0) / self.unit

    def _wall(self, nominal: Fraction) -> float:
        return self.t0 + float(nominal * self.unit)

    # ------------------------------------------------------------------ loop

    def run(self) -> Result:
        """Run until the scheduler is finished; its result with observed times added."""
        previous_slack = timer_slack(1)
        try:
            self.t0 = self._progress = time.perf_counter()
            self._instant(Fraction(0), [])
            while not self.scheduler.finished:
                self._instant(*self.next_instant())
        finally:
            if previous_slack is not None:
                timer_slack(previous_slack)
        return self._result()

    def _instant(self, time_: Fraction, ended: list[Ended]) -> None:
        """One instant, and the driver's own processing time for it (``busy_s``)."""
        began = time.perf_counter()
        try:
            self._handle_instant(time_, ended, began)
        finally:
            self.busy_s += time.perf_counter() - began

    def _handle_instant(self, time_: Fraction, ended: list[Ended], now: float) -> None:
        scheduler = self.scheduler
        self._progress = now
        wall = now - self.t0
        if self.charge_wakeups:  # the instant happens when it is observed
            time_ = max(time_, self._nominal(now))
        for event in ended:
            self.flights[event.forward_id].wall_end = wall
        emitted = len(scheduler.tokens)
        cancelled = scheduler.resolve(time_, ended)
        self.token_walls += [wall] * (len(scheduler.tokens) - emitted)
        if scheduler.finished:  # everything still running is cancelled, or was and still computes
            cancelled += scheduler.finish(time_)
            cancelled += [f for f, flight in self.flights.items() if not flight.ended and f not in cancelled]
        stopped = self.cancel(time_, cancelled, wall, final=scheduler.finished)
        scheduler.stop(time_, stopped)
        if scheduler.finished:
            self.close_books()
            return
        for start in scheduler.dispatch(time_):
            self.launch(start, time_)

    def launch(self, start: Start, at: Fraction) -> None:
        floor = self.floors.units(start.role, start.server, start.forward_index, prefill=start.prefill,
                                  positions=start.positions)
        deadline = at + floor
        flight = _Flight(start, Job(start, deadline=self._wall(deadline) if self.emulated else None), deadline)
        self.flights[start.forward_id] = flight
        if self.emulated:  # the end is known now
            self._push(flight.deadline, start.forward_id)
        self.pool.worker(start.role, start.server).submit(flight.job)

    def _push(self, end: Fraction, forward_id: int) -> None:
        heapq.heappush(self.heap, (end, self.sequence, forward_id))
        self.sequence += 1

    def cancel(self, time_: Fraction, forward_ids: list[int], wall: float, *, final: bool) -> list[int]:
        """Apply the cancellation rule; the forwards that stop now. After the last token
        (``final``) nothing is waited for: every cancelled forward stops at that instant."""
        if not self.scheduler.preemptive:
            return []  # every cancelled forward runs to its nominal end
        stopped = []
        for forward_id in forward_ids:
            flight = self.flights[forward_id]
            flight.job.cancel()
            if self.emulated or final:  # an emulated forward is interruptible
                flight.ended, flight.wall_end = True, wall
                stopped.append(forward_id)
            else:  # a real compute is not: it stops when its output arrives
                flight.cancel_at = time_
        return stopped

    def close_books(self) -> None:
        """Non-preemptive: the forwards still running after the last token end at their nominal
        ends (recorded, not waited for); their compute is abandoned."""
        running = [(forward_id, flight) for forward_id, flight in self.flights.items() if not flight.ended]
        for forward_id, flight in sorted(running, key=lambda item: item[1].deadline):
            if not flight.ended:
                flight.ended = True
                flight.job.cancel()
                late = flight.arrival if flight.arrival is not None and not self.emulated else flight.deadline
                self.scheduler.resolve(max(flight.deadline, late), [Ended(forward_id)])

    def arrived(self, stamp: float, message: object) -> None:
        if isinstance(message, Failure):
            error = message.error
            raise GenerationError(f"{message.server} failed on {message.what}: {type(error).__name__}: "
                                  f"{error}") from error
        assert isinstance(message, Computed)
        flight = self.flights[message.forward_id]
        flight.computed, flight.arrival = message, self._nominal(stamp)
        if not self.emulated and not flight.ended:
            floor = flight.cancel_at if flight.cancel_at is not None else flight.deadline
            self._push(max(floor, flight.arrival), message.forward_id)

    def next_instant(self) -> tuple[Fraction, list[Ended]]:
        """Wait for the earliest nominal end whose outputs have all arrived; every forward
        ending then, as one instant."""
        while True:
            messages, now = self.inbox.drain()
            for stamp, message in messages:
                self.arrived(stamp, message)
            while self.heap and self.flights[self.heap[0][2]].ended:
                heapq.heappop(self.heap)
            timeout = POLL_S
            if self.heap:
                time_ = self.heap[0][0]
                due = self._wall(time_)
                if now >= due:
                    if self.outputs_in(time_):
                        return time_, self.pop_instant(time_)
                    self.overruns += 1  # an output is late: wait for it (the schedule is unchanged)
                else:
                    timeout = min(timeout, due - now)
            self._check_progress(now)
            self.inbox.wait(timeout)

    def outputs_in(self, time_: Fraction) -> bool:
        """Every live forward ending at ``time_`` has delivered its output."""
        return all(self.flights[forward_id].computed is not None or self.flights[forward_id].ended
                   for end, _, forward_id in self.heap if end == time_)

    def pop_instant(self, time_: Fraction) -> list[Ended]:
        ended = []
        while self.heap and self.heap[0][0] == time_:
            _, _, forward_id = heapq.heappop(self.heap)
            flight = self.flights[forward_id]
            if flight.ended:
                continue
            flight.ended = True
            out = flight.computed
            assert out is not None
            ended.append(Ended(forward_id, target_probs=out.target_probs, draft=out.draft,
                               draft_probs=out.draft_probs))
        return ended

    def _check_progress(self, now: float) -> None:
        limit = self.request.forward_timeout_s
        for worker in self.pool.workers():
            since = worker.busy_since
            if since is not None and now - since > limit:
                raise GenerationError(f"{worker.name} did not finish its forward within "
                                      f"forward_timeout_s={limit} s (hung server)")
        if now - self._progress > self.stall_s:
            raise GenerationError(f"no progress for {self.stall_s:.3g} s: generation stalled")

    # ------------------------------------------------------------------ result

    def _record(self, record: TaskRecord) -> TaskRecord:
        """The scheduler's record (nominal times) plus what the worker and the driver observed."""
        flight = self.flights.get(record.task_id)
        if flight is None:  # cancelled in the queue: never started
            return record
        out = flight.computed
        observed: dict = {}
        if out is not None:  # when the server took the job (a skipped one: when it dropped it)
            observed["wall_start"] = out.compute_start - self.t0
        if out is not None and not out.skipped:
            observed.update(tokens_processed=out.tokens_processed, cache_reused=out.cache_reused,
                            input_ids=out.input_ids)
        return replace(record, wall_end=flight.wall_end, **observed)

    def _result(self) -> Result:
        result = self.scheduler.result()
        return replace(result, times=tuple(self.token_walls), nominal_times=result.times,
                       trace=tuple(map(self._record, result.trace)),
                       params={**result.params, "engine": "runtime", "time_unit_s": self.floors.time_unit_s,
                               "overruns": self.overruns, "driver_busy_s": self.busy_s})
