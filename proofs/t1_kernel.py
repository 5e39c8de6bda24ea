"""T1: the verification kernel preserves the target distribution (SPEC §3, Leviathan/Chen).

For d ~ q and K of SPEC §3: ``P[K = x] = acc(x) + (1 − Σ_y acc(y)) · res(x) / Σ_y res(y)``
with ``acc(x) = q(x)·min(1, p(x)/q(x)) = min(p(x), q(x))`` (the draft x is proposed and
accepted) and ``res(x) = max(p(x) − q(x), 0)``. Claim: this equals p(x) for every x, for all
p, q in the simplex (p = q, disjoint supports and one-hot included; when Σ res = 0 the kernel
must accept with probability 1).

Checks (the kernel is a parameter, :class:`KernelSpec`, so broken kernels can be refuted):

* sympy, every V: ``min(a, b) + max(a − b, 0) = a`` by the two cases a ≥ b, a < b, then
  ``Σ min + Σ res = Σ p = 1`` turns the law into ``min(x) + res(x) = p(x)``;
* sympy, V = 2..5: for every sign pattern of p − q (q(x) = p(x) ∓ t(x), t ≥ 0), the law is a
  rational function that simplifies to p(x);
* z3: the division-free negation (QF_NRA) must be unsat: one direct query for V = 2..4 (V = 5
  comes back unknown after 20 s); for V = 5..6 one query per sign pattern of p − q, each with
  the mass lemma ``Σ acc + Σ res = 1`` first proved in QF_LRA. A ``sat`` model is re-checked
  with Fractions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from itertools import product

import sympy as sp
import z3

from proofs.core import (
    CountermodelMismatch,
    ProofRefuted,
    cross_check,
    exact,
    expect_unsat,
    make_solver,
    theorem,
)


@dataclass(frozen=True)
class KernelSpec:
    """A per-token kernel: accepted mass acc(p_x, q_x) and residual weight res(p_x, q_x)."""

    name: str
    accepted: Callable[[object, object, Callable, Callable], object]
    residual: Callable[[object, object, Callable, Callable], object]


#: SPEC §3 kernel: accept with min(1, p/q), resample from norm(max(p − q, 0)).
CANONICAL = KernelSpec("canonical", lambda p, q, mn, mx: mn(p, q), lambda p, q, mn, mx: mx(p - q, 0))
#: Broken: residual without max(0, ·).
NO_CLAMP = KernelSpec("residual without max(0,.)", lambda p, q, mn, mx: mn(p, q),
                      lambda p, q, mn, mx: p - q)
#: Broken: rejection resampled from p instead of the residual.
RESAMPLE_P = KernelSpec("resample from p", lambda p, q, mn, mx: mn(p, q), lambda p, q, mn, mx: p)


def law_exact(kernel: KernelSpec, p: list[Fraction], q: list[Fraction]) -> list[Fraction] | None:
    """The output law of ``kernel`` with Fractions; None if the kernel is ill-defined there."""
    acc = [kernel.accepted(a, b, min, max) for a, b in zip(p, q, strict=True)]
    res = [kernel.residual(a, b, min, max) for a, b in zip(p, q, strict=True)]
    reject = 1 - sum(acc, Fraction(0))
    total = sum(res, Fraction(0))
    if reject == 0:
        return acc
    if total == 0 or any(r < 0 for r in res):
        return None
    return [a + reject * r / total for a, r in zip(acc, res, strict=True)]


# ---------------------------------------------------------------- sympy


def sympy_general_identity() -> None:
    """``min(a, b) + max(a − b, 0) = a`` for all reals (two cases), hence the general-V lemma."""
    a = sp.Symbol("a", real=True)
    t = sp.Symbol("t", nonnegative=True)
    s = sp.Symbol("s", positive=True)
    for b in (a - t, a + s):  # a >= b, a < b
        if sp.simplify(sp.Min(a, b) + sp.Max(a - b, 0) - a) != 0:
            raise ProofRefuted(f"sympy: min + residual != p in case b = {b}")
    m_x, r_x, R = sp.symbols("m_x r_x R", positive=True)
    law = m_x + (1 - (1 - R)) * r_x / R  # Σ min = 1 − Σ res, from the identity summed over x
    if sp.simplify(law - (m_x + r_x)) != 0:
        raise ProofRefuted("sympy: general-V algebra failed")


def sympy_sign_patterns(kernel: KernelSpec, V: int) -> int:
    """Prove law(x) = p(x) symbolically for every sign pattern of p − q; returns #patterns."""
    p = list(sp.symbols(f"p0:{V}", nonnegative=True))
    patterns = 0
    for signs in product((1, -1), repeat=V):  # +1: p >= q (q = p − t, t >= 0); −1: p < q
        if all(s == -1 for s in signs):
            continue  # Σp = Σq = 1 forbids p < q everywhere
        t = [sp.Symbol(f"t{i}", nonnegative=True) if s == 1 else sp.Symbol(f"t{i}", positive=True)
             for i, s in enumerate(signs)]
        q = [p[i] - t[i] if signs[i] == 1 else p[i] + t[i] for i in range(V)]
        acc = [kernel.accepted(p[i], q[i], sp.Min, sp.Max) for i in range(V)]
        res = [kernel.residual(p[i], q[i], sp.Min, sp.Max) for i in range(V)]
        # Σq = Σp: eliminate one t of the sign-(+1) group after the min/max are resolved
        i0 = signs.index(1)
        solved = sp.solve(sp.Eq(sum(q), sum(p)), t[i0])
        if len(solved) != 1:
            raise ProofRefuted(f"sympy V={V}: cannot eliminate t{i0}")
        sub = {t[i0]: solved[0], p[-1]: 1 - sum(p[:-1])}
        reject = 1 - sum(acc)
        total = sum(res)
        for i in range(V):
            law = acc[i] + reject * res[i] / total
            diff = sp.simplify(sp.together((law - p[i]).subs(sub)))
            if diff != 0:
                raise ProofRefuted(f"sympy V={V} pattern {signs}: law - p = {diff}",
                                   {"V": V, "signs": signs, "difference": str(diff)})
        patterns += 1
    # p = q (the residual is empty): the kernel must accept with probability 1
    acc_eq = [kernel.accepted(x, x, sp.Min, sp.Max) for x in p]
    if any(sp.simplify(a - x) != 0 for a, x in zip(acc_eq, p, strict=True)):
        raise ProofRefuted(f"sympy V={V}: p = q is not accepted with probability 1")
    return patterns


# ---------------------------------------------------------------- z3


def _z3_min(a: z3.ArithRef, b: z3.ArithRef) -> z3.ArithRef:
    return z3.If(a <= b, a, b)


def _z3_max(a: z3.ArithRef, b: z3.ArithRef) -> z3.ArithRef:
    return z3.If(a >= b, a, b)


def z3_kernel_query(kernel: KernelSpec, V: int, signs: tuple[int, ...] | None,
                    lemma: bool = False) -> z3.Solver:
    """Negation of the division-free claim on the V-simplex (optionally one sign pattern).

    ``lemma`` adds ``Σ acc + Σ res = 1`` (valid only if :func:`z3_mass_lemma` proved it).
    """
    p = [z3.Real(f"p{i}") for i in range(V)]
    q = [z3.Real(f"q{i}") for i in range(V)]
    acc = [kernel.accepted(p[i], q[i], _z3_min, _z3_max) for i in range(V)]
    res = [kernel.residual(p[i], q[i], _z3_min, _z3_max) for i in range(V)]
    A, R = z3.Sum(acc), z3.Sum(res)
    regular = z3.And(R != 0, *[acc[i] * R + (1 - A) * res[i] == p[i] * R for i in range(V)])
    degenerate = z3.And(A == 1, *[acc[i] == p[i] for i in range(V)])
    solver = make_solver(logic="QF_NRA")
    solver.add(*[x >= 0 for x in p + q], z3.Sum(p) == 1, z3.Sum(q) == 1)
    if signs is not None:
        solver.add(*[p[i] >= q[i] if s == 1 else p[i] < q[i] for i, s in enumerate(signs)])
    if lemma:
        solver.add(A + R == 1)
    weights = z3.And(*[r >= 0 for r in res])  # the residual must be a weight vector
    solver.add(z3.Not(z3.And(weights, z3.Or(regular, degenerate))))
    solver.p, solver.q = p, q  # type: ignore[attr-defined]
    return solver


def z3_mass_lemma(kernel: KernelSpec, V: int) -> bool:
    """QF_LRA: ``Σ acc + Σ res = 1`` on the simplex (True iff unsat of the negation)."""
    p = [z3.Real(f"p{i}") for i in range(V)]
    q = [z3.Real(f"q{i}") for i in range(V)]
    acc = [kernel.accepted(p[i], q[i], _z3_min, _z3_max) for i in range(V)]
    res = [kernel.residual(p[i], q[i], _z3_min, _z3_max) for i in range(V)]
    solver = make_solver(logic="QF_LRA")
    solver.add(*[x >= 0 for x in p + q], z3.Sum(p) == 1, z3.Sum(q) == 1)
    solver.add(z3.Sum(acc) + z3.Sum(res) != 1)
    return solver.check() == z3.unsat


def z3_prove_kernel(kernel: KernelSpec, V: int, *, split: bool = True) -> int:
    """Unsat of the negation for every sign pattern (or one direct query); returns #queries.

    With ``split`` the queries get the mass lemma as a hint when QF_LRA proves it first
    (sound: a proved lemma only removes impossible models).
    """
    patterns = [s for s in product((1, -1), repeat=V)] if split else [None]
    lemma = split and z3_mass_lemma(kernel, V)
    for signs in patterns:
        solver = z3_kernel_query(kernel, V, signs, lemma)
        try:
            expect_unsat(solver, f"T1 z3 V={V} signs={signs}")
        except ProofRefuted as exc:
            model = exc.countermodel
            p = [exact(model.eval(x, model_completion=True)) for x in solver.p]  # type: ignore[attr-defined]
            q = [exact(model.eval(x, model_completion=True)) for x in solver.q]  # type: ignore[attr-defined]
            law = law_exact(kernel, p, q)
            if law == p:
                raise CountermodelMismatch(f"T1 countermodel p={p} q={q} re-checks as lossless") from None
            info = {"kernel": kernel.name, "p": [str(x) for x in p], "q": [str(x) for x in q],
                    "law": None if law is None else [str(x) for x in law]}
            raise ProofRefuted(f"T1: {kernel.name} is not lossless: {info}", info) from None
    return len(patterns)


def prove_kernel_lossless(kernel: KernelSpec = CANONICAL, *, sympy_max_v: int = 5,
                          z3_max_v: int = 6) -> str:
    sympy_general_identity()
    sym = {V: sympy_sign_patterns(kernel, V) for V in range(2, sympy_max_v + 1)}
    direct = [V for V in range(2, DIRECT_MAX_V + 1) if z3_prove_kernel(kernel, V, split=False)]
    agree = cross_check(z3_kernel_query(kernel, 2, None))  # cvc5: V = 3 takes ~7 s, V = 4 unknown
    smt = {V: z3_prove_kernel(kernel, V) for V in range(DIRECT_MAX_V + 1, z3_max_v + 1)}
    return (f"sympy: general-V identity; sign patterns per V {sym}; z3 direct unsat V={direct}; "
            f"z3 split on sign patterns + QF_LRA mass lemma, queries per V {smt}; cvc5 "
            f"{'agrees' if agree else 'DISAGREES or undecided'} at V=2")


#: Largest V for the direct (unsplit) z3 query; V = 5 returns unknown after 20 s.
DIRECT_MAX_V = 4


@theorem(
    id="T1",
    title="kernel lossless",
    statement="for all p, q on the V-simplex and d ~ q: P[K(p,q,d) = x] = p(x)",
    assumptions=("exact arithmetic; q(d) > 0 for a drafted d; p = q accepts with probability 1",),
    method="sympy (all V by the per-coordinate identity; V=2..5 by sign patterns) + z3 "
           "(QF_NRA, V=2..6, split on the sign pattern of p - q)",
)
def t1() -> str:
    return prove_kernel_lossless()
