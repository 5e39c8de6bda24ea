"""The canonical token rule of SPEC §3, bound to one request.

``Request`` carries the models, prompt, sampling configuration and seed, and computes:

* ``target_probs(prefix)`` and ``draft_probs(prefix)``: processed distributions p, q;
* ``draft(i, prefix)``: ``d_i = sample(q(·|prefix), u(seed, i, "draft"))`` (argmax in greedy);
* ``resolve(i, p, q, d)``: ``x_i = K(p, q, d, u(seed, i, "accept"), u(seed, i, "residual"))``;
* ``plain(i, p)``: ``x_i = sample(p, u(seed, i, "plain"))`` (argmax in greedy).

Token i is therefore a function of (x_<i, seed) alone, whatever the schedule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from reference.errors import ConfigError
from reference.kernel import draft_token, verify
from reference.kernel import greedy as argmax
from reference.kernel import sample as inverse_cdf
from reference.latency import LatencyModel
from reference.models import LanguageModel, processed_probs
from reference.processing import SamplingConfig
from reference.randomness import u


@dataclass
class Request:
    """One generation request: models, prompt, length and the canonical randomness."""

    target: LanguageModel
    drafter: LanguageModel | None
    prompt: tuple[int, ...]
    max_new_tokens: int
    sampling: SamplingConfig
    seed: int
    latency: LatencyModel
    stop_tokens: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise ConfigError(f"max_new_tokens (S) must be >= 1, got {self.max_new_tokens}")

    def target_probs(self, generated: Sequence[int]) -> np.ndarray:
        """Processed ``p(· | prompt + generated)``."""
        return processed_probs(self.target, self.prompt + tuple(generated), self.sampling, name="target")

    def draft_probs(self, generated: Sequence[int]) -> np.ndarray:
        """Processed ``q(· | prompt + generated)``."""
        if self.drafter is None:
            raise ConfigError("this algorithm needs a drafter")
        return processed_probs(self.drafter, self.prompt + tuple(generated), self.sampling, name="drafter")

    def draft(self, position: int, generated: Sequence[int]) -> tuple[int, np.ndarray]:
        """The draft at ``position`` on the (possibly speculative) prefix, and its q."""
        q = self.draft_probs(generated)
        return draft_token(q, u(self.seed, position, "draft"), mode=self.sampling.mode), q

    def resolve(self, position: int, p: np.ndarray, q: np.ndarray, draft: int) -> int:
        """The canonical token at ``position`` via the verification kernel."""
        return verify(
            p, q, draft, u(self.seed, position, "accept"), u(self.seed, position, "residual"),
            mode=self.sampling.mode,
        )

    def plain(self, position: int, p: np.ndarray) -> int:
        """Plain autoregressive token: ``sample(p, u(seed, i, "plain"))`` or argmax."""
        if self.sampling.mode == "greedy":
            return argmax(p)
        return inverse_cdf(p, u(self.seed, position, "plain"))

    def is_stop(self, token: int) -> bool:
        """Position i is the last one if x_i is a stop token."""
        return token in self.stop_tokens
