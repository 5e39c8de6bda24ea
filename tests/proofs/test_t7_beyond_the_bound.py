"""T7's exact statements, checked on the event simulation beyond the z3 bound (m ≤ 8)."""

from __future__ import annotations

import math
from fractions import Fraction

from proofs.schedule_checks import waits_in_reference

C_VALUES = sorted({Fraction(p, q) for q in range(1, 10) for p in range(1, q + 1)})


def test_cut_short_window_k2_n2_condition_up_to_m12() -> None:
    for m in range(2, 13):
        for c in (c for c in C_VALUES if 2 * c >= 1):
            expected = m % 2 == 0 and m >= 4 and c < Fraction(2, 3)
            assert waits_in_reference(m, 2, 2, c, "cut") == expected, (m, c)


def test_full_windows_never_wait_at_max_2_n0_up_to_m12() -> None:
    for m in range(9, 13):
        for k in (1, 2, 3):
            for c in C_VALUES[::3]:
                n0 = math.ceil(1 / (k * c))
                N = max(2, n0)
                assert not waits_in_reference(m, k, N, c, "full"), (m, k, N, c)


def test_full_window_waits_at_n1_when_kc_at_least_1() -> None:
    for k in (1, 2, 3, 4):
        for c in (Fraction(1, k), Fraction(1)):
            assert waits_in_reference(k + 1, k, 1, c, "full"), (k, c)
