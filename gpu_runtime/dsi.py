"""DSI(k, N) executed for real: the orchestrator of SPEC §4.3 over wall-clock servers.

The same phases as :mod:`reference.algorithms.dsi`, driven by events from real servers
instead of a virtual-time heap. Each time events arrive the orchestrator takes every event
that has arrived as one instant (the tie rule of step 9, as far as wall time allows):

1. **completions** — drafts of the current round are stored; a target task's p rows are
   stored at the positions it delivers that are still unresolved (a stale task — cancelled,
   or of an older round — is discarded: results are keyed by task state and round);
2. **resolutions** — ``x_i = K(p_i, q_i, d_i)`` while p_i and d_i exist (step 4); an
   accepted position cancels tasks with nothing left to deliver and may request a frontier
   task (steps 5, 6); a rejection cancels every task and starts a new round (step 6);
3. **dispatches** — frontier requests, then ready windows, enter the FIFO queue (steps 1,
   3, 7); a new round's command goes to the drafter, which drafts back to back on its own
   (step 2); queued tasks go to free servers.

Cancelling a running task frees its server at once in preemptive mode (its emulated floor
is interrupted; a real compute still finishes before the next task on that server starts);
with ``preemptive=False`` the server stays busy until the forward ends, as in the
reference's non-preemptive variant. Either way a cancelled task's result is discarded.

``warm_start=True`` (finite N) sends a *warm-up* forward on the prompt to servers 1..N−1 at
the start (server 0 runs the frontier task at position 0): every server holds the prompt in
its KV cache and pays its prefill floor at once, as in the reference's warm start.
"""

from __future__ import annotations

from collections import deque
from dataclasses import replace

import numpy as np

from gpu_runtime.request import RuntimeRequest
from gpu_runtime.servers import DraftCommand, DraftDone, TaskDone
from gpu_runtime.session import Session
from gpu_runtime.trace import TargetTask, build_trace
from reference.errors import ConfigError
from reference.results import Counters, Result


class DSIOrchestrator:
    """One DSI generation on a :class:`gpu_runtime.session.Session`."""

    def __init__(self, session: Session, request: RuntimeRequest, lookahead: int,
                 preemptive: bool = True, warm_start: bool = False) -> None:
        if lookahead < 1:
            raise ConfigError(f"lookahead k must be >= 1, got {lookahead}")
        if session.drafter is None:
            raise ConfigError("DSI needs a drafter server")
        self.session = session
        self.req = request
        self.k = lookahead
        self.preemptive = preemptive
        self.warm_start = warm_start
        self.S = request.max_new_tokens
        self.tokens: list[int] = []
        self.times: list[float] = []
        self.stopped = False
        self.round = -1
        self.round_start = 0
        self.drafts: dict[int, tuple[int, np.ndarray]] = {}
        self.next_window_first = 0
        self.target_p: dict[int, np.ndarray] = {}
        self.frontier_requests: list[int] = []
        self.drafter_command: DraftCommand | None = None
        self.tasks: list[TargetTask] = []
        self.queue: deque[TargetTask] = deque()
        self.server_task: list[TargetTask | None] = []
        self.accepted = self.rejected = 0

    # ------------------------------------------------------------------ main loop

    def run(self) -> Result:
        self._start_round(0)
        if self.warm_start:
            self._start_warmups()
        self._dispatch_phase()
        while not self._finished():
            for event in self.session.next_events():  # phase 1: completions
                if isinstance(event, TaskDone):
                    self._complete_task(event)
                elif isinstance(event, DraftDone):
                    self._complete_draft(event)
            self._resolution_phase()  # phase 2
            if self._finished():
                break
            self._dispatch_phase()  # phase 3
        for task in self.tasks:  # nothing is left running (a warm-up still running, too)
            if task.state in ("queued", "running"):
                self._cancel(task)
        return self._result()

    def _finished(self) -> bool:
        return self.stopped or len(self.tokens) >= self.S

    def _start_warmups(self) -> None:
        """Warm start: servers 1..N−1 prefill the prompt now (server 0 takes the frontier task)."""
        self.server_task.append(None)  # server 0
        for server in range(1, self.session.max_targets):
            task = TargetTask(len(self.tasks), "warmup", 0, 0, self.round, self.session.timeline(),
                              input_ids=self.req.prompt, state="running")
            self.tasks.append(task)
            self.server_task.append(task)
            self.session.submit(server, task)

    # ------------------------------------------------------------------ rounds

    def _start_round(self, first_position: int) -> None:
        """Step 1: new round on the verified prefix of length f; frontier task at f."""
        self.round += 1
        self.round_start = first_position
        self.drafts.clear()
        self.target_p.clear()
        self.next_window_first = first_position
        if first_position < self.S:
            self.frontier_requests.append(first_position)
            self.drafter_command = DraftCommand(self.round, tuple(self.tokens), first_position,
                                                self.S, preempt=self.preemptive)

    def _speculative_prefix(self, position: int) -> tuple[int, ...]:
        """Prompt, verified tokens before the round, then this round's drafts before ``position``."""
        drafted = tuple(self.drafts[j][0] for j in range(self.round_start, position))
        return self.req.prompt + tuple(self.tokens[: self.round_start]) + drafted

    # ------------------------------------------------------------------ completions

    def _complete_task(self, event: TaskDone) -> None:
        task = event.task
        server = task.server
        assert server is not None
        if self.server_task[server] is not task:
            return  # preempted earlier: its server was freed then
        self.server_task[server] = None
        if task.kind == "warmup":  # the server now holds the prompt; nothing to deliver
            task.state = "done"
            return
        if task.state == "cancelled":  # non-preemptive: the result is discarded
            return
        task.state = "done"
        for position in range(task.first, task.last + 1):
            if position not in self.target_p and position >= len(self.tokens):
                self.target_p[position] = event.target_probs[position - task.first]

    def _complete_draft(self, event: DraftDone) -> None:
        if event.round == self.round:  # a stale round's draft is discarded
            self.drafts[event.position] = (event.draft, event.draft_probs)

    # ------------------------------------------------------------------ resolutions

    def _resolution_phase(self) -> None:
        """Step 4: i resolves once i − 1 is resolved and p_i, d_i exist."""
        while not self._finished():
            i = len(self.tokens)
            if i not in self.target_p or i not in self.drafts:
                return
            draft, draft_probs = self.drafts[i]
            token = self.req.resolve(i, self.target_p[i], draft_probs, draft)
            self.tokens.append(token)
            self.times.append(self.session.now())
            self.accepted += token == draft
            self.rejected += token != draft
            if self.req.is_stop(token):
                self.stopped = True
                return
            if token == draft:
                self._after_accept(i)
            else:
                self._after_reject(i)

    def _after_accept(self, i: int) -> None:
        """Steps 5, 6: cancel tasks with nothing left to deliver; frontier chain."""
        for task in self._live_tasks():
            if task.last <= i:
                self._cancel(task)
        if i < self.S - 1 and not self._p_coming_at(i + 1):
            self.frontier_requests.append(i + 1)

    def _p_coming_at(self, position: int) -> bool:
        if position in self.target_p or position in self.frontier_requests:
            return True
        return any(task.covers(position) for task in self._live_tasks())

    def _after_reject(self, i: int) -> None:
        """Step 6: cancel every task of the round; new round at i + 1 (drafter preempted)."""
        for task in self._live_tasks():
            self._cancel(task)
        self.frontier_requests.clear()
        self._start_round(i + 1)

    def _live_tasks(self) -> list[TargetTask]:
        """Queued or running round tasks (warm-ups belong to no round and are never cancelled)."""
        return [task for task in self.tasks if task.state in ("queued", "running") and task.kind != "warmup"]

    def _cancel(self, task: TargetTask) -> None:
        """Drop a queued task; a running one frees its server now (preemptive) or at its end."""
        if task.state == "queued":
            self.queue.remove(task)
        elif task.state == "running" and self.preemptive:
            assert task.server is not None
            self.server_task[task.server] = None
            task.cancel_at = self.session.launch_time()
            task.cancel.set()
        task.state = "cancelled"
        task.cancelled = self.session.timeline()

    # ------------------------------------------------------------------ dispatches

    def _dispatch_phase(self) -> None:
        for position in self.frontier_requests:
            self._enqueue("frontier", position, position)
        self.frontier_requests.clear()
        self._dispatch_ready_windows()
        if self.drafter_command is not None:
            assert self.session.drafter is not None
            self.session.drafter.command(replace(self.drafter_command, launched=self.session.launch_time()))
            self.drafter_command = None
        self._start_queued_tasks()

    def _enqueue(self, kind: str, first: int, last: int) -> None:
        task = TargetTask(len(self.tasks), kind, first, last, self.round, self.session.timeline())
        self.tasks.append(task)
        self.queue.append(task)

    def _dispatch_ready_windows(self) -> None:
        """Step 3: a window per k drafts at positions <= S − 2, p at first..newest + 1."""
        last_window_draft = self.S - 2
        while self.next_window_first <= last_window_draft:
            first = self.next_window_first
            newest = min(first + self.k - 1, last_window_draft)
            if newest not in self.drafts:
                return
            self._enqueue("window", first, newest + 1)
            self.next_window_first = newest + 1

    def _free_server(self) -> int | None:
        for server, task in enumerate(self.server_task):
            if task is None:
                return server
        if len(self.server_task) < self.session.max_targets:
            self.server_task.append(None)
            return len(self.server_task) - 1
        return None

    def _start_queued_tasks(self) -> None:
        """Step 7: at most N tasks run at once; the rest wait in FIFO order."""
        while self.queue:
            server = self._free_server()
            if server is None:
                return
            task = self.queue.popleft()
            task.input_ids = self._speculative_prefix(task.last)
            task.state = "running"
            self.server_task[server] = task
            self.session.submit(server, task)

    # ------------------------------------------------------------------ result

    def _result(self) -> Result:
        self.session.close()
        drafter = self.session.drafter
        assert drafter is not None
        counters = Counters(
            target_forwards=sum(1 for task in self.tasks if task.start is not None),
            drafter_forwards=len(drafter.records),
            cancelled_tasks=sum(1 for task in self.tasks if task.cancelled is not None),
            accepted_drafts=self.accepted, rejected_drafts=self.rejected,
        )
        params = {"lookahead": self.k, "sp_degree": self.session.num_target_servers,
                  "preemptive": self.preemptive, "warm_start": self.warm_start, "engine": "runtime"}
        return Result("dsi", tuple(self.tokens), tuple(self.times),
                      build_trace(self.tasks, drafter.records), counters, params)
