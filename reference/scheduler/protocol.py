"""What a scheduler and its driver exchange: forwards, start commands, end events (SPEC §11.1).

A *forward* is one model call on one server: a target task (p at output positions
``first..last``) or a draft (d and q at one position). The scheduler decides, the driver
executes:

* the scheduler emits :class:`Start` commands (run this forward on that server, now);
* the driver reports :class:`Ended` events (this forward ended at the current instant, with
  its output, if it completed) and tells the scheduler which cancelled forwards *stopped* at
  once (see the cancellation rule in :mod:`reference.scheduler.base`).

Inputs are written as *generated* token ids (the prompt excluded): a forward whose output
row for position j conditions on the prompt and ``generated[:j]``. The reference computes
each row with ``next_token_probs``; the runtime runs one forward over the prompt and
``generated[:last]`` (its KV cache holds what it can reuse).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal, Protocol

import numpy as np

from reference.results import TaskKind

#: Who runs a forward.
Role = Literal["target", "drafter"]


#: Life of a forward: queued (target tasks waiting for a server), running, done (its output
#: was delivered), cancelled (no longer needed; ``stopped`` says whether it still holds its
#: server).
TaskState = Literal["queued", "running", "done", "cancelled"]

#: Simulated time: exact rationals in the virtual driver; the wall-time driver uses them too
#: (floors are rational, observed arrivals are converted exactly).
Time = Fraction


class TokenRule(Protocol):
    """The canonical token rule of SPEC §3 bound to one request (seed, sampling, stop tokens)."""

    max_new_tokens: int

    def resolve(self, position: int, target_probs: np.ndarray, draft_probs: np.ndarray, draft: int) -> int:
        """``x_i = K(p, q, d_i, u(seed, i, "accept"), u(seed, i, "residual"))``."""
        ...

    def plain(self, position: int, target_probs: np.ndarray) -> int:
        """``x_i = sample(p, u(seed, i, "plain"))`` (argmax in greedy mode)."""
        ...

    def is_stop(self, token: int) -> bool:
        """Position i is the last one if x_i is a stop token."""
        ...


@dataclass(frozen=True)
class Start:
    """Command: run forward ``forward_id`` on ``role`` server ``server`` from the current instant.

    generated: the generated tokens the forward conditions on (prompt excluded); the output row
        for position j (``first <= j <= last``) conditions on ``generated[:j]``.
    prefill: the server's first forward of the request that will not be cut short (SPEC §10:
        it costs the prefill latency).
    forward_index: how many forwards this server started before this one (keys latency jitter).
    """

    forward_id: int
    role: Role
    server: int
    kind: TaskKind
    first: int
    last: int
    generated: tuple[int, ...]
    prefill: bool
    forward_index: int

    @property
    def positions(self) -> int:
        """Number of output positions the forward delivers (rows of p or q)."""
        return self.last - self.first + 1


@dataclass(frozen=True)
class Ended:
    """Event: forward ``forward_id`` ended at the current instant.

    target_probs: processed p at the positions the scheduler still needed (position → row);
        empty for a forward that was cancelled or whose output is unused (warm-up).
    draft, draft_probs: a completed draft's token and processed q.
    """

    forward_id: int
    target_probs: dict[int, np.ndarray] = field(default_factory=dict)
    draft: int | None = None
    draft_probs: np.ndarray | None = None


@dataclass
class Forward:
    """The scheduler's record of one forward (mutable; becomes a trace record at the end)."""

    forward_id: int
    role: Role
    kind: TaskKind
    first: int
    last: int
    round: int
    dispatch: Time
    server: int | None = None
    start: Time | None = None
    end: Time | None = None
    cancelled: Time | None = None
    prefill: bool = False
    state: TaskState = "queued"
    stopped: bool = False  # a cancelled forward that has released its server
    stop_requested: bool = False  # cancelled while running, and the driver was asked to stop it
    generated: tuple[int, ...] = ()

    def covers(self, position: int) -> bool:
        """True when the forward delivers output at ``position``."""
        return self.first <= position <= self.last

    @property
    def live(self) -> bool:
        """Queued or running and not cancelled."""
        return self.state in ("queued", "running")


def sorted_events(events: Sequence[Ended]) -> list[Ended]:
    """Completions of one instant in a fixed order (forward id), whatever order they came in."""
    return sorted(events, key=lambda event: event.forward_id)
