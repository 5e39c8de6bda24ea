"""Each mutant is killed by its designated property on a fixed case the reference passes."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

import pytest

from properties.distribution import check_exact_sequence_law
from properties.engines import Engine, EngineRequest, ReferenceEngine
from properties.exact_models import RationalTabularLM
from properties.latency import check_exact_timing, check_illustration, check_latency_dominance
from properties.mutants import CATALOGUE, MUTANTS, run_catalogue
from properties.suite import PROPERTIES
from properties.trajectory import (
    check_greedy_acceptances,
    check_greedy_equality,
    check_trajectory_equality,
)
from properties.violation import PropertyViolation
from reference.latency import LatencyModel
from reference.toy_models import MixtureDrafter, TabularLM

EXACT_TARGET = RationalTabularLM.from_weights([[1, 2, 1], [0, 1, 3], [2, 2, 0]], order=1)
EXACT_DRAFTER = RationalTabularLM.from_weights([[3, 1, 0], [1, 1, 1], [0, 1, 4]], order=1)
TABULAR = TabularLM(4, order=1, seed=1)
MIXTURE = MixtureDrafter(TABULAR, overlap=0.5)
FAST_DRAFTER = LatencyModel.time_units("1/10")
WHOLE_PREFIX = TabularLM(4, order=None, seed=1)  # context = whole prefix: every slip shows
CLOSE_DRAFTER = MixtureDrafter(WHOLE_PREFIX, overlap=0.9)


def _exact(engine: Engine) -> None:
    request = EngineRequest(EXACT_TARGET, EXACT_DRAFTER, (0,), 2, algorithm="dsi", lookahead=2, sp_degree=2)
    check_exact_sequence_law(engine, request, EXACT_TARGET, EXACT_DRAFTER, 2)


def _trajectory(engine: Engine) -> None:
    for seed in range(5):
        check_trajectory_equality(engine, EngineRequest(WHOLE_PREFIX, CLOSE_DRAFTER, (0,), 10, lookahead=3,
                                                        seed=seed, latency=FAST_DRAFTER))


def _greedy(engine: Engine) -> None:
    check_greedy_equality(engine, EngineRequest(TABULAR, MIXTURE, (0,), 12, lookahead=3))


def _greedy_acceptances(engine: Engine) -> None:
    for seed in range(3):
        check_greedy_acceptances(engine, EngineRequest(TABULAR, MIXTURE, (0,), 12, lookahead=3, seed=seed))


def _timing(engine: Engine) -> None:
    for seed in range(3):
        check_exact_timing(engine, EngineRequest(TABULAR, MixtureDrafter(TABULAR, overlap=0.3), (0,), 12,
                                                 lookahead=3, sp_degree=2, seed=seed,
                                                 latency=LatencyModel.time_units("1/8")))


def _dominance(engine: Engine) -> None:
    # c = 3/4, k = 3: without the frontier chain, accepted positions wait for windows
    # (dispatched every 9/4) instead of resolving one per target forward.
    for seed in range(5):
        check_latency_dominance(engine, EngineRequest(TABULAR, MIXTURE, (0,), 6, lookahead=3, seed=seed,
                                                      latency=LatencyModel.time_units("3/4")))


DESIGNATED: dict[str, Callable[[Engine], None]] = {
    "always_accept": _exact,
    "residual_no_clip": _exact,
    "ratio_q_over_p": _exact,
    "reject_from_p": _exact,
    "residual_uniform_reused": _exact,
    "q_not_sampling_distribution": _exact,
    "temperature_drafter_only": _exact,
    "greedy_draft_softmax_q": _greedy_acceptances,
    "off_by_one_logits": _greedy,
    "bonus_dropped": check_illustration,
    "bonus_wrong_position": _trajectory,
    "stale_task_not_cancelled": _timing,
    "post_rejection_acceptances_kept": _trajectory,
    "no_frontier_chain": _dominance,
    "drafter_stale_prefix": _trajectory,
}


@pytest.mark.parametrize("name", sorted(DESIGNATED))
def test_designated_property_passes_on_the_reference(name: str) -> None:
    DESIGNATED[name](ReferenceEngine())


@pytest.mark.parametrize("name", sorted(DESIGNATED))
def test_designated_property_kills_the_mutant(name: str) -> None:
    with pytest.raises(PropertyViolation):
        DESIGNATED[name](MUTANTS[name].build())


def test_every_reference_mutant_has_a_designated_killer() -> None:
    assert set(DESIGNATED) == {name for name, m in MUTANTS.items() if m.engine == "reference"}


def test_catalogue_covers_the_spec_list() -> None:
    required = {"always_accept", "residual_no_clip", "greedy_draft_softmax_q", "q_not_sampling_distribution",
                "bonus_dropped", "bonus_wrong_position", "off_by_one_logits", "temperature_drafter_only",
                "stale_task_not_cancelled", "post_rejection_acceptances_kept", "ratio_q_over_p",
                "reject_from_p"}
    assert required <= set(MUTANTS)
    assert len(CATALOGUE) >= 12


@pytest.mark.parametrize("name", ["bonus_dropped", "stale_task_not_cancelled", "no_frontier_chain"])
def test_timing_only_mutants_are_killed_by_latency_properties_in_the_harness(name: str) -> None:
    (outcome,) = run_catalogue([name])
    assert outcome.killed
    assert PROPERTIES[outcome.killed_by].kind == "latency"  # type: ignore[index]


def test_timing_only_mutants_keep_the_tokens() -> None:
    request = EngineRequest(TABULAR, MIXTURE, (0,), 12, lookahead=2, sp_degree=2, seed=3,
                            latency=LatencyModel.time_units(Fraction(1, 4)))
    expected = ReferenceEngine().generate(request).tokens
    for name in ("bonus_dropped", "stale_task_not_cancelled", "no_frontier_chain"):
        assert MUTANTS[name].build().generate(request).tokens == expected
