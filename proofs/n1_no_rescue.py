"""T6one: with one target server no policy is never slower than both SI and non-SI (c < 1).

SPEC §4.3 allows policies other than FIFO (step 7); T6 shows FIFO DSI can be slower than SI
at N = 1. The question is whether *some* one-server policy keeps DSI's two guarantees,
``T ≤ T_SI`` and ``T ≤ T_nonSI`` on every acceptance path (SI itself meets the first and
breaks the second, T4; non-SI the reverse). The answer is no, for every c < 1 and every k.

**The space of schedules Π1** (a superset of the spec's DSI with any task-order policy): one
target server and one drafter; a target forward takes one unit and occupies the server (it
may be abandoned, and then yields nothing); its input is the prompt followed by output tokens,
each a resolved token (known once resolved) or a draft (known once the drafter produced it,
the first at c at the earliest); it yields p at every position whose prefix lies in its
input. Position i resolves once i − 1 is resolved, p at i on the true prefix is available and
a draft of i exists (SPEC §4.3 step 4; the same rule as SI and non-SI-with-drafter). The
schedule is non-anticipative: it may depend on everything observed so far, and a draft's
acceptance is observed only when its position resolves, which needs p there.

**Witness** (S = 2, every k: windows and SI iterations hold the one draft at position 0):
path A (draft 0 accepted) has min(T_SI, T_nonSI) = c + 1; path R (rejected) has 2. Let e be
the end of the first completed target forward, the same on both paths. If its input holds no
draft (the prompt alone) it yields p at 0 only, and p at 1 on path A needs a second forward,
ending at ≥ e + 1 ≥ 2 > c + 1. If its input holds draft 0, it started at ≥ c and e ≥ c + 1,
so on path R position 0 resolves at ≥ c + 1 and position 1 (on the corrected prefix) needs a
forward started then: ≥ c + 2 > 2. z3 checks this case analysis (every start time, every
choice of the first forward, path-dependent continuations). For c = 1, FIFO DSI rescues
N = 1: T5all gives T_DSI ≤ T_nonSI, and at c = 1 SI is never faster than non-SI (z3: an SI
iteration costs kk + 1 for at most kk + 1 tokens).

Machine-checked: the case analysis over Π1 at S = 2 and the c = 1 lemma. Prose: the
definition of Π1 (what a forward yields, non-anticipation), and that a policy rescuing N = 1
for every S must do so at S = 2.
"""

from __future__ import annotations

import z3

from proofs.core import ProofRefuted, exact, expect_unsat, make_solver, theorem

PROSE = ("the schedule space Pi1 (one target server; what a forward yields; non-anticipation) "
         "restates SPEC §4.3 steps 2, 4, 7 for every policy",
         "a policy that rescues N = 1 for every S must rescue S = 2")


def lemma_no_one_server_policy(c_max: z3.ArithRef | None = None) -> None:
    """Unsat: a Π1 schedule with T(A) ≤ c + 1 and T(R) ≤ 2, for c ∈ (0, 1) (or c ≤ c_max)."""
    c, s1, e1, sA, eA, sR, eR, r0A, r1A, r0R, r1R = z3.Reals("c s1 e1 sA eA sR eR r0A r1A r0R r1R")
    with_draft = z3.Bool("first_forward_holds_draft0")
    solver = make_solver()
    solver.add(c > 0, c < 1 if c_max is None else c <= c_max)
    # the first completed forward: common to both paths (nothing observed before it ends)
    solver.add(s1 >= 0, e1 == s1 + 1, z3.Implies(with_draft, s1 >= c))
    # position 0 resolves when p at 0 (from the first forward) and draft 0 (>= c) exist
    for r0 in (r0A, r0R):
        solver.add(r0 >= e1, r0 >= c)
    # path A: p at 1 comes from the first forward if it held draft 0, else from a later forward
    solver.add(sA >= e1, eA == sA + 1)  # one server: a later forward starts after e1
    solver.add(r1A >= r0A, r1A >= 2 * c,  # draft 1 at >= 2c
               z3.If(with_draft, r1A >= e1, r1A >= eA))
    # path R: p at 1 on the corrected prefix needs a forward started once 0 is resolved
    solver.add(sR >= r0R, eR == sR + 1, r1R >= eR, r1R >= r0R)
    solver.add(r1A <= c + 1, r1R <= 2)  # never slower than min(SI, non-SI) on both paths
    try:
        expect_unsat(solver, "T6one: one-server policy never slower than SI and non-SI")
    except ProofRefuted as exc:
        cv = exact(exc.countermodel.eval(c, model_completion=True))
        raise ProofRefuted(f"T6one: a one-server schedule meets both bounds at c = {cv}",
                           {"c": str(cv)}) from None


def lemma_c_one_si_not_faster() -> None:
    """c = 1: an SI iteration from n resolved positions costs kk + 1 and resolves at most
    kk + 1 positions, so by induction SI resolves position j at ≥ j + 1 = non-SI's time."""
    n, kk, gained = z3.Ints("n kk gained")
    T = z3.Real("T")
    solver = make_solver()
    solver.add(n >= 0, kk >= 0, gained >= 1, gained <= kk + 1, z3.ToReal(n) <= T)  # IH: T >= n
    solver.add(T + z3.ToReal(kk) + 1 < z3.ToReal(n + gained))
    expect_unsat(solver, "T6one: at c = 1 SI is never faster than non-SI")


def witness_family() -> dict[str, str]:
    """The two paths' bounds at S = 2 from the reference simulations, at c = 1/2 (a check that
    the witness family's numbers are the reference's)."""
    from fractions import Fraction

    from reference.generate import generate
    from reference.latency import LatencyModel
    from reference.toy_models import AcceptancePathPair

    c = Fraction(1, 2)
    out = {}
    for name, path in (("A", [True, True]), ("R", [False, True])):
        pair = AcceptancePathPair(path)
        times = {algo: generate(pair.target, pair.drafter, [0], 2, algorithm=algo, lookahead=1, mode="greedy",
                                latency=LatencyModel.time_units(c)).latency for algo in ("si", "nonsi")}
        out[name] = str(min(times.values()))
    return out


def prove_no_rescue() -> str:
    lemma_no_one_server_policy()
    lemma_c_one_si_not_faster()
    bounds = witness_family()
    if bounds != {"A": "3/2", "R": "2"}:
        raise ProofRefuted(f"T6one: the reference's S = 2 bounds at c = 1/2 are {bounds}, not "
                           "c + 1 and 2 as the witness assumes", bounds)
    return ("no one-server schedule (any policy, any forward inputs, non-anticipative) meets "
            "T <= min(T_SI, T_nonSI) on both S = 2 paths for c < 1 (z3 unsat; the bounds c + 1, 2 "
            "re-computed on the reference simulations at c = 1/2); c = 1: SI >= non-SI, so FIFO "
            "DSI (T5all) rescues N = 1")


@theorem(
    id="T6one",
    title="no one-server policy rescues N = 1 (c < 1)",
    statement="for c < 1 and every k, no non-anticipative one-server schedule is never slower than "
              "both SI and non-SI on every path; for c = 1 FIFO DSI is",
    assumptions=("one target server, one drafter, decode latencies (target 1, drafter c)",
                 "the schedule space Pi1 of docs/theorems.md (contains DSI under every task-order policy)"),
    method="z3 case analysis over the first completed forward at S = 2 (two paths); z3 lemma at c = 1",
    prose=PROSE,
)
def t6one() -> str:
    return prove_no_rescue()
