"""What every scheduler shares: servers, the FIFO queue, cancellation, the instant, the trace.

A scheduler is a pure state machine (SPEC §11.1): no clock, no threads, no model calls. A
*driver* (virtual time in :mod:`reference.scheduler.virtual`, wall time in
:mod:`gpu_runtime.driver`) owns the clock and the servers and calls, once per instant t:

1. ``resolve(t, ended)`` — phase 1, *completions*: every forward ending at t ends (its output
   is stored; its server is free at t); phase 2, *resolutions*: positions resolve while they
   can, which may cancel forwards. Returns the ids of the *running* forwards it cancelled.
2. ``stop(t, ids)`` — the driver reports which of those forwards stopped at t (their servers
   are free at t).
3. ``dispatch(t)`` — phase 3, *dispatches*: new tasks enter the FIFO queue, the drafter starts
   its next draft, queued tasks start on free servers. Returns the :class:`Start` commands.

When the generation is complete after step 1, the driver calls ``finish(t)`` instead of
step 3: every forward still queued or running is cancelled (and stopped, as in step 2).

**The cancellation rule (SPEC §4.3 step 6).** A cancelled queued task is dropped. A cancelled
running forward keeps its server until it *stops*, and its output is discarded: it stops at
once when it is interruptible at that instant (the driver says so through ``stop``), else
when its uninterruptible part ends (the driver then reports it as :class:`Ended`). Latency
floors are interruptible, compute is not; the virtual driver has no compute, so with
``preemptive=True`` every cancelled forward stops at once (the paper's model) and with
``preemptive=False`` none does (each runs to its scheduled end). No task is ever dispatched
to a server whose cancelled forward has not stopped. A forward that stopped early did not
pay its server's prefill: the next forward on that server pays it again.

Decisions depend only on the order of events, never on time values; times are recorded.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction

from reference.results import Counters, Result, TaskRecord
from reference.scheduler.protocol import Ended, Forward, Role, Start, TaskKind, Time, TokenRule, sorted_events


@dataclass
class ServerSlot:
    """One server as the scheduler sees it."""

    busy: Forward | None = None  # running forward, or a cancelled one that has not stopped
    prefilled: bool = False  # a forward of this request ran to its end here (SPEC §10)
    started: int = 0  # forwards started here so far


class Scheduler:
    """The shared bookkeeping of the non-SI, SI and DSI schedulers.

    rule: the canonical token rule (:class:`reference.scheduler.protocol.TokenRule`).
    num_target_servers: N, or None for unlimited (a new server whenever none is free).
    preemptive: whether a cancelled forward is interruptible in the virtual driver's model;
        recorded so that a cut-short forward does not count as its server's prefill.
    """

    algorithm = ""

    def __init__(self, rule: TokenRule, *, num_target_servers: int | None, preemptive: bool = True) -> None:
        self.rule = rule
        self.S = rule.max_new_tokens
        self.num_target_servers = num_target_servers
        self.preemptive = preemptive
        self.now: Time = Fraction(0)
        self.forwards: list[Forward] = []
        self.live: dict[int, Forward] = {}  # queued or running and not cancelled, by id (creation order)
        self.queue: deque[Forward] = deque()
        self.targets: list[ServerSlot] = []
        self.drafter = ServerSlot()
        self.tokens: list[int] = []
        self.times: list[Time] = []
        self.stopped_by_token = False
        self.accepted = 0
        self.rejected = 0
        self._starts: list[Start] = []
        self._cancelled_running: list[int] = []

    # ------------------------------------------------------------------ driver interface

    @property
    def finished(self) -> bool:
        """S tokens are out, or a stop token was emitted."""
        return self.stopped_by_token or len(self.tokens) >= self.S

    def resolve(self, time: Time, ended: Sequence[Ended]) -> list[int]:
        """Phases 1 and 2 at instant ``time``; the running forwards cancelled, to be stopped."""
        self.now = time
        self._cancelled_running = []
        for event in sorted_events(ended):
            self._end(self.forwards[event.forward_id], event)
        if not self.finished:
            self.resolution_phase()
        return list(self._cancelled_running)

    def stop(self, time: Time, forward_ids: Iterable[int]) -> None:
        """These cancelled forwards stopped at ``time``: their servers are free now."""
        for forward_id in forward_ids:
            forward = self.forwards[forward_id]
            if forward.state != "cancelled" or forward.stopped:
                raise AssertionError(f"forward {forward_id} cannot stop: state {forward.state}")
            forward.end = time
            forward.stopped = True
            self._release(forward)

    def dispatch(self, time: Time) -> list[Start]:
        """Phase 3 at instant ``time``: the forwards to start now."""
        self.now = time
        self._starts = []
        if not self.finished:
            self.dispatch_phase()
        return self._starts

    def finish(self, time: Time) -> list[int]:
        """The generation is complete: cancel everything left; the running ones, to be stopped."""
        self.now = time
        self._cancelled_running = []
        for forward in list(self.live.values()):
            self.cancel(forward)
        return list(self._cancelled_running)

    def needed_positions(self, forward_id: int) -> list[int]:
        """Positions whose p the scheduler would still use from this forward (drivers may
        compute only these); every position for a forward of a blocking algorithm."""
        forward = self.forwards[forward_id]
        if forward.state == "cancelled" or forward.kind == "warmup":
            return []
        return list(range(forward.first, forward.last + 1))

    # ------------------------------------------------------------------ rules (subclasses)

    def resolution_phase(self) -> None:
        """Phase 2: resolve what can be resolved at this instant."""
        raise NotImplementedError

    def dispatch_phase(self) -> None:
        """Phase 3: enqueue and start forwards."""
        raise NotImplementedError

    def on_target_output(self, forward: Forward, event: Ended) -> None:
        """A target task completed and was not cancelled: use its p rows."""
        raise NotImplementedError

    def on_draft_output(self, forward: Forward, event: Ended) -> None:
        """A draft completed and was not cancelled: use its token and q."""
        raise NotImplementedError

    # ------------------------------------------------------------------ helpers for rules

    def emit(self, token: int) -> None:
        """The next position resolves to ``token`` now."""
        self.tokens.append(int(token))
        self.times.append(self.now)
        if self.rule.is_stop(token):
            self.stopped_by_token = True

    def new_forward(self, role: Role, kind: TaskKind, first: int, last: int, round_: int = 0) -> Forward:
        forward = Forward(len(self.forwards), role, kind, first, last, round_, self.now)
        self.forwards.append(forward)
        self.live[forward.forward_id] = forward
        return forward

    def enqueue(self, kind: TaskKind, first: int, last: int, round_: int = 0) -> Forward:
        """A target task enters the FIFO queue (SPEC §4.3 step 7)."""
        forward = self.new_forward("target", kind, first, last, round_)
        self.queue.append(forward)
        return forward

    def start_queued_tasks(self) -> None:
        """SPEC §4.3 step 7: at most N target tasks hold servers; the rest wait in FIFO order."""
        while self.queue:
            server = self.free_target_server()
            if server is None:
                return
            forward = self.queue.popleft()
            self.start(forward, server, self.target_input(forward))

    def free_target_server(self) -> int | None:
        """The lowest-numbered free target server; a new one if none is free and N allows it."""
        for index, slot in enumerate(self.targets):
            if slot.busy is None:
                return index
        if self.num_target_servers is None or len(self.targets) < self.num_target_servers:
            self.targets.append(ServerSlot())
            return len(self.targets) - 1
        return None

    def start(self, forward: Forward, server: int, generated: tuple[int, ...]) -> None:
        """Start ``forward`` on ``server`` now (the slot must be free)."""
        slot = self.drafter if forward.role == "drafter" else self.targets[server]
        if slot.busy is not None:
            raise AssertionError(f"{forward.role} server {server} is busy with forward {slot.busy.forward_id}")
        forward.server, forward.start = server, self.now
        forward.state = "running" if forward.state == "queued" else forward.state  # a stale one stays cancelled
        forward.prefill, forward.generated = not slot.prefilled, generated
        slot.busy = forward
        self._starts.append(Start(forward.forward_id, forward.role, server, forward.kind, forward.first,
                                  forward.last, generated, forward.prefill, slot.started))
        slot.started += 1

    def start_draft(self, position: int, round_: int = 0) -> Forward:
        """The drafter (which must be free) starts the draft at ``position`` now."""
        forward = self.new_forward("drafter", "draft", position, position, round_)
        self.start(forward, 0, self.draft_input(position))
        return forward

    def target_input(self, forward: Forward) -> tuple[int, ...]:
        """Generated tokens a target task conditions on (the verified ones by default)."""
        return tuple(self.tokens[: forward.last])

    def draft_input(self, position: int) -> tuple[int, ...]:
        """Generated tokens the draft at ``position`` conditions on."""
        return tuple(self.tokens[:position])

    def cancel(self, forward: Forward, *, stop: bool = True) -> None:
        """Cancel a queued or running forward (the cancellation rule in the module docstring).

        stop: drop a queued task / ask the driver to stop a running forward (it stops at once
            if interruptible). ``False`` leaves it to run to its end, holding its server, with
            its output discarded (a queued one still starts when a server frees up).
        """
        if forward.state == "queued":
            if stop:
                self.queue.remove(forward)
                forward.stopped = True
        elif forward.state == "running":
            if stop:
                forward.stop_requested = True
                self._cancelled_running.append(forward.forward_id)
        else:
            raise AssertionError(f"forward {forward.forward_id} is {forward.state}, cannot be cancelled")
        forward.state = "cancelled"
        forward.cancelled = self.now
        self.live.pop(forward.forward_id, None)

    # ------------------------------------------------------------------ internals

    def _slot(self, forward: Forward) -> ServerSlot:
        assert forward.server is not None
        return self.drafter if forward.role == "drafter" else self.targets[forward.server]

    def _release(self, forward: Forward) -> None:
        slot = self._slot(forward)
        if slot.busy is not forward:
            raise AssertionError(f"forward {forward.forward_id} does not hold its server")
        slot.busy = None

    def _end(self, forward: Forward, event: Ended) -> None:
        """Phase 1 for one forward: it ended now (completed, or a cancelled one stopped)."""
        if forward.state == "running":
            forward.state = "done"
            del self.live[forward.forward_id]
        elif forward.state != "cancelled" or forward.stopped:
            raise AssertionError(f"forward {forward.forward_id} ended in state {forward.state}")
        forward.end = self.now
        cut_short = forward.stop_requested and self.preemptive
        forward.stopped = forward.state == "cancelled"
        self._release(forward)
        self._slot(forward).prefilled |= not cut_short
        if forward.state == "cancelled" or forward.kind == "warmup" or self.finished:
            return
        if forward.role == "drafter":
            self.on_draft_output(forward, event)
        else:
            self.on_target_output(forward, event)

    # ------------------------------------------------------------------ result

    def trace(self) -> tuple[TaskRecord, ...]:
        """Every forward in creation order (SPEC §9)."""
        records = []
        for f in self.forwards:
            server = "drafter" if f.role == "drafter" else (
                f"target:{f.server}" if f.server is not None else "target:queued")
            records.append(TaskRecord(f.forward_id, server, f.kind, f.first, f.last, f.dispatch, f.start,
                                      f.end if f.start is not None else None, f.cancelled, f.round, f.prefill))
        return tuple(records)

    def counters(self) -> Counters:
        targets = [f for f in self.forwards if f.role == "target"]
        return Counters(
            target_forwards=sum(1 for f in targets if f.start is not None),
            drafter_forwards=sum(1 for f in self.forwards if f.role == "drafter" and f.start is not None),
            cancelled_tasks=sum(1 for f in targets if f.cancelled is not None),
            accepted_drafts=self.accepted, rejected_drafts=self.rejected)

    def params(self) -> dict:
        """The algorithm's parameters, as recorded in :attr:`Result.params`."""
        return {}

    def result(self) -> Result:
        """Tokens, resolution times, trace and counters (times in the driver's clock)."""
        return Result(self.algorithm, tuple(self.tokens), tuple(self.times), self.trace(), self.counters(),
                      self.params())
