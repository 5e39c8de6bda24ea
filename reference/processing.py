"""Logits processing shared by target and drafter (SPEC §3, §10).

Applied to *both* models' distributions before ``p`` and ``q`` are formed, so the kernel
sees the very distributions the draft was sampled from. On log-probabilities:

1. temperature ``T > 0``: ``log p / T`` then softmax (``T = 0`` means greedy mode);
2. top-k: keep the ``k`` most probable ids, sorted stably by (−probability, id);
3. top-p: in the same order keep the smallest prefix whose mass reaches ``top_p`` (the
   crossing token kept);
4. renormalise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reference.errors import ConfigError, check_count

MODES = ("sample", "greedy")


@dataclass(frozen=True)
class SamplingConfig:
    """How tokens are chosen.

    mode: "sample" (rejection kernel) or "greedy" (argmax, lowest id on ties).
    temperature: T > 0 divides log-probabilities; 1 leaves them unchanged.
    top_k: keep this many ids (None = all).
    top_p: keep the smallest prefix of mass >= top_p (None or 1 = all).
    """

    mode: str = "sample"
    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ConfigError(f"mode must be one of {MODES}, got {self.mode!r}")
        if not (isinstance(self.temperature, int | float) and self.temperature > 0):
            raise ConfigError(f"temperature must be > 0 (use mode='greedy' for T=0), got {self.temperature!r}")
        check_count(self.top_k, "top_k", allow_none=True)
        if self.top_p is not None and not 0 < self.top_p <= 1:
            raise ConfigError(f"top_p must be in (0, 1], got {self.top_p!r}")

    @property
    def is_identity(self) -> bool:
        """True when processing leaves every distribution unchanged."""
        return self.temperature == 1.0 and self.top_k is None and self.top_p in (None, 1.0)


def process(probs: np.ndarray, config: SamplingConfig) -> np.ndarray:
    """Apply temperature, top-k and top-p to a distribution and renormalise.

    >>> process(np.array([0.1, 0.6, 0.3]), SamplingConfig(top_k=2)).round(4).tolist()
    [0.0, 0.6667, 0.3333]
    >>> process(np.array([0.1, 0.6, 0.3]), SamplingConfig(top_p=0.6)).tolist()
    [0.0, 1.0, 0.0]
    """
    if config.is_identity:
        return probs
    p = np.asarray(probs, dtype=np.float64)
    if config.temperature != 1.0:
        with np.errstate(divide="ignore", over="ignore"):  # log 0 = -inf; a tiny T sends logits to -inf
            logp = np.log(p)
            logp = (logp - logp.max()) / config.temperature  # <= 0, and 0 at the argmax: no inf - inf
        p = np.exp(logp)
        p /= p.sum()
    if config.top_k is not None or config.top_p not in (None, 1.0):
        order = np.lexsort((np.arange(p.shape[0]), -p))  # by -prob, then id
        keep = np.zeros(p.shape[0], dtype=bool)
        n_keep = p.shape[0] if config.top_k is None else min(config.top_k, p.shape[0])
        if config.top_p not in (None, 1.0):
            mass = np.cumsum(p[order])
            crossing = int(np.searchsorted(mass, config.top_p, side="left")) + 1
            n_keep = min(n_keep, crossing)
        keep[order[:n_keep]] = True
        p = np.where(keep, p, 0.0)
        p /= p.sum()
    return p
