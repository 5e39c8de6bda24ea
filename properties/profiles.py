"""Hypothesis profiles of the suite, chosen by the environment variable DSI_HYPOTHESIS_PROFILE.

* ``ci`` (default): derandomized (fixed seeds: a CI failure is a deterministic regression),
  no deadline.
* ``thorough``: fresh seeds every run and ``THOROUGH_FACTOR`` times the examples.

Tests ask for ``examples(n)`` instead of a literal ``max_examples`` so that the thorough
profile scales them.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

THOROUGH_FACTOR = 10
PROFILE_VARIABLE = "DSI_HYPOTHESIS_PROFILE"
_SUPPRESS = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]


def active_profile() -> str:
    """Name of the selected profile ("ci" unless the environment says "thorough")."""
    return os.environ.get(PROFILE_VARIABLE, "ci")


def register_profiles() -> None:
    """Register ``ci`` and ``thorough`` and load the selected one."""
    settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True,
                              suppress_health_check=_SUPPRESS)
    settings.register_profile("thorough", derandomize=False, deadline=None, print_blob=True,
                              max_examples=100 * THOROUGH_FACTOR, suppress_health_check=_SUPPRESS)
    settings.load_profile(active_profile())


def examples(n: int) -> int:
    """``n`` examples under ``ci``, ``THOROUGH_FACTOR * n`` under ``thorough``."""
    return n * THOROUGH_FACTOR if active_profile() == "thorough" else n
