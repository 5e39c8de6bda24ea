"""The DSI scheduler's state at the end of an instant, as constraints on symbolic tasks.

The round model (:mod:`proofs.schedule_model`) encodes whole rounds of a given length. The
every-S proofs need statements about *any* reachable state of a round of *any* length, so
here a state is described by the rules of SPEC §4.3 that hold in it, stated for a handful of
symbolic tasks (every rule holds for every task, so in particular for the ones named in a
query). A query then asks z3 whether some state obeying the rules violates a claim; ``unsat``
proves the claim for every state, every S, k, c and N.

The state is taken at the end of an instant t (after phase 3 of SPEC §4.3 step 9), where
``u`` is the smallest unresolved position and ``f ≤ u`` the first position of the current
round. Each :class:`SymTask` has a kind (frontier or window), the output positions
``first..last`` it computes p at, a FIFO rank (dispatch order, frontier requests before
windows at one instant), a dispatch time, and a status: queued, running, or gone (completed
or cancelled). A *stale* task belongs to an earlier round (its prefix holds a rejected
draft); it covers nothing of the current round.

Rules (each a restatement of a SPEC §4.3 step, for the variant under proof):

* R0 kinds: a frontier task computes p at one position (first = last); a window at ≥ 2
  (its drafts and the bonus position, first < last);
* R1 cancellation (step 6): a live (queued or running) task of the current round has an
  unresolved position (last ≥ u); a task of an earlier round is not live (cancelled at the
  rejection that ended its round). Variants: ``cancel=False`` drops the first part,
  ``cancel_stale=False`` the second;
* R2 FIFO (step 7): a running task was queued before every queued task (rank smaller);
* R3 work conservation (step 7, end of phase 3): if a task is queued, every server is busy,
  so (N ≥ 1) the task named ``busy`` in a query is running;
* R4 windows in order (step 3): the windows of a round are dispatched in position order; a
  dispatched window whose first position exceeds u comes after the window covering u;
* R5 frontier tasks (steps 1, 5): the frontier task at position i is requested when i − 1
  resolves (or at the round start, i = f), so no frontier task beyond u exists yet;
* R6 frontier chain (steps 1, 5): at the end of the instant at which u − 1 resolved (or the
  round started), p at u is available or some live task covers u (``frontier=False``:
  nothing asks for p at u);
* R7 completion (steps 4, 6): a dispatched window of the current round that is no longer
  live has completed (it could be cancelled only once its last position, ≥ u, resolved), so
  it delivered p at its positions.

Which rules a broken schedule violates is what makes the proofs fail for it
(tests/proofs/test_every_s_can_fail.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import z3

from proofs.schedule_model import DSI, ScheduleVariant


@dataclass(frozen=True)
class SymTask:
    """A symbolic target task in a state (see the module docstring for the fields)."""

    name: str
    exists: z3.BoolRef
    frontier: z3.BoolRef
    stale: z3.BoolRef
    first: z3.ArithRef
    last: z3.ArithRef
    rank: z3.ArithRef
    queued: z3.BoolRef
    running: z3.BoolRef

    @property
    def live(self) -> z3.BoolRef:
        return z3.Or(self.queued, self.running)

    def covers(self, position: z3.ArithRef) -> z3.BoolRef:
        """Computes p at ``position`` on the current round's prefix."""
        return z3.And(self.exists, z3.Not(self.stale), self.first <= position, position <= self.last)

    @property
    def window(self) -> z3.BoolRef:
        return z3.Not(self.frontier)


def sym_task(name: str) -> SymTask:
    return SymTask(name, z3.Bool(f"{name}_exists"), z3.Bool(f"{name}_frontier"), z3.Bool(f"{name}_stale"),
                   z3.Int(f"{name}_first"), z3.Int(f"{name}_last"), z3.Int(f"{name}_rank"),
                   z3.Bool(f"{name}_queued"), z3.Bool(f"{name}_running"))


@dataclass(frozen=True)
class Snapshot:
    """A state at the end of an instant: smallest unresolved position u, round start f,
    whether p at u is available, and named tasks."""

    u: z3.ArithRef
    f: z3.ArithRef
    available: z3.BoolRef
    tasks: tuple[SymTask, ...]


def task_rules(task: SymTask, snap: Snapshot, variant: ScheduleVariant) -> list[z3.BoolRef]:
    """R0, R1, R5 and R7 for one task."""
    u, f = snap.u, snap.f
    out = [
        z3.Not(z3.And(task.queued, task.running)),
        z3.Implies(z3.Not(task.exists), z3.Not(task.live)),
        z3.Implies(task.frontier, task.first == task.last),  # R0
        z3.Implies(task.window, task.first < task.last),
        z3.Implies(z3.Not(task.stale), task.first >= f),
        # R5: no frontier task of the current round beyond u yet
        z3.Implies(z3.And(task.exists, task.frontier, z3.Not(task.stale)), task.first <= u),
        # R7: a current-round window that is gone completed and delivered its positions
        z3.Implies(z3.And(task.exists, task.window, z3.Not(task.stale), z3.Not(task.live),
                          task.first <= u, u <= task.last), snap.available),
    ]
    if variant.cancel:  # R1, within the round
        out.append(z3.Implies(z3.And(task.live, z3.Not(task.stale)), task.last >= u))
    if variant.cancel_stale:  # R1, earlier rounds
        out.append(z3.Implies(task.stale, z3.Not(task.live)))
    return out


def pair_rules(a: SymTask, b: SymTask, snap: Snapshot) -> list[z3.BoolRef]:
    """R2 (FIFO) and R4 (windows in order) for an ordered pair of distinct tasks."""
    both_windows = z3.And(a.exists, b.exists, a.window, b.window, z3.Not(a.stale), z3.Not(b.stale))
    # Two names may denote one task (no distinctness is assumed, so every instantiation of
    # the rules by a real state satisfies these constraints).
    return [
        z3.Implies(z3.And(a.running, b.queued), a.rank < b.rank),  # R2
        z3.Implies(both_windows, (a.first < b.first) == (a.rank < b.rank)),  # R4
    ]


def snapshot_rules(snap: Snapshot, variant: ScheduleVariant = DSI, *,
                   covering_window: SymTask | None = None) -> list[z3.BoolRef]:
    """R0–R7 for the snapshot's tasks. ``covering_window`` names the window of the current
    round whose positions contain u (if the round has windows): R4 says every dispatched
    window beyond u was dispatched after it."""
    out = [snap.f >= 0, snap.u >= snap.f]
    for task in snap.tasks:
        out += task_rules(task, snap, variant)
    for a in snap.tasks:
        for b in snap.tasks:
            if a is not b:
                out += pair_rules(a, b, snap)
    if covering_window is not None:
        w = covering_window
        out += [z3.Not(w.stale), w.window, w.first <= snap.u, snap.u <= w.last]
        for task in snap.tasks:  # R4: a dispatched window past u means w was dispatched first
            if task is not w:
                out.append(z3.Implies(z3.And(task.exists, task.window, z3.Not(task.stale),
                                             task.first > snap.u), z3.And(w.exists, w.rank < task.rank)))
    return out
