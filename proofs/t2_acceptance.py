"""T2: the acceptance probability of the kernel, sampling and greedy (SPEC §3).

Sampling: ``P[accept] = Σ_x q(x)·min(1, p(x)/q(x)) = Σ_x min(p(x), q(x)) = 1 − TV(p, q)`` with
``TV = ½ Σ |p − q|``. Greedy: the draft is argmax q, the token is argmax p (lowest index on
ties), so the draft is accepted iff argmax q = argmax p.

Checks: sympy proves ``q·min(1, p/q) = min(p, q)`` for q > 0 (two cases) and
``min(p, q) = (p + q − |p − q|)/2`` (two cases), which summed over x gives 1 − TV for every V;
z3 (QF_LRA) proves ``Σ min(p, q) = 1 − ½Σ|p − q|`` on the simplex for V = 2..8, and, for
V = 2..5, that greedy decoding is the kernel K of T1 applied to the point masses at the
greedy choices: K accepts the draft argmax q with probability 1 if argmax q = argmax p and 0
otherwise, and its residual is then the point mass at argmax p (so K emits argmax p surely).
"""

from __future__ import annotations

from fractions import Fraction

import sympy as sp
import z3

from proofs.core import CountermodelMismatch, ProofRefuted, cross_check, exact, expect_unsat, make_solver, theorem
from proofs.t1_kernel import CANONICAL, KernelSpec


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
    """``index`` is the lowest index of a maximum of ``values`` (the greedy tie rule)."""
    cases = []
    for i in range(len(values)):
        cases.append(z3.And(index == i, *[values[i] > values[j] for j in range(i)],
                            *[values[i] >= values[j] for j in range(i + 1, len(values))]))
    return z3.Or(*cases)


def z3_greedy(V: int, kernel: KernelSpec = CANONICAL) -> None:
    """Greedy decoding is the kernel K applied to the greedy (one-hot) laws.

    With ``a_p``, ``a_q`` the greedy choices (lowest index of a maximum) of p and q, the
    greedy target and drafter are the point masses ``p1 = δ(a_p)``, ``q1 = δ(a_q)`` and the
    draft is ``d = a_q`` (so ``d ~ q1``). The kernel's acceptance probability
    ``acc(p1(d), q1(d)) / q1(d)`` must be 1 if ``a_q = a_p`` and 0 otherwise, and on a
    rejection its residual ``res(p1, q1)`` must be a valid weight vector concentrated on
    ``a_p``. So K emits ``a_p`` surely, and accepts the draft iff argmax q = argmax p. The
    argmax predicate defines each greedy choice once; the acceptance comes from ``kernel``
    (a broken kernel, e.g. a residual without ``max(0, ·)``, is refuted).
    """
    p = [z3.Real(f"p{i}") for i in range(V)]
    q = [z3.Real(f"q{i}") for i in range(V)]
    a_p, a_q = z3.Ints("argmax_p argmax_q")
    p1 = [z3.If(a_p == i, z3.RealVal(1), z3.RealVal(0)) for i in range(V)]
    q1 = [z3.If(a_q == i, z3.RealVal(1), z3.RealVal(0)) for i in range(V)]
    accept = z3.Sum([z3.If(a_q == i, kernel.accepted(p1[i], q1[i], _zmin, _zmax), z3.RealVal(0))
                     for i in range(V)])  # acc(p1(d), q1(d)) / q1(d) with q1(d) = 1
    res = [kernel.residual(p1[i], q1[i], _zmin, _zmax) for i in range(V)]
    rejected_law_ok = z3.And(z3.Sum(res) > 0, *[r >= 0 for r in res],
                             *[z3.Implies(a_p != i, res[i] == 0) for i in range(V)])
    claim = z3.And(accept == z3.If(a_p == a_q, z3.RealVal(1), z3.RealVal(0)),
                   z3.Implies(a_p != a_q, rejected_law_ok))
    solver = make_solver()
    solver.add(*[x >= 0 for x in p + q], z3.Sum(p) == 1, z3.Sum(q) == 1)
    solver.add(_argmax(q, a_q), _argmax(p, a_p), z3.Not(claim))
    try:
        expect_unsat(solver, f"T2 greedy V={V} ({kernel.name})")
    except ProofRefuted as exc:
        model = exc.countermodel
        info = {"V": V, "kernel": kernel.name,
                "p": [str(exact(model.eval(x, model_completion=True))) for x in p],
                "q": [str(exact(model.eval(x, model_completion=True))) for x in q]}
        if greedy_rule_holds(kernel, [Fraction(v) for v in info["p"]], [Fraction(v) for v in info["q"]]):
            raise CountermodelMismatch(f"T2 greedy: z3 countermodel {info} does not re-check") from None
        raise ProofRefuted(f"T2 greedy: kernel {kernel.name!r} is not the greedy rule on "
                           f"one-hot laws: {info}", info) from None


def greedy_rule_holds(kernel: KernelSpec, p: list[Fraction], q: list[Fraction]) -> bool:
    """The claim of :func:`z3_greedy` at exact p, q (the re-check of a countermodel)."""
    a_p, a_q = p.index(max(p)), q.index(max(q))  # lowest index of a maximum
    p1 = [Fraction(int(i == a_p)) for i in range(len(p))]
    q1 = [Fraction(int(i == a_q)) for i in range(len(q))]
    accept = kernel.accepted(p1[a_q], q1[a_q], min, max)
    if accept != (1 if a_p == a_q else 0):
        return False
    if a_p == a_q:
        return True
    res = [kernel.residual(a, b, min, max) for a, b in zip(p1, q1, strict=True)]
    return sum(res) > 0 and min(res) >= 0 and all(r == 0 for i, r in enumerate(res) if i != a_p)


def _zmin(a: z3.ArithRef, b: z3.ArithRef) -> z3.ArithRef:
    return z3.If(a <= b, a, b)


def _zmax(a: z3.ArithRef, b: z3.ArithRef) -> z3.ArithRef:
    return z3.If(a >= b, a, b)


def prove_acceptance(max_v: int = 8) -> str:
    sympy_acceptance_identities()
    agreed = sum(z3_acceptance(V) for V in range(2, max_v + 1))
    for V in range(2, 6):
        z3_greedy(V)
    return (f"sympy: per-token identities (every V); z3 QF_LRA sum identity V=2..{max_v} "
            f"(cvc5 agrees on {agreed}/{max_v - 1}); z3 greedy = K on one-hot laws V=2..5")


@theorem(
    id="T2",
    title="acceptance probability",
    statement="P[accept] = sum_x min(p(x), q(x)) = 1 - TV(p, q); greedy accepts iff argmax q = argmax p",
    assumptions=("d ~ q, u_accept uniform on [0,1)", "greedy ties broken by the lowest index"),
    method="sympy (per-token identities, all V) + z3 (QF_LRA V=2..8; greedy = kernel on one-hot "
           "laws, V=2..5)",
)
def t2() -> str:
    return prove_acceptance()
