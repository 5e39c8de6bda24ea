"""Facts about SI's resolution times in a round, for symbolic k, c and positions (used by the
every-S dominance proofs).

In an all-accepted round of length m (positions 0..M, M = m − 1) SI's iteration t starts at
position t(k + 1), drafts ``kk_t = min(k, M − t(k + 1))`` tokens and resolves positions
t(k+1)..t(k+1)+kk_t at ``C(t) = Σ_{t' ≤ t} (kk_{t'}·c + 1)``; position j resolves at
``SI_m(j) = C(⌊j/(k+1)⌋)``. Every iteration but the last is full (kk = k), so outside the
last iteration ``SI_m(j) = SI_∞(j) = (⌊j/(k+1)⌋ + 1)(kc + 1)``, and in the last one
(t = g) ``SI_m(j) = g(1 − c) + Mc + 1 ≥ Mc + 1`` (T6inf lemma E).

Checked here (z3):

* S1 (QF_NIA): positions k + 1 or more apart lie in different iterations,
  ``j' ≥ j + k + 1 ⇒ ⌊j'/(k+1)⌋ ≥ ⌊j/(k+1)⌋ + 1``;
* S2 (QF_LRA): every iteration costs at least one unit, so C(t') ≥ C(t) + 1 for t' > t, and
  SI_m is non-decreasing in j;
* S3 (QF_NRA): the drafter of SI drafts position j no earlier than (j + 1)c, so
  (j + 1)c ≤ SI_m(j).
"""

from __future__ import annotations

import z3

from proofs.core import expect_unsat, make_solver


def lemma_iterations_apart() -> None:
    """S1: j = t(k+1) + s, j' = t'(k+1) + s' with 0 ≤ s, s' ≤ k and j' ≥ j + k + 1 ⇒ t' ≥ t + 1."""
    k, t, s, t2, s2 = z3.Ints("k t s t2 s2")
    solver = make_solver(logic="QF_NIA")
    solver.add(k >= 1, s >= 0, s <= k, s2 >= 0, s2 <= k, t >= 0, t2 >= 0)
    solver.add(t2 * (k + 1) + s2 >= t * (k + 1) + s + k + 1, t2 < t + 1)
    expect_unsat(solver, "SI fact S1 (iterations apart)")


def lemma_iteration_cost() -> None:
    """S2: C(t+1) = C(t) + kk·c + 1 with kk ≥ 0, c > 0 ⇒ C(t+1) ≥ C(t) + 1; by induction C is
    increasing, so SI_m(j) = C(⌊j/(k+1)⌋) is non-decreasing in j and
    C(t') ≥ C(t) + 1 for t' > t (the step: C(t') ≥ C(t) + 1 ⇒ C(t' + 1) ≥ C(t) + 1)."""
    c, kk, C0, C1, Ct = z3.Reals("c kk C0 C1 Ct")
    solver = make_solver(logic="QF_NRA")
    solver.add(c > 0, kk >= 0, C0 + kk * c + 1 == C1, C1 < C0 + 1)
    expect_unsat(solver, "SI fact S2 (an iteration costs >= 1)")
    step = make_solver(logic="QF_LRA")
    step.add(Ct + 1 <= C0, C1 >= C0 + 1, Ct + 1 > C1)
    expect_unsat(step, "SI fact S2 (increasing)")


def lemma_si_after_draft() -> None:
    """S3: SI resolves j (iteration t, j = t(k+1) + s, s ≤ kk ≤ k) at C(t) = t(kc + 1) + kk·c + 1,
    and (j + 1)c = t(k+1)c + (s + 1)c ≤ t(kc + 1) + kk·c + 1 when c ≤ 1."""
    c = z3.Real("c")
    k, t, s, kk = z3.Ints("k t s kk")
    kr, tr, sr, kkr = (z3.ToReal(v) for v in (k, t, s, kk))
    solver = make_solver()
    solver.add(c > 0, c <= 1, k >= 1, t >= 0, s >= 0, s <= kk, kk <= k)
    solver.add((tr * (kr + 1) + sr + 1) * c > tr * (kr * c + 1) + kkr * c + 1)
    expect_unsat(solver, "SI fact S3 (after the draft)")


def prove_si_facts() -> str:
    lemma_iterations_apart()
    lemma_iteration_cost()
    lemma_si_after_draft()
    return "SI facts S1 (NIA), S2, S3 unsat"
