"""Result, trace and counter types shared by every algorithm and engine (SPEC §9).

Latency, token counts and speedups are pure functions of these records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal

#: What a forward is for: DSI frontier and window tasks, warm-up prefills (warm start), SI
#: verification, non-SI/plain decoding, and drafts.
TaskKind = Literal["frontier", "window", "warmup", "verify", "decode", "draft"]
TASK_KINDS: tuple[TaskKind, ...] = ("frontier", "window", "warmup", "verify", "decode", "draft")


@dataclass(frozen=True)
class TaskRecord:
    """One forward in a trace.

    server: "target:<j>" or "drafter".
    kind: frontier / window (DSI target tasks), verify (SI), decode (non-SI), draft.
    first_position, last_position: the output positions this forward delivers p at
        (target tasks) or drafts (draft tasks).
    dispatch, start, end: virtual (nominal) times in latency units; ``start`` is None for a task
        cancelled in the queue;
        ``end`` is when its server became free (completion or preemption).
    cancelled: time of cancellation, or None if its result was used or available.
    round: DSI round (epoch) the task belongs to; 0 for SI and non-SI.
    prefill: the forward paid its server's prefill latency.

    The runtime (wall-time driver) writes the same records, with the same nominal times, and
    adds what it observed (``None`` / empty in virtual time):
    wall_start: when the server took the forward (began computing it, or dropped it because it
        was cancelled before it began), in seconds since the request started;
    wall_end: when the driver handled the instant at which the forward ended or stopped;
    tokens_processed, cache_reused: positions the forward processed / reused from its
        server's KV cache; input_ids: the forward's input (prompt included).
    """

    task_id: int
    server: str
    kind: TaskKind
    first_position: int
    last_position: int
    dispatch: Fraction
    start: Fraction | None
    end: Fraction | None
    cancelled: Fraction | None
    round: int = 0
    prefill: bool = False
    wall_start: float | None = None
    wall_end: float | None = None
    tokens_processed: int | None = None
    cache_reused: int | None = None
    input_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class Counters:
    """Work done by a generation."""

    target_forwards: int = 0
    drafter_forwards: int = 0
    cancelled_tasks: int = 0
    accepted_drafts: int = 0
    rejected_drafts: int = 0


@dataclass(frozen=True)
class Result:
    """What every algorithm returns.

    tokens: generated ids only (prompt excluded).
    times: resolution time r_i of each token: virtual time (exact, latency units) for a
        virtual-time engine; observed wall-clock seconds since the request started for a
        wall-time engine (the runtime).
    latency: r of the last token (0 for an empty generation).
    nominal_times: a wall-time engine's scheduled resolution times in latency units (the
        schedule its driver followed, SPEC §11.1); empty for a virtual-time engine, whose
        ``times`` are nominal. The trace's dispatch/start/end/cancelled times are nominal too.
    """

    algorithm: str
    tokens: tuple[int, ...]
    times: tuple[Fraction, ...] | tuple[float, ...]
    trace: tuple[TaskRecord, ...] = ()
    counters: Counters = field(default_factory=Counters)
    params: dict = field(default_factory=dict)
    nominal_times: tuple[Fraction, ...] = ()

    @property
    def latency(self) -> Fraction:
        """Time at which the last token resolved."""
        return self.times[-1] if self.times else Fraction(0)


def tokens_by(result: Result, time: Fraction | int) -> int:
    """Number of tokens with r_i <= time.

    >>> tokens_by(Result("si", (1, 2, 3), (Fraction(1), Fraction(1), Fraction(3))), 2)
    2
    """
    return sum(1 for r in result.times if r <= time)


def max_concurrent_target_tasks(trace: tuple[TaskRecord, ...]) -> int:
    """Peak number of target forwards occupying servers at once (from a trace)."""
    events: list[tuple[Fraction, int]] = []
    for task in trace:
        if task.server.startswith("target") and task.start is not None and task.end is not None:
            events.append((task.start, 1))
            events.append((task.end, -1))
    events.sort(key=lambda e: (e[0], e[1]))  # frees before starts at the same instant
    peak = level = 0
    for _, delta in events:
        level += delta
        peak = max(peak, level)
    return peak
