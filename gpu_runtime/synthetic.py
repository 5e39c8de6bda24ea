"""A runtime model that pays a real forward and answers with a synthetic pair's distribution.

Random-weight models accept drafts at no controlled rate, and real checkpoints cannot be
downloaded where the check runs. :class:`SyntheticForward` separates the two things a server's
forward provides:

* the **cost**: it runs the wrapped runtime model's forward (for example
  :class:`gpu_runtime.hf.HFCausalLM` on a CUDA stream) on the very ids, positions and cache
  the server asked for — crop, attention over the cached prefix, the new positions, the
  float64 softmax of the newest rows and their copy to the host — and discards the rows;
* the **law**: it returns ``side.next_token_probs(prefix)`` for each of the ``last`` newest
  prefixes, where ``side`` is a reference model, typically ``pair.target`` or
  ``pair.drafter`` of :class:`reference.toy_models.SyntheticAcceptancePair` (drafts accepted
  i.i.d. with probability ``a``).

So the compute is real and the acceptance rate controlled, and since the rows are the
reference model's float64 rows bit for bit, the runtime's tokens must equal
``reference.generate``'s on the same seed whatever the device's precision (SPEC §3 item 1).
The cache is the wrapped model's cache plus the token ids it holds (positions 0..len−1);
the synthetic side's ids must be valid inputs of the wrapped model (its width ≤ the model's).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from gpu_runtime.models import RuntimeModel
from reference.errors import ConfigError
from reference.models import LanguageModel


@dataclass
class HeldCache:
    """The wrapped model's cache and the ids it holds."""

    inner: object
    ids: list[int] = field(default_factory=list)


class SyntheticForward:
    """``compute``'s forward for its cost, ``side``'s rows for the law (module docstring)."""

    def __init__(self, compute: RuntimeModel, side: LanguageModel) -> None:
        if not isinstance(side, LanguageModel):
            raise ConfigError(f"side must be a reference model (vocab_size, next_token_probs): {side!r}")
        if int(side.vocab_size) > int(compute.vocab_size):
            raise ConfigError(f"synthetic vocabulary {side.vocab_size} is wider than the computing model's "
                              f"{compute.vocab_size}: its ids would not be valid inputs")
        self.compute = compute
        self.side = side
        self.vocab_size = int(side.vocab_size)
        self._lock = threading.Lock()
        self.forwards = 0  # forwards computed (all servers sharing this model)
        self.nonfinite = 0  # of which the computing model's rows were not all finite

    def new_cache(self) -> HeldCache:
        return HeldCache(self.compute.new_cache())

    def crop(self, cache: HeldCache, length: int) -> HeldCache:
        """Keep positions 0..length−1 in both the wrapped cache and the held ids."""
        cache.inner = self.compute.crop(cache.inner, length)
        del cache.ids[max(0, length):]
        return cache

    def forward(self, cache: HeldCache, token_ids: Sequence[int], start: int, *, last: int) -> np.ndarray:
        """Run the real forward over ``token_ids`` at ``start..``; return ``side``'s rows (last, V)."""
        if start != len(cache.ids):
            raise ConfigError(f"forward at position {start} but the cache holds {len(cache.ids)} positions")
        if not 1 <= last <= len(token_ids):
            raise ConfigError(f"last must be in [1, {len(token_ids)}], got {last}")
        real = np.asarray(self.compute.forward(cache.inner, token_ids, start, last=last))
        cache.ids.extend(int(t) for t in token_ids)
        with self._lock:
            self.forwards += 1
            self.nonfinite += int(not np.isfinite(real).all())
        end = len(cache.ids)
        rows = [self.side.next_token_probs(tuple(cache.ids[:end - last + j + 1])) for j in range(last)]
        return np.asarray(rows, dtype=np.float64)

    def __repr__(self) -> str:
        return f"SyntheticForward({self.compute!r} → {self.side!r})"
