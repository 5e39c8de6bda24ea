"""Each runtime mutant is killed by its designated property on a fixed case that the runtime
passes (the driver and server bugs of properties/runtime_mutants.py)."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

import pytest

from properties.engines import Engine, EngineRequest
from properties.mutants import MUTANTS
from properties.runtime_adapter import RuntimeAdapter
from properties.schedule import check_cache_reuse, check_schedule_agreement, check_timing_fidelity
from properties.trajectory import check_trajectory_equality
from reference.errors import DSIError
from reference.latency import LatencyModel
from reference.toy_models import MixtureDrafter, SyntheticAcceptancePair, TabularLM

PAIR = SyntheticAcceptancePair(4, 0.5, seed=2)
WHOLE_PREFIX = TabularLM(4, order=None, seed=1)
CLOSE_DRAFTER = MixtureDrafter(WHOLE_PREFIX, overlap=0.7)


def _agreement(num_target_servers: int | None, c: Fraction) -> Callable[[Engine], None]:
    """Rejections while drafts and windows run (c = 2/5) or at equal deadlines (c = 1/2)."""
    def check(engine: Engine) -> None:
        for seed in range(3):
            check_schedule_agreement(engine, EngineRequest(PAIR.target, PAIR.drafter, (1,), 14, lookahead=2,
                                                           num_target_servers=num_target_servers, seed=seed,
                                                           latency=LatencyModel.time_units(c)))
    return check


def _trajectory(engine: Engine) -> None:
    for seed in range(4):
        check_trajectory_equality(engine, EngineRequest(WHOLE_PREFIX, CLOSE_DRAFTER, (0,), 12, lookahead=3,
                                                        num_target_servers=3, seed=seed,
                                                        latency=LatencyModel.time_units("1/4")))


def _cache(engine: Engine) -> None:
    check_cache_reuse(engine, EngineRequest(PAIR.target, PAIR.drafter, (1, 2, 3), 8, algorithm="si",
                                            lookahead=2))


RUNTIME_DESIGNATED: dict[str, Callable[[Engine], None]] = {
    "runtime_stop_while_computing": check_timing_fidelity,
    "runtime_server_never_freed": _agreement(None, Fraction(2, 5)),
    "runtime_server_freed_twice": _agreement(2, Fraction(2, 5)),
    "runtime_drafter_not_preempted": _agreement(2, Fraction(2, 5)),
    "runtime_equal_deadlines_split": _agreement(2, Fraction(1, 2)),
    "runtime_stale_result_reused": _trajectory,
    "runtime_cache_crop_short": _cache,
    "runtime_cache_crop_long": _trajectory,
}


def test_every_runtime_mutant_has_a_designated_killer() -> None:
    assert set(RUNTIME_DESIGNATED) == {name for name, m in MUTANTS.items() if m.engine == "runtime"}
    assert len(RUNTIME_DESIGNATED) >= 6


@pytest.mark.parametrize("name", sorted(RUNTIME_DESIGNATED))
def test_designated_property_passes_on_the_runtime(name: str) -> None:
    RUNTIME_DESIGNATED[name](RuntimeAdapter())


@pytest.mark.parametrize("name", sorted(RUNTIME_DESIGNATED))
def test_designated_property_kills_the_runtime_mutant(name: str) -> None:
    # a PropertyViolation, the scheduler's own invariant check (a server freed twice is caught
    # as a forward ending twice) or a typed error (a server never freed stalls the generation)
    with pytest.raises((AssertionError, DSIError)):
        RUNTIME_DESIGNATED[name](MUTANTS[name].build())
