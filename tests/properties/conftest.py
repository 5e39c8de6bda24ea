"""The engine under test, chosen by one switch: ``--dsi-engine`` (when the pytest plugin is
loaded) or the environment variable DSI_ENGINE (default ``reference``)."""

from __future__ import annotations

import pytest

from properties.engines import Engine
from properties.selection import engine_from_env, get_engine


@pytest.fixture(scope="session")
def engine(request: pytest.FixtureRequest) -> Engine:
    """The engine named by ``--dsi-engine`` or DSI_ENGINE (``reference``, ``runtime``, ``module:factory``)."""
    spec = request.config.getoption("dsi_engine", default=None)
    return get_engine(spec) if spec else engine_from_env()
