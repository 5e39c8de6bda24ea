"""Tpre's models against the reference simulations, and its S = 2 conditions."""

from __future__ import annotations

import random
from fractions import Fraction
from itertools import product

from proofs.path_model import path_latency
from proofs.prefill import nonsi_latency, reference_latency, si_latency
from reference.latency import LatencyModel


def test_si_and_nonsi_with_prefill_are_the_reference() -> None:
    rng = random.Random(3)
    for _ in range(120):
        S, k = rng.randint(1, 7), rng.randint(1, 4)
        bits = [rng.random() < 0.6 for _ in range(S)]
        c = Fraction(rng.randint(1, 10), 10)
        P, Pd = Fraction(rng.randint(10, 50), 10), Fraction(rng.randint(int(c * 10), 50), 10)
        latency = LatencyModel.time_units(c, target_prefill=P, drafter_prefill=Pd)
        assert si_latency(bits, k, c, P, Pd) == reference_latency(bits, "si", k, latency)
        assert nonsi_latency(S, P, Pd) == reference_latency(bits, "nonsi", k, latency)


def test_best_start_model_without_prefill_is_unlimited_dsi() -> None:
    for S in (1, 2, 3):
        for bits in product((True, False), repeat=S):
            for k, c in ((1, Fraction(1, 2)), (2, Fraction(1, 3))):
                expected = reference_latency(bits, "dsi", k, LatencyModel.time_units(c))
                assert path_latency(bits, k, None, c, prefill=(Fraction(1), c)) == expected


def test_two_token_conditions_of_cold_and_warm_start() -> None:
    """S = 2, k = 1, N = 2: cold start is slower than min(SI, non-SI) on some path exactly when
    1 < Pd < P, warm start exactly when Pd < min(1, P) (a grid of exact latencies)."""
    for c in (Fraction(1, 4), Fraction(1, 2), Fraction(1)):
        for P in (Fraction(1), Fraction(3, 2), Fraction(3), Fraction(5)):
            for Pd in (c, Fraction(3, 4), Fraction(1), Fraction(2), Fraction(4)):
                if Pd < c:
                    continue
                latency = LatencyModel.time_units(c, target_prefill=P, drafter_prefill=Pd)
                for warm, predicted in ((False, 1 < Pd < P), (True, Pd < min(1, P))):
                    slower = any(reference_latency(bits, "dsi", 1, latency, N=2, warm_start=warm)
                                 > min(si_latency(bits, 1, c, P, Pd), nonsi_latency(2, P, Pd))
                                 for bits in product((True, False), repeat=2))
                    assert slower == predicted, (c, P, Pd, warm)
