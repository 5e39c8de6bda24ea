"""The model protocol of the reference (SPEC §9) and the glue every algorithm uses.

A language model here is anything with ``vocab_size: int`` and
``next_token_probs(prefix) -> numpy.ndarray`` (float64, shape (V,), sums to 1), where
``prefix`` is the whole token sequence so far (prompt included).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from reference.distributions import check_probs
from reference.errors import ConfigError, VocabularyMismatchError
from reference.processing import SamplingConfig, process


@runtime_checkable
class LanguageModel(Protocol):
    """Next-token distributions over a vocabulary of ``vocab_size`` ids."""

    vocab_size: int

    def next_token_probs(self, prefix: Sequence[int]) -> np.ndarray:
        """``p(· | prefix)``: float64, shape (vocab_size,), non-negative, sums to 1."""
        ...


def check_pair(target: LanguageModel, drafter: LanguageModel | None) -> int:
    """Return the shared vocabulary width, or raise before any work starts."""
    for name, model in (("target", target), ("drafter", drafter)):
        if model is None:
            continue
        if not isinstance(model, LanguageModel):
            raise ConfigError(f"{name} does not implement the model protocol: {model!r}")
        if not isinstance(model.vocab_size, int | np.integer) or model.vocab_size < 1:
            raise ConfigError(f"{name}.vocab_size must be a positive integer, got {model.vocab_size!r}")
    if drafter is not None and int(drafter.vocab_size) != int(target.vocab_size):
        raise VocabularyMismatchError(
            f"target vocab_size={target.vocab_size} but drafter vocab_size={drafter.vocab_size}"
        )
    return int(target.vocab_size)


def check_prompt(prompt: Sequence[int], vocab_size: int) -> tuple[int, ...]:
    """A non-empty tuple of ids in [0, vocab_size)."""
    tokens = tuple(int(t) for t in prompt)
    if not tokens:
        raise ConfigError("prompt is empty; at least one token is needed to condition on")
    bad = [t for t in tokens if not 0 <= t < vocab_size]
    if bad:
        raise ConfigError(f"prompt has ids outside [0, {vocab_size}): {bad[:5]}")
    return tokens


def parse_token_ids(text: str, *, flag: str = "--prompt") -> list[int]:
    """Comma-separated token ids from the command line (empty items are skipped).

    >>> parse_token_ids("1, 2,3")
    [1, 2, 3]
    """
    try:
        return [int(item) for item in text.split(",") if item.strip()]
    except ValueError:  # not an integer, or more than 4300 digits
        raise ConfigError(f"{flag} must be comma-separated integers, got {text[:60]!r}") from None


def processed_probs(
    model: LanguageModel, prefix: Sequence[int], config: SamplingConfig, *, name: str
) -> np.ndarray:
    """The model's distribution at ``prefix`` after validation and logits processing."""
    raw = model.next_token_probs(tuple(prefix))
    return process(check_probs(raw, int(model.vocab_size), name=f"{name} probabilities"), config)
