"""Every property of the suite against the engine chosen by DSI_ENGINE (reference by default)."""

from __future__ import annotations

import pytest

from properties.engines import Capabilities, Engine
from properties.suite import PROPERTIES, REGISTERED_STATISTICAL_TESTS, STATISTICAL_ALPHA, SUITE


@pytest.mark.parametrize("name", [prop.name for prop in SUITE])
def test_engine_satisfies_property(engine: Engine, name: str) -> None:
    prop = PROPERTIES[name]
    if not prop.applies_to(engine):
        pytest.skip(f"{engine.name} does not declare {prop.requires} (SPEC §10: not applicable)")
    prop.run(engine)


def test_suite_covers_every_property_of_spec_section_7() -> None:
    kinds = {prop.kind for prop in SUITE}
    assert kinds == {"contract", "trajectory", "greedy", "stop", "isolation", "exact", "latency", "statistical",
                     "schedule", "timing"}


def test_statistical_level_is_the_bonferroni_share_of_one_in_a_million() -> None:
    # 5 χ² tests (a stopped sequence, processing on tied rows) + SI and DSI Monte Carlo means = 7.
    assert REGISTERED_STATISTICAL_TESTS == 7
    assert pytest.approx(1e-6 / 7) == STATISTICAL_ALPHA


def test_capabilities_a_property_needs_exist() -> None:
    fields = set(Capabilities.__dataclass_fields__)
    derived = {name for name in dir(Capabilities) if isinstance(getattr(Capabilities, name), property)}
    assert {cap for prop in SUITE for cap in prop.requires} <= fields | derived
