"""Mutants of what an engine does around the token rule: stop tokens, ties, logits processing,
caches, batches, vocabularies, long generations (the bugs real engines ship).

Each is the reference engine with one bug, built without touching ``reference/``: either a
:class:`~properties.engines.PropertyRequest` subclass (the bug sits in p, q, the draft or the
kernel, so every algorithm has it) or a wrapper that goes through the engine protocol (the
bug sits in how requests and results are handled). :mod:`properties.mutants` lists them in the
catalogue with the property expected to kill each; ``docs/mutants.md`` has the kill matrix.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from properties.engines import EngineRequest, PropertyRequest, ReferenceEngine
from reference.distributions import check_probs
from reference.kernel import verify
from reference.models import processed_probs
from reference.processing import SamplingConfig
from reference.results import Result

# ---------------------------------------------------------------- wrappers (engine protocol)


class _Wrapper:
    """An engine that delegates to a reference engine; subclasses change ``generate``."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.inner = ReferenceEngine(name)
        self.capabilities = self.inner.capabilities

    def generate(self, request: EngineRequest) -> Result:
        return self.inner.generate(request)

    def generate_batch(self, requests: Sequence[EngineRequest]) -> list[Result]:
        return [self.generate(request) for request in requests]


def _truncate(result: Result, length: int) -> Result:
    return dataclasses.replace(result, tokens=result.tokens[:length], times=result.times[:length])


class StopIgnored(_Wrapper):
    """Stop tokens are dropped from the request: generation always runs to S."""

    def generate(self, request: EngineRequest) -> Result:
        return self.inner.generate(request.but(stop_tokens=frozenset()))


class StopTokenExcluded(_Wrapper):
    """Generation stops at the stop token but does not emit it."""

    def generate(self, request: EngineRequest) -> Result:
        result = self.inner.generate(request)
        if result.tokens and result.tokens[-1] in request.stop_tokens:
            return _truncate(result, len(result.tokens) - 1)
        return result


class StopOneLate(_Wrapper):
    """The stop check runs before the token is appended: one token after the stop leaks out."""

    def generate(self, request: EngineRequest) -> Result:
        result = self.inner.generate(request.but(stop_tokens=frozenset()))
        for i, token in enumerate(result.tokens):
            if token in request.stop_tokens:
                return _truncate(result, i + 2)
        return result


class StopInPrompt(_Wrapper):
    """The stop check scans the whole sequence, prompt included: a stop id in the prompt ends
    generation after the first new token."""

    def generate(self, request: EngineRequest) -> Result:
        if set(request.prompt) & request.stop_tokens:
            return self.inner.generate(request.but(max_new_tokens=1))
        return self.inner.generate(request)


class BatchPaddingUnmasked(_Wrapper):
    """``generate_batch`` left-pads shorter prompts with id 0 and forgets the attention mask:
    the model conditions on the pads."""

    def generate_batch(self, requests: Sequence[EngineRequest]) -> list[Result]:
        width = max(len(r.prompt) for r in requests)
        return [self.inner.generate(r.but(prompt=(0,) * (width - len(r.prompt)) + r.prompt)) for r in requests]


class _FirstIds:
    """The first ``width`` ids of a model, renormalised (a target cut to a drafter's vocabulary)."""

    def __init__(self, model: object, width: int) -> None:
        self.model, self.vocab_size = model, width

    def next_token_probs(self, prefix: Sequence[int]) -> np.ndarray:
        row = np.asarray(self.model.next_token_probs(prefix), dtype=np.float64)[: self.vocab_size]  # type: ignore[attr-defined]
        return row / row.sum() if row.sum() > 0 else np.full(self.vocab_size, 1.0 / self.vocab_size)


class TargetCutToDrafterVocab(_Wrapper):
    """A drafter with a smaller vocabulary is accepted by cutting the *target* to it."""

    def generate(self, request: EngineRequest) -> Result:
        drafter = request.drafter
        if drafter is not None and int(drafter.vocab_size) < int(request.target.vocab_size):
            return self.inner.generate(request.but(target=_FirstIds(request.target, int(drafter.vocab_size))))
        return self.inner.generate(request)


# ---------------------------------------------------------------- ties (token rule)


def _argmax_upward(p: np.ndarray) -> int:
    """argmax with the *highest* id on ties."""
    return int(p.shape[0] - 1 - np.argmax(p[::-1]))


class TiesUpward(PropertyRequest):
    """Greedy argmax breaks ties towards the highest id (drafts, tokens, plain decoding)."""

    def draft(self, position, generated):  # type: ignore[no-untyped-def]
        d, q = super().draft(position, generated)
        return (_argmax_upward(q) if self.sampling.mode == "greedy" else d), q

    def kernel(self, p, q, draft, u_accept, u_residual):  # type: ignore[no-untyped-def]
        if self.sampling.mode == "greedy":
            return _argmax_upward(p)
        return super().kernel(p, q, draft, u_accept, u_residual)

    def plain(self, position, p):  # type: ignore[no-untyped-def]
        return _argmax_upward(p) if self.sampling.mode == "greedy" else super().plain(position, p)


class HalfPrecisionArgmax(PropertyRequest):
    """Greedy argmax on probabilities rounded to float16 (as an engine with bf16/fp16 logits):
    near-ties collapse into ties and the lower id wins."""

    def draft(self, position, generated):  # type: ignore[no-untyped-def]
        d, q = super().draft(position, generated)
        return (int(np.argmax(q.astype(np.float16))) if self.sampling.mode == "greedy" else d), q

    def kernel(self, p, q, draft, u_accept, u_residual):  # type: ignore[no-untyped-def]
        if self.sampling.mode == "greedy":
            return int(np.argmax(p.astype(np.float16)))
        return super().kernel(p, q, draft, u_accept, u_residual)

    def plain(self, position, p):  # type: ignore[no-untyped-def]
        return int(np.argmax(p.astype(np.float16))) if self.sampling.mode == "greedy" else super().plain(position, p)


class FirstTokenUnverified(PropertyRequest):
    """The first token after the prompt is the drafter's draft, never verified."""

    def resolve(self, position, p, q, draft):  # type: ignore[no-untyped-def]
        if position == 0 and self.sampling.mode == "sample":
            return int(draft)
        return super().resolve(position, p, q, draft)


# ---------------------------------------------------------------- logits processing


def _tempered(p: np.ndarray, temperature: float) -> np.ndarray:
    if temperature == 1.0:
        return p
    with np.errstate(divide="ignore"):
        logp = np.log(p) / temperature
    w = np.exp(logp - logp.max())
    return w / w.sum()


def _order(p: np.ndarray) -> np.ndarray:
    return np.lexsort((np.arange(p.shape[0]), -p))


def _keep(p: np.ndarray, ids: np.ndarray) -> np.ndarray:
    mask = np.zeros(p.shape[0], dtype=bool)
    mask[ids] = True
    out = np.where(mask, p, 0.0)
    return out / out.sum()


def _crossing(p: np.ndarray, order: np.ndarray, top_p: float) -> int:
    """Number of ids, in ``order``, up to and including the one where the mass reaches top_p."""
    return int(np.searchsorted(np.cumsum(p[order]), top_p, side="left")) + 1


def processed_variant(p: np.ndarray, config: SamplingConfig, variant: str) -> np.ndarray:
    """SPEC §10 processing with one deliberate deviation (``variant``).

    * ``top_p_crossing_dropped``: top-p keeps the prefix *before* the crossing id (≥ 1 id);
    * ``top_k_keeps_ties``: top-k keeps every id tied with the k-th largest probability;
    * ``top_p_before_temperature``: top-k and top-p on the raw row, temperature after;
    * ``top_p_after_top_k_renormalised``: top-p measured on the renormalised top-k row.
    """
    top_p = None if config.top_p in (None, 1.0) else config.top_p
    if variant == "top_p_before_temperature":
        raw = p
        if config.top_k is not None or top_p is not None:
            order = _order(raw)
            n = raw.shape[0] if config.top_k is None else min(config.top_k, raw.shape[0])
            if top_p is not None:
                n = min(n, _crossing(raw, order, top_p))
            raw = _keep(raw, order[:n])
        return _tempered(raw, config.temperature)
    p = _tempered(p, config.temperature)
    if config.top_k is None and top_p is None:
        return p
    order = _order(p)
    n = p.shape[0] if config.top_k is None else min(config.top_k, p.shape[0])
    if variant == "top_k_keeps_ties" and config.top_k is not None:
        kth = p[order[n - 1]]
        n = int(np.sum(p >= kth))
    if top_p is not None:
        if variant == "top_p_after_top_k_renormalised":
            p = _keep(p, order[:n])
            order = _order(p)
        crossing = _crossing(p, order, top_p)
        n = min(n, max(1, crossing - 1) if variant == "top_p_crossing_dropped" else crossing)
    return _keep(p, order[:n])


class ProcessingVariant(PropertyRequest):
    """p and q both processed by :func:`processed_variant` (set ``variant`` on a subclass)."""

    variant: ClassVar[str] = ""

    def _processed(self, model: object, generated: Sequence[int], name: str) -> np.ndarray:
        raw = model.next_token_probs(self.prompt + tuple(generated))  # type: ignore[attr-defined]
        p = check_probs(raw, int(model.vocab_size), name=f"{name} probabilities")  # type: ignore[attr-defined]
        return p if self.sampling.is_identity else processed_variant(p, self.sampling, self.variant)

    def target_probs(self, generated):  # type: ignore[no-untyped-def]
        return self._processed(self.target, generated, "target")

    def draft_probs(self, generated):  # type: ignore[no-untyped-def]
        return self._processed(self.drafter, generated, "drafter")

    def kernel(self, p, q, draft, u_accept, u_residual):  # type: ignore[no-untyped-def]
        return verify(p, q, draft, u_accept, u_residual, mode=self.sampling.mode)


# ---------------------------------------------------------------- caches and long generations


class CacheIgnoresModel(PropertyRequest):
    """A prefix cache of target rows shared by every request, keyed by the token ids alone
    (not the model): a new model on a known prompt gets the old model's rows."""

    cache: ClassVar[dict[tuple[int, ...], np.ndarray]] = {}

    def target_probs(self, generated):  # type: ignore[no-untyped-def]
        key = self.prompt + tuple(generated)
        if key not in self.cache:
            self.cache[key] = super().target_probs(generated)
        return self.cache[key]


class CacheIgnoresSampling(PropertyRequest):
    """A prefix cache of processed target rows keyed by (model, token ids), not by the
    processing: another temperature or top-k on a known prompt reuses the old rows."""

    cache: ClassVar[dict[tuple[int, tuple[int, ...]], tuple[object, np.ndarray]]] = {}

    def target_probs(self, generated):  # type: ignore[no-untyped-def]
        key = (id(self.target), self.prompt + tuple(generated))
        if key not in self.cache:
            self.cache[key] = (self.target, super().target_probs(generated))  # keeps the model alive
        return self.cache[key][1]


#: The context window of the window mutant, and the width of the counter field of the
#: uniform mutant: both only matter past position 128 (long generations).
WINDOW = 128


class ContextWindow(PropertyRequest):
    """Both models see only the last 128 tokens (a sliding-window cache where full attention
    was expected)."""

    def target_probs(self, generated):  # type: ignore[no-untyped-def]
        return processed_probs(self.target, self._window(generated), self.sampling, name="target")

    def draft_probs(self, generated):  # type: ignore[no-untyped-def]
        return processed_probs(self.drafter, self._window(generated), self.sampling, name="drafter")  # type: ignore[arg-type]

    def _window(self, generated: Sequence[int]) -> tuple[int, ...]:
        return (self.prompt + tuple(generated))[-WINDOW:]


class UniformCounterWraps(PropertyRequest):
    """The position field of the random counter is 7 bits: position i uses u(seed, i mod 128, ·)."""

    def uniform(self, position: int, stream: str) -> float:
        return super().uniform(position % WINDOW, stream)


def with_own_cache(cls: type[PropertyRequest]) -> type[PropertyRequest]:
    """A subclass with a fresh ``cache`` (one per engine instance, shared by its requests)."""
    return type(cls.__name__, (cls,), {"cache": {}})
