"""pytest plugin: ``pytest --dsi-engine module:factory`` runs the suite against an engine.

Registered through the ``pytest11`` entry point of this package (``pyproject.toml``), so an
engine's CI that installs ``dsi-suite`` runs the whole suite in one line, without any test
file of its own::

    pytest --dsi-engine my_engine.adapter:make_engine [--dsi-profile quick|ci|thorough]

Each property of :data:`properties.suite.SUITE` becomes one test item ``dsi::<property>``:
it passes, fails with the property's evidence (the violation and Hypothesis' shrunk
falsifying example), or is skipped with the capability the engine does not declare. Without
``--dsi-engine`` the plugin adds nothing. The engine is built once per session.
"""

from __future__ import annotations

from typing import Any

import pytest

from properties.engines import Engine
from properties.profiles import PROFILES, active_profile, using_profile
from properties.selection import get_engine
from properties.suite import SUITE, SuiteProperty, evaluate
from reference.errors import DSIError

_ENGINE_KEY = pytest.StashKey[Engine]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--dsi-engine`` and ``--dsi-profile``."""
    group = parser.getgroup("dsi", "DSI suite: run the property suite against an engine")
    group.addoption("--dsi-engine", metavar="MODULE:FACTORY", default=None,
                    help="run every property of the DSI suite against this engine (module:factory, "
                         "reference, runtime or mutant:NAME)")
    group.addoption("--dsi-profile", choices=PROFILES, default=None,
                    help="examples and statistical power of the suite (default: DSI_HYPOTHESIS_PROFILE or ci)")


def _engine(config: pytest.Config) -> Engine:
    if _ENGINE_KEY not in config.stash:
        try:
            config.stash[_ENGINE_KEY] = get_engine(config.getoption("dsi_engine"))
        except DSIError as exc:
            raise pytest.UsageError(f"--dsi-engine: {exc}") from None
    return config.stash[_ENGINE_KEY]


class PropertyFailure(Exception):
    """A property failed; the message is its evidence."""


class DSIPropertyItem(pytest.Item):
    """One property of the suite against the session's engine."""

    def __init__(self, *, prop: SuiteProperty, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.prop = prop

    def runtest(self) -> None:
        """Evaluate the property (shrinking on); skip when not applicable."""
        engine = _engine(self.config)
        with using_profile(self.config.getoption("dsi_profile") or active_profile()):
            outcome = evaluate(self.prop, engine, shrink=True)
        if outcome.verdict == "not applicable":
            pytest.skip(f"{engine.name} does not declare {', '.join(outcome.missing)}")
        self.user_properties.append(("dsi_seconds", round(outcome.seconds, 3)))
        if outcome.failed:
            raise PropertyFailure(f"{outcome.verdict}: {outcome.evidence}")

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        """The property's evidence, not a traceback into the suite."""
        if isinstance(excinfo.value, PropertyFailure):
            return f"{self.prop.name}: {self.prop.description}\n{excinfo.value}"
        return str(super().repr_failure(excinfo, style=style))

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, None, f"dsi::{self.prop.name}"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                  items: list[pytest.Item]) -> None:
    """With ``--dsi-engine``, add one item per property (before -k / -m deselection runs)."""
    if not config.getoption("dsi_engine"):
        return
    _engine(config)  # a bad spec is a usage error now, not 20 failures later
    items.extend(DSIPropertyItem.from_parent(session, name=prop.name, nodeid=f"dsi::{prop.name}", prop=prop)
                 for prop in SUITE)
