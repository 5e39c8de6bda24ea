"""T6N (extra): with N ≥ max(3, ⌈1/(kc)⌉ + 1) servers no task ever waits, so the schedule is
the unlimited one and T6inf gives T5 and T6 for every S.

Write x = kc and n0 = ⌈1/x⌉ (the integer with (n0 − 1)x < 1 ≤ n0·x). Rounds start clean,
so it is enough to look inside one all-accepted round.

* Case x < 1 (n0 ≥ 2), N ≥ n0 + 1 — through the FIFO queue of :mod:`proofs.t6_fifo`: the
  round's tasks are F_0 and the windows (A1), and task n leaves the queue by
  U_n = max(d_n, U_{n−1}, U_{n−N} + 1) (A2, A3). The dispatches are N·x ≥ 1 apart over N
  indices for full windows, and the last window is dispatched at Mc > (B − 1)x, more than
  (N − 1)x ≥ n0·x ≥ 1 after task B − N: so d_n ≥ d_{n−N} + 1 for every n ≥ N, and by
  induction U_n = d_n: every task starts at its dispatch (lemma N1, z3 with product facts in
  QF_NRA). With N = n0 the last window can wait (the lemma is refuted, as T7(c) finds).
* Case x ≥ 1 (n0 = 1), N ≥ 3: frontier tasks run one at a time (B1), full windows too (B2),
  and there is one last window, so four tasks holding or taking a server at one instant
  would be two of one kind: by the pigeonhole lemma (z3 over four symbolic tasks) at most
  three exist and no task waits (:mod:`proofs.t6_two_servers`).

Both cases are machine-checked lemmas; the prose is the model (the rules restate SPEC §4.3)
and the inductions chaining the steps. The event-simulation cross-check
(tests/proofs/test_finite_n.py) compares the finite and unlimited schedules on long paths.
"""

from __future__ import annotations

import z3

from proofs import t6_fifo, t6_two_servers
from proofs.core import expect_unsat, make_solver, theorem
from proofs.schedule_model import DSI, ScheduleVariant

PROSE = ("the rules restate SPEC §4.3 (model; tested on the event simulation)",
         "inductions over FIFO indices (case kc < 1) and dispatch instants (case kc >= 1) "
         "chaining the steps; then T6inf's per-position induction")


def lemma_dispatch_gaps(extra_servers: int = 1) -> None:
    """N1 (QF_NRA, integers read as reals): x < 1, N ≥ n0 + extra_servers ⇒ d_n − d_{n−N} ≥ 1
    for every n ≥ N: full windows are Nx apart over N indices; the last window, at
    L > (B − 1)x, is more than (N − 1)x after task B − N (at ≤ (B − N)x, or 0 for F_0).
    ``extra_servers = 0`` is the false claim that N = n0 suffices (the last window waits)."""
    x, n0, N, gap = z3.Reals("x n0 N gap")
    solver = make_solver(logic="QF_NRA")
    solver.add(x > 0, x < 1, n0 >= 1, n0 * x >= 1, (n0 - 1) * x < 1, n0 + extra_servers <= N)
    solver.add(gap > (N - 1) * x, z3.Or(N * x < 1, gap < 1))
    expect_unsat(solver, f"T6N N1 dispatch gaps (N >= n0 + {extra_servers})")


def lemma_no_wait_queue() -> None:
    """N2: d_n ≥ d_{n−N} + 1, d non-decreasing, U_i = d_i for i < n ⇒ U_n = d_n; and a task
    leaves the queue no earlier than its dispatch, so e_n = d_n (it never waits)."""
    dn, d1, dN, U1, UN, Un, en = z3.Reals("dn d1 dN U1 UN Un en")
    solver = make_solver()
    solver.add(dn >= dN + 1, dn >= d1, d1 == U1, dN == UN)
    solver.add(Un == t6_fifo._max(dn, U1, UN + 1), en <= Un, en >= dn)
    solver.add(z3.Or(Un != dn, en != dn))
    expect_unsat(solver, "T6N N2 no task waits (kc < 1)")


def prove_finite_n(variant: ScheduleVariant = DSI) -> str:
    t6_fifo.lemma_no_chain(variant)
    steps = t6_fifo.lemma_queue_count()
    t6_fifo.lemma_queue_bound()
    lemma_dispatch_gaps()
    lemma_no_wait_queue()
    t6_two_servers.lemma_frontier_one_at_a_time(variant)
    t6_two_servers.lemma_windows_one_at_a_time()
    t6_two_servers.lemma_no_wait_three_servers()
    return (f"kc < 1: A1 no chain, A2 FIFO count ({steps} steps), A3, N1 dispatch gaps, N2 no "
            "wait; kc >= 1: B1, B2, pigeonhole 4 tasks / 3 kinds; then T6inf applies")


@theorem(
    id="T6N",
    title="never slower than SI or non-SI, every S (N >= max(3, ceil(1/(kc)) + 1))",
    statement="for N >= max(3, ceil(1/(kc)) + 1), every S, k, c in (0,1] and acceptance path: no task "
              "waits, the schedule equals the unlimited one, so T_DSI <= T_SI and T_DSI <= T_nonSI",
    assumptions=("decode latencies; SPEC §4.3 tie rule; preemptive cancellation",),
    method="z3: FIFO queue bound and dispatch gaps (kc < 1), pigeonhole over four symbolic tasks "
           "(kc >= 1); then T6inf",
    prose=PROSE,
)
def t6n() -> str:
    return prove_finite_n()
