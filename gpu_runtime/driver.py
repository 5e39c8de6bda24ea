"""The wall-time driver: the one scheduler run for real, on worker threads (SPEC §12).

SimPy's ``RealtimeEnvironment`` in one idea: the same event loop as the virtual driver
(:mod:`reference.scheduler.virtual`), paced by the wall clock. Each forward has a *nominal*
start (the instant that started it, in the latency model's time unit) and a nominal end,

    end = max(start + floor, arrival of its output)          (time units, exact rationals)

where the floor is the emulated latency (:mod:`gpu_runtime.floors`, 0 without floors) and
the arrival is when the worker's output reached the driver. The driver sleeps until the
wall clock reaches the earliest nominal end T, then hands the scheduler *every* forward with
end exactly T as one instant — the virtual driver's simultaneous-event rule (SPEC §4.3 step 9)
applied to equal deadlines, whatever order the threads woke in. A forward still computing
then cannot end at or before T: its output would arrive after the instant was taken (arrivals
are stamped under the inbox's lock, and the driver reads the clock under the same lock).

So when floors exceed compute, nominal times equal the reference's virtual times exactly and
the trace (tasks, servers, positions, rounds, dispatch order, cancellations) equals the
reference's; what the machine adds shows in the observed times (``wall_start``, ``wall_end``,
``Result.times``), checked against the prediction within a tolerance measured from jitter
(docs/runtime.md). Nominal times are not charged the driver's wake-up lag; with
``charge_wakeups=True`` each instant happens when the driver observes it instead (everything
charged: the schedule then drifts from the virtual one by the accumulated lag).

Cancellation (the rule of :mod:`reference.scheduler.base`): with ``preemptive=True`` the floor
is interruptible and compute is not, so a cancelled forward whose output has arrived stops at
once, and one still computing stops when its compute ends (its server is busy until then:
no task is dispatched to it meanwhile). With ``preemptive=False`` a cancelled forward runs to
its nominal end. Faults: a failed forward, a forward computing longer than
``forward_timeout_s`` (a hung server) or no progress at all for the stall limit end the
generation with :class:`reference.errors.GenerationError` — never a deadlock.
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
    cancel_at: Fraction | None = None  # set when stopping waits for the compute to end
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
        self.unit = Fraction(self.floors.time_unit_s)
        self.charge_wakeups = charge_wakeups
        self.flights: dict[int, _Flight] = {}
        self.heap: list[tuple[Fraction, int, int]] = []
        self.sequence = 0
        self.token_walls: list[float] = []
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
                self._instant(*self._next_instant())
        finally:
            if previous_slack is not None:
                timer_slack(previous_slack)
        return self._result()

    def _instant(self, time_: Fraction, ended: list[Ended]) -> None:
        scheduler = self.scheduler
        now = time.perf_counter()
        self._progress = now
        wall = now - self.t0
        if self.charge_wakeups:  # the instant happens when it is observed
            time_ = max(time_, self._nominal(now))
        for event in ended:
            self.flights[event.forward_id].wall_end = wall
        emitted = len(scheduler.tokens)
        cancelled = scheduler.resolve(time_, ended)
        self.token_walls += [wall] * (len(scheduler.tokens) - emitted)
        if scheduler.finished:
            cancelled += scheduler.finish(time_)
        stopped = self._cancel(time_, cancelled, wall, final=scheduler.finished)
        scheduler.stop(time_, stopped)
        if scheduler.finished:
            self._close_books()
            return
        for start in scheduler.dispatch(time_):
            self._launch(start, time_)

    def _launch(self, start: Start, at: Fraction) -> None:
        floor = self.floors.units(start.role, start.server, start.forward_index, prefill=start.prefill)
        flight = _Flight(start, Job(start), at + floor)
        self.flights[start.forward_id] = flight
        self.pool.worker(start.role, start.server).submit(flight.job)

    def _cancel(self, time_: Fraction, forward_ids: list[int], wall: float, *, final: bool) -> list[int]:
        """Apply the cancellation rule; the forwards that stop now. After the last token
        (``final``) nothing is waited for: every cancelled forward stops at that instant."""
        if not self.scheduler.preemptive:
            return []  # every cancelled forward runs to its nominal end
        stopped = []
        for forward_id in forward_ids:
            flight = self.flights[forward_id]
            flight.job.cancelled.set()
            if flight.computed is not None or final:  # compute done: the floor is cut at once
                flight.ended, flight.wall_end = True, wall
                stopped.append(forward_id)
            else:  # still computing (or about to start): stops when that ends
                flight.cancel_at = time_
        return stopped

    def _close_books(self) -> None:
        """Non-preemptive: the forwards still running after the last token end at their nominal
        ends (recorded, not waited for); their compute is abandoned."""
        for forward_id, flight in sorted(self.flights.items(), key=lambda item: item[1].deadline):
            if not flight.ended:
                flight.ended = True
                flight.job.cancelled.set()
                self.scheduler.resolve(flight.deadline, [Ended(forward_id)])

    def _arrived(self, stamp: float, message: object) -> None:
        if isinstance(message, Failure):
            error = message.error
            raise GenerationError(f"{message.server} failed on {message.what}: {type(error).__name__}: "
                                  f"{error}") from error
        assert isinstance(message, Computed)
        flight = self.flights[message.forward_id]
        flight.computed = message
        arrival = self._nominal(stamp)
        end = max(flight.cancel_at, arrival) if flight.cancel_at is not None else max(flight.deadline, arrival)
        heapq.heappush(self.heap, (end, self.sequence, message.forward_id))
        self.sequence += 1

    def _next_instant(self) -> tuple[Fraction, list[Ended]]:
        """Wait for the earliest nominal end; every forward ending then, as one instant."""
        while True:
            messages, now = self.inbox.drain()
            for stamp, message in messages:
                self._arrived(stamp, message)
            while self.heap and self.flights[self.heap[0][2]].ended:
                heapq.heappop(self.heap)
            timeout = POLL_S
            if self.heap:
                time_ = self.heap[0][0]
                due = self._wall(time_)
                if now >= due:
                    return time_, self._pop_instant(time_)
                timeout = min(timeout, due - now)
            self._check_progress(now)
            self.inbox.wait(timeout)

    def _pop_instant(self, time_: Fraction) -> list[Ended]:
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
        """Nominal times in seconds, plus what the worker and the driver observed."""
        unit = float(self.unit)

        def seconds(value: Fraction | None) -> float | None:
            return None if value is None else float(value) * unit

        flight = self.flights.get(record.task_id)
        out = flight.computed if flight is not None else None
        observed = {}
        if out is not None and not out.skipped:
            observed = {"wall_start": out.compute_start - self.t0, "tokens_processed": out.tokens_processed,
                        "cache_reused": out.cache_reused, "input_ids": out.input_ids}
        return replace(record, dispatch=seconds(record.dispatch), start=seconds(record.start),
                       end=seconds(record.end), cancelled=seconds(record.cancelled),
                       wall_end=flight.wall_end if flight is not None else None, **observed)

    def _result(self) -> Result:
        result = self.scheduler.result()
        return replace(result, times=tuple(self.token_walls), trace=tuple(map(self._record, result.trace)),
                       params={**result.params, "engine": "runtime"})
