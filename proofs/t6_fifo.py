"""Case kc < 1 of T6all: T_DSI ≤ T_SI for every S and every N ≥ 2, through the FIFO queue.

Notation (one all-accepted round, relative positions 0..M and time; x = kc < 1): FIFO task
0 is the frontier task F_0 (dispatched at d_0 = 0); task n ≥ 1 is window n − 1, dispatched at
d_n = nx (the last one, n = B = ⌈M/k⌉, at d_B = Mc ∈ ((B − 1)x, Bx]). The earliest task
computing p at position j ≥ 1 is n(j) = ⌈j/k⌉.

* A1 (no frontier chain): when j − 1 resolves, the window covering j has been dispatched:
  p at j − 1 came from a task of index ≥ q = n(j − 1), done a unit after its dispatch, so
  r_{j−1} ≥ d_q + 1 > d_q + x ≥ d_{q+1} ≥ D_j. By induction over j the round's tasks are F_0
  and the windows, queued in index order.
* A2 (FIFO queue, N servers): with e_i the instant task i leaves the queue (starts, or is
  cancelled) and T = max(d_n, e_{n−1}, e_{n−N} + 1), the tasks i ≤ n − N have released their
  servers by T (they left the queue by e_{n−N} and hold a server at most one unit), so at most
  the N − 1 tasks n−N+1..n−1 hold one: a server is free and e_n ≤ T. The count is an explicit
  induction over i with an uninterpreted counting function (checked step by step).
* A3: hence e_n ≤ U_n with U_n = max(d_n, U_{n−1}, U_{n−N} + 1), and task n delivers by U_n + 1.
* A4 (dominance, strong induction over n): U_n + 1 ≤ G(n) = SI_m(first position of block n)
  from D1: d_n + 1 ≤ G(n) (T6inf lemma D at i = 1, and lemma E in SI's cut-short
  iteration), D2: G non-decreasing, D3: G(n − N) + 1 ≤ G(n) for N ≥ 2 (Nk ≥ k + 1 positions
  apart: a later SI iteration, which costs at least one unit; SI facts S1, S2).
* A5 (positions): r_j ≤ max(r_{j−1}, U_{n(j)} + 1) (the draft never binds: draft lemma)
  ≤ max(SI_m(j − 1), G(n(j))) ≤ SI_m(j).

For N = 1, D3 fails (k positions apart can share an SI iteration): the lemma is refuted,
as it must be (T6's N = 1 counterexample).
"""

from __future__ import annotations

import z3

from proofs.core import expect_unsat, make_solver
from proofs.schedule_model import DSI, ScheduleVariant

#: Prose steps of the kc < 1 case.
PROSE = ("the tasks of a kc < 1 round are F_0 and the windows in index order (A1 by induction "
         "over positions)",
         "inductions over FIFO indices (A2 count, A3, A4) and positions (A5) chaining the steps")


def _max(*terms: z3.ArithRef) -> z3.ArithRef:
    out = terms[0]
    for term in terms[1:]:
        out = z3.If(out >= term, out, term)
    return out


def lemma_dispatch_facts() -> None:
    """Window dispatches (QF_NRA, integers read as reals): for the last window
    (B − 1)k < M ≤ Bk gives (B − 1)x < Mc ≤ Bx, so consecutive dispatches are at most x apart
    and non-decreasing; the first window is dispatched at min(k, M)c ≤ x."""
    M, B, k, c = z3.Reals("M B k c")
    solver = make_solver(logic="QF_NRA")
    solver.add(c > 0, k >= 1, B >= 1, B * k >= M, (B - 1) * k + 1 <= M)
    solver.add(z3.Or(M * c > B * k * c, M * c <= (B - 1) * k * c))
    expect_unsat(solver, "T6all kc<1 dispatch facts")


def lemma_no_chain(variant: ScheduleVariant = DSI) -> None:
    """A1: r ≥ d_q + 1, D ∈ {d_q, d_{q+1}}, d_{q+1} ≤ d_q + x, x < 1 ⇒ no frontier task for j.

    The frontier rule of ``variant``: step 5 requests F_j iff the covering window is not
    dispatched before r_{j−1} (D ≥ r); a blind chain requests it whenever p at j is missing
    (the window's completion P > r)."""
    x, dq, dq1, r, D, P = z3.Reals("x dq dq1 r D P")
    boundary = z3.Bool("boundary")
    solver = make_solver()
    solver.add(x > 0, x < 1, dq >= 0, r >= dq + 1, dq1 <= dq + x, dq1 >= dq)
    solver.add(z3.If(boundary, dq1, dq) == D, P >= D + 1)  # the covering window ends >= D + 1
    frontier = r <= D if variant.chain_checks_windows else r < P
    solver.add(frontier)
    expect_unsat(solver, f"T6all kc<1 A1 no frontier chain ({variant.name})")


def lemma_queue_count() -> int:
    """A2 in four induction steps over an uninterpreted counting function (QF_UFLIRA).

    cnt(i) = #{i' < i: task i' holds a server at T}, hold(i) = e(i) ≤ T < rel(i),
    rel(i) ≤ e(i) + 1 (a task holds a server at most one unit from leaving the queue).
    """
    e = z3.Function("e", z3.IntSort(), z3.RealSort())
    rel = z3.Function("rel", z3.IntSort(), z3.RealSort())
    cnt = z3.Function("cnt", z3.IntSort(), z3.IntSort())
    i, n, N = z3.Ints("i n N")
    T = z3.Real("T")

    def hold(j: z3.ArithRef) -> z3.BoolRef:
        return z3.And(e(j) <= T, rel(j) > T)

    def definition(j: z3.ArithRef) -> z3.BoolRef:
        return cnt(j + 1) == cnt(j) + z3.If(hold(j), 1, 0)

    steps = 0
    # Q0: queue exits are in FIFO order, so e(i) ≤ e(n−N) for i ≤ n−N (downward step)
    mono = make_solver()
    mono.add(i >= 0, i + 1 <= n - N, e(i) <= e(i + 1), e(i + 1) <= e(n - N), e(i) > e(n - N))
    expect_unsat(mono, "T6all A2 Q0 (FIFO exits in order)")
    steps += 1
    # Q1: tasks i ≤ n − N hold no server at T ≥ e(n − N) + 1: cnt stays 0 up to n − N + 1
    prefix = make_solver()
    prefix.add(i >= 0, i <= n - N, e(i) <= e(n - N), rel(i) <= e(i) + 1, e(n - N) + 1 <= T,
               cnt(i) == 0, definition(i), cnt(i + 1) != 0)
    expect_unsat(prefix, "T6all A2 Q1 (released before T)")
    steps += 1
    # Q2: from n − N + 1 on, cnt grows by at most one per task
    window = make_solver()
    window.add(i >= n - N + 1, i <= n - 1, cnt(i) <= i - (n - N + 1), definition(i),
               cnt(i + 1) > i + 1 - (n - N + 1))
    expect_unsat(window, "T6all A2 Q2 (at most N - 1 holders)")
    steps += 1
    # Q3: N − 1 holders at T ≥ max(d_n, e(n − 1)): a server is free, FIFO starts n by T
    d_n = z3.Real("d_n")
    free = make_solver()
    free.add(N >= 1, cnt(n) <= N - 1, d_n <= T, e(n - 1) <= T)
    free.add(z3.Implies(z3.And(cnt(n) < N, d_n <= T, e(n - 1) <= T), e(n) <= T))  # step 7
    free.add(e(n) > T)
    expect_unsat(free, "T6all A2 Q3 (task n leaves the queue by T)")
    return steps + 1


def lemma_queue_bound() -> None:
    """A3: e_n ≤ max(d_n, e_{n−1}, e_{n−N} + 1) and e_i ≤ U_i for i < n ⇒ e_n ≤ U_n."""
    en, dn, e1, eN, U1, UN = z3.Reals("en dn e1 eN U1 UN")
    solver = make_solver()
    solver.add(en <= _max(dn, e1, eN + 1), e1 <= U1, eN <= UN, en > _max(dn, U1, UN + 1))
    expect_unsat(solver, "T6all A3 (queue bound)")


def lemma_d1() -> None:
    """D1: d_n + 1 ≤ G(n) = SI_m((n−1)k + 1), x < 1.

    Lemma D of T6inf at j = (n−1)k + 1 (i = 1): F = 1 + (n−1)x + min(1, x) ≤ SI_∞(j); outside
    SI's last iteration SI_m = SI_∞, inside it SI_m ≥ Mc + 1 (lemma E); d_n ≤ Mc; a full window
    has d_n = nx, the last one d_B = Mc ≤ Bx. y stands for (n − 1)x.
    """
    x, y, L, d, F, SIinf, SIm = z3.Reals("x y L d F SIinf SIm")
    last_iteration, last_window = z3.Bools("last_iteration last_window")
    solver = make_solver()
    solver.add(x > 0, x < 1, y >= 0, 1 + y + z3.If(x <= 1, x, z3.RealVal(1)) == F)
    solver.add(SIinf >= F, z3.If(last_iteration, SIm >= L + 1, SIm == SIinf))
    solver.add(d <= L, z3.If(last_window, z3.And(d == L, y + x >= L), d == y + x))
    solver.add(d + 1 > SIm)
    expect_unsat(solver, "T6all D1")


def lemma_d3(min_servers: int = 2) -> None:
    """D3: the first positions of blocks n − N and n, j0 = (n−N−1)k + 1 and j1 = (n−1)k + 1
    (or j0 = 0 when n = N: block 0 is position 0), are ≥ k + 1 apart when N ≥ 2 (QF_NIA); by
    S1 they lie in different SI iterations and by S2 the later resolves at least a unit later:
    G(n − N) + 1 ≤ G(n)."""
    N, k, n = z3.Ints("N k n")
    solver = make_solver(logic="QF_NIA")
    solver.add(k >= 1, min_servers <= N, n >= N)
    j0 = z3.If(n == N, 0, (n - N - 1) * k + 1)
    solver.add((n - 1) * k + 1 < j0 + k + 1)
    expect_unsat(solver, f"T6all D3 (N >= {min_servers})")
    G0, G1, C_apart = z3.Reals("G0 G1 C_apart")
    compose = make_solver()  # S1: different iterations; S2: C increases by >= 1 per iteration
    compose.add(C_apart >= G0 + 1, C_apart <= G1, G1 < G0 + 1)
    expect_unsat(compose, "T6all D3 (compose)")


def lemma_dominance_step() -> None:
    """A4 and A5: the strong induction over n and the step over positions."""
    Un, dn, U1, UN, G, G1, GN = z3.Reals("Un dn U1 UN G G1 GN")
    solver = make_solver()
    solver.add(Un == _max(dn, U1, UN + 1), U1 + 1 <= G1, UN + 1 <= GN)  # IH
    solver.add(dn + 1 <= G, G1 <= G, GN + 1 <= G)  # D1, D2, D3
    solver.add(Un + 1 > G)
    expect_unsat(solver, "T6all A4 (dominance step)")
    base = make_solver()  # U_0 = d_0 = 0 (F_0 at the round start), G(0) = SI_m(0) = kk·c + 1 ≥ 1
    c, kk = z3.Reals("c kk")
    base.add(c > 0, kk >= 0, kk * c + 1 < 0 + 1)
    expect_unsat(base, "T6all A4 (base)")
    r, rho, P, SIj, SIprev, Gj = z3.Reals("r rho P SIj SIprev Gj")
    pos = make_solver()
    pos.add(r <= _max(rho, P), rho <= SIprev, SIprev <= SIj, Gj >= P, Gj <= SIj, r > SIj)
    expect_unsat(pos, "T6all A5 (positions)")


def prove_fifo_case(variant: ScheduleVariant = DSI, min_servers: int = 2) -> str:
    """Every lemma of the kc < 1 case (raises ProofRefuted at the first failure)."""
    lemma_dispatch_facts()
    lemma_no_chain(variant)
    steps = lemma_queue_count()
    lemma_queue_bound()
    lemma_d1()
    lemma_d3(min_servers)
    lemma_dominance_step()
    return (f"kc < 1: dispatch facts, A1 no chain, A2 FIFO count ({steps} induction steps, "
            "uninterpreted count), A3, D1, D3, A4, A5 unsat")
