"""Properties for the test of ``dsi soak`` itself: one fails on purpose, one passes.

Not collected by the suite (not ``test_*.py`` files); ``tests/soak/test_soak.py`` soaks this
file. When ``SOAK_FIXTURE_CALLS`` names a file, every call of a property's body appends a line
to it (``pass`` or ``fail``): the count the soak's example numbers are checked against.
"""

import os

from hypothesis import given, settings
from hypothesis import strategies as st

#: The first property holds up to here; any value above it is a counterexample.
LIMIT = 100
CALLS_VARIABLE = "SOAK_FIXTURE_CALLS"


def _record(ok: bool) -> None:
    path = os.environ.get(CALLS_VARIABLE)
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write("pass\n" if ok else "fail\n")


@given(st.integers(0, 10_000))
def test_values_stay_at_most_the_limit(value: int) -> None:
    _record(value <= LIMIT)
    assert value <= LIMIT


@settings(max_examples=7)
@given(st.integers(0, LIMIT))
def test_passing_property(value: int) -> None:
    _record(True)
    assert value <= LIMIT


def test_plain_passing() -> None:
    assert LIMIT == 100
