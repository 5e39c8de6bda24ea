"""T2: the acceptance probability of the kernel, sampling and greedy (SPEC §3).

Sampling: ``P[accept] = Σ_x q(x)·min(1, p(x)/q(x)) = Σ_x min(p(x), q(x)) = 1 − TV(p, q)`` with
``TV = ½ Σ |p − q|``. Greedy: the draft is argmax q, the token is argmax p (lowest index on
ties), so the draft is accepted iff argmax q = argmax p.

Checks: sympy proves ``q·min(1, p/q) = min(p, q)`` for q > 0 (two cases) and
``min(p, q) = (p + q − |p − q|)/2`` (two cases), which summed over x gives 1 − TV for every V;
z3 (QF_LRA) proves ``Σ min(p, q) = 1 − ½Σ|p − q|`` on the simplex for V = 2..8, and (QF_LIA
over argmax indices) that the greedy kernel returns the draft iff the two argmaxes agree.
"""

from __future__ import annotations

import sympy as sp
import z3

from proofs.core import ProofRefuted, cross_check, expect_unsat, make_solver, theorem


def sympy_acceptance_identities() -> None:
    """Two cases, q > 0: q = p + s (s > 0) and p = q + t (t >= 0)."""
    t = sp.Symbol("t", nonnegative=True)
    s = sp.Symbol("s", positive=True)
    def smin(a: sp.Expr, b: sp.Expr) -> sp.Expr:  # min decided from the sign of a - b
        d = sp.factor(sp.simplify(a - b))
        if d.is_nonpositive:
            return a
        if d.is_nonnegative:
            return b
        raise ProofRefuted(f"sympy cannot decide the sign of {d}")

    x = sp.Symbol("x", nonnegative=True)
    y = sp.Symbol("y", positive=True)
    for p, q in ((x, x + s), (y + t, y)):
        if sp.simplify(q * smin(sp.Integer(1), p / q) - smin(p, q)) != 0:
            raise ProofRefuted(f"sympy: q·min(1, p/q) != min(p, q) at p = {p}, q = {q}")
        if sp.simplify(smin(p, q) - (p + q - sp.Abs(p - q)) / 2) != 0:
            raise ProofRefuted(f"sympy: min(p, q) != (p + q - |p - q|)/2 at p = {p}, q = {q}")


def z3_acceptance(V: int) -> bool:
    """Unsat of the negated sum identity; returns whether cvc5 agrees."""
    p = [z3.Real(f"p{i}") for i in range(V)]
    q = [z3.Real(f"q{i}") for i in range(V)]
    mins = [z3.If(p[i] <= q[i], p[i], q[i]) for i in range(V)]
    absd = [z3.If(p[i] >= q[i], p[i] - q[i], q[i] - p[i]) for i in range(V)]
    solver = make_solver(logic="QF_LRA")
    solver.add(*[x >= 0 for x in p + q], z3.Sum(p) == 1, z3.Sum(q) == 1)
    solver.add(z3.Sum(mins) != 1 - z3.Sum(absd) / 2)
    expect_unsat(solver, f"T2 sampling V={V}")
    return cross_check(solver)


def _argmax(values: list[z3.ArithRef], index: z3.ArithRef) -> z3.BoolRef:
    """``index`` is the lowest index of a maximum of ``values``."""
    cases = []
    for i in range(len(values)):
        cases.append(z3.And(index == i, *[values[i] > values[j] for j in range(i)],
                            *[values[i] >= values[j] for j in range(i + 1, len(values))]))
    return z3.Or(*cases)


def z3_greedy(V: int) -> None:
    p = [z3.Real(f"p{i}") for i in range(V)]
    q = [z3.Real(f"q{i}") for i in range(V)]
    draft, token, ap, aq = z3.Ints("draft token argmax_p argmax_q")
    solver = make_solver()
    solver.add(*[x >= 0 for x in p + q], z3.Sum(p) == 1, z3.Sum(q) == 1)
    solver.add(_argmax(q, draft), _argmax(p, token), _argmax(p, ap), _argmax(q, aq))
    solver.add((token == draft) != (ap == aq))
    expect_unsat(solver, f"T2 greedy V={V}")


def prove_acceptance(max_v: int = 8) -> str:
    sympy_acceptance_identities()
    agreed = sum(z3_acceptance(V) for V in range(2, max_v + 1))
    for V in range(2, 6):
        z3_greedy(V)
    return (f"sympy: per-token identities (every V); z3 QF_LRA sum identity V=2..{max_v} "
            f"(cvc5 agrees on {agreed}/{max_v - 1}); z3 greedy argmax V=2..5")


@theorem(
    id="T2",
    title="acceptance probability",
    statement="P[accept] = sum_x min(p(x), q(x)) = 1 - TV(p, q); greedy accepts iff argmax q = argmax p",
    assumptions=("d ~ q, u_accept uniform on [0,1)", "greedy ties broken by the lowest index"),
    method="sympy (per-token identities, all V) + z3 (QF_LRA V=2..8, argmax V=2..5)",
)
def t2() -> str:
    return prove_acceptance()
