"""The virtual-time driver: a scheduler run in exact rational time on reference models.

The event loop is a deterministic heap ``(end time, sequence, forward id)``. A forward that
starts at t ends at ``t + LatencyModel.duration(role, server, index, prefill=...,
positions=...)`` (SPEC §2, §10); its output is computed from the models when it is delivered (and only at the positions
the scheduler still needs). At each instant the driver hands the scheduler every forward
ending then, as one batch (SPEC §4.3 step 9), then applies the cancellation rule of
:mod:`reference.scheduler.base`: there is no compute in virtual time, so with
``preemptive=True`` a cancelled forward stops at once, and with ``preemptive=False`` it runs
to its scheduled end. Times are ``Fraction``s in the latency model's unit.
"""

from __future__ import annotations

import heapq
from fractions import Fraction

from reference.algorithms.canonical import Request
from reference.results import Result
from reference.scheduler.base import Scheduler
from reference.scheduler.protocol import Ended, Start, Time


class VirtualDriver:
    """Drive ``scheduler`` for ``request`` in virtual time."""

    def __init__(self, request: Request, scheduler: Scheduler) -> None:
        self.request = request
        self.scheduler = scheduler
        self.heap: list[tuple[Time, int, int]] = []
        self.commands: dict[int, Start] = {}
        self.stopped: set[int] = set()
        self.sequence = 0

    def run(self) -> Result:
        """Run until the scheduler is finished; the scheduler's result."""
        scheduler = self.scheduler
        self._instant(Fraction(0), [])
        while not scheduler.finished:
            if not self.heap:
                raise AssertionError(f"{scheduler.algorithm} stalled with {len(scheduler.tokens)} tokens")
            time = self.heap[0][0]
            self._instant(time, self._pop_instant(time))
        while self.heap:  # forwards that run to their scheduled end after the last token
            time = self.heap[0][0]
            scheduler.resolve(time, self._pop_instant(time))
        return scheduler.result()

    def _pop_instant(self, time: Time) -> list[Ended]:
        ended = []
        while self.heap and self.heap[0][0] == time:
            _, _, forward_id = heapq.heappop(self.heap)
            if forward_id not in self.stopped:
                ended.append(self._output(forward_id))
        return ended

    def _instant(self, time: Time, ended: list[Ended]) -> None:
        scheduler = self.scheduler
        cancelled = scheduler.resolve(time, ended)
        if scheduler.finished:
            cancelled += scheduler.finish(time)
        if scheduler.preemptive:
            scheduler.stop(time, cancelled)
            self.stopped.update(cancelled)
        for start in scheduler.dispatch(time):
            self.commands[start.forward_id] = start
            duration = self.request.latency.duration(start.role, start.server, start.forward_index,
                                                     prefill=start.prefill, positions=start.positions)
            heapq.heappush(self.heap, (time + duration, self.sequence, start.forward_id))
            self.sequence += 1

    def _output(self, forward_id: int) -> Ended:
        """The forward's output from the models, at the positions still needed."""
        start = self.commands[forward_id]
        needed = self.scheduler.needed_positions(forward_id)
        if start.role == "target":
            rows = {j: self.request.target_probs(start.generated[:j]) for j in needed}
            return Ended(forward_id, target_probs=rows)
        if not needed:
            return Ended(forward_id)
        draft, draft_probs = self.request.draft(start.first, start.generated)
        return Ended(forward_id, draft=draft, draft_probs=draft_probs)
