"""The project's error hierarchy (one base class, typed subclasses).

Every package raises these, so a caller can catch ``DSIError`` for anything the suite
rejects, and the CLI maps any ``DSIError`` to exit status 2 with one line on stderr.
Messages always name the offending value.
"""

from __future__ import annotations

import operator


class DSIError(Exception):
    """Base class of every error the suite raises on purpose."""


class ConfigError(DSIError, ValueError):
    """An invalid parameter: c outside (0, 1], k < 1, N < 1, S < 1, a outside [0, 1], ..."""


class PathError(ConfigError):
    """A file or directory a command was told to read or write cannot be: it is missing, of
    the wrong kind (a file where a directory is needed), not permitted, or the write failed."""


class FileFormatError(ConfigError):
    """A file that was read but is not what it should be: not UTF-8, malformed or truncated
    JSON, an invalid record, a model checkpoint that does not load."""


class ProbabilityError(ConfigError):
    """A distribution that is negative, NaN, of the wrong shape, or does not sum to 1."""


class VocabularyMismatchError(ConfigError):
    """Target and drafter disagree on the vocabulary width."""


class EngineContractError(DSIError):
    """An engine (reference, runtime or external) broke the engine protocol."""


class GenerationError(DSIError):
    """A generation could not complete (a forward raised, returned NaN, or timed out)."""


class ProofFailure(DSIError):
    """A machine check did not prove its theorem; carries the countermodel if any."""

    def __init__(self, message: str, countermodel: object | None = None) -> None:
        super().__init__(message)
        self.countermodel = countermodel


def check_count(value: object, name: str, *, allow_none: bool = False) -> int | None:
    """``value`` as a Python int >= 1 (numpy integers accepted; ``None`` too when
    ``allow_none``), else ``ConfigError("{name} must be an integer >= 1[ or None], got ...")``:
    the one check of every count parameter (k, N, S, repeats, ...).

    >>> check_count(3, "lookahead k"), check_count(None, "num_target_servers N", allow_none=True)
    (3, None)
    >>> check_count(True, "lookahead k")
    Traceback (most recent call last):
        ...
    reference.errors.ConfigError: lookahead k must be an integer >= 1, got True
    """
    if value is None and allow_none:
        return None
    try:
        number = None if isinstance(value, bool) else operator.index(value)  # type: ignore[arg-type]
    except TypeError:  # floats, strings, numpy bools: not an integer
        number = None
    if number is None or number < 1:
        suffix = " or None" if allow_none else ""
        raise ConfigError(f"{name} must be an integer >= 1{suffix}, got {value!r}")
    return number
