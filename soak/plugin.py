"""The pytest plugin of ``dsi soak``: what one package's pytest process did, one JSON line per event.

Loaded in the package's pytest process (``-p soak.plugin``) and active only when the
environment names a file (``DSI_SOAK_EVENTS``). Lines are appended and flushed as they happen,
so a process killed at its timeout still says which test it was running:

* ``{"event": "start", "nodeid"}`` when a test starts;
* ``{"event": "report", "nodeid", "when", "outcome", "duration", "longrepr"}`` for each call
  phase, and for a setup or teardown that failed or skipped (``longrepr`` only on failure);
* ``{"event": "end", "nodeid", "examples": {status: count}, "blob"}`` when it ends: the
  Hypothesis test cases it ran, counted through Hypothesis's observability callbacks (nested
  ``@given`` functions included, as the property suite's are), and the ``@reproduce_failure``
  decorator of the last failing test case, if any;
* ``{"event": "collect-error", "nodeid", "longrepr"}`` for a module that fails to import.

Coverage collection, which Hypothesis's observability would otherwise switch on, is turned off:
only the counts are needed.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from typing import IO, Any

import pytest

EVENTS_VARIABLE = "DSI_SOAK_EVENTS"
#: Characters of a failure's text kept per report line.
LONGREPR_CHARS = 20_000


class Recorder:
    """Writes the event lines of one pytest process."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.examples: Counter[str] = Counter()
        self.blob: str | None = None

    def write(self, **line: Any) -> None:
        self.stream.write(json.dumps(line) + "\n")
        self.stream.flush()

    def observe(self, observation: Any, thread_id: int | None = None) -> None:
        """Hypothesis observability callback: count the test cases of the running test."""
        if getattr(observation, "type", None) != "test_case":
            return
        self.examples[observation.status] += 1
        if observation.status == "failed":
            self.blob = getattr(observation.metadata, "reproduction_decorator", None) or self.blob

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> Any:
        self.examples, self.blob = Counter(), None
        self.write(event="start", nodeid=item.nodeid)
        yield
        self.write(event="end", nodeid=item.nodeid, examples=dict(self.examples), blob=self.blob)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call" and report.passed:
            return
        longrepr = report.longreprtext[-LONGREPR_CHARS:] if report.failed else None
        self.write(event="report", nodeid=report.nodeid, when=report.when, outcome=report.outcome,
                   duration=report.duration, longrepr=longrepr)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.write(event="collect-error", nodeid=report.nodeid,
                       longrepr=report.longreprtext[-LONGREPR_CHARS:])


def pytest_configure(config: pytest.Config) -> None:
    path = os.environ.get(EVENTS_VARIABLE)
    if not path:
        return
    from hypothesis.internal import observability

    recorder = Recorder(open(path, "a", encoding="utf-8"))  # noqa: SIM115 - closed at unconfigure
    config.pluginmanager.register(recorder, "dsi-soak-recorder")
    observability.OBSERVABILITY_COLLECT_COVERAGE = False
    observability.add_observability_callback(recorder.observe, all_threads=True)
    config.stash[_KEY] = recorder


def pytest_unconfigure(config: pytest.Config) -> None:
    recorder = config.stash.get(_KEY, None)
    if recorder is not None:
        from hypothesis.internal import observability

        observability.remove_observability_callback(recorder.observe)
        recorder.stream.close()


_KEY = pytest.StashKey[Recorder]()
