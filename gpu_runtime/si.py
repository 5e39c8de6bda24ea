"""SI(k), non-SI and plain decoding on the runtime's servers (SPEC §4.1, §4.2, §8).

The same servers, caches, floors and trace as DSI, so comparisons are fair:

* **SI(k)** — per iteration from n resolved tokens, ``kk = min(k, S − n − 1)``: the drafter
  drafts positions n..n+kk back to back; when the kk-th draft exists the verify task
  (p at n..n+kk) goes to target server 0 while the drafter drafts the bonus position n+kk;
  once both are done the positions resolve with K up to the first rejection (all at that
  instant). Time per iteration: kk·c + max(1, c).
* **non-SI** — per position, a decode task on target server 0 and the draft on the drafter,
  in parallel; the token is K(p, q, d) (canonical, equal to SI's and DSI's).
* **plain** — per position, a decode task only; ``x_i = sample(p, u(seed, i, "plain"))``.
"""

from __future__ import annotations

import numpy as np

from gpu_runtime.request import RuntimeRequest
from gpu_runtime.servers import DraftCommand, DraftDone, TaskDone
from gpu_runtime.session import Session
from gpu_runtime.trace import TargetTask, build_trace
from reference.errors import ConfigError
from reference.results import Counters, Result


class _Blocking:
    """Iteration helpers shared by SI and non-SI: one target server, one drafter."""

    def __init__(self, session: Session, request: RuntimeRequest) -> None:
        self.session = session
        self.req = request
        self.tokens: list[int] = []
        self.times: list[float] = []
        self.tasks: list[TargetTask] = []
        self.iteration = 0
        self.accepted = self.rejected = 0
        self.stopped = False

    def _submit(self, kind: str, first: int, last: int, prefix: tuple[int, ...]) -> TargetTask:
        task = TargetTask(len(self.tasks), kind, first, last, 0, self.session.timeline(),
                          input_ids=self.req.prompt + prefix,
                          state="running")
        self.tasks.append(task)
        self.session.submit(0, task)
        return task

    def iterate(self, first: int, kk: int, kind: str, with_drafter: bool) -> None:
        """Drafts at first..first+kk, a target task for p at first..first+kk, then resolve."""
        self.iteration += 1
        verified = tuple(self.tokens)
        drafts: dict[int, tuple[int, np.ndarray]] = {}
        rows: list[np.ndarray] | None = None
        task = None
        if with_drafter:
            assert self.session.drafter is not None
            self.session.drafter.command(DraftCommand(self.iteration, verified, first, first + kk + 1,
                                                      launched=self.session.launch_time()))
        if kk == 0 or not with_drafter:
            task = self._submit(kind, first, first + kk, verified)
        while rows is None or (with_drafter and len(drafts) < kk + 1):
            for event in self.session.next_events():
                if isinstance(event, DraftDone) and event.round == self.iteration:
                    drafts[event.position] = (event.draft, event.draft_probs)
                    if task is None and len(drafts) == kk:  # the drafts to verify exist
                        drafted = tuple(drafts[j][0] for j in range(first, first + kk))
                        task = self._submit(kind, first, first + kk, verified + drafted)
                elif isinstance(event, TaskDone) and event.task is task:
                    rows = event.target_probs
                    task.state = "done"
        now = self.session.now()
        for j in range(kk + 1):
            position = first + j
            if with_drafter:
                draft, draft_probs = drafts[position]
                token = self.req.resolve(position, rows[j], draft_probs, draft)
                self.accepted += token == draft
                self.rejected += token != draft
            else:
                token = draft = self.req.plain(position, rows[j])
            self.tokens.append(token)
            self.times.append(now)
            if self.req.is_stop(token):
                self.stopped = True
            if self.stopped or token != draft:
                return

    def result(self, algorithm: str, params: dict) -> Result:
        self.session.close()
        drafter_records = self.session.drafter.records if self.session.drafter else []
        counters = Counters(target_forwards=sum(1 for task in self.tasks if task.start is not None),
                            drafter_forwards=len(drafter_records), accepted_drafts=self.accepted,
                            rejected_drafts=self.rejected)
        return Result(algorithm, tuple(self.tokens), tuple(self.times),
                      build_trace(self.tasks, drafter_records), counters, {**params, "engine": "runtime"})


def run_si(session: Session, request: RuntimeRequest, lookahead: int) -> Result:
    """SI(k) on target server 0 and the drafter."""
    if lookahead < 1:
        raise ConfigError(f"lookahead k must be >= 1, got {lookahead}")
    run = _Blocking(session, request)
    S = request.max_new_tokens
    while len(run.tokens) < S and not run.stopped:
        n = len(run.tokens)
        run.iterate(n, min(lookahead, S - n - 1), "verify", with_drafter=True)
    return run.result("si", {"lookahead": lookahead})


def run_nonsi(session: Session, request: RuntimeRequest, *, with_drafter: bool = True) -> Result:
    """non-SI (canonical tokens, drafter alongside) or plain decoding on target server 0."""
    run = _Blocking(session, request)
    while len(run.tokens) < request.max_new_tokens and not run.stopped:
        run.iterate(len(run.tokens), 0, "decode", with_drafter=with_drafter)
    return run.result("nonsi" if with_drafter else "plain", {})
