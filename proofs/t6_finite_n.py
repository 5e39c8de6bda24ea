"""T6N (extra): T5 and T6 for *every* S with a finite number of servers N ≥ max(3, ⌈1/(kc)⌉ + 1).

T6∞ (:mod:`proofs.t6_every_s`) proves T_DSI ≤ T_SI and T_DSI ≤ T_nonSI for every S when the
servers are unlimited, i.e. when every task starts at its dispatch. With finite N the
schedule is the same as long as no task ever waits, so it suffices to bound, at every
instant, the number of tasks the *unlimited* schedule runs at once (its concurrency) by N.
Write x = kc and n0 = ⌈1/x⌉, i.e. the integer with (n0 − 1)x < 1 ≤ n0·x.

Rounds start clean (a rejection cancels every task; preemptive mode), so it is enough to
look inside one all-accepted round of length m (relative time 0; notation of
proofs/schedule_model.py). Its tasks are: frontier tasks (F0 at 0, and the chain), *full*
windows b = 0, 1, … dispatched at (b + 1)x, and one *last* window dispatched at (m − 1)c
(possibly cut short). Without waiting a task runs on [dispatch, dispatch + 1) or less
(cancellation only shortens it); at an instant, completions free servers before dispatches.

Lemmas (z3; products of an integer and x are bounded by sign facts proved in QF_NRA):

* W1 (full windows): two full windows whose indices differ by ≥ n0 never run at the same
  instant, so at most n0 full windows run at once.
* W2 (case A, x < 1, first unit of time): a full window running at t < 1 has b + 1 ≤ n0 − 1,
  so F0 runs beside at most n0 − 1 full windows.
* W3 (case A: the frontier chain never fires): for j in block b ≥ 1 the position j − 1 is
  delivered by a window dispatched at ≥ bx, so r_{j−1} ≥ bx + 1 > (b + 1)x ≥ the dispatch
  of the window covering j: when j − 1 resolves, p at j is already coming. (Block 0 is
  covered by window 0, dispatched at ≤ x < 1 ≤ r_0.) So F0 is the only frontier task.
* W4 (case B, x ≥ 1): then n0 = 1, and two full windows never run at once.
* Frontier tasks run one at a time (structural, tested on the event simulation): the chain
  requests F_{i+1} only when i resolves, and when i + 1 resolves F_{i+1} has ended or is
  cancelled (everything it delivers is resolved).
* Count: case A — t < 1: 1 (F0) + (n0 − 1) + 1 (last); t ≥ 1: n0 + 1. Case B: 1 frontier +
  1 full + 1 last = 3. So the concurrency is at most max(3, n0 + 1) ≤ N.

By induction over instants the FIFO schedule with N servers then starts every task at its
dispatch and coincides with the unlimited schedule; T6∞ transfers to every S. The
event-simulation cross-check (tests/proofs/test_finite_n.py) compares the two schedules on
long random paths. Not covered: 2 ≤ N < max(3, n0 + 1) for S > 8 (tasks can wait there).
"""

from __future__ import annotations

import z3

from proofs.core import expect_unsat, make_solver, theorem


def _ceiling_facts(x: z3.ArithRef, n0: z3.ArithRef, n0x: z3.ArithRef) -> list[z3.BoolRef]:
    """n0 = ⌈1/x⌉ with n0x standing for the product n0·x: (n0 − 1)x < 1 ≤ n0·x."""
    return [x > 0, n0 >= 1, n0x >= 1, n0x - x < 1]


def product_facts() -> None:
    """Sign facts in QF_NRA (integers read as reals): for d ≥ n and x > 0, d·x ≥ n·x;
    for x ≥ 1 and (n − 1)x < 1, n < 2."""
    d, n, x = z3.Reals("d n x")
    for hyp, fact in (
        (z3.And(d >= n, x > 0), d * x >= n * x),
        (z3.And(x >= 1, (n - 1) * x < 1), n < 2),
    ):
        solver = make_solver(logic="QF_NRA")
        solver.add(hyp, z3.Not(fact))
        expect_unsat(solver, f"T6N product fact {fact}")


def lemma_full_windows(bound: int = 0) -> None:
    """W1: windows b < b' with b' − b ≥ n0 + bound are never both running at one instant.

    Window b runs on [D, D + 1) with D = (b + 1)x; dx stands for (b' − b)·x ≥ (n0 + bound)·x.
    ``bound = −1`` is the (false) claim "n0 − 1 apart suffices", used by tests.
    """
    b, b2, n0 = z3.Ints("b b2 n0")
    x, n0x, dx, t, D = z3.Reals("x n0x dx t D")
    solver = make_solver()
    solver.add(*_ceiling_facts(x, n0, n0x))
    solver.add(b >= 0, b2 - b >= n0 + bound)
    solver.add(dx >= n0x + bound * x)  # product fact: (b' − b)x ≥ (n0 + bound)x
    solver.add(t >= D, t < D + 1, D + dx <= t, t < D + dx + 1)
    expect_unsat(solver, f"T6N lemma W1 (bound {bound})")


def lemma_first_unit() -> None:
    """W2: x < 1, a full window b running at t < 1, i.e. (b + 1)x ≤ t < 1, has b + 1 ≤ n0 − 1."""
    b, n0 = z3.Ints("b n0")
    x, n0x, bx, t = z3.Reals("x n0x bx t")
    solver = make_solver()
    solver.add(*_ceiling_facts(x, n0, n0x), x < 1)
    solver.add(b >= 0, bx <= t, t < 1)  # bx stands for (b + 1)x
    solver.add(b + 1 >= n0, bx >= n0x)  # negation, with its product fact: (b + 1)x ≥ n0·x
    expect_unsat(solver, "T6N lemma W2")


def lemma_no_chain() -> None:
    """W3: x < 1: r_{j−1} ≥ bx + 1 and D_j ≤ (b + 1)x imply D_j < r_{j−1} (no frontier for j)."""
    x, bx, r, D = z3.Reals("x bx r D")
    solver = make_solver()
    solver.add(x > 0, x < 1, bx >= 0, r >= bx + 1, bx + x >= D)
    solver.add(r <= D)
    expect_unsat(solver, "T6N lemma W3")


def lemma_case_b() -> None:
    """W4: x ≥ 1 ⇒ n0 = 1 (from the NRA fact n0 < 2), and full windows b < b' never overlap."""
    n0 = z3.Int("n0")
    solver = make_solver()
    solver.add(n0 >= 1, n0 < 2, n0 != 1)
    expect_unsat(solver, "T6N lemma W4 (n0)")
    x, dx, t, D = z3.Reals("x dx t D")
    overlap = make_solver()
    overlap.add(x >= 1, dx >= x, t >= D, t < D + 1, D + dx <= t)  # dx = (b' − b)x ≥ x
    expect_unsat(overlap, "T6N lemma W4 (overlap)")


def lemma_count(extra_servers: int = 1) -> None:
    """Count: the unlimited schedule runs at most N tasks at once when N ≥ max(3, n0 + extra).

    f: frontier tasks running (≤ 1); w: full windows (≤ n0 by W1; ≤ n0 − 1 beside F0 in the
    first unit of case A by W2; ≤ 1 in case B by W4; F0 is the only frontier task in case A by
    W3, so f = 1 only for t < 1 there); l: the last window (≤ 1).
    ``extra_servers = 0`` is the (false) claim that max(3, n0) servers suffice.
    """
    n0, N, f, w, l = z3.Ints("n0 N f w l")
    case_a, first_unit = z3.Bools("case_a first_unit")
    solver = make_solver()
    solver.add(n0 >= 1, N >= 3, n0 + extra_servers <= N)
    solver.add(f >= 0, f <= 1, w >= 0, w <= n0, l >= 0, l <= 1)
    solver.add(z3.Implies(case_a, z3.Implies(f == 1, first_unit)))  # W3: only F0
    solver.add(z3.Implies(z3.And(case_a, first_unit), w <= n0 - 1))  # W2
    solver.add(z3.Implies(z3.Not(case_a), z3.And(n0 == 1, w <= 1)))  # W4
    solver.add(f + w + l > N)
    expect_unsat(solver, f"T6N count (N >= max(3, n0 + {extra_servers}))")


def prove_finite_n() -> str:
    product_facts()
    lemma_full_windows()
    lemma_first_unit()
    lemma_no_chain()
    lemma_case_b()
    lemma_count()
    return ("lemmas W1 (n0 full windows), W2 (beside F0), W3 (no chain when kc < 1), W4 (kc >= 1), "
            "count <= max(3, n0 + 1) unsat; product facts in QF_NRA; then T6inf applies")


@theorem(
    id="T6N",
    title="never slower than SI or non-SI, every S (N >= max(3, ceil(1/(kc)) + 1))",
    statement="for N >= max(3, ceil(1/(kc)) + 1), every S, k, c in (0,1] and acceptance path: no task "
              "waits, the schedule equals the unlimited one, so T_DSI <= T_SI and T_DSI <= T_nonSI",
    assumptions=("decode latencies; SPEC §4.3 tie rule; preemptive cancellation",
                 "frontier tasks run one at a time (structural; tested on the event simulation)"),
    method="concurrency bound of the unlimited schedule from z3 lemmas (linear after product "
           "facts proved in QF_NRA), then T6inf",
)
def t6n() -> str:
    return prove_finite_n()
