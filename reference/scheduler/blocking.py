"""non-SI, plain decoding and SI(k): the blocking algorithms of SPEC §4.1 and §4.2 as
state machines on one target server (server 0) and the drafter.

* **non-SI** (``with_drafter=True``): per position i, a decode task (p at i on the verified
  prefix) and the draft d_i start together; once both ended, ``x_i = K(p, q, d_i)`` (the
  canonical token, equal to SI's and DSI's). Time per token: ``max(1, c)``.
* **plain** (``with_drafter=False``): per position, the decode task only;
  ``x_i = sample(p, u(seed, i, "plain"))``.
* **SI(k)**: per iteration from n resolved tokens, ``kk = min(k, S − n − 1)``; the drafter
  drafts positions n..n+kk−1 back to back; when the kk-th draft exists, the verify task (p at
  n..n+kk on the speculative prefix) and the bonus draft at n+kk start together; once both
  ended, positions resolve with K up to the first rejection (all at that instant). Time per
  iteration: ``kk·c + max(1, c)``.
"""

from __future__ import annotations

import numpy as np

from reference.errors import ConfigError
from reference.scheduler.base import Scheduler
from reference.scheduler.protocol import Ended, Forward, TokenRule


class NonSIScheduler(Scheduler):
    """non-SI (canonical tokens, drafter alongside) or plain decoding."""

    def __init__(self, rule: TokenRule, *, with_drafter: bool = True) -> None:
        super().__init__(rule, num_target_servers=1)
        self.with_drafter = with_drafter
        self.algorithm = "nonsi" if with_drafter else "plain"
        self.p: np.ndarray | None = None
        self.draft: tuple[int, np.ndarray] | None = None
        self.waiting = False  # the current position's forwards are running

    def on_target_output(self, forward: Forward, event: Ended) -> None:
        self.p = event.target_probs[forward.first]

    def on_draft_output(self, forward: Forward, event: Ended) -> None:
        assert event.draft is not None and event.draft_probs is not None
        self.draft = (event.draft, event.draft_probs)

    def resolution_phase(self) -> None:
        if self.p is None or (self.with_drafter and self.draft is None):
            return
        i = len(self.tokens)
        if self.draft is not None:
            draft, draft_probs = self.draft
            token = self.rule.resolve(i, self.p, draft_probs, draft)
            self.accepted += token == draft
            self.rejected += token != draft
        else:
            token = self.rule.plain(i, self.p)
        self.emit(token)
        self.p, self.draft, self.waiting = None, None, False

    def dispatch_phase(self) -> None:
        if self.waiting:
            return
        i = len(self.tokens)
        self.waiting = True
        self.enqueue("decode", i, i)
        self.start_queued_tasks()
        if self.with_drafter:
            self.start_draft(i)


class SIScheduler(Scheduler):
    """SI(k) on target server 0 and the drafter."""

    algorithm = "si"

    def __init__(self, rule: TokenRule, lookahead: int) -> None:
        if lookahead < 1:
            raise ConfigError(f"lookahead k must be >= 1, got {lookahead}")
        super().__init__(rule, num_target_servers=1)
        self.k = lookahead
        self.first = 0  # n: the iteration's first position
        self.kk = -1  # drafts to verify this iteration; -1 before the first iteration
        self.next_position = 0  # next position to draft
        self.verify_started = False
        self.drafts: dict[int, tuple[int, np.ndarray]] = {}
        self.p: dict[int, np.ndarray] | None = None

    def on_target_output(self, forward: Forward, event: Ended) -> None:
        self.p = dict(event.target_probs)

    def on_draft_output(self, forward: Forward, event: Ended) -> None:
        assert event.draft is not None and event.draft_probs is not None
        self.drafts[forward.first] = (event.draft, event.draft_probs)

    def resolution_phase(self) -> None:
        """Once p at n..n+kk and the drafts n..n+kk exist: resolve up to the first rejection."""
        if self.p is None or len(self.drafts) < self.kk + 1:
            return
        for position in range(self.first, self.first + self.kk + 1):
            draft, draft_probs = self.drafts[position]
            token = self.rule.resolve(position, self.p[position], draft_probs, draft)
            self.accepted += token == draft
            self.rejected += token != draft
            self.emit(token)
            if self.finished or token != draft:
                break
        self.kk = -1  # the iteration is over

    def dispatch_phase(self) -> None:
        if self.kk < 0:  # a new iteration from n resolved tokens
            self.first = self.next_position = len(self.tokens)
            self.kk = min(self.k, self.S - self.first - 1)
            self.verify_started, self.drafts, self.p = False, {}, None
        if not self.verify_started and len(self.drafts) == self.kk:
            self.verify_started = True
            self.enqueue("verify", self.first, self.first + self.kk)
            self.start_queued_tasks()
        last_draft = self.first + self.kk if self.verify_started else self.first + self.kk - 1
        if self.drafter.busy is None and self.next_position <= last_draft:
            self.start_draft(self.next_position)
            self.next_position += 1

    def target_input(self, forward: Forward) -> tuple[int, ...]:
        drafted = (self.drafts[j][0] for j in range(self.first, forward.last))
        return (*self.tokens, *drafted)

    def draft_input(self, position: int) -> tuple[int, ...]:
        drafted = (self.drafts[j][0] for j in range(self.first, position))
        return (*self.tokens, *drafted)

    def params(self) -> dict:
        return {"lookahead": self.k}
