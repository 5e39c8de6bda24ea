"""T6inf's recurrence and bounds against the event simulation (unlimited servers)."""

from __future__ import annotations

from fractions import Fraction

import z3

from proofs.schedule_checks import event_round_times
from proofs.schedule_model import si_round_times
from proofs.t6_every_s import lemma_formula_vs_si, step_time
from proofs.t9_closed_forms import round_time_formula

C_VALUES = (Fraction(1), Fraction(3, 5), Fraction(1, 2), Fraction(1, 3), Fraction(2, 7), Fraction(1, 10))


def _recurrence(m: int, k: int, c: Fraction) -> list[Fraction]:
    r = [Fraction(1)]
    for j in range(1, m):
        D = min(-(-j // k) * k, m - 1) * c
        r.append(Fraction(str(z3.simplify(step_time(z3.RealVal(str(r[-1])), z3.RealVal(str(D)))))))
    return r


def test_recurrence_is_the_event_simulation_with_unlimited_servers() -> None:
    for m in range(1, 13):
        for k in range(1, 6):
            for c in C_VALUES:
                assert tuple(_recurrence(m, k, c)) == event_round_times(m, k, None, c), (m, k, c)


def test_formula_bounds_rounds_and_si_bounds_formula_numerically() -> None:
    for m in range(2, 14):
        for k in range(1, 6):
            for c in C_VALUES:
                times = event_round_times(m, k, None, c)
                si = si_round_times(m, k, c)
                for j in range(m):
                    assert times[j] <= round_time_formula(j, k, c), (m, k, c, j)
                    assert times[j] <= si[j] and times[j] <= j + 1, (m, k, c, j)


def test_lemma_d_needs_its_sign_facts() -> None:
    # Without the case facts about w = z·t the gap can be negative: the lemma is not vacuous.
    k, i, g, s, kt = z3.Ints("k i g s kt")
    z, w = z3.Reals("z w")
    solver = z3.Solver()
    solver.add(k >= 1, i >= 1, i <= k, g >= 0, s >= 0, s <= k, z > 0, z <= z3.ToReal(k), i - s == g + kt)
    solver.add(z3.ToReal(g) + z + w - z3.If(z3.ToReal(i) <= z, z3.ToReal(i), z) < 0)
    assert solver.check() == z3.sat
    assert lemma_formula_vs_si() == 3
