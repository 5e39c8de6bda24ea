"""Validation of next-token distributions (SPEC §9, §10).

A distribution is a float64 vector of shape (V,), finite, non-negative, summing to 1.
Sums off by more than ``SUM_TOLERANCE`` are an error; smaller drifts are renormalised.
"""

from __future__ import annotations

import numpy as np

from reference.errors import ProbabilityError

#: Largest |sum - 1| that is silently renormalised (SPEC §10).
SUM_TOLERANCE = 1e-6


def check_probs(probs: object, vocab_size: int | None = None, *, name: str = "probs") -> np.ndarray:
    """Return ``probs`` as a validated, renormalised float64 vector.

    Raises ProbabilityError for a wrong shape, NaN/inf, a negative entry or a sum off from 1
    by more than 1e-6.

    >>> check_probs([0.25, 0.75]).tolist()
    [0.25, 0.75]
    """
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 1 or p.size == 0:
        raise ProbabilityError(f"{name} must be a non-empty vector, got shape {p.shape}")
    if vocab_size is not None and p.shape[0] != vocab_size:
        raise ProbabilityError(f"{name} has {p.shape[0]} entries, expected vocab_size={vocab_size}")
    if not np.all(np.isfinite(p)):
        raise ProbabilityError(f"{name} contains NaN or inf: {p[~np.isfinite(p)][:3]}")
    if np.any(p < 0):
        raise ProbabilityError(f"{name} has a negative entry: min {p.min()!r}")
    total = float(p.sum())
    if abs(total - 1.0) > SUM_TOLERANCE:
        raise ProbabilityError(f"{name} sums to {total!r}, not 1 (tolerance {SUM_TOLERANCE})")
    if total != 1.0:
        p = p / total
    return p
