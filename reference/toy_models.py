"""Toy language models for tests and sweeps (no downloads).

* :class:`TabularLM` — the next-token law depends on the last ``order`` tokens
  (``order=None``: on the whole prefix); each context gets a Dirichlet(α·1) row drawn from
  a generator seeded by (seed, context), so tables are lazy, reproducible and any V works.
* :class:`MixtureDrafter` — ``q = (1 − λ) p + λ r`` with a noise row ``r``; λ is chosen per
  context so that the overlap ``Σ min(p, q) = 1 − λ·TV(p, r)`` equals the requested value
  whenever that is reachable (``r`` falls back to a point mass on argmin p, which maximises
  TV; if even that is not enough, λ = 1 and the overlap is ``1 − TV`` — documented, rare).
* :class:`SyntheticAcceptancePair` — a real model pair in which each draft is accepted
  independently with probability ``a`` (the paper's i.i.d. acceptance model): in sampling
  mode ``Σ min(p, q) = a`` in every context (``p = a·m + (1 − a)·u₁``,
  ``q = a·m + (1 − a)·u₂`` with u₁, u₂ on disjoint supports); in greedy mode the argmaxes
  agree in a context with probability ``a`` (a coin keyed by the context). Contexts are
  whole prefixes, so coins at different positions are independent.
* :class:`TorchModuleLM` — adapts any torch module mapping ids (1, L) to logits (1, L, V).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from reference.errors import ConfigError


def _context_seed(seed: int, tag: str, context: Sequence[int]) -> np.random.Generator:
    digest = hashlib.blake2b(repr((seed, tag, tuple(context))).encode(), digest_size=16).digest()
    return np.random.default_rng(int.from_bytes(digest, "little"))


def _context(prefix: Sequence[int], order: int | None) -> tuple[int, ...]:
    prefix = tuple(prefix)
    if order is None:
        return prefix
    return prefix[-order:] if order > 0 else ()


class TabularLM:
    """Next-token law keyed by the last ``order`` tokens; rows ~ Dirichlet(concentration)."""

    def __init__(self, vocab_size: int, *, order: int | None = 1, seed: int = 0,
                 concentration: float = 1.0) -> None:
        if vocab_size < 1:
            raise ConfigError(f"vocab_size must be >= 1, got {vocab_size}")
        if order is not None and order < 0:
            raise ConfigError(f"order must be >= 0 or None, got {order}")
        if concentration <= 0:
            raise ConfigError(f"concentration must be > 0, got {concentration}")
        self.vocab_size = int(vocab_size)
        self.order = order
        self.seed = seed
        self.concentration = float(concentration)
        self._rows: dict[tuple[int, ...], np.ndarray] = {}

    def next_token_probs(self, prefix: Sequence[int]) -> np.ndarray:
        """``p(· | last order tokens)``, drawn once per context and cached."""
        ctx = _context(prefix, self.order)
        row = self._rows.get(ctx)
        if row is None:
            rng = _context_seed(self.seed, "tabular", ctx)
            row = rng.dirichlet(np.full(self.vocab_size, self.concentration))
            row = np.maximum(row, 0.0)
            row /= row.sum()
            self._rows[ctx] = row
        return row.copy()

    def __repr__(self) -> str:
        return f"TabularLM(V={self.vocab_size}, order={self.order}, seed={self.seed})"


class MixtureDrafter:
    """A drafter ``q = (1 − λ) p + λ r`` with overlap ``Σ min(p, q)`` set to ``overlap``."""

    def __init__(self, target: object, *, overlap: float, seed: int = 1) -> None:
        if not 0 <= overlap <= 1:
            raise ConfigError(f"overlap must be in [0, 1], got {overlap}")
        self.target = target
        self.vocab_size = int(target.vocab_size)  # type: ignore[attr-defined]
        self.overlap = float(overlap)
        self.seed = seed

    def next_token_probs(self, prefix: Sequence[int]) -> np.ndarray:
        """``q`` at ``prefix``; ``Σ min(p, q) = overlap`` whenever reachable."""
        p = np.asarray(self.target.next_token_probs(prefix), dtype=np.float64)  # type: ignore[attr-defined]
        if self.overlap >= 1:
            return p.copy()
        rng = _context_seed(self.seed, "noise", tuple(prefix))
        r = rng.dirichlet(np.ones(self.vocab_size))
        tv = 0.5 * np.abs(p - r).sum()
        needed = 1.0 - self.overlap
        if tv < needed:
            r = np.zeros(self.vocab_size)
            r[int(np.argmin(p))] = 1.0
            tv = 0.5 * np.abs(p - r).sum()
        lam = 1.0 if tv <= needed else needed / tv
        q = (1.0 - lam) * p + lam * r
        q = np.maximum(q, 0.0)
        return q / q.sum()


class SyntheticAcceptancePair:
    """Target and drafter whose drafts are accepted i.i.d. with probability ``a``.

    Use ``pair.target`` and ``pair.drafter``. ``vocab_size >= 2``.
    """

    def __init__(self, vocab_size: int, acceptance: float, *, seed: int = 0,
                 mode: str = "sample") -> None:
        if vocab_size < 2:
            raise ConfigError(f"vocab_size must be >= 2 for a synthetic pair, got {vocab_size}")
        if not 0 <= acceptance <= 1:
            raise ConfigError(f"acceptance must be in [0, 1], got {acceptance}")
        if mode not in ("sample", "greedy"):
            raise ConfigError(f"mode must be 'sample' or 'greedy', got {mode!r}")
        self.vocab_size = int(vocab_size)
        self.acceptance = float(acceptance)
        self.seed = seed
        self.mode = mode
        self._cache: dict[tuple[int, ...], tuple[np.ndarray, np.ndarray]] = {}
        self.target = _PairSide(self, 0)
        self.drafter = _PairSide(self, 1)

    def rows(self, prefix: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """``(p, q)`` at ``prefix``."""
        ctx = tuple(prefix)
        hit = self._cache.get(ctx)
        if hit is not None:
            return hit
        rng = _context_seed(self.seed, f"synthetic-{self.mode}", ctx)
        V, a = self.vocab_size, self.acceptance
        if self.mode == "sample":
            ids = np.arange(V)
            m = rng.dirichlet(np.ones(V))
            u1 = np.where(ids % 2 == 0, rng.dirichlet(np.ones(V)), 0.0)
            u2 = np.where(ids % 2 == 1, rng.dirichlet(np.ones(V)), 0.0)
            u1, u2 = u1 / u1.sum(), u2 / u2.sum()
            p, q = a * m + (1 - a) * u1, a * m + (1 - a) * u2
        else:
            p = rng.dirichlet(np.ones(V))
            q = rng.dirichlet(np.ones(V))
            top = int(rng.integers(V))
            agree = rng.random() < a
            other = (top + 1 + int(rng.integers(V - 1))) % V
            p = _with_argmax(p, top)
            q = _with_argmax(q, top if agree else other)
        pair = (p / p.sum(), q / q.sum())
        self._cache[ctx] = pair
        return pair


def _with_argmax(row: np.ndarray, top: int) -> np.ndarray:
    """Swap entries so that ``top`` holds the unique maximum."""
    row = row.copy()
    j = int(np.argmax(row))
    row[top], row[j] = row[j], row[top]
    row[top] += 1.0  # strict maximum, no ties
    return row / row.sum()


class _PairSide:
    def __init__(self, pair: SyntheticAcceptancePair, side: int) -> None:
        self._pair = pair
        self._side = side
        self.vocab_size = pair.vocab_size

    def next_token_probs(self, prefix: Sequence[int]) -> np.ndarray:
        return self._pair.rows(prefix)[self._side].copy()

    def __repr__(self) -> str:
        role = "target" if self._side == 0 else "drafter"
        return f"SyntheticAcceptancePair.{role}(V={self.vocab_size}, a={self._pair.acceptance})"


class TorchModuleLM:
    """Adapter: a torch module ``ids (1, L) -> logits (1, L, V)`` as a reference model.

    Distributions are computed in float64 (softmax of the last position's logits).
    """

    def __init__(self, module: object, vocab_size: int, *, device: str = "cpu") -> None:
        import torch

        self.module = module
        self.vocab_size = int(vocab_size)
        self.device = torch.device(device)

    def next_token_probs(self, prefix: Sequence[int]) -> np.ndarray:
        """softmax(logits[0, -1]) in float64."""
        import torch

        ids = torch.tensor([list(prefix)], dtype=torch.long, device=self.device)
        with torch.inference_mode():
            out = self.module(ids)  # type: ignore[operator]
            logits = getattr(out, "logits", out)  # (1, L, V)
            last = logits[0, -1].to(torch.float64)
            probs = torch.softmax(last, dim=-1)
        return probs.cpu().numpy()


class AcceptancePathPair:
    """A greedy model pair whose drafts are accepted exactly on a given acceptance path.

    At output position i (prefix length minus the prompt length) the target's argmax is
    token 0; the drafter's argmax is 0 if ``accept[i]`` else 1. In greedy mode the draft at
    i is therefore accepted iff ``accept[i]`` — whatever the schedule — which lets the event
    simulation run on any acceptance path (and be compared with the fast simulators).
    """

    def __init__(self, accept: Sequence[bool], *, prompt_length: int = 1, vocab_size: int = 2) -> None:
        if vocab_size < 2:
            raise ConfigError(f"vocab_size must be >= 2, got {vocab_size}")
        self.accept = tuple(bool(a) for a in accept)
        self.prompt_length = int(prompt_length)
        self.vocab_size = int(vocab_size)
        self.target = _PathSide(self, is_target=True)
        self.drafter = _PathSide(self, is_target=False)

    def row(self, prefix: Sequence[int], *, is_target: bool) -> np.ndarray:
        position = len(prefix) - self.prompt_length
        top = 0 if is_target or (0 <= position < len(self.accept) and self.accept[position]) else 1
        row = np.full(self.vocab_size, 0.25 / (self.vocab_size - 1))
        row[top] = 0.75  # a strict maximum
        return row


class _PathSide:
    def __init__(self, pair: AcceptancePathPair, *, is_target: bool) -> None:
        self._pair = pair
        self._is_target = is_target
        self.vocab_size = pair.vocab_size

    def next_token_probs(self, prefix: Sequence[int]) -> np.ndarray:
        return self._pair.row(prefix, is_target=self._is_target)
