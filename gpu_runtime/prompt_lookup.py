"""Prompt-lookup drafting: an n-gram drafter with no model and (almost) no compute.

The idea of prompt lookup decoding (Saxena, 2023; Hugging Face's ``prompt_lookup_num_tokens``):
the text being generated often repeats spans of the prompt or of itself (identifiers,
argument lists, boilerplate). At a prefix x_<i:

    for n = max_ngram .. 1:  find the most recent j < i − n with x_{j..j+n−1} = x_{i−n..i−1};
                             if found, the draft is x_{j+n}.
    none found: the draft is x_{i−1} (the last token).

As a drafter its distribution is the point mass ``q = δ_d``, so the kernel stays lossless:
in sampling mode ``d`` is accepted with probability ``min(1, p(d)/q(d)) = p(d)`` and a
rejection samples ``norm(max(p − δ_d, 0))``, i.e. p without d; in greedy mode it is accepted
iff ``d = argmax p``. The acceptance rate is ``Σ min(p, q) = p(d)``.

It is a reference model (``vocab_size``, ``next_token_probs``); the runtime runs it through
:class:`gpu_runtime.models.ReferenceModelAdapter` (the "cache" is the token list).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from reference.errors import ConfigError, check_count


def lookup_draft(prefix: Sequence[int], max_ngram: int = 3) -> int:
    """The prompt-lookup draft after ``prefix`` (module docstring).

    >>> lookup_draft([5, 6, 7, 1, 5, 6])  # "5 6" occurred before, followed by 7
    7
    >>> lookup_draft([1, 2, 3])  # no earlier occurrence of 3: the last token
    3
    >>> lookup_draft([1, 9, 2, 9, 5, 1, 9])  # "1 9" → 2 (n = 2) wins over the latest "9" → 5
    2
    """
    if not prefix:
        raise ConfigError("prompt lookup needs a non-empty prefix")
    tokens = list(prefix)
    length = len(tokens)
    for n in range(min(max_ngram, length - 1), 0, -1):
        suffix = tokens[length - n:]
        for j in range(length - n - 1, -1, -1):  # most recent occurrence first
            if tokens[j:j + n] == suffix:
                return int(tokens[j + n])
    return int(tokens[-1])


class PromptLookupDrafter:
    """q(· | prefix) = point mass on :func:`lookup_draft` (both model protocols)."""

    def __init__(self, vocab_size: int, *, max_ngram: int = 3) -> None:
        if isinstance(vocab_size, bool) or not isinstance(vocab_size, int) or vocab_size < 1:
            raise ConfigError(f"vocab_size must be a positive integer, got {vocab_size!r}")
        check_count(max_ngram, "max_ngram")
        self.vocab_size = vocab_size
        self.max_ngram = max_ngram

    def point_mass(self, token: int) -> np.ndarray:
        row = np.zeros(self.vocab_size, dtype=np.float64)
        row[token] = 1.0
        return row

    def next_token_probs(self, prefix: Sequence[int]) -> np.ndarray:
        return self.point_mass(lookup_draft(prefix, self.max_ngram))


    def __repr__(self) -> str:
        return f"PromptLookupDrafter(max_ngram={self.max_ngram})"
