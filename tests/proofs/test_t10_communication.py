"""T10 (messages): the kept counterexamples, the check's ability to fail, and the claims of
docs/distributed.md checked on longer paths than the proof's sweep.

Independent sides: closed forms for the all-rejected path (DSI: one frontier task of 1 + μ per
token; non-SI: S; SI: Σ (kk·c + 1)), the fast simulators, and a deliberately wrong latency
model (messages dropped from DSI's forwards) that the check must reject.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from proofs import t10_communication as t10
from reference.fast import exact

ProofFailure = t10.ProofFailure

C, MU = Fraction(1, 10), Fraction(1, 4)


@pytest.mark.parametrize("servers", [*range(1, 9), None])
@pytest.mark.parametrize(("path", "k"), t10.LOCAL_COUNTEREXAMPLES)
def test_dsi_over_messages_loses_to_message_free_baselines_at_every_n(path, k, servers):
    S = len(path)
    dsi = t10.run(path, "dsi", k, servers, C, MU)[-1]
    assert dsi == S * (1 + MU)  # every round: one frontier task of 1 + μ (the draft, c, is shorter)
    assert t10.run(path, "nonsi", k, None, C, Fraction(0))[-1] == S < dsi
    si_closed_form = sum(min(k, S - n - 1) * C + 1 for n in range(S))  # all rejected: one token per iteration
    assert t10.run(path, "si", k, None, C, Fraction(0))[-1] == si_closed_form
    if S == 1:
        assert si_closed_form == 1 < dsi


def test_with_messages_on_every_side_dsi_keeps_dominating_on_long_paths():
    """S = 60, random paths, N = 2 and 3 and unlimited, μ up to 3 forwards (the fast simulators,
    which compute by homogeneity, are equal to the event simulation: tests/reference/test_fast.py)."""
    rng = np.random.default_rng(7)
    accept = rng.random((200, 60)) < 0.7
    for c, mu, k in ((0.1, 0.25, 5), (0.5, 3.0, 2), (1.0, 0.05, 1)):
        si = exact.si_latency(accept, k, c, message=mu)
        nonsi = exact.nonsi_latency(accept, message=mu)
        for n in (2, 3, None):
            dsi = exact.dsi_latency(accept, k, c, n, message=mu)
            assert np.all(dsi <= si + 1e-9) and np.all(dsi <= nonsi + 1e-9)
            local_si = exact.si_latency(accept, k, c)
            _, iterations = exact.si_iteration_totals(accept, k)
            assert np.all(dsi <= local_si + mu * iterations + 1e-9)  # the loss bound
            assert np.all(dsi <= 60 + mu * 60 + 1e-9)


def test_the_check_rejects_a_schedule_that_drops_dsi_messages(monkeypatch):
    honest = t10.run

    def dsi_without_messages(path, algorithm, k, servers, c, message):
        return honest(path, algorithm, k, servers, c, Fraction(0) if algorithm == "dsi" else message)

    monkeypatch.setattr(t10, "run", dsi_without_messages)
    with pytest.raises(ProofFailure, match="homogeneity fails for dsi"):
        t10.check_homogeneity_and_bounds()


def test_si_iterations_counts_iterations():
    assert t10.si_iterations("AAAA", 2) == 2  # kk = 2: AA + bonus, then kk = 1: A + bonus
    assert t10.si_iterations("RRR", 5) == 3
    assert t10.si_iterations("A", 3) == 1
