"""Profiles of the suite: how many examples, how much statistical power, which seeds.

* ``quick``: derandomized, half the examples (at least 2), and statistical tests
  powered against twice the effect (TV 0.1 instead of 0.05, a 6 % shift of a mean latency
  instead of 3 %): about 4x fewer samples at the same α (``dsi check --quick``, CI smoke runs).
* ``ci`` (default): derandomized (fixed seeds: a CI failure is a deterministic regression),
  no deadline.
* ``thorough``: fresh seeds every run and ``THOROUGH_FACTOR`` times the examples.

The environment variable ``DSI_HYPOTHESIS_PROFILE`` selects one; :func:`using_profile`
overrides it for a block (``dsi check``, the pytest plugin). Tests ask for ``examples(n)``
instead of a literal ``max_examples`` so that the profile scales them.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from contextlib import contextmanager

from hypothesis import HealthCheck, settings

from reference.errors import ConfigError

THOROUGH_FACTOR = 10
QUICK_DIVISOR = 2
#: ``quick`` powers statistical tests against this multiple of the stated effect (n ∝ 1/effect²).
QUICK_EFFECT_FACTOR = 2.0
PROFILES = ("quick", "ci", "thorough")
PROFILE_VARIABLE = "DSI_HYPOTHESIS_PROFILE"
_SUPPRESS = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
_override: list[str] = []


def check_profile(name: str) -> str:
    """``name`` if it is a known profile, else a ConfigError."""
    if name not in PROFILES:
        raise ConfigError(f"unknown profile {name!r}; expected one of {PROFILES}")
    return name


def active_profile() -> str:
    """The profile in force: :func:`using_profile`'s, else the environment's, else "ci"."""
    if _override:
        return _override[-1]
    return check_profile(os.environ.get(PROFILE_VARIABLE, "ci"))


@contextmanager
def using_profile(name: str) -> Iterator[str]:
    """Run a block under profile ``name`` (nests; restores the previous one)."""
    _override.append(check_profile(name))
    try:
        yield name
    finally:
        _override.pop()


def register_profiles() -> None:
    """Register the Hypothesis profiles and load the selected one."""
    settings.register_profile("quick", derandomize=True, deadline=None, print_blob=True,
                              suppress_health_check=_SUPPRESS)
    settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True,
                              suppress_health_check=_SUPPRESS)
    settings.register_profile("thorough", derandomize=False, deadline=None, print_blob=True,
                              max_examples=100 * THOROUGH_FACTOR, suppress_health_check=_SUPPRESS)
    settings.load_profile(active_profile())


def examples(n: int) -> int:
    """``n`` examples under ``ci``, ``THOROUGH_FACTOR·n`` under ``thorough``, ``⌈n/2⌉`` (≥ 2) under ``quick``.

    >>> with using_profile("quick"):
    ...     examples(60), examples(5)
    (30, 3)
    """
    profile = active_profile()
    if profile == "thorough":
        return n * THOROUGH_FACTOR
    if profile == "quick":
        return max(min(n, 2), math.ceil(n / QUICK_DIVISOR))
    return n


def effect_factor() -> float:
    """Multiplier of the effect sizes statistical tests are powered against (2 under ``quick``)."""
    return QUICK_EFFECT_FACTOR if active_profile() == "quick" else 1.0


def is_derandomized() -> bool:
    """True unless the profile draws fresh seeds (``thorough``)."""
    return active_profile() != "thorough"
