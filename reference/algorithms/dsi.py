"""DSI(k, N): distributed speculative inference as a discrete-event simulation (SPEC §4.3).

The event loop is a deterministic heap ``(time, sequence, event)``; every event is a
*completion* (a target task or a draft ends). At each instant the loop runs three phases,
the tie rule of SPEC §4.3 step 9:

1. **completions** — every forward ending now ends; its server is free at this instant;
2. **resolutions** — positions resolve one after another while they can (step 4), each
   accepted one may cancel finished-with tasks and request a frontier task (steps 5, 6),
   a rejected one starts a new round (step 6);
3. **dispatches** — requested frontier tasks, then the window made ready by a draft that
   completed now (step 3), enter the FIFO queue in that order; the drafter starts its next
   draft (step 2); queued tasks start on free servers (step 7).

Where each numbered step of SPEC §4.3 lives:

* step 1 (frontier task at round start): :meth:`_DSISimulation._start_round`;
* step 2 (drafting back to back): :meth:`_DSISimulation._start_next_draft`;
* step 3 (windows, the last one cut short): :meth:`_DSISimulation._dispatch_ready_windows`;
* step 4 (resolution): :meth:`_DSISimulation._resolution_phase`;
* step 5 (frontier chain): :meth:`_DSISimulation._after_accept`;
* step 6 (preemption, new round): :meth:`_DSISimulation._cancel` and ``_after_reject``;
* step 7 (N servers, FIFO): :meth:`_DSISimulation._start_queued_tasks`;
* step 8 (exact time): all times are ``Fraction``;
* step 9 (simultaneous events): the three phases of :meth:`_DSISimulation.run`.

``preemptive=False`` is the runtime's variant: a cancelled *running* forward keeps its
server (and the drafter) until it ends, and its result is discarded.

``warm_start=True`` (finite N only) prefills the prompt on every target server at t = 0:
server 0's prefill is the frontier task at position 0, servers 1..N−1 run a *warm-up*
forward (kind ``"warmup"``, its output unused, never cancelled) and take no task before it
ends; afterwards every forward costs the decode latency. Without it (the default, SPEC §10)
a server pays its prefill on its first task, which can make DSI slower than non-SI when
prefill latencies are long (docs/reference.md, "Prefill and warm start").
"""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from reference.algorithms.canonical import Request
from reference.errors import ConfigError
from reference.results import Counters, Result, TaskRecord


@dataclass
class _Task:
    """A target forward: p at output positions first..last, on the round's prefix."""

    task_id: int
    kind: str  # "frontier", "window", or "warmup" (warm start: prompt prefill, output unused)
    first: int
    last: int
    round: int
    dispatch: Fraction
    start: Fraction | None = None
    end: Fraction | None = None
    cancelled: Fraction | None = None
    server: int | None = None
    prefill: bool = False
    state: str = "queued"  # queued, running, done, cancelled

    def covers(self, position: int) -> bool:
        return self.first <= position <= self.last


@dataclass
class _Draft:
    """A drafter forward producing the draft at one position."""

    position: int
    round: int
    start: Fraction
    end: Fraction
    prefill: bool
    record_index: int


class _DSISimulation:
    #: positions a window delivers past its newest draft: the bonus position (1, SPEC §4.3)
    bonus_positions = 1

    def __init__(self, request: Request, lookahead: int, num_target_servers: int | None,
                 preemptive: bool, warm_start: bool = False) -> None:
        self.req = request
        self.k = lookahead
        self.n_servers = num_target_servers
        self.preemptive = preemptive
        self.warm_start = warm_start
        self.S = request.max_new_tokens
        self.t = Fraction(0)
        # output
        self.tokens: list[int] = []
        self.times: list[Fraction] = []
        self.stopped = False
        # round state
        self.round = -1
        self.round_start = 0  # f: verified prefix length when the round started
        self.drafts: dict[int, tuple[int, np.ndarray]] = {}
        self.next_draft_position = 0
        self.next_window_first = 0
        self.target_p: dict[int, np.ndarray] = {}
        self.frontier_requests: list[int] = []
        # servers
        self.tasks: list[_Task] = []
        self.queue: deque[_Task] = deque()
        self.server_task: list[_Task | None] = []
        self.server_prefilled: list[bool] = []
        self.server_forwards: list[int] = []
        self.drafter_busy: _Draft | None = None
        self.drafter_forwards = 0
        self.drafter_prefilled = False
        self.draft_records: list[list] = []
        # events
        self.heap: list[tuple[Fraction, int, object]] = []
        self.sequence = 0
        self.accepted = 0
        self.rejected = 0

    # ------------------------------------------------------------------ main loop

    def run(self) -> Result:
        self._start_round(0)
        if self.warm_start:
            self._start_warmups()
        self._dispatch_phase()
        while self.heap and not self._finished():
            self.t = self.heap[0][0]
            while self.heap and self.heap[0][0] == self.t:  # phase 1: completions
                _, _, event = heapq.heappop(self.heap)
                if isinstance(event, _Task):
                    self._complete_task(event)
                else:
                    self._complete_draft(event)  # type: ignore[arg-type]
            self._resolution_phase()  # phase 2
            if self._finished():
                break
            self._dispatch_phase()  # phase 3
        if not self._finished():
            raise AssertionError("DSI simulation stalled before resolving every position")
        for task in self.tasks:  # close the books: nothing is left running
            if task.state in ("queued", "running"):
                self._cancel(task)  # (a warm-up still running when S tokens are out, too)
        return self._result()

    def _finished(self) -> bool:
        return self.stopped or len(self.tokens) >= self.S

    def _push(self, time: Fraction, event: object) -> None:
        heapq.heappush(self.heap, (time, self.sequence, event))
        self.sequence += 1

    def _start_warmups(self) -> None:
        """Warm start: servers 1..N−1 prefill the prompt from t = 0 (server 0 runs the frontier)."""
        assert self.n_servers is not None
        self.server_task.append(None)  # server 0: the frontier task at position 0 is its prefill
        self.server_prefilled.append(False)
        self.server_forwards.append(0)
        for server in range(1, self.n_servers):
            task = _Task(len(self.tasks), "warmup", 0, 0, self.round, self.t, state="running")
            self.tasks.append(task)
            duration = self.req.latency.duration("target", server, 0, prefill=True)
            task.server, task.start, task.end, task.prefill = server, self.t, self.t + duration, True
            self.server_task.append(task)
            self.server_prefilled.append(False)
            self.server_forwards.append(1)
            self._push(task.end, task)

    # ------------------------------------------------------------------ rounds

    def _start_round(self, first_position: int) -> None:
        """Step 1: a round starts with the verified prefix of length f; frontier task at f."""
        self.round += 1
        self.round_start = first_position
        self.drafts.clear()
        self.target_p.clear()
        self.next_draft_position = first_position
        self.next_window_first = first_position
        if first_position < self.S:
            self.frontier_requests.append(first_position)

    def _speculative_prefix(self, position: int) -> list[int]:
        """Generated tokens before ``position``: verified ones, then this round's drafts."""
        prefix = self.tokens[: self.round_start]
        prefix += [self.drafts[j][0] for j in range(self.round_start, position)]
        return prefix

    # ------------------------------------------------------------------ completions

    def _complete_task(self, task: _Task) -> None:
        server = task.server
        assert server is not None
        if self.server_task[server] is not task:
            return  # preempted earlier: its server was freed then
        self.server_task[server] = None
        self.server_prefilled[server] = True
        if task.kind == "warmup":  # the server now holds the prompt; nothing to deliver
            task.state = "done"
            return
        if task.state == "cancelled":  # non-preemptive: the result is discarded
            return
        task.state = "done"
        for position in range(task.first, task.last + 1):
            if position not in self.target_p and position >= len(self.tokens):
                self.target_p[position] = self.req.target_probs(self._speculative_prefix(position))

    def _complete_draft(self, draft: _Draft) -> None:
        if self.drafter_busy is not draft:
            return  # preempted earlier
        self.drafter_busy = None
        self.drafter_prefilled = True
        if draft.round != self.round:
            return  # non-preemptive drafter finishing a stale draft
        position = draft.position
        self.drafts[position] = self.req.draft(position, self._speculative_prefix(position))

    # ------------------------------------------------------------------ resolutions

    def _resolution_phase(self) -> None:
        """Step 4: position i resolves once i − 1 is resolved, p at i exists, d_i exists."""
        while not self._finished():
            i = len(self.tokens)
            if i not in self.target_p or i not in self.drafts:
                return
            draft, draft_probs = self.drafts[i]
            token = self.req.resolve(i, self.target_p[i], draft_probs, draft)
            self.tokens.append(token)
            self.times.append(self.t)
            if token == draft:
                self.accepted += 1
            else:
                self.rejected += 1
            if self.req.is_stop(token):
                self.stopped = True
                return
            if token == draft:
                self._after_accept(i)
            else:
                self._after_reject(i)

    def _after_accept(self, i: int) -> None:
        """Steps 5 and 6 after an accepted position i."""
        for task in self._live_tasks():
            if task.last <= i:  # every position it would deliver is resolved
                self._cancel(task)
        if i < self.S - 1 and not self._p_coming_at(i + 1):
            self.frontier_requests.append(i + 1)  # frontier chain

    def _p_coming_at(self, position: int) -> bool:
        """p at ``position`` is available or a queued/running task of this round computes it."""
        if position in self.target_p or position in self.frontier_requests:
            return True
        return any(task.covers(position) for task in self._live_tasks())

    def _after_reject(self, i: int) -> None:
        """Step 6: drop drafts after i, cancel every task of the round, new round at i + 1."""
        for task in self._live_tasks():
            self._cancel(task)
        self.frontier_requests.clear()
        if self.drafter_busy is not None:
            if self.preemptive:
                self._preempt_draft()
            else:  # it runs to its end; its draft is discarded (round mismatch)
                self.draft_records[self.drafter_busy.record_index][4] = self.t
        self._start_round(i + 1)

    def _live_tasks(self) -> list[_Task]:
        """Queued or running round tasks (warm-ups belong to no round and are never cancelled)."""
        return [task for task in self.tasks if task.state in ("queued", "running") and task.kind != "warmup"]

    def _cancel(self, task: _Task) -> None:
        """Preemption: drop a queued task; free a running task's server (if preemptive)."""
        if task.state == "queued":
            self.queue.remove(task)
        elif task.state == "running" and self.preemptive:
            assert task.server is not None
            self.server_task[task.server] = None
            task.end = self.t
        task.state = "cancelled"
        task.cancelled = self.t

    def _preempt_draft(self) -> None:
        draft = self.drafter_busy
        assert draft is not None
        self.drafter_busy = None
        self.draft_records[draft.record_index][3] = self.t  # end = now
        self.draft_records[draft.record_index][4] = self.t  # cancelled = now

    # ------------------------------------------------------------------ dispatches

    def _dispatch_phase(self) -> None:
        for position in self.frontier_requests:  # requested during resolutions
            self._enqueue("frontier", position, position)
        self.frontier_requests.clear()
        self._dispatch_ready_windows()
        self._start_next_draft()
        self._start_queued_tasks()

    def _enqueue(self, kind: str, first: int, last: int) -> None:
        task = _Task(len(self.tasks), kind, first, last, self.round, self.t)
        self.tasks.append(task)
        self.queue.append(task)

    def _dispatch_ready_windows(self) -> None:
        """Step 3: a window per k drafts; drafts at positions <= S − 2; last one cut short.

        A window with drafts at first..last−1 yields p at first..last (the bonus position).
        """
        last_window_draft = self.S - 2
        while self.next_window_first <= last_window_draft:
            first = self.next_window_first
            newest = min(first + self.k - 1, last_window_draft)
            if newest not in self.drafts:
                return
            self._enqueue("window", first, newest + self.bonus_positions)
            self.next_window_first = newest + 1

    def _start_next_draft(self) -> None:
        """Step 2: the drafter drafts f, f+1, ..., S−1 back to back, never waiting."""
        if self.drafter_busy is not None or self.next_draft_position >= self.S:
            return
        position = self.next_draft_position
        prefill = not self.drafter_prefilled
        duration = self.req.latency.duration("drafter", 0, self.drafter_forwards, prefill=prefill)
        self.drafter_forwards += 1
        self.draft_records.append(
            [position, self.t, self.t, self.t + duration, None, self.round, prefill]
        )
        draft = _Draft(position, self.round, self.t, self.t + duration, prefill,
                       len(self.draft_records) - 1)
        self.drafter_busy = draft
        self.next_draft_position += 1
        self._push(draft.end, draft)

    def _free_server(self) -> int | None:
        for server, task in enumerate(self.server_task):
            if task is None:
                return server
        if self.n_servers is None or len(self.server_task) < self.n_servers:
            self.server_task.append(None)
            self.server_prefilled.append(False)
            self.server_forwards.append(0)
            return len(self.server_task) - 1
        return None

    def _start_queued_tasks(self) -> None:
        """Step 7: at most N target tasks run at once; the rest wait in FIFO order."""
        while self.queue:
            server = self._free_server()
            if server is None:
                return
            task = self.queue.popleft()
            prefill = not self.server_prefilled[server]
            duration = self.req.latency.duration(
                "target", server, self.server_forwards[server], prefill=prefill
            )
            self.server_forwards[server] += 1
            task.state, task.server, task.start, task.end = "running", server, self.t, self.t + duration
            task.prefill = prefill
            self.server_task[server] = task
            self._push(task.end, task)

    # ------------------------------------------------------------------ result

    def _result(self) -> Result:
        records = [
            TaskRecord(
                task_id=task.task_id, server=f"target:{task.server}" if task.server is not None
                else "target:queued", kind=task.kind, first_position=task.first,
                last_position=task.last, dispatch=task.dispatch, start=task.start,
                end=task.end if task.start is not None else None, cancelled=task.cancelled,
                round=task.round, prefill=task.prefill,
            )
            for task in self.tasks
        ]
        base = len(records)
        for index, (position, dispatch, start, end, cancelled, rnd, prefill) in enumerate(self.draft_records):
            records.append(TaskRecord(base + index, "drafter", "draft", position, position,
                                      dispatch, start, end, cancelled, rnd, prefill))
        counters = Counters(
            target_forwards=sum(1 for task in self.tasks if task.start is not None),
            drafter_forwards=self.drafter_forwards,
            cancelled_tasks=sum(1 for task in self.tasks if task.cancelled is not None),
            accepted_drafts=self.accepted,
            rejected_drafts=self.rejected,
        )
        params = {"lookahead": self.k, "sp_degree": self.n_servers, "preemptive": self.preemptive,
                  "warm_start": self.warm_start}
        return Result("dsi", tuple(self.tokens), tuple(self.times), tuple(records), counters, params)


def run_dsi(request: Request, lookahead: int, num_target_servers: int | None = None, *,
            preemptive: bool = True, warm_start: bool = False) -> Result:
    """Run DSI(k, N); ``num_target_servers=None`` means unlimited servers (no warm start then)."""
    if lookahead < 1:
        raise ConfigError(f"lookahead k must be >= 1, got {lookahead}")
    if num_target_servers is not None and num_target_servers < 1:
        raise ConfigError(f"sp_degree N must be >= 1, got {num_target_servers}")
    if warm_start and num_target_servers is None:
        raise ConfigError("warm_start needs a finite sp_degree N (every server prefills the prompt at t = 0)")
    return _DSISimulation(request, lookahead, num_target_servers, preemptive, warm_start).run()
