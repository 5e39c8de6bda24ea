"""T8 (vs SI) and T8b (vs non-SI): when DSI is *strictly* faster in expectation (2 ≤ S ≤ 8).

Pathwise dominance (T5, T6) gives ``E[T_DSI] ≤ E[T_nonSI]`` (N ≥ 1) and ``≤ E[T_SI]`` (N ≥ 2);
the inequality of expectations is strict iff some acceptance path of positive probability is
strictly faster. With i.i.d. acceptances at rate a every path has positive probability when
0 < a < 1; at a = 1 only the all-accepted path, at a = 0 only the all-rejected one.

Facts checked (z3 over the schedule model, every k, symbolic c, N; sympy for SI):

(1) every round resolves its first position at 1: R_m(0) = 1, so the all-rejected path takes
    T_DSI = S (= T_nonSI), while T_SI(all rejected) = S + c·Σ_{n=0}^{S−2} min(k, S−1−n) > S.
    Hence vs SI, N ≥ 2: a < 1 ⇒ E[T_DSI] < E[T_SI] for every c ∈ (0, 1], k, S ≥ 2.
(2) a = 1 (only the all-accepted path), vs SI: equality when S ≤ k + 1 (one window, one SI
    iteration: both (S−1)c + 1) or c = 1; for N ≥ 3, c < 1 and k + 2 ≤ S: strict. At N = 2
    equality can also occur for longer S (e.g. k = 2, S = 4, c = 1/2): reported, not claimed.
(3) vs non-SI, N ≥ 2: a > 0 and c < 1 ⇒ strict (the all-accepted path: R_S(S−1) < S for
    every S ≥ 2). Equality when a = 0 (by (1)) or c = 1 (R_m(j) = j + 1 on every round).
(4) N = 1, k = 1: R_m(j) = j + 1 on every round, so DSI = non-SI on every path (no gain at
    all); N = 1, k ≥ 2 can be strictly faster (a witness, re-checked on the event simulation).
"""

from __future__ import annotations

from fractions import Fraction

import sympy as sp
import z3

from proofs.core import CountermodelMismatch, ProofFailure, ProofRefuted, exact, make_solver, theorem
from proofs.schedule_checks import (
    MAX_ROUND,
    check_round_property,
    event_round_times,
    round_shapes,
)
from proofs.schedule_model import encode_round, si_round_times

ALL = list(round_shapes(MAX_ROUND))


def _domain(n_min: int, c_max_strict: bool = False) -> callable:
    def domain(c: z3.ArithRef, N: z3.ArithRef, k: int) -> list:
        return [c > 0, c < 1 if c_max_strict else c <= 1, n_min <= N]
    return domain


def si_all_rejected(S: int, k: int, c: object) -> object:
    """SI's latency when every draft is rejected: S iterations, kk = min(k, S − 1 − n)."""
    return sum((min(k, S - 1 - n) * c + 1 for n in range(S)), 0)


def check_first_position() -> int:
    """(1): R_m(0) = 1 for every round, N ≥ 1; and T_SI(all rejected) > S for S ≥ 2."""
    n = check_round_property("T8 R(0)=1", ALL, lambda enc: enc.r[0] != 1, domain=_domain(1))
    c = sp.Symbol("c", positive=True)
    for S in range(2, MAX_ROUND + 1):
        for k in range(1, S + 1):
            gap = sp.simplify(si_all_rejected(S, k, c) - S)
            if not gap.is_positive:
                raise ProofRefuted(f"T8: T_SI(all rejected) - S = {gap} at S={S}, k={k}")
    return n


def check_all_accepted_vs_si() -> int:
    """(2): equality for S ≤ k+1 and at c = 1; strict for N ≥ 3, c < 1, S ≥ k + 2 (N ≥ 2)."""
    short = [(m, k) for m, k in ALL if m <= k + 1]
    n = check_round_property(
        "T8 short equal", short,
        lambda enc: enc.r[-1] != si_round_times(enc.m, enc.k, enc.c)[-1], domain=_domain(2))
    n += check_round_property(
        "T8 c=1 equal", ALL, lambda enc: enc.r[-1] != si_round_times(enc.m, enc.k, enc.c)[-1],
        domain=lambda c, N, k: [c == 1, N >= 2])
    long = [(m, k) for m, k in ALL if m >= k + 2]
    n += check_round_property(
        "T8 strict vs SI", long,
        lambda enc: enc.r[-1] >= si_round_times(enc.m, enc.k, enc.c)[-1],
        domain=_domain(3, c_max_strict=True))
    return n


def check_vs_nonsi() -> int:
    """(3) and (4): strict all-accepted path for N ≥ 2, c < 1; equality at c = 1 and N=1,k=1."""
    long = [(m, k) for m, k in ALL if m >= 2]
    n = check_round_property("T8 strict vs nonSI", long, lambda enc: enc.r[-1] >= enc.m,
                             domain=_domain(2, c_max_strict=True))
    every_j = lambda enc: z3.Or(*[rj != j + 1 for j, rj in enumerate(enc.r)])  # noqa: E731
    n += check_round_property("T8 c=1 nonSI", ALL, every_j, domain=lambda c, N, k: [c == 1, N >= 1])
    k1 = [(m, 1) for m in range(1, MAX_ROUND + 1)]
    n += check_round_property("T8 N=1 k=1", k1, every_j,
                              domain=lambda c, N, k: [c > 0, c <= 1], servers=1)
    return n


def n1_strict_witness() -> str:
    """(4): N = 1, k = 2: a round strictly faster than non-SI, re-checked on the simulation."""
    c = z3.Real("c")
    enc = encode_round(3, 2, c, 1)
    solver = make_solver()
    solver.add(c > 0, c < 1, *enc.constraints, enc.r[-1] < 3)
    if solver.check() != z3.sat:
        raise ProofFailure("T8: no N=1, k=2 strictly-faster witness at m=3")
    cv = exact(solver.model().eval(c, model_completion=True))
    times = event_round_times(3, 2, 1, cv)
    if not times[-1] < 3:
        raise CountermodelMismatch(f"T8 witness c={cv} does not re-check: {times}")
    return f"N=1 k=2 S=3 c={cv}: T_DSI={times[-1]} < 3"


def n2_equality_example() -> str:
    """(2), N = 2: an equality beyond S ≤ k+1 (a = 1), re-checked on the simulation."""
    c = Fraction(1, 2)
    times = event_round_times(4, 2, 2, c)
    si = si_round_times(4, 2, c)
    if times[-1] != si[-1]:
        raise ProofFailure(f"T8: expected equality at k=2, S=4, N=2, c=1/2; got {times[-1]} vs {si[-1]}")
    return f"N=2 k=2 S=4 c=1/2: T_DSI = T_SI = {si[-1]} (a = 1)"


def prove_strictly_faster_than_si() -> str:
    n = check_first_position() + check_all_accepted_vs_si()
    return (f"{n} z3 round queries unsat (m <= {MAX_ROUND}, every k, symbolic c, N); "
            f"sympy T_SI(all rejected) > S; {n2_equality_example()}")


def prove_strictly_faster_than_nonsi() -> str:
    n = check_vs_nonsi()
    return (f"{n} z3 round queries unsat (m <= {MAX_ROUND}, every k, symbolic c, N); "
            f"{n1_strict_witness()}")


_ASSUMPTIONS = ("i.i.d. acceptances at rate a (every path has positive probability for 0<a<1)",
                "pathwise dominance T5/T6", f"bounded: 2 <= S <= {MAX_ROUND}, every k")


@theorem(
    id="T8",
    title="strictly faster than SI in expectation",
    statement="N>=2, S>=2: E[T_DSI] < E[T_SI] iff a<1, or a=1, c<1 and S>=k+2 (proved for N>=3; "
              "N=2 may tie); equality for a=1 with S<=k+1 or c=1",
    assumptions=_ASSUMPTIONS,
    method="z3 per-round (in)equalities on the schedule model + sympy (SI all-rejected) + an "
           "N=2 tie re-checked on the event simulation",
)
def t8() -> str:
    return prove_strictly_faster_than_si()


@theorem(
    id="T8b",
    title="strictly faster than non-SI in expectation",
    statement="N>=2, S>=2: E[T_DSI] < E[T_nonSI] iff a>0 and c<1; N=1,k=1: DSI = non-SI on every "
              "path; N=1,k>=2 can be strictly faster",
    assumptions=_ASSUMPTIONS,
    method="z3 per-round (in)equalities on the schedule model + a witness re-checked on the "
           "event simulation",
)
def t8b() -> str:
    return prove_strictly_faster_than_nonsi()
