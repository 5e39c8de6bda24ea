"""The error a property raises when an engine breaks it."""

from __future__ import annotations

from reference.errors import EngineContractError


class PropertyViolation(EngineContractError, AssertionError):
    """An engine broke a property of SPEC §7; the message names the property and the evidence.

    It is an ``AssertionError`` too, so pytest and Hypothesis report it as a test failure.
    """

    def __init__(self, prop: str, message: str) -> None:
        super().__init__(f"[{prop}] {message}")
        self.prop = prop
