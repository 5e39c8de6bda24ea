"""The runtime's model interface: forward passes over several new positions with a cache.

The reference asks a model for one distribution at a time (``next_token_probs(prefix)``).
A server of the runtime instead keeps a cache of the keys/values of the tokens it has
already processed and runs one forward over the *new* tokens only::

    cache = model.new_cache()              # empty: holds no position
    model.crop(cache, length)              # keep positions 0..length-1 (an integer reset)
    probs = model.forward(cache, ids, start, last=n)
    # ids are the tokens at positions start..start+len(ids)-1, with start == cached length;
    # probs: float64 (n, V), row j = p(· | tokens through position start+len(ids)-n+j)

Rows are *raw* next-token distributions; the server validates them
(``reference.distributions.check_probs``) and applies ``reference.processing.process``,
exactly as the reference does, so the same distribution yields the same token.

:class:`ReferenceModelAdapter` lets a reference model (tabular, synthetic, ...) act as a
runtime model. It has no real cache; the cache is the list of tokens it "holds", so the
bookkeeping (what is reused, what is processed) and hence the traces are the same as for
a transformer, and each processed position costs one ``next_token_probs`` call.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from reference.errors import ConfigError
from reference.models import LanguageModel


@runtime_checkable
class RuntimeModel(Protocol):
    """A causal LM with a position-indexed cache (one cache per server and request)."""

    vocab_size: int

    def new_cache(self) -> object:
        """An empty cache."""
        ...

    def crop(self, cache: object, length: int) -> object:
        """Keep the first ``length`` positions; returns the cache to use from now on."""
        ...

    def forward(self, cache: object, token_ids: Sequence[int], start: int, *, last: int) -> np.ndarray:
        """Process ``token_ids`` at positions ``start..``; float64 probs of the ``last`` newest rows."""
        ...


class ReferenceModelAdapter:
    """A reference ``LanguageModel`` as a runtime model; the cache is a token list."""

    def __init__(self, model: LanguageModel) -> None:
        if not isinstance(model, LanguageModel):
            raise ConfigError(f"not a reference model (vocab_size, next_token_probs): {model!r}")
        self.model = model
        self.vocab_size = int(model.vocab_size)

    def new_cache(self) -> list[int]:
        return []

    def crop(self, cache: list[int], length: int) -> list[int]:
        del cache[length:]
        return cache

    def forward(self, cache: list[int], token_ids: Sequence[int], start: int, *, last: int) -> np.ndarray:
        """``next_token_probs`` at each of the ``last`` newest prefixes (prompt included)."""
        if start != len(cache):
            raise ConfigError(f"forward at position {start} but the cache holds {len(cache)} positions")
        if not 1 <= last <= len(token_ids):
            raise ConfigError(f"last must be in [1, {len(token_ids)}], got {last}")
        cache.extend(int(t) for t in token_ids)
        end = len(cache)
        rows = [self.model.next_token_probs(tuple(cache[:end - last + j + 1])) for j in range(last)]
        return np.asarray(rows, dtype=np.float64)  # (last, V)

    def __repr__(self) -> str:
        return f"ReferenceModelAdapter({self.model!r})"


def as_runtime_model(model: object) -> RuntimeModel:
    """A runtime model as is; a reference model wrapped in :class:`ReferenceModelAdapter`."""
    if isinstance(model, RuntimeModel):
        return model
    return ReferenceModelAdapter(model)  # type: ignore[arg-type]
