"""The engine under test, chosen by one switch: DSI_ENGINE (default ``reference``)."""

from __future__ import annotations

import pytest

from properties.engines import Engine, engine_from_env


@pytest.fixture(scope="session")
def engine() -> Engine:
    """The engine named by DSI_ENGINE (``reference`` or ``module:factory``)."""
    return engine_from_env()
