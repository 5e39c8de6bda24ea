"""T6all: T_DSI ≤ T_SI on every acceptance path, for every S, k, c ∈ (0, 1] and N ≥ 2.

Per round (rounds start clean, and a path's rounds are the same for DSI and SI, as in T5/T6),
it suffices that R_m(j) ≤ SI_m(j) for every round length m and position j. Three cases cover
every (k, c, N ≥ 2), x = kc:

* x < 1, any N ≥ 2 (:mod:`proofs.t6_fifo`): no frontier chain; FIFO queue bound
  e_n ≤ U_n = max(d_n, U_{n−1}, U_{n−N} + 1) (the counting argument checked step by step);
  strong induction U_n + 1 ≤ SI_m(first position of block n), where N ≥ 2 is used: blocks
  N apart are ≥ k + 1 positions apart, so in different SI iterations.
* x ≥ 1, N = 2 (:mod:`proofs.t6_two_servers`): only the last window can wait, and it starts
  by max(L, nx + 1); every position stays below T6inf's formula bound F(j), and SI's cut-short
  iteration is still later.
* x ≥ 1, N ≥ 3: no task waits (pigeonhole over four tasks of three kinds), so the schedule
  is the unlimited one and T6inf applies.

Every case uses that a round starts clean (no task of an earlier round holds a server): the
clean-start lemma. A broken schedule fails here (the variant is a parameter); the failure is
re-checked with a concrete round of the round model where the variant is expressible there.
"""

from __future__ import annotations

import z3

from proofs import t6_every_s, t6_fifo, t6_two_servers
from proofs.core import ProofFailure, ProofRefuted, expect_unsat, make_solver, theorem
from proofs.schedule_model import DSI, ScheduleVariant
from proofs.si_facts import prove_si_facts
from proofs.state_model import Snapshot, snapshot_rules, sym_task

PROSE = ("the state rules R0-R7 and the case models restate SPEC §4.3 (tested on the event "
         "simulation)",
         "rounds start clean and a path's rounds are the same for DSI and SI (round "
         "decomposition, tested)",
         *t6_fifo.PROSE, *t6_two_servers.PROSE,
         "T6inf's per-position induction (lemmas A, C, D, E) for the unlimited schedule")


def lemma_clean_start(variant: ScheduleVariant = DSI) -> None:
    """At a round start (u = f) no task of an earlier round is queued or running (R1)."""
    stale = sym_task("stale")
    snap = Snapshot(z3.Int("u"), z3.Int("f"), z3.Bool("available"), (stale,))
    solver = make_solver()
    solver.add(*snapshot_rules(snap, variant), snap.u == snap.f, stale.exists, stale.stale, stale.live)
    expect_unsat(solver, f"clean start ({variant.name})")


def lemma_drafts_never_bind() -> None:
    """Every task computing p at j ends no earlier than the draft of j exists, (j + 1)c:
    a window covering j is dispatched at e·c with e ≥ j (its newest draft is e − 1 ≥ j − 1),
    a frontier task F_j at r_{j−1} ≥ jc (j − 1 needed its draft); either runs a unit.
    So r_j = max(r_{j−1}, P_j): the bounds of the cases ignore drafts (QF_NRA)."""
    c, e, j, start = z3.Reals("c e j start")
    solver = make_solver(logic="QF_NRA")
    solver.add(c > 0, c <= 1, j >= 0, e >= j, start >= e * c, start + 1 < (j + 1) * c)
    expect_unsat(solver, "drafts never bind (window)")
    frontier = make_solver(logic="QF_NRA")
    frontier.add(c > 0, c <= 1, j >= 1, start >= j * c, start + 1 < (j + 1) * c)
    expect_unsat(frontier, "drafts never bind (frontier)")


def lemma_cases_cover() -> None:
    """Every (x = kc > 0, N ≥ 2) is in one of the three cases."""
    x = z3.Real("x")
    N = z3.Int("N")
    solver = make_solver()
    solver.add(x > 0, N >= 2)
    solver.add(z3.Not(z3.Or(x < 1, z3.And(x >= 1, N == 2), z3.And(x >= 1, N >= 3))))
    expect_unsat(solver, "T6all cases cover N >= 2")


def prove_every_s_si(variant: ScheduleVariant = DSI) -> str:
    """T6all for ``variant`` (ProofRefuted with a concrete round when a lemma fails and the
    round model exhibits a violation; ProofFailure when it does not)."""
    try:
        lemma_clean_start(variant)
        lemma_drafts_never_bind()
        details = [prove_si_facts(), t6_every_s.prove_every_s(),
                   t6_fifo.prove_fifo_case(variant), t6_two_servers.prove_two_server_case(variant)]
        t6_two_servers.lemma_no_wait_three_servers()
        lemma_cases_cover()
    except ProofRefuted as exc:
        witness = concrete_si_violation(variant)
        if witness is None:
            raise ProofFailure(f"{exc}; no concrete round with T_DSI > T_SI found in the round "
                               "model (m <= 5, N in 2, 3)", exc.countermodel) from None
        raise ProofRefuted(f"{exc}; concrete counterexample: {witness}", witness) from None
    return ("clean start; drafts never bind; " + "; ".join(details) + "; kc >= 1, N >= 3: pigeonhole 4 tasks / 3 "
            "kinds, no task waits, T6inf applies; the three cases cover N >= 2")


def concrete_si_violation(variant: ScheduleVariant) -> dict[str, object] | None:
    """A round with R_m(j) > SI_m(j) at N ∈ {2, 3} in the round model (re-checked exactly)."""
    from proofs.schedule_checks import concrete_violation

    return concrete_violation(variant, "si", (2, 3))


@theorem(
    id="T6all",
    title="never slower than SI, every S (every N >= 2)",
    statement="for every S, k, c in (0,1], N >= 2 and acceptance path: T_DSI <= T_SI",
    assumptions=("FIFO servers, SPEC §4.3 tie rule, preemptive cancellation (rounds start clean)",
                 "decode latencies: target 1, drafter c in (0,1]"),
    method="z3 lemmas per case (kc < 1: FIFO queue count + strong induction; kc >= 1, N = 2: "
           "pigeonhole + last-window bound; N >= 3: pigeonhole) over T6inf's formula bound",
    prose=PROSE,
)
def t6all() -> str:
    return prove_every_s_si()
