"""The every-S theorems fail for broken schedules, and their lemmas fail where the claim does.

Broken schedules are variants of the encodings (not of the reference's simulation): without
the frontier chain, without cancellation, keeping stale tasks after a rejection. Where the
claim itself is false for the variant, the failure carries a concrete counterexample computed
exactly by the round model or the path model.
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from proofs.core import ProofRefuted, Theorem, run_theorem
from proofs.n1_no_rescue import lemma_no_one_server_policy
from proofs.path_model import path_latency
from proofs.schedule_model import KEEP_STALE, NO_CANCEL, NO_FRONTIER
from proofs.t5_every_s import lemma_progress, prove_every_s_nonsi
from proofs.t6_every_n import prove_every_s_si
from proofs.t6_fifo import lemma_d3
from proofs.t6_two_servers import _pigeonhole, lemma_frontier_one_at_a_time, lemma_positions


def _status(check) -> tuple[str, object, str]:
    result = run_theorem(Theorem("broken", "broken", "s", (), "m", check))
    return result.status, result.countermodel, result.detail


@pytest.mark.parametrize("variant", [NO_FRONTIER, NO_CANCEL, KEEP_STALE])
def test_t5all_is_refuted_for_broken_schedules_with_a_concrete_path(variant) -> None:
    status, witness, detail = _status(lambda: prove_every_s_nonsi(variant))
    assert status == "refuted" and "progress lemma" in detail
    if "path" in witness:  # path model (stale tasks): recompute the latency independently
        bits = tuple(ch == "A" for ch in witness["path"])
        assert path_latency(bits, witness["k"], witness["N"], Fraction(witness["c"]), variant=variant) > len(bits)
    else:  # round model, re-solved at the exact c
        j = witness["violated_at"][0]
        assert Fraction(witness["R"][j]) > j + 1


def test_t6all_fails_for_broken_schedules() -> None:
    # keep-stale: refuted with a concrete path (T_DSI > T_SI at N = 2)
    status, witness, detail = _status(lambda: prove_every_s_si(KEEP_STALE))
    assert status == "refuted" and "clean start" in detail
    assert witness["N"] >= 2 and Fraction(witness["T_DSI"]) > Fraction(witness["T_si"])
    # no frontier chain / no cancellation: a proof step fails (these schedules may still be
    # never slower than SI at N >= 2; no round of length <= 5 shows otherwise), so not proved
    for variant, step in ((NO_FRONTIER, "B5/C'"), (NO_CANCEL, "B1")):
        status, _, detail = _status(lambda variant=variant: prove_every_s_si(variant))
        assert status == "error" and step in detail


def test_the_lemmas_fail_for_the_rules_they_need() -> None:
    with pytest.raises(ProofRefuted, match="no-frontier"):
        lemma_progress(NO_FRONTIER)  # nothing asks for p at u
    with pytest.raises(ProofRefuted, match="keep-stale"):
        lemma_progress(KEEP_STALE)  # an old task holds the only server
    with pytest.raises(ProofRefuted):
        lemma_frontier_one_at_a_time(NO_CANCEL)  # a resolved frontier task keeps its server
    with pytest.raises(ProofRefuted):
        lemma_positions(NO_FRONTIER)  # a position waits for its (late) window


def test_the_server_bounds_are_tight() -> None:
    with pytest.raises(ProofRefuted, match="D3"):
        lemma_d3(1)  # N = 1: blocks k apart can share an SI iteration
    with pytest.raises(ProofRefuted, match="2 tasks, 2 kinds"):
        _pigeonhole(2, 2)  # N = 1: a frontier task and a window can meet
    with pytest.raises(ProofRefuted, match="one-server"):
        import z3

        lemma_no_one_server_policy(c_max=z3.RealVal(1))  # c = 1: FIFO DSI meets both bounds
