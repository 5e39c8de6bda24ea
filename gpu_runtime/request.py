"""One runtime generation request and the canonical token rule of SPEC §3.

The runtime computes the very same functions as :mod:`reference.algorithms.canonical`:

* ``q = process(check_probs(raw_q))`` and ``d_i = draft_token(q, u(seed, i, "draft"))``;
* ``x_i = verify(p, q, d_i, u(seed, i, "accept"), u(seed, i, "residual"))``;
* ``x_i = sample(p, u(seed, i, "plain"))`` for plain decoding (argmax in greedy mode),

with the reference's kernel, processing and uniforms imported, so equal distributions give
equal tokens bit for bit, whatever the schedule.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gpu_runtime.floors import Floors
from gpu_runtime.models import RuntimeModel
from reference.distributions import check_probs
from reference.errors import ConfigError
from reference.kernel import draft_token, verify
from reference.kernel import greedy as argmax
from reference.kernel import sample as inverse_cdf
from reference.processing import SamplingConfig, process
from reference.randomness import u


@dataclass(frozen=True)
class RuntimeRequest:
    """Models, prompt, length, sampling, seed, stop tokens, floors and the forward timeout."""

    target: RuntimeModel
    drafter: RuntimeModel | None
    prompt: tuple[int, ...]
    max_new_tokens: int
    sampling: SamplingConfig
    seed: int
    floors: Floors
    stop_tokens: frozenset[int] = frozenset()
    forward_timeout_s: float = 30.0  # a forward running longer is a hung server

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise ConfigError(f"max_new_tokens (S) must be >= 1, got {self.max_new_tokens}")
        if not self.forward_timeout_s > 0:
            raise ConfigError(f"forward_timeout_s must be > 0, got {self.forward_timeout_s!r}")

    def processed(self, raw: np.ndarray, *, name: str) -> np.ndarray:
        """A raw row validated (ProbabilityError on NaN, negatives, bad sum) and processed."""
        vocab_size = int(self.target.vocab_size)
        return process(check_probs(raw, vocab_size, name=f"{name} probabilities"), self.sampling)

    def draft(self, position: int, draft_probs: np.ndarray) -> int:
        """``d_i``: inverse-CDF sample of q with ``u(seed, i, "draft")`` (argmax in greedy)."""
        return draft_token(draft_probs, u(self.seed, position, "draft"), mode=self.sampling.mode)

    def resolve(self, position: int, target_probs: np.ndarray, draft_probs: np.ndarray, draft: int) -> int:
        """``x_i = K(p, q, d_i, u(seed, i, "accept"), u(seed, i, "residual"))``."""
        return verify(target_probs, draft_probs, draft, u(self.seed, position, "accept"),
                      u(self.seed, position, "residual"), mode=self.sampling.mode)

    def plain(self, position: int, target_probs: np.ndarray) -> int:
        """Plain decoding: ``sample(p, u(seed, i, "plain"))`` or argmax."""
        if self.sampling.mode == "greedy":
            return argmax(target_probs)
        return inverse_cdf(target_probs, u(self.seed, position, "plain"))

    def is_stop(self, token: int) -> bool:
        return token in self.stop_tokens
