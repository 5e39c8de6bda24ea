"""The DSI schedule of SPEC §4.3 as quantifier-free z3 constraints (the model under T5–T7).

One *round* (SPEC §4.3; reference/fast/exact.py): it starts at relative time 0 with the
verified prefix of length f; relative positions j = 0..m−1 (m = S − f); every draft is
accepted (the all-accepted round). In preemptive mode a rejection at relative j cancels
every task and starts a new round at ``r_j``, and by causality ``r_j`` does not depend on
whether j is accepted, so for any acceptance path ``T_DSI = Σ_rounds R_{m_r}(j_r)``
(validated against the event simulation in tests/proofs/test_schedule_model.py).

Tasks of the round (time unit = one target forward, drafter forward = c ∈ (0, 1]):

* ``F_0``: frontier task, dispatched at 0, p at position 0;
* ``W_b``, b = 0..B−1, B = ⌈(m−1)/k⌉: window b holds drafts bk..e_b−1 with
  ``e_b = min((b+1)k, m−1)``, is dispatched when its newest draft exists, at ``δ_b = e_b·c``,
  and yields p at bk..e_b (the last window is *cut short* when (b+1)k > m−1);
* ``F_j``, j ≥ 1 (frontier chain): exists iff, when j−1 resolves, no window covering j has
  been dispatched, i.e. ``δ_{⌈j/k⌉−1} ≥ r_{j−1}`` (ties: resolutions before dispatches);
  dispatched at ``r_{j−1}``, p at j.

Servers: N, FIFO in dispatch order; at one instant frontier requests queue before the window
made ready then (SPEC §4.3 step 9). A task runs one unit; it is cancelled (server freed) when
its last position resolves, ``release = min(start + 1, r_last)``; a queued task whose last
position resolves before a server takes it never starts. For a task τ with ``L`` = max of its
dispatch and the starts of the tasks queued before it, the start is the least ``t ≥ L`` at
which fewer than N earlier tasks hold a server, encoded without quantifiers as

    ``w ≥ L``,  ``#{σ before τ started: rel_σ > w} ≤ N − 1``,
    ``w = L  ∨  ⋁_σ (w = rel_σ ∧ #{rel ≥ w} ≥ N)``        (the count is non-increasing on [L, ∞)).

Resolution: ``r_j = max(r_{j−1}, (j+1)c, P_j)``, ``P_j`` = the earliest completion of a started
task covering j. The variant (:class:`ScheduleVariant`) is a parameter so that broken
schedules (no frontier task, no cancellation) can be shown to fail the proofs.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import z3

ONE, ZERO = z3.RealVal(1), z3.RealVal(0)


@dataclass(frozen=True)
class ScheduleVariant:
    """Which rules of SPEC §4.3 the encoded schedule follows."""

    name: str
    frontier: bool = True  # step 1 and step 5: frontier task F0 and the frontier chain
    cancel: bool = True  # step 6: a task is cancelled once its last position resolves
    chain_checks_windows: bool = True  # step 5 skips j when a queued/running task covers j
    #: step 6 at a rejection: every task of the ended round is cancelled. The round model
    #: starts every round clean and ignores this field; the state model
    #: (:mod:`proofs.state_model`) uses it.
    cancel_stale: bool = True


DSI = ScheduleVariant("dsi")
NO_FRONTIER = ScheduleVariant("no-frontier", frontier=False)  # a broken schedule
NO_CANCEL = ScheduleVariant("no-cancel", cancel=False)
#: Broken: the frontier chain ignores queued/running windows (requests F_j whenever p_j is
#: not yet available), so redundant frontier tasks compete with the windows.
BLIND_CHAIN = ScheduleVariant("blind-chain", chain_checks_windows=False)
#: Broken: tasks of a round ended by a rejection are not cancelled (stale tasks keep their
#: servers and their queue places).
KEEP_STALE = ScheduleVariant("keep-stale", cancel_stale=False)


def window_ends(m: int, k: int) -> list[int]:
    """``e_b = min((b+1)k, m−1)`` for the B = ⌈(m−1)/k⌉ windows of a round of length m.

    >>> window_ends(8, 3), window_ends(1, 2), window_ends(2, 5)
    ([3, 6, 7], [], [1])
    """
    if m < 2:
        return []
    return [min((b + 1) * k, m - 1) for b in range(-(-(m - 1) // k))]


def si_round_times(m: int, k: int, c: object) -> list:
    """SI's resolution time of relative position j in a round (accepted up to j), j < m.

    From n resolved: ``kk = min(k, m − n − 1)``, cost ``kk·c + 1``, positions n..n+kk resolve
    at the end of the iteration. Works for Fractions and z3 terms alike.

    >>> si_round_times(4, 2, Fraction(1, 2))
    [Fraction(2, 1), Fraction(2, 1), Fraction(2, 1), Fraction(3, 1)]
    """
    out: list = []
    n, t = 0, 0
    while n < m:
        kk = min(k, m - n - 1)
        t = t + kk * c + 1
        out.extend([t] * (kk + 1))
        n += kk + 1
    return out


def zmax(a: z3.ArithRef, b: z3.ArithRef) -> z3.ArithRef:
    return z3.If(a >= b, a, b)


def zmin(a: z3.ArithRef, b: z3.ArithRef) -> z3.ArithRef:
    return z3.If(a <= b, a, b)


@dataclass
class Task:
    """One potential target task of the round."""

    name: str
    kind: str  # "frontier" or "window"
    order: int  # tie-break among tasks of the same kind
    first: int
    last: int
    exists: z3.BoolRef
    dispatch: z3.ArithRef
    start: z3.ArithRef  # the would-be start w (meaningful when exists)
    started: z3.BoolRef | None = None
    release: z3.ArithRef | None = None
    round: int = 0  # the round in a path (path model); earlier rounds queue first
    end: z3.ArithRef | None = None  # completion if it runs to its end (start + 1 in decode)


@dataclass(frozen=True)
class Prefill:
    """Prefill latencies (target P, drafter Pd) for the unlimited-server *best-start* policy
    (:mod:`proofs.prefill`): the drafter's first forward takes Pd; a target task started at s
    runs on a server warmed at t = 0 (free at P, then a decode) or on a fresh one (prefill
    fused with the task), whichever ends first: ``min(s + P, max(s, P) + 1)``."""

    target: z3.ArithRef
    drafter: z3.ArithRef

    def completion(self, start: z3.ArithRef) -> z3.ArithRef:
        return zmin(start + self.target, zmax(start, self.target) + 1)


@dataclass
class RoundEncoding:
    """The constraints of one all-accepted round and handles on its quantities."""

    m: int
    k: int
    c: z3.ArithRef
    N: z3.ArithRef | int
    r: list[z3.ArithRef]
    tasks: list[Task]
    constraints: list[z3.BoolRef]

    def window(self, b: int) -> Task:
        return next(t for t in self.tasks if t.kind == "window" and t.order == b)

    def waits(self, task: Task) -> z3.BoolRef:
        """The task is dispatched but does not start at its dispatch instant."""
        return z3.And(task.exists, task.start > task.dispatch)

    def is_full_window(self, task: Task) -> bool:
        """A window holding k drafts (not the cut-short last one)."""
        return task.kind == "window" and (task.order + 1) * self.k <= self.m - 1


def _before(a: Task, b: Task) -> z3.BoolRef | bool:
    """Task a is queued before task b (dispatch order; frontier first at equal times)."""
    if a.round != b.round:  # a round's tasks are dispatched before the next round starts
        return a.round < b.round
    if a.kind == b.kind:
        return a.order < b.order
    if a.kind == "frontier":
        return a.dispatch <= b.dispatch
    return a.dispatch < b.dispatch


def fifo_constraints(tasks: list[Task], N: z3.ArithRef | int, tag: str) -> list[z3.BoolRef]:
    """Start times of FIFO service on N servers (each task's started/release already set)."""
    out: list[z3.BoolRef] = []
    for tau in tasks:
        earlier = []
        for sigma in tasks:
            if sigma is tau:
                continue
            before = _before(sigma, tau)
            if before is False:
                continue
            cond = sigma.started if before is True else z3.And(sigma.started, before)
            earlier.append((sigma, z3.simplify(cond) if before is True else cond))
        L = z3.Real(f"{tag}L_{tau.start}")
        out.append(tau.dispatch <= L)
        out += [z3.Implies(cond, sigma.start <= L) for sigma, cond in earlier]
        out.append(z3.Or(tau.dispatch == L, *[z3.And(cond, sigma.start == L) for sigma, cond in earlier]))
        w = tau.start

        def busy(t: z3.ArithRef, strict: bool, earlier: list = earlier) -> z3.ArithRef:
            terms = [z3.If(z3.And(cond, sigma.release > t if strict else sigma.release >= t), ONE, ZERO)
                     for sigma, cond in earlier]
            if len(terms) == 1:
                return terms[0]
            return z3.Sum(terms) if terms else z3.RealVal(0)

        defined = z3.And(
            w >= L,
            busy(w, True) <= N - 1,
            z3.Or(w == L, *[z3.And(cond, w == sigma.release, busy(w, False) >= N)
                            for sigma, cond in earlier]),
        )
        out.append(z3.If(tau.exists, defined, w == 0))
    return out


def encode_round(m: int, k: int, c: z3.ArithRef, N: z3.ArithRef | int, *,
                 variant: ScheduleVariant = DSI, tag: str = "", start: z3.ArithRef | None = None,
                 end: z3.ArithRef | None = None, round_index: int = 0,
                 fifo: bool = True, rejected_at: int | None = None,
                 prefill: Prefill | None = None) -> RoundEncoding:
    """Constraints whose unique solution is the all-accepted round of length m (see module doc).

    For a round inside a path (:mod:`proofs.path_model`): ``start`` is the round's start time
    (default 0), ``end`` the time of the rejection that ends it (None: it runs to its end);
    only tasks dispatched before ``end`` exist, and at ``end`` the round's tasks are cancelled
    (``variant.cancel_stale``) or keep their servers to their natural end (stale tasks).
    ``fifo=False`` leaves the FIFO constraints to the caller (one queue for the whole path).
    ``rejected_at`` (with ``end``): the relative position whose rejection ends the round at
    ``end = r[rejected_at]``; later positions are never resolved in this round (their
    variables are set past ``end``).
    ``N=None``: unlimited servers, every task starts at its dispatch. ``prefill``: the first
    round's drafts start with the drafter's prefill and tasks end as :class:`Prefill` says.
    """
    if m < 1 or k < 1:
        raise ValueError(f"need m >= 1 and k >= 1, got m={m}, k={k}")
    tag = tag or f"m{m}k{k}_"
    t0 = start if start is not None else z3.RealVal(0)
    r = [z3.Real(f"{tag}r{j}") for j in range(m)]
    ends = window_ends(m, k)

    def draft_time(j: int) -> z3.ArithRef:  # the draft of relative position j exists then
        if prefill is not None and round_index == 0:
            return prefill.drafter + j * c
        return t0 + (j + 1) * c

    window_dispatch = [draft_time(e - 1) for e in ends]
    tasks: list[Task] = []
    if variant.frontier:
        for j in range(m):
            if j == 0:
                exists, dispatch = z3.BoolVal(True), t0
            else:
                exists = window_dispatch[-(-j // k) - 1] >= r[j - 1]
                dispatch = r[j - 1]
            tasks.append(Task(f"F{j}", "frontier", j, j, j, exists, dispatch, z3.Real(f"{tag}sF{j}"),
                              round=round_index))
    for b, e in enumerate(ends):
        tasks.append(Task(f"W{b}", "window", b, b * k, e, z3.BoolVal(True), window_dispatch[b],
                          z3.Real(f"{tag}sW{b}"), round=round_index))
    if end is not None:  # nothing of this round is dispatched at or after its rejection
        for task in tasks:
            task.exists = z3.And(task.exists, task.dispatch < end)
    windows = [t for t in tasks if t.kind == "window"]
    for task in tasks:
        task.end = prefill.completion(task.start) if prefill is not None else task.start + 1
        _set_release(task, r[task.last], end, variant)
    if not variant.chain_checks_windows:  # F_j whenever p_j is missing when j − 1 resolves
        for task in tasks:
            if task.kind == "frontier" and task.first > 0:
                j = task.first
                task.exists = z3.Not(z3.Or(*[z3.And(w.started, w.end <= r[j - 1])
                                             for w in windows if w.first <= j <= w.last]))
                if end is not None:
                    task.exists = z3.And(task.exists, task.dispatch < end)
                _set_release(task, r[task.last], end, variant)
    if N is None:  # unlimited servers
        constraints = [z3.Implies(t.exists, t.start == t.dispatch) for t in tasks]
    else:
        constraints = fifo_constraints(tasks, N, tag) if fifo else []
    last_resolved = m - 1 if rejected_at is None else rejected_at
    if rejected_at is not None:
        if end is None:
            raise ValueError("rejected_at needs the round's end time")
        constraints.append(r[rejected_at] == end)
        constraints += [r[j] == end + 1 for j in range(rejected_at + 1, m)]
    for j in range(last_resolved + 1):
        covering = [t for t in tasks if t.first <= j <= t.last]
        P = z3.Real(f"{tag}P{j}")
        constraints += [z3.Implies(t.started, t.end >= P) for t in covering]
        constraints.append(z3.Or(*[z3.And(t.started, t.end == P) for t in covering]))
        bound = zmax(P, draft_time(j))
        constraints.append(r[j] == (bound if j == 0 else zmax(r[j - 1], bound)))
    return RoundEncoding(m, k, c, N, r, tasks, constraints)


def _set_release(task: Task, r_last: z3.ArithRef, end: z3.ArithRef | None,
                 variant: ScheduleVariant) -> None:
    """``started`` and ``release`` of a task: cancelled once its last position resolves
    (``variant.cancel``) and, in a path, at the rejection that ends its round
    (``variant.cancel_stale``); a stale task that is kept runs to its natural end."""
    if not variant.cancel:
        task.started, task.release = task.exists, task.end
        return
    cancel = r_last
    if end is not None:
        # positions after the rejection are never resolved in this round: a task that still
        # has one is cancelled at the rejection, or (stale tasks kept) never
        resolved_in_round = r_last <= end
        if variant.cancel_stale:
            cancel = zmin(r_last, end)
        else:
            task.started = z3.And(task.exists, z3.Or(z3.Not(resolved_in_round), task.start < r_last))
            task.release = z3.If(resolved_in_round, zmin(task.end, r_last), task.end)
            return
    task.started = z3.And(task.exists, task.start < cancel)
    task.release = zmin(task.end, cancel)


def windows_alone(B: int, k: int, c: z3.ArithRef, N: z3.ArithRef | int,
                  tag: str = "wa_") -> tuple[list[Task], list[z3.BoolRef]]:
    """The paper's setting: B full windows dispatched at (b+1)·k·c, unit service, no frontier
    tasks, no cancellation, N FIFO servers."""
    tasks = [Task(f"W{b}", "window", b, b * k, (b + 1) * k, z3.BoolVal(True), (b + 1) * k * c,
                  z3.Real(f"{tag}sW{b}")) for b in range(B)]
    for task in tasks:
        task.started = task.exists
        task.release = task.start + 1
    return tasks, fifo_constraints(tasks, N, tag)


def solve_round(m: int, k: int, N: int, c: Fraction, *, variant: ScheduleVariant = DSI,
                unique: bool = True) -> list[Fraction]:
    """Evaluate the encoding at a concrete c: the resolution times R_m(0..m−1), exactly.

    With ``unique`` a second query proves no other solution exists (the constraints
    determine the schedule). Raises ``AssertionError`` if the constraints are unsatisfiable
    or not determining.
    """
    from proofs.core import exact, make_solver

    cz = z3.Real("c")
    enc = encode_round(m, k, cz, N, variant=variant)
    solver = make_solver()
    solver.add(cz == z3.RealVal(str(c)), *enc.constraints)
    answer = solver.check()
    assert answer == z3.sat, f"round encoding m={m} k={k} N={N} c={c}: {answer}"
    model = solver.model()
    values = [exact(model.eval(rj, model_completion=True)) for rj in enc.r]
    if unique:
        solver.add(z3.Or(*[rj != z3.RealVal(str(v)) for rj, v in zip(enc.r, values, strict=True)]))
        assert solver.check() == z3.unsat, f"round encoding m={m} k={k} N={N} c={c} is not determining"
    return values
