"""Run the doctests of properties/ (pytest's testpaths do not include the package)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["properties.enumeration", "properties.exact_models", "properties.statistics"]


@pytest.mark.parametrize("name", MODULES)
def test_module_doctests_pass(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0
    assert result.failed == 0
