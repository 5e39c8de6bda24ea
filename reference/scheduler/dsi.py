"""DSI(k, N): the rules of SPEC §4.3 as one pure state machine.

This class is the only place the DSI schedule is written; the reference drives it in exact
virtual time (:mod:`reference.scheduler.virtual`), the runtime in wall time
(:mod:`gpu_runtime.driver`). Where each numbered step of SPEC §4.3 lives:

* step 1 (a round starts; frontier task on the verified prefix): :meth:`DSIScheduler.start_round`;
* step 2 (the drafter drafts back to back on its own speculative prefix): :meth:`DSIScheduler.next_draft`
  and :meth:`DSIScheduler.draft_input`;
* step 3 (a window per k drafts, p at its drafts and the bonus position; the last window cut
  short at S − 2): :meth:`DSIScheduler.ready_windows` and :attr:`DSIScheduler.bonus_positions`;
* step 4 (position i resolves once i − 1 did and p_i, d_i exist): :meth:`DSIScheduler.resolution_phase`;
* step 5 (frontier chain): :meth:`DSIScheduler.after_accept`;
* step 6 (cancellation; a rejection starts a new round): :meth:`DSIScheduler.after_accept`,
  :meth:`DSIScheduler.after_reject` and the rule in :mod:`reference.scheduler.base`;
* step 7 (at most N tasks hold servers, FIFO queue): :meth:`Scheduler.start_queued_tasks`;
* step 9 (simultaneous events: completions, resolutions, dispatches): the three calls of the
  driver interface in :mod:`reference.scheduler.base`.

Warm start (SPEC §11, finite N): at t = 0 servers 1..N−1 run a *warm-up* forward on the
prompt (kind ``"warmup"``, output unused, never cancelled by a round) and server 0 runs the
frontier task at position 0, so every server pays its prefill at once.

The public methods below are the rule hooks; the mutant catalogue
(``properties/mutants.py``) breaks the schedule by overriding them, never private state.
"""

from __future__ import annotations

import numpy as np

from reference.errors import ConfigError
from reference.scheduler.base import Scheduler, ServerSlot
from reference.scheduler.protocol import Ended, Forward, TokenRule


class DSIScheduler(Scheduler):
    """DSI with lookahead ``k`` and ``num_target_servers`` N (None: unlimited)."""

    algorithm = "dsi"
    #: Positions a window delivers past its newest draft: the bonus position (SPEC §4.3 step 3).
    bonus_positions = 1

    def __init__(self, rule: TokenRule, lookahead: int, num_target_servers: int | None = None, *,
                 preemptive: bool = True, warm_start: bool = False) -> None:
        if lookahead < 1:
            raise ConfigError(f"lookahead k must be >= 1, got {lookahead}")
        if warm_start and num_target_servers is None:
            raise ConfigError("warm_start needs a finite num_target_servers N "
                              "(every server prefills the prompt at t = 0)")
        super().__init__(rule, num_target_servers=num_target_servers, preemptive=preemptive)
        self.k = lookahead
        self.warm_start = warm_start
        self.round = -1
        self.round_start = 0  # f: verified prefix length when the round started
        self.drafts: dict[int, tuple[int, np.ndarray]] = {}  # this round's drafts: position → (d, q)
        self.target_p: dict[int, np.ndarray] = {}  # this round's p at unresolved positions
        self.next_draft_position = 0
        self.next_window_first = 0
        self.frontier_requests: list[int] = []
        self._warmups_started = False
        self.start_round(0)

    # ------------------------------------------------------------------ step 1: rounds

    def start_round(self, first_position: int) -> None:
        """A round starts on the verified prefix of length f; frontier task at f (step 1)."""
        self.round += 1
        self.round_start = first_position
        self.drafts.clear()
        self.target_p.clear()
        self.next_draft_position = first_position
        self.next_window_first = first_position
        if first_position < self.S:
            self.frontier_requests.append(first_position)

    def speculative_prefix(self, position: int) -> tuple[int, ...]:
        """Generated tokens before ``position``: verified ones, then this round's drafts."""
        drafted = (self.drafts[j][0] for j in range(self.round_start, position))
        return (*self.tokens[: self.round_start], *drafted)

    def target_input(self, forward: Forward) -> tuple[int, ...]:
        """A task on the speculative prefix through its newest position's predecessor."""
        return self.speculative_prefix(forward.last)

    def draft_input(self, position: int) -> tuple[int, ...]:
        """Step 2: the drafter's own speculative prefix (verified tokens and its drafts)."""
        return self.speculative_prefix(position)

    # ------------------------------------------------------------------ outputs (phase 1)

    def needed_positions(self, forward_id: int) -> list[int]:
        forward = self.forwards[forward_id]
        if forward.role == "drafter" or forward.state == "cancelled" or forward.kind == "warmup":
            return super().needed_positions(forward_id)
        return [j for j in range(forward.first, forward.last + 1)
                if j not in self.target_p and j >= len(self.tokens)]

    def on_target_output(self, forward: Forward, event: Ended) -> None:
        """Keep p at the positions still unresolved and not yet known."""
        for position in range(forward.first, forward.last + 1):
            if position not in self.target_p and position >= len(self.tokens):
                self.target_p[position] = event.target_probs[position]

    def on_draft_output(self, forward: Forward, event: Ended) -> None:
        assert forward.round == self.round and event.draft is not None and event.draft_probs is not None
        self.drafts[forward.first] = (event.draft, event.draft_probs)

    # ------------------------------------------------------------------ step 4: resolution

    def resolution_phase(self) -> None:
        """Position i resolves once i − 1 is resolved and p_i and d_i exist (step 4)."""
        while not self.finished:
            i = len(self.tokens)
            if i not in self.target_p or i not in self.drafts:
                return
            draft, draft_probs = self.drafts[i]
            token = self.rule.resolve(i, self.target_p[i], draft_probs, draft)
            self.emit(token)
            self.accepted += token == draft
            self.rejected += token != draft
            if self.finished:
                return
            if token == draft:
                self.after_accept(i)
            else:
                self.after_reject(i)

    def live_round_tasks(self) -> list[Forward]:
        """Queued or running target tasks of the round (warm-ups belong to no round)."""
        return [f for f in self.live.values() if f.role == "target" and f.kind != "warmup"]

    def after_accept(self, i: int) -> None:
        """Steps 5 and 6 after accepting position i: cancel the tasks with nothing left to
        deliver; if no task computes p at i + 1, request a frontier task there."""
        for forward in self.live_round_tasks():
            if forward.last <= i:
                self.cancel(forward)
        if i < self.S - 1 and not self.p_coming_at(i + 1):
            self.frontier_requests.append(i + 1)

    def p_coming_at(self, position: int) -> bool:
        """p at ``position`` is known, requested, or computed by a live task of the round."""
        if position in self.target_p or position in self.frontier_requests:
            return True
        return any(forward.covers(position) for forward in self.live_round_tasks())

    def after_reject(self, i: int) -> None:
        """Step 6 after rejecting position i: cancel every task of the round and the running
        draft, drop the drafts after i, start a new round at i + 1."""
        for forward in self.live_round_tasks():
            self.cancel(forward)
        self.frontier_requests.clear()
        if self.drafter.busy is not None and self.drafter.busy.live:
            self.cancel(self.drafter.busy)
        self.start_round(i + 1)

    # ------------------------------------------------------------------ phase 3: dispatches

    def dispatch_phase(self) -> None:
        """Frontier requests, then ready windows, enter the queue; the drafter drafts on;
        queued tasks start on free servers."""
        if self.warm_start and not self._warmups_started:
            self.start_warmups()
        for position in self.frontier_requests:
            self.enqueue("frontier", position, position, self.round)
        self.frontier_requests.clear()
        self.ready_windows()
        self.next_draft()
        self.start_queued_tasks()

    def start_warmups(self) -> None:
        """Warm start: servers 1..N−1 prefill the prompt now; server 0 is left for the frontier."""
        assert self.num_target_servers is not None
        self._warmups_started = True
        self.free_target_server()  # server 0
        for server in range(1, self.num_target_servers):
            self.targets.append(ServerSlot())
            forward = self.new_forward("target", "warmup", 0, 0, self.round)
            self.start(forward, server, ())

    def ready_windows(self) -> None:
        """Step 3: a window per k drafts at positions <= S − 2, the last one cut short; a
        window with drafts at first..newest delivers p at first..newest + bonus_positions."""
        last_window_draft = self.S - 2
        while self.next_window_first <= last_window_draft:
            first = self.next_window_first
            newest = min(first + self.k - 1, last_window_draft)
            if newest not in self.drafts:
                return
            self.enqueue("window", first, newest + self.bonus_positions, self.round)
            self.next_window_first = newest + 1

    def next_draft(self) -> None:
        """Step 2: the drafter drafts f, f + 1, ..., S − 1 back to back, never waiting."""
        if self.drafter.busy is None and self.next_draft_position < self.S:
            self.start_draft(self.next_draft_position, self.round)
            self.next_draft_position += 1

    def params(self) -> dict:
        return {"lookahead": self.k, "num_target_servers": self.num_target_servers, "preemptive": self.preemptive,
                "warm_start": self.warm_start}
