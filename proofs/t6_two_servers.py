"""Case kc ≥ 1 of T6all (N = 2) and of T6N (N ≥ 3): who can hold a server, and the bounds.

Notation (one all-accepted round, relative time, x = kc ≥ 1): full windows b = 0..n−1 are
dispatched at (b + 1)x, the last window at L = Mc ∈ (nx, (n + 1)x] (n = number of full
windows), frontier tasks F_j at r_{j−1}.

* B1 (frontier tasks one at a time): F_i (cancelled once i resolves) releases its server by
  r_i ≤ r_{l−1}, the dispatch of any later F_l.
* B2 (full windows one at a time): a full window started at its dispatch releases by
  (b + 1)x + 1 ≤ (b' + 1)x, the dispatch of any later full window (x ≥ 1).
* B3 (pigeonhole, N = 2): at an instant t ≤ L, a task τ dispatched then (not the last window)
  and two tasks running then are three distinct tasks of two kinds (frontier, full window):
  two share a kind, which B1/B2 forbid. So at most one other task holds a server and τ
  starts at once: by induction over dispatch instants, no task but the last window ever
  waits. (N ≥ 3, T6N: four distinct tasks of three kinds, the last window being unique,
  so no task ever waits.)
* B4 (the last window, N = 2): frontier tasks are requested only at r_{j−1} ≤ D_j ≤ L, so
  after L nothing new is queued; at L at most a frontier task and a full window hold the
  servers (B3), and a full window releases by nx + 1: the last window starts by max(L, nx + 1)
  (by L when n = 0).
* B5 (positions): a position first covered by a full window steps by T6inf's R(ρ, D); one in
  the last block by R2(ρ) = ρ + 1 if L ≥ ρ (frontier task, not waiting) else
  max(ρ, s + 1), s ≤ max(L, nx + 1). C': R2 keeps T6inf's formula bound F(j) (the extra
  term nx + 2 ≤ F(j) since min(i, x) ≥ 1). E': in SI's cut-short last iteration,
  SI_m = g(1 − c) + Mc + 1 with g ≥ 1 and Mc ≥ nx + c, which is ≥ nx + 2.

With T6inf's lemmas C and D (F(j) ≤ SI_∞(j)) and E this gives r_j ≤ SI_m(j) for every j.
"""

from __future__ import annotations

import z3

from proofs.core import expect_unsat, make_solver
from proofs.schedule_model import DSI, ScheduleVariant

#: Prose steps of the kc >= 1 case.
PROSE = ("the tasks of a kc >= 1 round are frontier tasks, full windows and one last window "
         "(SPEC §4.3 steps 1, 3, 5)",
         "induction over dispatch instants (B3: no task but the last window waits) and over "
         "positions (B5, C', E') chaining the steps")


def _min(a: z3.ArithRef, b: z3.ArithRef) -> z3.ArithRef:
    return z3.If(a <= b, a, b)


def _max(a: z3.ArithRef, b: z3.ArithRef) -> z3.ArithRef:
    return z3.If(a >= b, a, b)


def lemma_frontier_one_at_a_time(variant: ScheduleVariant = DSI) -> None:
    """B1: i < l: F_i is dispatched at r_{i−1} < r_i (it is requested only if p at i is not
    available when i − 1 resolves) and releases its server by min(s_i + 1, r_i) (cancelled
    when i resolves; s_i + 1 without cancellation); F_l is dispatched at r_{l−1} ≥ r_i. So
    F_i is dispatched strictly before F_l and releases by F_l's dispatch."""
    ri1, ri, rl1, si = z3.Reals("ri1 ri rl1 si")
    release = _min(si + 1, ri) if variant.cancel else si + 1
    solver = make_solver()
    solver.add(si >= ri1, si <= ri, ri1 < ri, ri <= rl1)
    solver.add(z3.Or(release > rl1, ri1 >= rl1))
    expect_unsat(solver, f"B1 frontier tasks one at a time ({variant.name})")


def lemma_windows_one_at_a_time() -> None:
    """B2: windows b < b' started at their dispatches (b+1)x, (b'+1)x: dx = (b' − b)x ≥ x ≥ 1
    (QF_NRA fact), so the first releases (≤ start + 1) by the second's dispatch."""
    d, x = z3.Reals("d x")
    fact = make_solver(logic="QF_NRA")
    fact.add(x >= 1, d >= 1, d * x < x)
    expect_unsat(fact, "B2 product fact")
    start, release, dx = z3.Reals("start release dx")
    solver = make_solver()
    solver.add(x >= 1, dx >= x, release <= start + 1, release > start + dx)
    expect_unsat(solver, "B2 full windows one at a time")


def _pigeonhole(count: int, kinds: int) -> None:
    """``count`` distinct tasks holding or taking a server at one instant t, of ``kinds``
    kinds (frontier, full window, and with three kinds the unique last window): same-kind
    pairs are ordered by index, the earlier is dispatched strictly earlier and releases by the
    later's dispatch (B1, B2), so both cannot hold a server at t. Unsat proves that at most
    count − 1 can."""
    tasks = [(z3.Int(f"kind{a}"), z3.Int(f"idx{a}"), z3.Real(f"d{a}"), z3.Real(f"s{a}"),
              z3.Real(f"rel{a}")) for a in range(count)]
    t = z3.Real("t")
    solver = make_solver()
    for a, (kind, idx, d, s, rel) in enumerate(tasks):
        solver.add(kind >= 0, kind < kinds, idx >= 0, s >= d, rel <= s + 1)
        if a == count - 1:  # the task dispatched at t
            solver.add(d == t)
        else:  # running at t
            solver.add(s <= t, t < rel)
        if kinds == 3:
            solver.add(z3.Implies(kind == 2, idx == 0))  # one last window
    for a in range(count):
        for b in range(count):
            if a == b:
                continue
            ka, ia, _, _, rel_a = tasks[a]
            kb, ib, db, _, _ = tasks[b]
            solver.add(z3.Or(ka != kb, ia != ib))  # distinct tasks
            # B1 (kind 0) and B2 (kind 1): the earlier of two same-kind tasks releases by the
            # dispatch of the later
            solver.add(z3.Implies(z3.And(ka == kb, ka != 2, ia < ib),
                                  z3.And(rel_a <= db, tasks[a][2] < db)))
    expect_unsat(solver, f"pigeonhole: {count} tasks, {kinds} kinds")


def lemma_no_wait_two_servers() -> None:
    """B3: N = 2, at t ≤ L: two running tasks and the task dispatched at t cannot coexist (the
    last window is not among them: it is dispatched at L, after the frontier request of that
    instant)."""
    _pigeonhole(3, 2)


def lemma_no_wait_three_servers() -> None:
    """T6N case kc ≥ 1: N ≥ 3, three running tasks and a task dispatched at t cannot coexist
    (kinds: frontier, full window, last window)."""
    _pigeonhole(4, 3)


def lemma_last_window_start() -> None:
    """B4: s_last ≤ max(L, nx + 1) (and ≤ L without full windows).

    A full window b ≤ n − 1 started at its dispatch w = (b + 1)x ≤ nx releases by w + 1. At L,
    if both servers are busy, they are held by a frontier task and a full window (B3), and the
    last window starts at the first release; otherwise at L. Nothing else is queued before it.
    """
    L, nx, w, rel_w, rel_f, s = z3.Reals("L nx w rel_w rel_f s")
    both_busy, has_full = z3.Bools("both_busy has_full")
    solver = make_solver()
    solver.add(nx >= 0, nx < L, w <= nx, rel_w <= w + 1, rel_w > L, rel_f > L)
    solver.add(z3.Implies(both_busy, has_full))  # B3: the two holders are of different kinds
    solver.add(s == z3.If(both_busy, _min(rel_w, rel_f), L))
    solver.add(s > z3.If(has_full, _max(L, nx + 1), L))
    expect_unsat(solver, "B4 last window start")


def lemma_positions(variant: ScheduleVariant = DSI) -> None:
    """B5 and C': ρ ≤ F(j − 1) ⇒ step ≤ F(j) = 1 + y + min(i, x) in the last block
    (y = nx, j = nk + i, 1 ≤ i ≤ k, x ≥ 1, L ≤ y + x); full blocks step by T6inf's R(ρ, D),
    bounded by T6inf lemma C. Without the frontier chain a position waits for its window."""
    k, i = z3.Ints("k i")
    x, y, rho, L, s = z3.Reals("x y rho L s")
    ir = z3.ToReal(i)
    previous = 1 + y + z3.If(i >= 2, _min(ir - 1, x), z3.RealVal(0))  # F(j − 1); i = 1: F(nk) = 1 + nx
    solver = make_solver()
    solver.add(k >= 1, i >= 1, i <= k, x >= 1, x <= z3.ToReal(k), y >= 0, y < L, y + x >= L)
    solver.add(rho <= previous, s >= L, s <= _max(L, y + 1))
    window = _max(rho, s + 1)
    step = z3.If(rho <= L, rho + 1, window) if variant.frontier else window
    solver.add(step > 1 + y + _min(ir, x))
    expect_unsat(solver, f"B5/C' last-block positions ({variant.name})")


def lemma_last_iteration() -> None:
    """E': the last block resolves by max(L + 1, nx + 2) (it starts at r_{nk} ≤ F(nk) = 1 + nx
    and every step stays below); in SI's last iteration g ≥ 1 (the round has a full window,
    so M ≥ k + 1), SI_m = g(1 − c) + Mc + 1 with Mc ≥ nx + c (M ≥ nk + 1), which is ≥ both."""
    c, L, nx, gc, rho, s, top = z3.Reals("c L nx gc rho s top")
    tail = make_solver()
    tail.add(nx < L, top == _max(L + 1, nx + 2), rho <= top, s <= _max(L, nx + 1))
    tail.add(z3.If(rho <= L, rho + 1, _max(rho, s + 1)) > top)
    expect_unsat(tail, "E' last block below max(L + 1, nx + 2)")
    M, n, k, gr = z3.Reals("M n k gr")
    fact = make_solver(logic="QF_NRA")  # integers read as reals
    fact.add(c > 0, c <= 1, k >= 1, n * k + 1 <= M, z3.Or(M * c < n * k * c + c,
                                                          z3.And(gr >= 1, gr * (1 - c) < 1 - c)))
    expect_unsat(fact, "E' product facts Mc >= nkc + c, g(1 - c) >= 1 - c")
    solver = make_solver()
    solver.add(c > 0, c <= 1, gc >= 1 - c, nx + c <= L, top == _max(L + 1, nx + 2))
    solver.add(top > gc + L + 1)
    expect_unsat(solver, "E' SI's last iteration")
    single = make_solver()  # n = 0 (one window): it starts at L (B4), the round stays below L + 1
    single.add(rho <= L + 1, s <= L, z3.If(rho <= L, rho + 1, _max(rho, s + 1)) > L + 1)
    expect_unsat(single, "E' single-window round below L + 1")


def prove_two_server_case(variant: ScheduleVariant = DSI) -> str:
    lemma_frontier_one_at_a_time(variant)
    lemma_windows_one_at_a_time()
    lemma_no_wait_two_servers()
    lemma_last_window_start()
    lemma_positions(variant)
    lemma_last_iteration()
    return "kc >= 1, N = 2: B1, B2, B3 (pigeonhole 3 tasks / 2 kinds), B4, B5/C', E' unsat"
