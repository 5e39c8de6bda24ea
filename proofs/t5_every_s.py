"""T5all: T_DSI ≤ T_nonSI on every acceptance path, for every S, k, c ∈ (0, 1] and N ≥ 1.

The argument is one step per position, over the whole run (no round decomposition): with r_u
the resolution time of output position u (absolute positions and times),

    r_0 ≤ 1   and   r_u ≤ r_{u−1} + 1   (u ≥ 1),

so r_{S−1} ≤ S = T_nonSI. The step is a property of every state of the scheduler (the
*progress lemma*, z3 over :mod:`proofs.state_model`): at the end of the instant at which
u − 1 resolved (or a round started at u), p at u is available or some task computing p at
u is *running*. That task started no later than r_{u−1} and ends one unit after its start,
unless it is cancelled first, which happens only once its last position, ≥ u, is resolved.
The draft of u exists by r_{u−1} + c (the drafter drafts back to back, and u − 1 could not
resolve before its own draft). So u resolves by r_{u−1} + 1.

Why a covering task runs (the z3 query): let τ be the earliest (FIFO) live task covering u
(one exists by the frontier chain, R6). If τ were queued, every server would be busy (R3);
take a running task σ: it was queued before τ (R2), it is live so it has a position ≥ u
(R1); if it does not cover u it is a window past u (no frontier task beyond u exists, R5),
so the window covering u was dispatched before it (R4) and is either live (covering u and
earlier than τ: impossible) or done (then p at u is available, R7). A stale task of an
earlier round cannot hold a server (R1). So τ runs.

Machine-checked (z3, QF_LIA/QF_LRA, symbolic k, c, N, S, positions): the progress lemma,
the draft lemma, the step lemma and the base case. Prose: the rules R0–R7 restate SPEC §4.3
(the model, validated against the event simulation by tests/proofs/test_every_s_model.py),
and the induction over positions that chains the step lemma.

Broken schedules fail it (the variant is a parameter): without the frontier chain nothing
asks for p at u; without cancellation a finished task keeps a server; with stale tasks kept
after a rejection an old task keeps a server. Each failure is re-checked: a concrete round
with T_DSI > T_nonSI from the round model (:func:`proofs.schedule_checks.find_round_violation`)
where the variant is expressible there.
"""

from __future__ import annotations

import z3

from proofs.core import ProofFailure, ProofRefuted, exact, expect_unsat, make_solver, theorem
from proofs.schedule_model import DSI, ScheduleVariant
from proofs.state_model import Snapshot, snapshot_rules, sym_task

#: Prose steps of T5all (reported with the theorem).
PROSE = ("the state rules R0-R7 restate SPEC §4.3 (model; tested on the event simulation)",
         "induction over positions u = 0..S-1 chaining the step lemma")


def progress_query(variant: ScheduleVariant = DSI) -> tuple[z3.Solver, Snapshot]:
    """A state violating the progress lemma: p at u unavailable, no running task covers u."""
    tau, busy, w = sym_task("tau"), sym_task("busy"), sym_task("w")
    u, f = z3.Ints("u f")
    snap = Snapshot(u, f, z3.Bool("available"), (tau, busy, w))
    solver = make_solver()
    solver.add(*snapshot_rules(snap, variant, covering_window=w))
    if variant.frontier:  # R6: some live task covers u; tau is the FIFO-earliest one
        solver.add(z3.Or(snap.available, z3.And(tau.live, tau.covers(u))))
    solver.add(z3.Implies(tau.exists, z3.And(tau.live, tau.covers(u))))
    for other in (busy, w):  # tau is the earliest live covering task
        solver.add(z3.Implies(z3.And(other.live, other.covers(u)), other.rank >= tau.rank))
    solver.add(z3.Implies(tau.queued, busy.running))  # R3 (N >= 1)
    # negation of the claim, instantiated at every named task
    solver.add(z3.Not(snap.available))
    for task in snap.tasks:
        solver.add(z3.Not(z3.And(task.running, task.covers(u))))
    return solver, snap


def lemma_progress(variant: ScheduleVariant = DSI) -> None:
    """Raises ProofRefuted with the violating state (exact values) if the lemma fails."""
    solver, snap = progress_query(variant)
    try:
        expect_unsat(solver, f"T5all progress lemma ({variant.name})")
    except ProofRefuted as exc:
        raise ProofRefuted(f"T5all progress lemma fails for the {variant.name} schedule: "
                           f"{describe_state(exc.countermodel, snap)}",
                           describe_state(exc.countermodel, snap)) from None


def describe_state(model: z3.ModelRef, snap: Snapshot) -> dict[str, object]:
    """The named tasks of a violating state, as exact values."""
    def val(term: z3.ExprRef) -> object:
        v = model.eval(term, model_completion=True)
        return z3.is_true(v) if z3.is_bool(v) else str(exact(v))

    state: dict[str, object] = {"u": val(snap.u), "f": val(snap.f), "available": val(snap.available)}
    for task in snap.tasks:
        if not val(task.exists):
            continue
        status = "running" if val(task.running) else "queued" if val(task.queued) else "gone"
        kind = "stale" if val(task.stale) else "frontier" if val(task.frontier) else "window"
        state[task.name] = f"{kind} p@{val(task.first)}..{val(task.last)} rank {val(task.rank)} {status}"
    return state


def lemma_step() -> None:
    """Draft and step lemmas, and the induction's step and base, in QF_LRA.

    rho = r_{u−1}; the draft of u−1 existed by rho (δ_{u−1} ≤ rho) and the draft of u comes
    c after it, or c after rho when a round starts at u; p at u arrives by rho + 1 or u was
    resolved earlier (progress lemma). Then r_u = max(rho, P_u, δ_u) ≤ rho + 1 ≤ u + 1.
    """
    c, rho, d_prev, d_u, P, r, t0 = z3.Reals("c rho d_prev d_u P r t0")
    u = z3.Int("u")
    solver = make_solver()
    solver.add(c > 0, c <= 1, d_prev <= rho, t0 <= rho)
    solver.add(z3.Or(d_u == d_prev + c, d_u == t0 + c))  # back to back, or a new round at t0
    solver.add(z3.Or(rho + 1 >= P, r <= rho))  # progress lemma (or u resolved before)
    solver.add(z3.Or(r <= rho, r == z3.If(d_u <= P, z3.If(rho <= P, P, rho), z3.If(d_u >= rho, d_u, rho))))
    solver.add(u >= 1, rho <= z3.ToReal(u))  # induction hypothesis r_{u−1} ≤ (u − 1) + 1
    solver.add(r > z3.ToReal(u) + 1)
    expect_unsat(solver, "T5all step")
    base = make_solver()  # u = 0: the round starts at 0, F0 runs on [0, 1], the draft is at c
    base.add(c > 0, c <= 1, P <= 1, r == z3.If(c <= P, P, c), r > 1)
    expect_unsat(base, "T5all base")


def prove_every_s_nonsi(variant: ScheduleVariant = DSI) -> str:
    """T5all for ``variant``: ProofRefuted (with a concrete round where expressible) if it fails."""
    try:
        lemma_progress(variant)
    except ProofRefuted as exc:
        witness = concrete_nonsi_violation(variant)
        if witness is None:
            raise ProofFailure(f"{exc}; no concrete round with T_DSI > T_nonSI found in the round "
                               "model (m <= 5, N <= 2)", exc.countermodel) from None
        raise ProofRefuted(f"{exc}; concrete counterexample: {witness}", witness) from None
    lemma_step()
    return ("progress lemma (some running task covers the next position) unsat over every state, "
            "symbolic k, c, N >= 1, S; draft, step and base lemmas unsat; induction r_u <= u + 1")


def concrete_nonsi_violation(variant: ScheduleVariant) -> dict[str, object] | None:
    """A round of the round model with R_m(j) > j + 1 (re-checked exactly), if the variant
    is expressible there (the round model starts every round clean: stale tasks are not)."""
    from proofs.schedule_checks import concrete_violation

    return concrete_violation(variant, "nonsi", (1, 2))


@theorem(
    id="T5all",
    title="never slower than non-SI, every S (every N >= 1)",
    statement="for every S, k, c in (0,1], N >= 1 and acceptance path: r_u <= r_{u-1} + 1, "
              "hence T_DSI <= T_nonSI",
    assumptions=("FIFO servers, SPEC §4.3 tie rule, preemptive cancellation (rounds start clean)",
                 "decode latencies: target 1, drafter c in (0,1]"),
    method="z3 progress lemma over every scheduler state (symbolic tasks, QF_LIA) + step lemmas "
           "(QF_LRA); induction over positions",
    prose=PROSE,
)
def t5all() -> str:
    return prove_every_s_nonsi()
