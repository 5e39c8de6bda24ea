"""T5 and T6: DSI is pathwise never slower than non-SI (N ≥ 1) and than SI (N ≥ 2).

Per-round lemma, proved by z3 for every round length m ≤ 8, every lookahead k, symbolic
c ∈ (0, 1] and symbolic N: ``R_m(j) ≤ j + 1`` (T5) and ``R_m(j) ≤ SI_m(j)`` (T6), where
``R_m(j)`` is the DSI resolution time of relative position j in an all-accepted round
(proofs/schedule_model.py) and ``SI_m(j)`` SI's. Every acceptance path splits into rounds at
its rejections, the same rounds for DSI, SI and non-SI, so summing the lemma over rounds
gives ``T_DSI ≤ T_nonSI`` and ``T_DSI ≤ T_SI`` for every path of length S ≤ 8.
T6 fails at N = 1: z3 finds a round where DSI is slower, and a whole acceptance path with
``T_DSI > T_SI`` is then exhibited with the reference simulations (exact Fractions).
Every S (unlimited servers only): proofs/t6_every_s.py (T6inf).
"""

from __future__ import annotations

from proofs.core import ProofFailure, theorem
from proofs.schedule_checks import (
    MAX_ROUND,
    check_round_bound,
    find_round_violation,
    nonsi_bounds,
    path_violation,
    si_bounds,
)
from proofs.schedule_model import DSI, ScheduleVariant

#: Round length of ``dsi prove --deep`` (bounded model checking past MAX_ROUND).
DEEP_ROUND = 12


def prove_never_slower_than_nonsi(variant: ScheduleVariant = DSI, max_m: int = MAX_ROUND) -> str:
    """T5 for the schedule ``variant`` (raises ProofRefuted with an exact counterexample)."""
    return check_round_bound("T5", nonsi_bounds, variant=variant, min_servers=1, max_m=max_m)


def prove_never_slower_than_si(variant: ScheduleVariant = DSI, max_m: int = MAX_ROUND) -> str:
    """T6 for ``variant``: the N ≥ 2 bound, then the N = 1 counterexample (re-checked)."""
    detail = check_round_bound("T6", si_bounds, variant=variant, min_servers=2, max_m=max_m)
    witness = find_round_violation(si_bounds, 1, variant=variant, max_m=max_m)
    if witness is None:
        raise ProofFailure("T6: expected a counterexample at N = 1, z3 found none for m <= "
                           f"{max_m}")
    m, k, c = witness["m"], witness["k"], witness["c"]
    from fractions import Fraction

    bits, t_dsi, t_si = path_violation(m, k, 1, Fraction(c))
    path = "".join("A" if b else "R" for b in bits)
    return (f"{detail}; N=1 counterexample: k={k}, c={c}, path {path} (A accept, R reject): "
            f"T_DSI={t_dsi} > T_SI={t_si} (reference simulations)")


@theorem(
    id="T5",
    title="never slower than non-SI (pathwise)",
    statement="for every acceptance path, T_DSI <= T_nonSI, for every N >= 1",
    assumptions=("FIFO servers, SPEC §4.3 tie rule, preemptive cancellation",
                 "decode latencies: target 1, drafter c in (0,1]",
                 f"bounded: S <= {MAX_ROUND}, every k <= S; symbolic c and N"),
    method="z3 per-round lemma R_m(j) <= j+1 (QF_LRA) summed over rounds; cvc5 cross-check m<=4",
    deep=lambda: prove_never_slower_than_nonsi(max_m=DEEP_ROUND),
)
def t5() -> str:
    return prove_never_slower_than_nonsi()


@theorem(
    id="T6",
    title="never slower than SI (pathwise, N >= 2)",
    statement="for every acceptance path, T_DSI <= T_SI whenever N >= 2; false at N = 1",
    assumptions=("FIFO servers, SPEC §4.3 tie rule, preemptive cancellation",
                 "decode latencies: target 1, drafter c in (0,1]",
                 f"bounded: S <= {MAX_ROUND}, every k <= S; symbolic c and N >= 2"),
    method="z3 per-round lemma R_m(j) <= SI_m(j) summed over rounds; N=1 witness re-checked "
           "on the reference simulations",
    deep=lambda: prove_never_slower_than_si(max_m=DEEP_ROUND),
)
def t6() -> str:
    return prove_never_slower_than_si()
