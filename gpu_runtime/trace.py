"""The runtime's trace: the reference's task records plus KV-cache bookkeeping (SPEC §8).

Times are seconds since the generation started, on the emulated timeline of
:mod:`gpu_runtime.floors` (dispatch/cancel: the orchestrator's launch time; start/end: the
forward's floor window), so a record reads like the reference's. Token resolution times
(``Result.times``) are plain wall-clock readings. Each record adds what its
forward did with its server's cache: ``cache_reused`` positions were kept (the longest
common prefix with the cached ids, capped so the positions whose p is needed are
processed) and ``tokens_processed`` new positions went through the model.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from reference.results import TaskRecord


@dataclass(frozen=True)
class RuntimeTaskRecord(TaskRecord):
    """A :class:`reference.results.TaskRecord` with the cache counts of its forward.

    input_ids: the forward's input (prompt included); empty if it never ran.
    """

    tokens_processed: int = 0
    cache_reused: int = 0
    input_ids: tuple[int, ...] = ()


@dataclass(eq=False)
class TargetTask:
    """A target forward: p at output positions first..last on ``input_ids`` (prompt included).

    Mutable: the orchestrator sets state and cancellation, the server thread start/end and
    the cache counts. ``cancel`` interrupts its latency floor.
    """

    task_id: int
    kind: str  # frontier, window, warmup (DSI); verify (SI); decode (non-SI)
    first: int
    last: int
    round: int
    dispatch: float
    input_ids: tuple[int, ...] = ()
    state: str = "queued"  # queued, running, done, cancelled
    server: int | None = None
    start: float | None = None
    end: float | None = None
    cancelled: float | None = None
    prefill: bool = False
    tokens_processed: int = 0
    cache_reused: int = 0
    launched: float = 0.0  # perf_counter when it was sent to its server (emulated timeline)
    cancel_at: float = float("inf")  # perf_counter of its cancellation (emulated timeline)
    cancel: threading.Event = field(default_factory=threading.Event, repr=False)

    def covers(self, position: int) -> bool:
        return self.first <= position <= self.last

    def record(self) -> RuntimeTaskRecord:
        ran = self.start is not None
        return RuntimeTaskRecord(
            task_id=self.task_id,
            server=f"target:{self.server}" if self.server is not None else "target:queued",
            kind=self.kind, first_position=self.first, last_position=self.last,
            dispatch=self.dispatch, start=self.start, end=self.end if ran else None,
            cancelled=self.cancelled, round=self.round, prefill=self.prefill,
            tokens_processed=self.tokens_processed, cache_reused=self.cache_reused,
            input_ids=self.input_ids if ran else (),
        )


@dataclass
class DraftRecord:
    """One drafter forward (written by the drafter thread)."""

    position: int
    round: int
    start: float
    end: float
    cancelled: float | None
    prefill: bool
    tokens_processed: int
    cache_reused: int
    input_ids: tuple[int, ...]

    def record(self, task_id: int) -> RuntimeTaskRecord:
        return RuntimeTaskRecord(
            task_id=task_id, server="drafter", kind="draft", first_position=self.position,
            last_position=self.position, dispatch=self.start, start=self.start, end=self.end,
            cancelled=self.cancelled, round=self.round, prefill=self.prefill,
            tokens_processed=self.tokens_processed, cache_reused=self.cache_reused,
            input_ids=self.input_ids,
        )


def build_trace(tasks: list[TargetTask], drafts: list[DraftRecord]) -> tuple[RuntimeTaskRecord, ...]:
    """Target tasks first (in dispatch order), then drafts, as in the reference."""
    records = [task.record() for task in tasks]
    records += [draft.record(len(tasks) + i) for i, draft in enumerate(drafts)]
    return tuple(records)
