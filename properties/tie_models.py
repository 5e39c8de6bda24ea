"""Toy models whose rows tie: exact ties at the maximum, point masses, zeros, near-ties.

Real models tie more often than Dirichlet rows do (bf16 logits, saturated softmax, masked
vocabularies), and each pattern exercises a rule of SPEC §3 and §10 that random rows never
reach:

* ``tie``: several ids share the maximum (greedy must pick the lowest id; top-k must keep the
  lowest ids of a tie at its boundary);
* ``point``: a one-hot row (every draft from it is certain; the residual of p − q may be 0);
* ``zeros``: small integer weights with zeros (a draft with p(d) = 0 is always rejected; a
  residual never lands on an id with p = 0);
* ``near_tie``: the two largest entries differ by ``gap`` (1e-9 ≤ gap ≤ 1e-6), the larger one
  at a random side, so an engine that rounds (float16, bf16) before its argmax collapses the
  pair into a tie and picks the lower id where the higher one is larger.

Rows are keyed by the last ``order`` tokens (``None``: the whole prefix), drawn once per
context from a generator seeded by (seed, context), like :class:`reference.toy_models.TabularLM`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from reference.errors import ConfigError

PATTERNS = ("tie", "point", "zeros", "near_tie")
#: Near-ties: the gap between the two largest probabilities is drawn in [MIN_GAP, MAX_GAP].
MIN_GAP, MAX_GAP = 1e-9, 1e-6


def _rng(seed: int, context: tuple[int, ...]) -> np.random.Generator:
    digest = hashlib.blake2b(repr((seed, "tied", context)).encode(), digest_size=16).digest()
    return np.random.default_rng(int.from_bytes(digest, "little"))


def tied_row(rng: np.random.Generator, vocab_size: int, pattern: str) -> np.ndarray:
    """One row of the given pattern (float64, sums to 1).

    >>> row = tied_row(np.random.default_rng(0), 5, "near_tie")
    >>> top = np.sort(row)[-2:]
    >>> bool(MIN_GAP / 2 <= top[1] - top[0] <= MAX_GAP)
    True
    """
    V = vocab_size
    if pattern == "point":
        row = np.zeros(V)
        row[int(rng.integers(V))] = 1.0
        return row
    if pattern == "tie":
        ties = int(rng.integers(2, V + 1))
        weights = rng.integers(0, 4, size=V).astype(np.float64)
        weights[rng.choice(V, size=ties, replace=False)] = 4.0
        return weights / weights.sum()
    if pattern == "zeros":
        weights = rng.integers(0, 4, size=V).astype(np.float64)
        weights[int(rng.integers(V))] = 0.0
        if weights.sum() == 0:
            weights[int(rng.integers(V))] = 1.0
        return weights / weights.sum()
    if pattern == "near_tie":
        row = rng.uniform(0.0, 0.5, size=V)
        first, second = rng.choice(V, size=2, replace=False)
        gap = float(np.exp(rng.uniform(np.log(MIN_GAP), np.log(MAX_GAP))))
        row[first] = row[second] = 1.0  # the others are <= 0.5: these two are the largest
        row[second] += gap * float(row.sum())  # normalised gap: gap / (1 + gap)
        return row / row.sum()
    raise ConfigError(f"pattern must be one of {PATTERNS}, got {pattern!r}")


class TiedLM:
    """Next-token rows of the :data:`PATTERNS`, keyed by the last ``order`` tokens."""

    def __init__(self, vocab_size: int, *, order: int | None = 1, seed: int = 0,
                 patterns: Sequence[str] = PATTERNS) -> None:
        if vocab_size < 2:
            raise ConfigError(f"vocab_size must be >= 2 for tied rows, got {vocab_size}")
        if order is not None and order < 0:
            raise ConfigError(f"order must be >= 0 or None, got {order}")
        bad = [p for p in patterns if p not in PATTERNS]
        if bad or not patterns:
            raise ConfigError(f"patterns must be a non-empty subset of {PATTERNS}, got {tuple(patterns)}")
        self.vocab_size = int(vocab_size)
        self.order = order
        self.seed = seed
        self.patterns = tuple(patterns)
        self._rows: dict[tuple[int, ...], np.ndarray] = {}

    def next_token_probs(self, prefix: Sequence[int]) -> np.ndarray:
        """The row of the context (last ``order`` tokens), drawn once and cached."""
        prefix = tuple(int(t) for t in prefix)
        context = prefix if self.order is None else (prefix[-self.order:] if self.order else ())
        row = self._rows.get(context)
        if row is None:
            rng = _rng(self.seed, context)
            row = tied_row(rng, self.vocab_size, self.patterns[int(rng.integers(len(self.patterns)))])
            self._rows[context] = row
        return row.copy()

    def __repr__(self) -> str:
        return f"TiedLM(V={self.vocab_size}, order={self.order}, seed={self.seed}, patterns={self.patterns})"
