"""Tabular models with rational probabilities, and exact logits processing (for SPEC §7 exact tests).

:class:`RationalTabularLM` stores each next-token row as ``fractions.Fraction`` values (small
integer weights normalised), keyed by the last ``order`` tokens (order 0 or 1). The engine
sees the float64 image of the row; the properties compute laws from the exact row.

:func:`process_exact` is an independent implementation of SPEC §10's processing on exact
rows: top-k and top-p (stable sort by (−probability, id), crossing token kept) keep rows
rational; a temperature ``T ≠ 1`` gives ``p^{1/T} / Σ p^{1/T}``, computed in float (so laws
with a temperature are compared with a tolerance, not exactly).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction

import numpy as np

from reference.errors import ConfigError

Row = tuple[Fraction, ...]
Number = Fraction | float


class RationalTabularLM:
    """A language model whose rows are exact rationals; ``order`` 0 or 1.

    rows: context -> row, where context is ``()`` for order 0 and ``(last token,)`` for
    order 1 (every token id must have a row then).

    >>> lm = RationalTabularLM.from_weights([[1, 3], [2, 2]], order=1)
    >>> lm.exact_row([5, 0]), lm.next_token_probs([1]).tolist()
    ((Fraction(1, 4), Fraction(3, 4)), [0.5, 0.5])
    """

    def __init__(self, rows: Mapping[tuple[int, ...], Row], vocab_size: int, *, order: int) -> None:
        if order not in (0, 1):
            raise ConfigError(f"order must be 0 or 1, got {order}")
        self.vocab_size = int(vocab_size)
        self.order = order
        self.rows = {tuple(ctx): tuple(Fraction(x) for x in row) for ctx, row in rows.items()}
        for ctx, row in self.rows.items():
            if len(row) != vocab_size or any(x < 0 for x in row) or sum(row) != 1:
                raise ConfigError(f"row {ctx} is not a distribution on {vocab_size} ids: {row}")
        needed = [()] if order == 0 else [(t,) for t in range(vocab_size)]
        missing = [ctx for ctx in needed if ctx not in self.rows]
        if missing:
            raise ConfigError(f"missing rows for contexts {missing}")
        self._float = {ctx: np.array([float(x) for x in row]) for ctx, row in self.rows.items()}

    @classmethod
    def from_weights(cls, weights: Sequence[Sequence[int]], *, order: int) -> RationalTabularLM:
        """Rows from non-negative integer weights (one row for order 0, V rows for order 1)."""
        rows: dict[tuple[int, ...], Row] = {}
        for index, w in enumerate(weights):
            total = sum(w)
            if total <= 0 or any(x < 0 for x in w):
                raise ConfigError(f"weights {list(w)} must be >= 0 with a positive sum")
            ctx = () if order == 0 else (index,)
            rows[ctx] = tuple(Fraction(x, total) for x in w)
        return cls(rows, len(weights[0]), order=order)

    def context(self, prefix: Sequence[int]) -> tuple[int, ...]:
        """The row key of a prefix (the last token for order 1)."""
        return () if self.order == 0 else (int(prefix[-1]),)

    def exact_row(self, prefix: Sequence[int]) -> Row:
        """The exact next-token row at ``prefix``."""
        return self.rows[self.context(prefix)]

    def next_token_probs(self, prefix: Sequence[int]) -> np.ndarray:
        """The float64 image of the exact row."""
        return self._float[self.context(prefix)].copy()

    def __repr__(self) -> str:
        rows = {ctx: [str(x) for x in row] for ctx, row in self.rows.items()}
        return f"RationalTabularLM(order={self.order}, rows={rows})"


def process_exact(row: Sequence[Number], *, temperature: float = 1.0, top_k: int | None = None,
                  top_p: float | None = None) -> tuple[Number, ...]:
    """SPEC §10 processing on an exact row (Fractions kept unless ``temperature != 1``).

    >>> process_exact((Fraction(1, 10), Fraction(6, 10), Fraction(3, 10)), top_k=2)
    (Fraction(0, 1), Fraction(2, 3), Fraction(1, 3))
    >>> process_exact((Fraction(1, 10), Fraction(6, 10), Fraction(3, 10)), top_p=0.6)
    (Fraction(0, 1), Fraction(1, 1), Fraction(0, 1))
    """
    values: list[Number] = list(row)
    if temperature != 1.0:
        powered = [float(x) ** (1.0 / temperature) if x > 0 else 0.0 for x in values]
        total = sum(powered)
        values = [x / total for x in powered]
    if top_k is None and top_p in (None, 1.0):
        return tuple(values)
    zero: Number = Fraction(0) if all(isinstance(x, Fraction) for x in values) else 0.0
    order = sorted(range(len(values)), key=lambda i: (-values[i], i))
    keep = len(values) if top_k is None else min(top_k, len(values))
    if top_p not in (None, 1.0):
        target = Fraction(repr(top_p)) if isinstance(zero, Fraction) else top_p
        mass: Number = zero
        for rank, i in enumerate(order):
            mass += values[i]
            if mass >= target:
                keep = min(keep, rank + 1)
                break
    kept = set(order[:keep])
    values = [x if i in kept else zero for i, x in enumerate(values)]
    total = sum(values, zero)
    return tuple(x / total for x in values)


def target_sequence_law(target: RationalTabularLM, prompt: Sequence[int], length: int, *,
                        temperature: float = 1.0, top_k: int | None = None,
                        top_p: float | None = None, stop_tokens: frozenset[int] = frozenset()
                        ) -> dict[tuple[int, ...], Number]:
    """The target's autoregressive law of the first ``length`` tokens, by enumeration.

    ``P(x_0..x_{m−1}) = Π_i p̃(x_i | prompt, x_<i)`` with p̃ the processed row; sequences of
    probability 0 are omitted. With ``stop_tokens``, a sequence ends at its first stop token
    (the law of the stopped sequence: ``P(x_0..x_j) = Π_{i ≤ j} p̃(x_i | x_<i)`` for x_j the
    first stop token, j < m).

    >>> lm = RationalTabularLM.from_weights([[1, 3]], order=0)
    >>> target_sequence_law(lm, [0], 2, stop_tokens=frozenset({0}))
    {(0,): Fraction(1, 4), (1, 0): Fraction(3, 16), (1, 1): Fraction(9, 16)}

    >>> lm = RationalTabularLM.from_weights([[1, 1]], order=0)
    >>> target_sequence_law(lm, [0], 2)[(0, 1)]
    Fraction(1, 4)
    """
    law: dict[tuple[int, ...], Number] = {(): Fraction(1)}
    for _ in range(length):
        nxt: dict[tuple[int, ...], Number] = {}
        for seq, prob in law.items():
            if seq and seq[-1] in stop_tokens:
                nxt[seq] = prob
                continue
            row = process_exact(target.exact_row(tuple(prompt) + seq), temperature=temperature,
                                top_k=top_k, top_p=top_p)
            for token, pt in enumerate(row):
                if pt > 0:
                    nxt[(*seq, token)] = prob * pt
        law = nxt
    return law
