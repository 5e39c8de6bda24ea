"""The z3 schedule model is the reference's model: same resolution times, same latencies.

The encoding is evaluated at exact rational c (its unique solution) and compared with the
reference event simulation (reference.generate on an AcceptancePathPair), and the round
decomposition with whole acceptance paths through the event simulation, the SI simulation
and reference.fast.exact.
"""

from __future__ import annotations

from fractions import Fraction
from functools import cache
from itertools import product

import numpy as np
import pytest

from proofs.schedule_checks import event_round_times, round_shapes
from proofs.schedule_model import NO_CANCEL, si_round_times, solve_round, window_ends
from reference.fast.exact import dsi_latency, si_latency
from reference.generate import generate
from reference.latency import LatencyModel
from reference.toy_models import AcceptancePathPair

# breakpoints of the model (kc = 1, 2c = 1, 3c = 2, ...) and generic values
C_GRID = (Fraction(1), Fraction(1, 2), Fraction(2, 3), Fraction(1, 3), Fraction(3, 7), Fraction(1, 5))


@pytest.mark.parametrize(("m", "k"), [shape for shape in round_shapes(6)])
@pytest.mark.parametrize("N", [1, 2, 3])
def test_encoding_has_the_event_simulation_as_unique_solution(m: int, k: int, N: int) -> None:
    for c in C_GRID:
        assert tuple(solve_round(m, k, N, c, unique=True)) == event_round_times(m, k, N, c), (m, k, N, c)


def test_encoding_with_unlimited_servers_matches_large_n() -> None:
    for c in (Fraction(1, 4), Fraction(3, 4)):
        assert tuple(solve_round(7, 2, 20, c)) == event_round_times(7, 2, None, c)


def test_hand_computed_rounds() -> None:
    # k=1, c=1, N=1: the frontier chain does all the work: r_j = j + 1.
    assert solve_round(3, 1, 1, Fraction(1)) == [1, 2, 3]
    # k=2, c=3/5 (kc >= 1), N=3, no waiting: R = 1, 2, 1+2c, 2+2c, 1+4c (SCHEDULE_NOTES case B).
    c = Fraction(3, 5)
    assert solve_round(5, 2, 3, c) == [1, 2, 1 + 2 * c, 2 + 2 * c, 1 + 4 * c]
    # without cancellation the stale window W0 holds the only server: r_2 = 4 (see test below).
    assert solve_round(3, 1, 1, Fraction(1), variant=NO_CANCEL) == [1, 2, 4]


def test_window_ends_and_si_round_times_by_hand() -> None:
    assert window_ends(8, 3) == [3, 6, 7]
    assert window_ends(2, 1) == [1]
    c = Fraction(1, 2)
    # m=5, k=2: iterations (2 drafts, 3 tokens) then (1 draft, 2 tokens)
    assert si_round_times(5, 2, c) == [2, 2, 2, Fraction(7, 2), Fraction(7, 2)]


@cache
def _round(m: int, k: int, N: int, c: Fraction) -> tuple[Fraction, ...]:
    return tuple(solve_round(m, k, N, c, unique=False))


def _rounds(bits: tuple[bool, ...]) -> list[tuple[int, int]]:
    """(j, m) per round: a rejection at a position <= S-2 ends a round."""
    S, f, out = len(bits), 0, []
    for i, accepted in enumerate(bits):
        if (not accepted and i <= S - 2) or i == S - 1:
            out.append((i - f, S - f))
            f = i + 1
    return out


@pytest.mark.parametrize("S", [1, 3, 5, 6])
@pytest.mark.parametrize(("k", "N"), [(1, 1), (2, 1), (2, 2), (3, 2), (1, 3), (2, 3)])
def test_round_decomposition_equals_whole_paths(S: int, k: int, N: int) -> None:
    # two of the c values are breakpoints (kc = 1 for k = 4 and k = 1); every simulator takes c exactly
    for c in (Fraction(1, 4), Fraction(3, 5), Fraction(1)):
        latency = LatencyModel.time_units(c)
        paths = list(product((True, False), repeat=S))
        for bits in paths:
            pair = AcceptancePathPair(list(bits))
            dsi = generate(pair.target, pair.drafter, [0], S, algorithm="dsi", lookahead=k,
                           num_target_servers=N, mode="greedy", latency=latency)
            si = generate(pair.target, pair.drafter, [0], S, algorithm="si", lookahead=k,
                          mode="greedy", latency=latency)
            rounds = _rounds(bits)
            assert dsi.latency == sum(_round(m, k, N, c)[j] for j, m in rounds), (bits, c)
            assert si.latency == sum(si_round_times(m, k, c)[j] for j, m in rounds), (bits, c)
        accept = np.array(paths, dtype=bool)
        fast = dsi_latency(accept, k, c, N)
        expected = [float(sum(_round(m, k, N, c)[j] for j, m in _rounds(b))) for b in paths]
        np.testing.assert_allclose(fast, expected, rtol=0, atol=1e-9)
        np.testing.assert_allclose(si_latency(accept, k, c),
                                   [float(sum(si_round_times(m, k, c)[j] for j, m in _rounds(b)))
                                    for b in paths], rtol=0, atol=1e-9)
