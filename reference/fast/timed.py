"""Latencies of acceptance paths under a full latency model: prefill, warm start, cost by positions.

The vectorised recurrences of :mod:`reference.fast.exact` assume every target forward costs
1 and no prefill. A real target on a CPU breaks both (a forward over k + 1 positions costs
more than one over 1; the first forward is a prefill), so this module times the same
schedules under a :class:`reference.latency.LatencyModel` — decode and prefill latencies,
``positions_cost`` (:meth:`LatencyModel.duration` with the number of positions each target
forward delivers), warm start, preemptive or not — on an acceptance path (``accept[i]``:
the draft at output position i is accepted), without models or tokens:

* :func:`nonsi_time` — token i at ``r_i = r_{i−1} + max(target(i), drafter(i))`` (the
  drafter computes alongside; ``with_drafter=False`` is plain decoding);
* :func:`si_time` — iterations of ``kk = min(k, S − n − 1)`` drafts then one target forward
  delivering ``kk + 1`` positions, overlapped with the bonus draft;
* :func:`dsi_time` — the DSI schedule of SPEC §4.3 in time only: rounds, frontier tasks
  (1 position), windows (their drafts plus the bonus position), the frontier chain, FIFO
  over N servers, preemption at a rejection, the three-phase tie rule, warm start.

This is an independent encoding of the schedules, as the vectorised recurrences are: tests
check it against the reference's event simulation (``reference.generate`` on an
:class:`~reference.toy_models.AcceptancePathPair`) on random paths, latencies, prefill and
warm start with unit costs, and against the recurrences of :mod:`reference.fast.exact`.
Times are exact integers in ticks of the latency model's common denominator (returned as
floats in its unit); jitter is not modelled.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from reference.errors import ConfigError, check_count
from reference.latency import LatencyModel


class Durations:
    """Durations of a latency model without jitter as exact integers in ticks of 1/``denominator``.

    Every latency (``target_decode · positions_cost(s)`` for every s, the extrapolated ones
    included, and the messages a forward pays) is a multiple of the tick, so simultaneous
    events stay simultaneous (the tie rule of SPEC §4.3 needs exact times) and the arithmetic
    is integer, not Fraction.
    """

    def __init__(self, latency: LatencyModel) -> None:
        if latency.jitter:
            raise ConfigError("the timed fast simulator does not model jitter; use jitter = 0")
        self.latency = latency
        values = [latency.target_decode, latency.drafter_decode,
                  *(v for v in (latency.target_prefill, latency.drafter_prefill) if v is not None),
                  *(latency.target_decode * v for v in latency.target_positions_cost),
                  latency.messages("target"), latency.messages("drafter")]  # every duration adds these
        self.denominator = math.lcm(*(v.denominator for v in values))
        self._memo: dict[tuple[str, bool, int], int] = {}

    def __call__(self, role: str, *, prefill: bool, positions: int = 1) -> int:
        key = (role, prefill, positions)
        value = self._memo.get(key)
        if value is None:
            exact = self.latency.duration(role, 0, 0, prefill=prefill, positions=positions) * self.denominator
            assert exact.denominator == 1, exact
            value = self._memo[key] = int(exact)
        return value

    def seconds(self, ticks: int) -> float:
        """Ticks back in the latency model's unit."""
        return ticks / self.denominator


@dataclass(frozen=True)
class TimedRun:
    """Latency (the latency model's unit) and the forwards started (cancelled ones included:
    their compute was spent) of one schedule on one acceptance path."""

    latency: float
    target_forwards: int
    drafter_forwards: int


def _check(accept: Sequence[bool], lookahead: int = 1, num_target_servers: int | None = None) -> list[bool]:
    path = [bool(a) for a in accept]
    if not path:
        raise ConfigError("an acceptance path needs at least one position (S >= 1)")
    check_count(lookahead, "lookahead k")
    check_count(num_target_servers, "num_target_servers N", allow_none=True)
    return path


def nonsi_time(accept: Sequence[bool], latency: LatencyModel, *, with_drafter: bool = True) -> TimedRun:
    """non-SI latency: one target forward per token (the first a prefill), drafter alongside."""
    path = _check(accept)
    cost = Durations(latency)
    t = 0
    for i in range(len(path)):
        step = cost("target", prefill=i == 0)
        if with_drafter:
            step = max(step, cost("drafter", prefill=i == 0))
        t += step
    S = len(path)
    return TimedRun(cost.seconds(t), S, S if with_drafter else 0)


def si_time(accept: Sequence[bool], lookahead: int, latency: LatencyModel) -> TimedRun:
    """SI(k) latency: per iteration kk drafts, then a target forward over kk + 1 positions
    overlapped with the bonus draft; tokens gained = accepted prefix + 1."""
    path = _check(accept, lookahead)
    cost = Durations(latency)
    S = len(path)
    t, n, drafter_forwards, target_forwards = 0, 0, 0, 0
    while n < S:
        kk = min(lookahead, S - n - 1)
        for _ in range(kk):
            t += cost("drafter", prefill=drafter_forwards == 0)
            drafter_forwards += 1
        verify = cost("target", prefill=target_forwards == 0, positions=kk + 1)
        bonus = cost("drafter", prefill=drafter_forwards == 0)
        target_forwards += 1
        drafter_forwards += 1
        t += max(verify, bonus)
        run = 0
        while run < kk and path[n + run]:
            run += 1
        n += run + 1
    return TimedRun(cost.seconds(t), target_forwards, drafter_forwards)


@dataclass(eq=False)
class _Task:
    kind: str  # "frontier", "window", "warmup"
    first: int
    last: int
    state: str = "queued"  # queued, running, done, cancelled
    server: int = -1

    def covers(self, position: int) -> bool:
        return self.first <= position <= self.last


@dataclass(eq=False)
class _Draft:
    position: int
    round: int


@dataclass
class _DSI:
    path: list[bool]
    k: int
    N: int | None
    cost: Durations
    preemptive: bool
    t: int = 0  # ticks
    resolved: int = 0
    round: int = -1
    drafted: set[int] = field(default_factory=set)
    target_p: set[int] = field(default_factory=set)
    frontier_requests: list[int] = field(default_factory=list)
    next_draft: int = 0
    next_window_first: int = 0
    live: list[_Task] = field(default_factory=list)  # queued or running tasks of this round
    queue: deque = field(default_factory=deque)
    server_task: list = field(default_factory=list)
    server_prefilled: list = field(default_factory=list)
    drafter_busy: _Draft | None = None
    drafter_prefilled: bool = False
    heap: list = field(default_factory=list)
    sequence: int = 0
    target_forwards: int = 0
    drafter_forwards: int = 0

    def __post_init__(self) -> None:
        self.S = len(self.path)  # the paper's name for the number of new tokens

    def push(self, time: int, event: object) -> None:
        heapq.heappush(self.heap, (time, self.sequence, event))
        self.sequence += 1

    def start_round(self, first: int) -> None:
        self.round += 1
        self.drafted.clear()
        self.target_p.clear()
        self.next_draft = self.next_window_first = first
        if first < self.S:
            self.frontier_requests.append(first)

    def warm_up(self) -> None:
        """Servers 1..N−1 prefill the prompt at t = 0; server 0's prefill is the first frontier task."""
        assert self.N is not None
        self.server_task.append(None)
        self.server_prefilled.append(False)
        for server in range(1, self.N):
            task = _Task("warmup", 0, 0, state="running", server=server)
            self.server_task.append(task)
            self.server_prefilled.append(False)
            self.target_forwards += 1
            self.push(self.t + self.cost("target", prefill=True), task)

    def complete(self, event: object) -> None:
        if isinstance(event, _Draft):
            if self.drafter_busy is not event:
                return  # preempted
            self.drafter_busy = None
            self.drafter_prefilled = True
            if event.round == self.round:
                self.drafted.add(event.position)
            return
        task: _Task = event  # type: ignore[assignment]
        if self.server_task[task.server] is not task:
            return  # preempted earlier: its server was freed then
        self.server_task[task.server] = None
        self.server_prefilled[task.server] = True
        if task.kind == "warmup" or task.state == "cancelled":
            task.state = "done" if task.kind == "warmup" else task.state
            return
        task.state = "done"
        self.live.remove(task)
        self.target_p.update(range(max(task.first, self.resolved), task.last + 1))

    def resolutions(self) -> None:
        while self.resolved < self.S:
            i = self.resolved
            if i not in self.target_p or i not in self.drafted:
                return
            self.resolved += 1
            if self.path[i]:
                for task in list(self.live):
                    if task.last <= i:
                        self.cancel(task)
                if i < self.S - 1 and not self.p_coming_at(i + 1):
                    self.frontier_requests.append(i + 1)
            else:
                for task in list(self.live):
                    self.cancel(task)
                self.frontier_requests.clear()
                if self.drafter_busy is not None and self.preemptive:
                    self.drafter_busy = None
                self.start_round(i + 1)

    def p_coming_at(self, position: int) -> bool:
        if position in self.target_p or position in self.frontier_requests:
            return True
        return any(task.covers(position) for task in self.live)

    def cancel(self, task: _Task) -> None:
        if task.state == "queued":
            self.queue.remove(task)
        elif task.state == "running" and self.preemptive:
            self.server_task[task.server] = None
        task.state = "cancelled"
        self.live.remove(task)

    def dispatches(self) -> None:
        for position in self.frontier_requests:
            self.enqueue("frontier", position, position)
        self.frontier_requests.clear()
        last_window_draft = self.S - 2
        while self.next_window_first <= last_window_draft:
            first = self.next_window_first
            newest = min(first + self.k - 1, last_window_draft)
            if newest not in self.drafted:
                break
            self.enqueue("window", first, newest + 1)
            self.next_window_first = newest + 1
        if self.drafter_busy is None and self.next_draft < self.S:
            draft = _Draft(self.next_draft, self.round)
            self.drafter_busy = draft
            self.next_draft += 1
            self.drafter_forwards += 1
            self.push(self.t + self.cost("drafter", prefill=not self.drafter_prefilled), draft)
        while self.queue:
            server = self.free_server()
            if server is None:
                return
            task = self.queue.popleft()
            duration = self.cost("target", prefill=not self.server_prefilled[server],
                                 positions=task.last - task.first + 1)
            task.state, task.server = "running", server
            self.server_task[server] = task
            self.target_forwards += 1
            self.push(self.t + duration, task)

    def enqueue(self, kind: str, first: int, last: int) -> None:
        task = _Task(kind, first, last)
        self.live.append(task)
        self.queue.append(task)

    def free_server(self) -> int | None:
        for server, task in enumerate(self.server_task):
            if task is None:
                return server
        if self.N is None or len(self.server_task) < self.N:
            self.server_task.append(None)
            self.server_prefilled.append(False)
            return len(self.server_task) - 1
        return None

    def run(self, warm_start: bool) -> TimedRun:
        self.start_round(0)
        if warm_start:
            self.warm_up()
        self.dispatches()
        while self.heap and self.resolved < self.S:
            self.t = self.heap[0][0]
            while self.heap and self.heap[0][0] == self.t:
                self.complete(heapq.heappop(self.heap)[2])
            self.resolutions()
            if self.resolved >= self.S:
                break
            self.dispatches()
        if self.resolved < self.S:
            raise AssertionError("timed DSI stalled before resolving every position")
        return TimedRun(self.cost.seconds(self.t), self.target_forwards, self.drafter_forwards)


def dsi_time(accept: Sequence[bool], lookahead: int, num_target_servers: int | None, latency: LatencyModel,
             *, preemptive: bool = True, warm_start: bool = False) -> TimedRun:
    """DSI(k, N) latency of one acceptance path under ``latency`` (module docstring)."""
    path = _check(accept, lookahead, num_target_servers)
    if warm_start and num_target_servers is None:
        raise ConfigError("warm_start needs a finite number of target servers N")
    return _DSI(path, lookahead, num_target_servers, Durations(latency), preemptive).run(warm_start)
