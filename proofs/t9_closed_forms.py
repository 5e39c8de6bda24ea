"""T9: closed forms of the expected time per token (S → ∞), SI and DSI in both models.

Renewal–reward over rounds. In the synthetic model drafts are accepted i.i.d. with rate a; a
rejection ends a round (exact model) or a segment (paper model, SPEC §4.4), and the
tokens of a round are ``J + 1`` with ``P(J = j) = (1 − a)a^j`` (E = 1/(1 − a)). So

    E[T]/S → E[round cost] / E[round tokens] = (1 − a)² Σ_{j≥0} a^j · cost(j).

* SI: ``(kc + 1)(1 − a)/(1 − a^{k+1})`` (T4's derivation).
* DSI, exact model, no task waiting (N ≥ max(3, ⌈1/(kc)⌉ + 1), T7): the all-accepted
  round resolves j = (b−1)k + i (b ≥ 1, 1 ≤ i ≤ k) at
  ``R(j) = 1 + (b−1)kc + min(i, kc)``, R(0) = 1 (z3: equal to the schedule model at every
  full-window position of every round m ≤ 8). With h = min(k, ⌊kc⌋):

    ``E[T_DSI]/S → (1−a) + kc·a^{k+1}(1−a)/(1−a^k) + (1−a)²/(1−a^k) · (Σ_{i≤h} i·a^i + kc·Σ_{h<i≤k} a^i)``

  which for kc < 1 (h = 0) is ``(1 − a) + kc·a(1 − a)/(1 − a^k)``.
* DSI, paper model: a segment with n = lk + i accepted drafts costs
  ``min((l+1)kc + 1, n + 1)`` (the special "no drafting" case gives the same min), so
  ``E/S → (1−a)² Σ_n a^n min((⌊n/k⌋+1)kc + 1, n + 1)`` (exact series); for kc ≤ 1 and c ≤ 1/2
  the min is always the first term (n ≥ 1) and ``E/S → (1−a) + kc(1−a)(1/(1−a^k) − (1−a))``.
  The paper model exceeds the exact one by ``kc(1−a)²a^k/(1−a^k)`` when kc < 1 (the dropped
  bonus position).

sympy checks every series against its closed form (k = 1..6, every h); z3 checks the round
formula against the schedule model; Monte Carlo agreement is in tests/proofs.
"""

from __future__ import annotations

import sympy as sp
import z3

from proofs.core import ProofRefuted, theorem
from proofs.schedule_checks import MAX_ROUND, check_round_property, round_shapes, servers_at_least

a_sym, c_sym = sp.symbols("a c", positive=True)


def round_time_formula(j: int, k: int, c: object, minimum: callable = min) -> object:
    """``R(j)`` of the no-wait all-accepted round (see module doc); works for z3 and numbers."""
    if j == 0:
        return 1
    b = -(-j // k)
    i = j - (b - 1) * k
    return 1 + (b - 1) * k * c + minimum(i, k * c)


def dsi_exact_rate(a: object, c: object, k: int, h: int) -> object:
    """Closed form of lim E[T_DSI]/S in the exact model, h = min(k, ⌊kc⌋) (no waiting)."""
    inner = sum(i * a**i for i in range(1, h + 1)) + k * c * sum(a**i for i in range(h + 1, k + 1))
    return (1 - a) + k * c * a ** (k + 1) * (1 - a) / (1 - a**k) + (1 - a) ** 2 / (1 - a**k) * inner


def dsi_paper_rate_small_c(a: object, c: object, k: int) -> object:
    """Closed form of lim E[T_DSI]/S in the paper model for kc ≤ 1 and c ≤ 1/2."""
    return (1 - a) + k * c * (1 - a) * (1 / (1 - a**k) - (1 - a))


def si_rate(a: object, c: object, k: int) -> object:
    return (k * c + 1) * (1 - a) / (1 - a ** (k + 1))


def _geometric_block_sum() -> sp.Expr:
    """``Σ_{b≥1} x^{b−1}(A + (b−1)B)`` for 0 < x < 1, by sympy (symbols A, B, x)."""
    A, B = sp.symbols("A B")
    x = sp.Symbol("x", positive=True)
    b = sp.Symbol("b", integer=True, positive=True)
    series = sp.piecewise_fold(sp.summation(x ** (b - 1) * (A + (b - 1) * B), (b, 1, sp.oo)))
    if isinstance(series, sp.Piecewise):  # the branch for |x| < 1
        series = next(expr for expr, cond in series.args if cond.subs(x, sp.Rational(1, 2)) == sp.true)
    return series


def _is_zero(expr: sp.Expr) -> bool:
    return sp.cancel(sp.together(expr)) == 0


def sympy_dsi_exact(k: int, h: int, block_sum: sp.Expr) -> None:
    """(1−a)² Σ_j a^j R(j) = closed form: block b holds j = (b−1)k + i, i = 1..k, with
    ``a^j R(j) = x^{b−1}·a^i·(1 + M_i + (b−1)kc)``, x = a^k, M_i = min(i, kc) = i iff i ≤ h."""
    a, c = a_sym, c_sym
    mins = [sp.Integer(i) if i <= h else k * c for i in range(1, k + 1)]
    A = sum(a**i * (1 + mins[i - 1]) for i in range(1, k + 1))
    B = k * c * sum(a**i for i in range(1, k + 1))
    series = block_sum.subs({sp.Symbol("A"): A, sp.Symbol("B"): B, sp.Symbol("x", positive=True): a**k})
    total = (1 - a) ** 2 * (1 + series)  # the 1 is j = 0
    if not _is_zero(total - dsi_exact_rate(a, c, k, h)):
        raise ProofRefuted(f"T9: exact-model DSI series != closed form at k={k}, h={h}")


def sympy_paper(k: int, block_sum: sp.Expr) -> None:
    """Paper model, kc ≤ 1, c ≤ 1/2: n = (b−1)k + i, i = 0..k−1, term (l+1)kc + 1 with
    l = b − 1 for n ≥ 1, and 1 for n = 0 (which is kc + 1 − kc)."""
    a, c = a_sym, c_sym
    A = sum(a**i for i in range(k)) * (k * c + 1)
    B = sum(a**i for i in range(k)) * k * c
    series = block_sum.subs({sp.Symbol("A"): A, sp.Symbol("B"): B, sp.Symbol("x", positive=True): a**k})
    total = (1 - a) ** 2 * (series - k * c)
    if not _is_zero(total - dsi_paper_rate_small_c(a, c, k)):
        raise ProofRefuted(f"T9: paper-model series != closed form at k={k}")
    gap = dsi_paper_rate_small_c(a, c, k) - dsi_exact_rate(a, c, k, 0)
    if not _is_zero(gap - k * c * (1 - a) ** 2 * a**k / (1 - a**k)):
        raise ProofRefuted(f"T9: paper − exact gap is not kc(1−a)²a^k/(1−a^k) at k={k}")


def z3_round_formula(max_m: int = MAX_ROUND) -> int:
    """No waiting (N ≥ max(3, ⌈1/(kc)⌉ + 1)): R_m(j) = formula at full-window positions."""

    def negation(enc: object) -> z3.BoolRef:
        k, m = enc.k, enc.m
        zmin = lambda x, y: z3.If(x <= y, x, y)  # noqa: E731
        positions = [j for j in range(m) if -(-j // k) * k <= m - 1]
        return z3.Or(*[enc.r[j] != round_time_formula(j, k, enc.c, zmin) for j in positions])

    def domain(c: z3.ArithRef, N: z3.ArithRef, k: int) -> list:
        return [c > 0, c <= 1, servers_at_least(N, k, c, extra=1, floor=3, top=2 * MAX_ROUND + 2)]

    return check_round_property("T9 round formula", list(round_shapes(max_m)), negation, domain=domain)


def prove_closed_forms() -> str:
    k = sp.Symbol("k", integer=True, positive=True)
    j = sp.Symbol("j", integer=True, nonnegative=True)
    tokens = sp.piecewise_fold(sp.summation(a_sym**j, (j, 0, k)))
    general = tokens.args[-1][0] if isinstance(tokens, sp.Piecewise) else tokens
    if sp.simplify((k * c_sym + 1) / general - si_rate(a_sym, c_sym, k)) != 0:
        raise ProofRefuted("T9: SI rate")
    queries = z3_round_formula()
    block_sum = _geometric_block_sum()
    cases = 0
    for kk in range(1, 7):
        for h in range(0, kk + 1):
            sympy_dsi_exact(kk, h, block_sum)
            cases += 1
        sympy_paper(kk, block_sum)
    return (f"sympy: SI rate (symbolic k); exact-model DSI series = closed form for {cases} "
            f"(k, h) cases, k <= 6; paper-model closed form and gap k <= 6; z3: round formula = "
            f"schedule model, {queries} round shapes (m <= {MAX_ROUND}, no-wait regime)")


@theorem(
    id="T9",
    title="closed forms (S -> inf)",
    statement="E[T_SI]/S -> (kc+1)(1-a)/(1-a^(k+1)); E[T_DSI]/S -> (1-a)^2 sum_j a^j R(j) with "
              "R(j) = 1+(b-1)kc+min(i,kc) (exact, no waiting) and a closed form in both models",
    assumptions=("i.i.d. acceptances, a in [0,1)", "exact model: N >= max(3, ceil(1/(kc))+1)",
                 "paper-model closed form: kc <= 1 and c <= 1/2 (exact series otherwise)"),
    method="sympy renewal-reward sums (k <= 6) + z3 round formula vs schedule model (m <= 8)",
)
def t9() -> str:
    return prove_closed_forms()
