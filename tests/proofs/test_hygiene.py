"""Proof hygiene: a contradicting second solver fails a theorem; T2's greedy check is about K."""

from __future__ import annotations

import random
from fractions import Fraction

import numpy as np
import pytest
import z3

from proofs.core import SolverDisagreement, Theorem, cross_check, make_solver, run_theorem
from proofs.t1_kernel import CANONICAL, NO_CLAMP
from proofs.t2_acceptance import greedy_rule_holds, z3_greedy
from reference.kernel import output_law_exact, verify


def _unsat_solver() -> z3.Solver:
    x = z3.Real("x")
    solver = make_solver()
    solver.add(x > 1, x < 0)
    return solver


def test_cvc5_agreement_unknown_and_contradiction() -> None:
    solver = _unsat_solver()
    assert cross_check(solver) is True  # the real cvc5 agrees
    assert cross_check(solver, answer_of=lambda _: "unknown") is False  # a note, not a failure
    with pytest.raises(SolverDisagreement, match="cvc5 answered sat where z3 answered unsat"):
        cross_check(solver, answer_of=lambda _: "sat")


def test_a_contradicting_second_solver_fails_the_theorem() -> None:
    def check() -> str:
        cross_check(_unsat_solver(), answer_of=lambda _: "sat")
        return "proved"

    result = run_theorem(Theorem("contradiction", "t", "s", (), "m", check))
    assert result.status == "error" and "contradict" in result.detail


def test_greedy_check_refutes_a_broken_kernel_and_passes_the_canonical_one() -> None:
    z3_greedy(3, CANONICAL)
    with pytest.raises(Exception, match="not the greedy rule"):
        z3_greedy(3, NO_CLAMP)


def test_greedy_rule_matches_the_reference_kernel() -> None:
    """The reference's greedy verification returns argmax p, and the reference's exact law of
    K on the one-hot laws is the point mass there (the independent side of z3_greedy)."""
    rng = random.Random(7)
    for _ in range(200):
        V = rng.randint(2, 5)
        p = [Fraction(rng.randint(0, 4)) for _ in range(V)]
        q = [Fraction(rng.randint(0, 4)) for _ in range(V)]
        if not sum(p) or not sum(q):
            continue
        p, q = [x / sum(p) for x in p], [x / sum(q) for x in q]
        a_p, a_q = p.index(max(p)), q.index(max(q))
        token = verify(np.array(p, dtype=float), np.array(q, dtype=float), a_q, 0.5, 0.5, mode="greedy")
        assert token == a_p
        onehot_p = [Fraction(int(i == a_p)) for i in range(V)]
        onehot_q = [Fraction(int(i == a_q)) for i in range(V)]
        assert output_law_exact(onehot_p, onehot_q) == onehot_p
        assert greedy_rule_holds(CANONICAL, p, q)
