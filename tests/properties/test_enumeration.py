"""Exact enumeration of the uniforms' effect, on hand-computed laws."""

from __future__ import annotations

from fractions import Fraction as F

import pytest

from properties.engines import EngineRequest, ReferenceEngine
from properties.enumeration import cells, engine_sequence_law
from properties.exact_models import RationalTabularLM, process_exact, target_sequence_law
from properties.mutants import MUTANTS
from reference.errors import ConfigError


def test_cells_partition_the_unit_cube() -> None:
    p, q = (F(1, 2), F(1, 2)), (F(1, 4), F(3, 4))
    volumes = [c.volume for c in cells(p, q)]
    assert sum(volumes) == 1
    # draft 0 (q = 1/4): always accepted (p/q = 2), 2 accept splits of width 1/2 -> 1/8 each
    assert volumes[:2] == [F(1, 8), F(1, 8)]


def test_reference_law_of_two_tokens_equals_the_target_law() -> None:
    target = RationalTabularLM.from_weights([[1, 3], [2, 2]], order=1)
    drafter = RationalTabularLM.from_weights([[3, 1], [1, 0]], order=1)
    request = EngineRequest(target, drafter, (0,), 2, algorithm="dsi", lookahead=2, num_target_servers=2)
    law = engine_sequence_law(ReferenceEngine(), request, target, drafter, 2)
    # prompt ends in 0: x0 ~ (1/4, 3/4); then row of x0: (1/4,3/4) or (1/2,1/2)
    assert law == {(0, 0): F(1, 16), (0, 1): F(3, 16), (1, 0): F(3, 8), (1, 1): F(3, 8)}
    assert law == target_sequence_law(target, (0,), 2)


def test_always_accept_mutant_emits_the_drafter_law() -> None:
    # accepting every draft makes x0 = d0 ~ q = (3/4, 1/4), not p = (1/4, 3/4)
    target = RationalTabularLM.from_weights([[1, 3]], order=0)
    drafter = RationalTabularLM.from_weights([[3, 1]], order=0)
    request = EngineRequest(target, drafter, (0,), 1, algorithm="nonsi")
    law = engine_sequence_law(MUTANTS["always_accept"].build(), request, target, drafter, 1)
    assert law == {(0,): F(3, 4), (1,): F(1, 4)}


def test_exact_processing_matches_hand_values() -> None:
    row = (F(1, 10), F(6, 10), F(3, 10))
    assert process_exact(row, top_k=1) == (0, 1, 0)
    assert process_exact(row, top_p=0.61) == (0, F(2, 3), F(1, 3))  # 0.6 < 0.61: keep the crossing id 2
    tempered = process_exact((F(1, 4), F(3, 4)), temperature=0.5)  # squares: 1/16, 9/16 -> 1/10, 9/10
    assert tempered == pytest.approx((0.1, 0.9))


@pytest.mark.parametrize("weights", [[[0, 0]], [[1, -1]], [[1, 2], [1]]])
def test_invalid_rational_rows_are_refused(weights: list[list[int]]) -> None:
    with pytest.raises(ConfigError):
        RationalTabularLM.from_weights(weights, order=0 if len(weights) == 1 else 1)
