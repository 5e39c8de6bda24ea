"""A :class:`~gpu_runtime.llama.LlamaStack` behind both model protocols of the project.

* the runtime's :class:`gpu_runtime.models.RuntimeModel`: ``new_cache()``, ``crop(cache, n)``
  (an integer reset of the position-indexed cache), ``forward(cache, ids, start, last=n)`` →
  float64 softmax of the logits at the n newest positions; the LM head runs on those n rows
  only;
* the reference's :class:`reference.models.LanguageModel`: ``vocab_size`` and
  ``next_token_probs(prefix)``. A reference run asks for p at many prefixes that extend one
  another, so the model keeps one cache of its own: each call crops it to the longest common
  prefix with the previous call and forwards only the rest (a lock serialises callers), and
  remembers the last few answers.

The same weights under both protocols give the same distributions up to float32 rounding of
different forward shapes (|Δlogit| ~ 1e-5): a token differs only if a greedy near-tie or a
sampling uniform falls within that distance of a boundary (SPEC §3, note 5).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np
import torch

from gpu_runtime.llama import KVCache, LlamaStack
from gpu_runtime.workers import common_prefix_length
from reference.errors import ConfigError

#: Answers of ``next_token_probs`` kept per model (the reference asks again for recent prefixes).
MEMO_SIZE = 64


class LlamaLM:
    """A Llama stack (full model, early exit, or a drafter built on the target's layers)."""

    def __init__(self, stack: LlamaStack, *, name: str = "llama") -> None:
        self.stack = stack
        self.vocab_size = int(stack.vocab_size)
        self.name = name
        self._lock = threading.Lock()
        self._cache: KVCache | None = None
        self._cached_ids: tuple[int, ...] = ()
        self._memo: OrderedDict[tuple[int, ...], np.ndarray] = OrderedDict()

    # ---------------------------------------------------------------- runtime protocol

    def new_cache(self) -> KVCache:
        return self.stack.new_cache()

    def crop(self, cache: KVCache, length: int) -> KVCache:
        """Keep positions 0..length−1 (no copy)."""
        cache.length = max(0, min(cache.length, length))
        return cache

    def forward(self, cache: KVCache, token_ids: Sequence[int], start: int, *, last: int) -> np.ndarray:
        """float64 probabilities [last, V] at the ``last`` newest of the new positions."""
        if not 1 <= last <= len(token_ids):
            raise ConfigError(f"last must be in [1, {len(token_ids)}], got {last}")
        ids = torch.tensor(list(token_ids), dtype=torch.long)  # [L]
        with torch.inference_mode():
            hidden = self.stack.hidden(ids, cache, start)[-last:]  # [last, D]
            logits = self.stack.logits(hidden).to(torch.float64)  # [last, V]
            return torch.softmax(logits, dim=-1).numpy()

    # ---------------------------------------------------------------- reference protocol

    def next_token_probs(self, prefix: Sequence[int]) -> np.ndarray:
        """p(· | prefix), float64 [V], from the model's own cache (cropped to the common prefix)."""
        key = tuple(int(t) for t in prefix)
        if not key:
            raise ConfigError("next_token_probs needs a non-empty prefix")
        with self._lock:
            if key in self._memo:
                self._memo.move_to_end(key)
                return self._memo[key]
            if self._cache is None:
                self._cache = self.new_cache()
            reuse = min(common_prefix_length(self._cached_ids, key), len(key) - 1)
            self.crop(self._cache, reuse)
            probs = self.forward(self._cache, key[reuse:], reuse, last=1)[0]
            self._cached_ids = key
            probs.flags.writeable = False  # shared by the memo: callers get a read-only view
            self._memo[key] = probs
            if len(self._memo) > MEMO_SIZE:
                self._memo.popitem(last=False)
            return probs

    def __repr__(self) -> str:
        return f"LlamaLM({self.name}, {len(self.stack.blocks)} layers, V={self.vocab_size})"
