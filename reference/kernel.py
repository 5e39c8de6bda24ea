"""The verification kernel K and inverse-CDF sampling (SPEC §3).

Vocabulary (as in vLLM's rejection sampler): at output position i the drafter proposes the
*draft* ``d ~ q``; the target's distribution there is ``p``. The kernel returns the token
emitted at i:

* **accepted**: ``d`` itself, when ``u_accept < min(1, p(d) / q(d))``;
* **recovered** (rejection): ``sample(norm(max(p - q, 0)), u_residual)`` otherwise.

Lemma (T1): if ``d ~ q`` then ``P[K = x] = min(p(x), q(x)) + (1 - Σ_y min(p(y), q(y)))
· (p(x) - q(x))⁺ / Σ_y (p(y) - q(y))⁺ = p(x)``, since ``Σ (p - q)⁺ = 1 - Σ min(p, q)``.

Edge cases: ``q(d) > 0`` always (a draft is never a zero-weight token); ``p = q`` accepts
every draft (ratio 1 > u) and never forms the residual; ``p(d) = 0`` always rejects; if
rounding makes the residual vanish while a rejection happens (a probability-zero event in
exact arithmetic), the token is sampled from ``p`` instead, which keeps the law.

Greedy mode: drafts and tokens are argmax with the lowest index on ties; ``K`` returns
``argmax p`` (equal to ``d`` exactly when the draft is right).

The ``*_exact`` functions compute the same things on ``fractions.Fraction`` for proofs and
exact enumeration.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import numpy as np

from reference.errors import ConfigError


def sample(weights: np.ndarray | Sequence[float], u: float) -> int:
    """Inverse-CDF sample: the smallest id ``j`` with ``u · W < cumsum(w)[j]``, ``W = Σ w``.

    ``u`` in [0, 1). Ids are taken in increasing order; a zero-weight id is never returned.

    >>> sample([0.5, 0.0, 0.5], 0.49), sample([0.5, 0.0, 0.5], 0.5), sample([0.0, 1.0], 0.0)
    (0, 2, 1)
    """
    w = np.asarray(weights, dtype=np.float64)
    cdf = np.cumsum(w)
    total = cdf[-1]
    if not total > 0:
        raise ConfigError("cannot sample from weights that sum to zero")
    idx = int(np.searchsorted(cdf, u * total, side="right"))
    if idx >= w.shape[0] or w[idx] <= 0:
        # Only reachable through rounding at the top end: take the last positive weight.
        idx = int(np.flatnonzero(w > 0)[-1])
    return idx


def greedy(probs: np.ndarray | Sequence[float]) -> int:
    """``argmax`` with the lowest index on ties.

    >>> greedy([0.2, 0.4, 0.4])
    1
    """
    return int(np.argmax(np.asarray(probs)))


def residual(target_probs: np.ndarray, draft_probs: np.ndarray) -> np.ndarray:
    """Unnormalised residual ``max(p - q, 0)``.

    >>> residual(np.array([0.5, 0.5]), np.array([0.25, 0.75])).tolist()
    [0.25, 0.0]
    """
    return np.maximum(target_probs - draft_probs, 0.0)


def accepts(target_probs: np.ndarray, draft_probs: np.ndarray, draft: int, u_accept: float) -> bool:
    """The acceptance test ``u_accept < min(1, p(d) / q(d))`` (``q(d) > 0`` required)."""
    q_d = float(draft_probs[draft])
    if q_d <= 0:
        raise ConfigError(f"draft {draft} has zero drafter probability; it cannot have been drawn")
    return u_accept < min(1.0, float(target_probs[draft]) / q_d)


def verify(
    target_probs: np.ndarray,
    draft_probs: np.ndarray,
    draft: int,
    u_accept: float,
    u_residual: float,
    *,
    mode: str = "sample",
) -> int:
    """The kernel ``K(p, q, d, u_accept, u_residual)``: the token emitted at this position.

    >>> p, q = np.array([0.5, 0.5]), np.array([0.25, 0.75])
    >>> verify(p, q, 0, 0.99, 0.3), verify(p, q, 1, 0.5, 0.3), verify(p, q, 1, 0.9, 0.3)
    (0, 1, 0)
    >>> verify(p, q, 1, 0.0, 0.0, mode="greedy")
    0
    """
    if mode == "greedy":
        return greedy(target_probs)
    if accepts(target_probs, draft_probs, draft, u_accept):
        return int(draft)
    res = residual(target_probs, draft_probs)
    if not res.sum() > 0:
        return sample(target_probs, u_residual)
    return sample(res, u_residual)


def draft_token(draft_probs: np.ndarray, u_draft: float, *, mode: str = "sample") -> int:
    """The drafter's draft ``d = sample(q, u_draft)`` (sampling) or ``argmax q`` (greedy)."""
    return greedy(draft_probs) if mode == "greedy" else sample(draft_probs, u_draft)


# ---------------------------------------------------------------- exact (Fraction) forms


def acceptance_probability_exact(p: Sequence[Fraction], q: Sequence[Fraction]) -> Fraction:
    """``P[accept] = Σ_x min(p(x), q(x))`` (T2), exactly.

    >>> acceptance_probability_exact([Fraction(1, 2)] * 2, [Fraction(1, 4), Fraction(3, 4)])
    Fraction(3, 4)
    """
    return sum((min(a, b) for a, b in zip(p, q, strict=True)), Fraction(0))


def output_law_exact(p: Sequence[Fraction], q: Sequence[Fraction]) -> list[Fraction]:
    """``P[K(p, q, d, ·) = x]`` for ``d ~ q`` and uniform ``u_accept``, exactly.

    ``= q(x) · min(1, p(x)/q(x)) + Σ_d q(d) (1 - min(1, p(d)/q(d))) · res(x) / Σ res``,
    which the lemma says equals ``p(x)``.

    >>> output_law_exact([Fraction(1, 3), Fraction(2, 3)], [Fraction(1, 2), Fraction(1, 2)])
    [Fraction(1, 3), Fraction(2, 3)]
    """
    accept = [min(a, b) for a, b in zip(p, q, strict=True)]
    reject_mass = 1 - sum(accept, Fraction(0))
    res = [max(a - b, Fraction(0)) for a, b in zip(p, q, strict=True)]
    res_total = sum(res, Fraction(0))
    if reject_mass == 0:
        return accept
    return [acc + reject_mass * r / res_total for acc, r in zip(accept, res, strict=True)]
