"""T4: SI can be slower than non-SI (the paper's motivation).

Renewal–reward over SI iterations (S → ∞, so every iteration drafts k): an iteration costs
kc + 1 and yields ``min(G, k) + 1`` tokens with ``P(accepted ≥ j) = a^j``, so
``E[tokens] = Σ_{j=0}^{k} a^j = (1 − a^{k+1})/(1 − a)`` and SI's time per token is
``(kc + 1)(1 − a)/(1 − a^{k+1})``; non-SI's is 1. Hence, for a ∈ [0, 1):
SI is slower than non-SI ⟺ ``(kc + 1)(1 − a) > 1 − a^{k+1}``.

Checks: sympy derives the expected tokens (symbolic k) and the equivalence; a witness exists
for every k (symbolically: a = 1/2, c = 1 gives (k+1)/2 ≥ 1 > 1 − 2^{−(k+1)}); z3 (QF_NRA)
also finds a witness with a > 0 for each k ≤ 12, re-checked with Fractions against
``reference.closed_forms.si_time_per_token``.
"""

from __future__ import annotations

from fractions import Fraction

import sympy as sp
import z3

from proofs.core import CountermodelMismatch, ProofFailure, ProofRefuted, exact, make_solver, theorem


def sympy_derivation() -> None:
    a, c = sp.symbols("a c", positive=True)
    k = sp.Symbol("k", integer=True, positive=True)
    j = sp.Symbol("j", integer=True, nonnegative=True)
    tokens = sp.summation(a**j, (j, 0, k))  # E[min(G,k)+1] = Σ_{j=0}^{k} P(accepted >= j)
    if isinstance(tokens, sp.Piecewise):  # sympy separates a = 1; keep the a != 1 branch
        tokens = tokens.args[-1][0]
    closed = (1 - a ** (k + 1)) / (1 - a)
    if sp.simplify(tokens - closed) != 0:
        raise ProofRefuted(f"T4: E[tokens per iteration] = {tokens}, not {closed}")
    per_token = (k * c + 1) / closed
    # slower than non-SI ⟺ per_token > 1; (per_token − 1)(1 − a^{k+1}) is the difference
    # below, and 1 − a^{k+1} > 0 for a < 1, so the signs agree:
    diff = sp.simplify((per_token - 1) * (1 - a ** (k + 1)) - ((k * c + 1) * (1 - a) - (1 - a ** (k + 1))))
    if diff != 0:
        raise ProofRefuted(f"T4: the slowdown condition is not equivalent (residue {diff})")
    # witness family: a = 1/2, c = 1: (k+1)/2 >= 1 > 1 - 2^-(k+1) for every k >= 1
    lhs = ((k * c + 1) * (1 - a)).subs({a: sp.Rational(1, 2), c: 1})
    rhs = (1 - a ** (k + 1)).subs(a, sp.Rational(1, 2))
    if not (sp.simplify(lhs - 1).is_nonnegative and sp.simplify(1 - rhs).is_positive):
        raise ProofRefuted("T4: the witness family a=1/2, c=1 fails")


def z3_witness(k: int) -> tuple[Fraction, Fraction]:
    a, c = z3.Reals("a c")
    solver = make_solver(timeout_ms=5000)
    power = z3.RealVal(1)
    for _ in range(k + 1):
        power = power * a
    solver.add(a > 0, a < 1, c > 0, c <= 1, (k * c + 1) * (1 - a) > 1 - power)
    if solver.check() != z3.sat:
        raise ProofFailure(f"T4: z3 found no witness for k={k}")
    model = solver.model()
    av, cv = exact(model.eval(a)), exact(model.eval(c))
    if not (k * cv + 1) * (1 - av) > 1 - av ** (k + 1):
        raise CountermodelMismatch(f"T4 witness k={k} a={av} c={cv} does not re-check")
    from reference.closed_forms import si_time_per_token

    if not si_time_per_token(float(cv), float(av), k) > 1:
        raise CountermodelMismatch(f"T4 witness k={k} a={av} c={cv}: reference closed form <= 1")
    return av, cv


def prove_si_can_lose(max_k: int = 12) -> str:
    sympy_derivation()
    witnesses = {k: z3_witness(k) for k in range(1, max_k + 1)}
    k1 = witnesses[1]
    return (f"sympy: E[tokens/iteration] = (1-a^(k+1))/(1-a), condition equivalent, witness "
            f"family a=1/2,c=1 for every k; z3 witnesses k=1..{max_k} re-checked (k=1: "
            f"a={k1[0]}, c={k1[1]})")


@theorem(
    id="T4",
    title="SI can be slower than non-SI",
    statement="E[T_SI] > E[T_nonSI] (per token, S -> inf) iff (kc+1)(1-a) > 1 - a^(k+1); a witness exists for every k",
    assumptions=("i.i.d. acceptances with rate a in [0,1)", "S -> infinity (every iteration drafts k)"),
    method="sympy renewal-reward derivation + z3 (QF_NRA) witnesses re-checked with Fractions",
)
def t4() -> str:
    return prove_si_can_lose()
