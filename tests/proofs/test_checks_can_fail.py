"""Every check can fail: broken kernels and broken schedules are refuted, with exact
countermodels (the kernel / schedule under proof is a parameter of each check)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from proofs.core import ProofRefuted, ProofResult, Theorem, run_theorem
from proofs.schedule_model import BLIND_CHAIN, DSI, NO_CANCEL, NO_FRONTIER
from proofs.t1_kernel import (
    CANONICAL,
    NO_CLAMP,
    RESAMPLE_P,
    law_exact,
    prove_kernel_lossless,
    sympy_sign_patterns,
    z3_prove_kernel,
)
from proofs.t3_sequence import check_sequence
from proofs.t5_t6_dominance import prove_never_slower_than_nonsi, prove_never_slower_than_si
from proofs.t7_resources import prove_resource_bound


@pytest.mark.parametrize("kernel", [NO_CLAMP, RESAMPLE_P])
def test_broken_kernels_are_refuted_by_z3_with_exact_countermodels(kernel: object) -> None:
    with pytest.raises(ProofRefuted) as info:
        z3_prove_kernel(kernel, 3, split=False)
    model = info.value.countermodel
    p = [Fraction(x) for x in model["p"]]
    q = [Fraction(x) for x in model["q"]]
    assert sum(p) == 1 and sum(q) == 1 and min(p + q) >= 0
    assert law_exact(kernel, p, q) != p  # None (ill-defined) or a different law
    assert law_exact(CANONICAL, p, q) == p


@pytest.mark.parametrize("kernel", [NO_CLAMP, RESAMPLE_P])
def test_broken_kernels_are_refuted_by_sympy(kernel: object) -> None:
    with pytest.raises(ProofRefuted):
        sympy_sign_patterns(kernel, 3)


def test_broken_kernel_fails_the_whole_t1_check() -> None:
    thm = Theorem("T1-broken", "broken", "s", (), "m", lambda: prove_kernel_lossless(NO_CLAMP))
    result = run_theorem(thm)
    assert isinstance(result, ProofResult)
    assert result.status == "refuted" and result.countermodel is not None


def test_resample_from_p_law_by_hand() -> None:
    # p = (1/2, 1/2), q = (1, 0): accept mass (1/2, 0), reject mass 1/2 resampled from p
    law = law_exact(RESAMPLE_P, [Fraction(1, 2)] * 2, [Fraction(1), Fraction(0)])
    assert law == [Fraction(3, 4), Fraction(1, 4)]


def test_schedule_without_frontier_task_fails_t5_and_t6() -> None:
    with pytest.raises(ProofRefuted, match="no-frontier"):
        prove_never_slower_than_nonsi(NO_FRONTIER, max_m=4)
    with pytest.raises(ProofRefuted, match="no-frontier"):
        prove_never_slower_than_si(NO_FRONTIER, max_m=4)


def test_schedule_without_cancellation_fails_t5_with_a_rechecked_counterexample() -> None:
    with pytest.raises(ProofRefuted) as info:
        prove_never_slower_than_nonsi(NO_CANCEL, max_m=4)
    model = info.value.countermodel
    assert model["variant"] == "no-cancel" and model["violated_at"]
    j = model["violated_at"][0]
    assert Fraction(model["R"][j]) > j + 1


def test_correct_schedule_passes_bounded_t5_and_t6_on_small_rounds() -> None:
    assert "unsat" in prove_never_slower_than_nonsi(DSI, max_m=4)
    assert "T_DSI=" in prove_never_slower_than_si(DSI, max_m=4)


def test_t7_and_t6_refute_a_frontier_chain_that_ignores_running_windows() -> None:
    # Redundant frontier tasks take the servers: a full window waits at N = max(2, n0).
    with pytest.raises(ProofRefuted, match="full window waits") as info:
        prove_resource_bound(BLIND_CHAIN, max_m=4)
    model = info.value.countermodel
    c, k, N = Fraction(model["c"]), model["k"], model["N"]
    assert N >= 2 and N * k * c >= 1  # inside the claimed no-wait region
    with pytest.raises(ProofRefuted, match="blind-chain"):
        prove_never_slower_than_si(BLIND_CHAIN, max_m=4)


def test_sequence_check_refutes_si_that_keeps_drafts_after_a_rejection() -> None:
    check_sequence(2, 2, 1)
    with pytest.raises(ProofRefuted):
        check_sequence(2, 2, 1, stale_after_reject=True)
