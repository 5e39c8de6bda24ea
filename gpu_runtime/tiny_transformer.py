"""A tiny decoder-only transformer with a preallocated, position-indexed KV cache.

In the manner of gpt-fast: the cache is two tensors per layer allocated once for
``max_seq_len`` positions; a forward writes keys/values at the positions it processes, and
undoing a rejected draft is an integer reset of the cache length (no copy). Attention at
position t sees positions 0..t (causal mask by position). Random init from a seed; float64
by default so distributions agree with a full forward to the last bits (SPEC §3, note 5).

Used by the tests as a real model with a real cache; ``next_token_probs`` (a full forward
without cache) makes it a reference model as well.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from reference.errors import ConfigError


@dataclass(frozen=True)
class TinyConfig:
    vocab_size: int = 32  # V: ids 0..V-1
    dim: int = 32  # model width
    n_layers: int = 2  # transformer blocks
    n_heads: int = 4  # attention heads; head_dim = dim / n_heads
    max_seq_len: int = 256  # positions the cache (and the position embedding) holds

    def __post_init__(self) -> None:
        if self.vocab_size < 1 or self.dim < 1 or self.n_layers < 1 or self.n_heads < 1:
            raise ConfigError(f"TinyConfig sizes must be >= 1: {self}")
        if self.dim % self.n_heads:
            raise ConfigError(f"dim {self.dim} is not a multiple of n_heads {self.n_heads}")


class TinyKVCache:
    """Keys and values per layer, (n_layers, 1, n_heads, max_seq_len, head_dim), plus a length."""

    def __init__(self, config: TinyConfig, dtype: torch.dtype, device: torch.device) -> None:
        shape = (config.n_layers, 1, config.n_heads, config.max_seq_len, config.dim // config.n_heads)
        self.k = torch.zeros(shape, dtype=dtype, device=device)
        self.v = torch.zeros(shape, dtype=dtype, device=device)
        self.length = 0  # positions 0..length-1 hold valid keys/values


class _Block(nn.Module):
    def __init__(self, config: TinyConfig) -> None:
        super().__init__()
        self.n_heads = config.n_heads
        self.norm1 = nn.LayerNorm(config.dim)
        self.qkv = nn.Linear(config.dim, 3 * config.dim)
        self.proj = nn.Linear(config.dim, config.dim)
        self.norm2 = nn.LayerNorm(config.dim)
        self.mlp = nn.Sequential(nn.Linear(config.dim, 4 * config.dim), nn.GELU(),
                                 nn.Linear(4 * config.dim, config.dim))

    def forward(self, x: torch.Tensor, k_cache: torch.Tensor, v_cache: torch.Tensor,
                start: int) -> torch.Tensor:
        B, L, D = x.shape  # (1, L, dim), new positions start..start+L-1
        H = self.n_heads
        q, k, v = self.qkv(self.norm1(x)).split(D, dim=-1)
        q, k, v = (t.view(B, L, H, D // H).transpose(1, 2) for t in (q, k, v))  # (1, H, L, hd)
        k_cache[:, :, start:start + L] = k
        v_cache[:, :, start:start + L] = v
        keys, values = k_cache[:, :, :start + L], v_cache[:, :, :start + L]  # (1, H, T, hd)
        positions = torch.arange(start + L, device=x.device)
        mask = positions[None, :] <= (start + torch.arange(L, device=x.device))[:, None]  # (L, T)
        y = torch.nn.functional.scaled_dot_product_attention(q, keys, values, attn_mask=mask)
        x = x + self.proj(y.transpose(1, 2).reshape(B, L, D))  # (1, L, dim)
        return x + self.mlp(self.norm2(x))


class TinyTransformer(nn.Module):
    """ids (1, L) at positions start.. -> logits (1, L, V), writing the cache."""

    def __init__(self, config: TinyConfig) -> None:
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(config.vocab_size, config.dim)
        self.pos = nn.Embedding(config.max_seq_len, config.dim)
        self.blocks = nn.ModuleList(_Block(config) for _ in range(config.n_layers))
        self.norm = nn.LayerNorm(config.dim)
        self.head = nn.Linear(config.dim, config.vocab_size)

    def forward(self, ids: torch.Tensor, cache: TinyKVCache, start: int) -> torch.Tensor:
        L = ids.shape[1]
        if start + L > self.config.max_seq_len:
            raise ConfigError(f"sequence length {start + L} exceeds max_seq_len {self.config.max_seq_len}")
        positions = torch.arange(start, start + L, device=ids.device)
        x = self.embed(ids) + self.pos(positions)[None]  # (1, L, dim)
        for layer, block in enumerate(self.blocks):
            x = block(x, cache.k[layer], cache.v[layer], start)
        cache.length = start + L
        return self.head(self.norm(x))  # (1, L, V)


class TinyTransformerLM:
    """A :class:`TinyTransformer` as a runtime model (cached forwards) and a reference model."""

    def __init__(self, config: TinyConfig | None = None, *, seed: int = 0,
                 dtype: torch.dtype = torch.float64, device: str = "cpu") -> None:
        self.config = config or TinyConfig()
        self.vocab_size = self.config.vocab_size
        self.device = torch.device(device)
        self.dtype = dtype
        generator_state = torch.random.get_rng_state()
        torch.manual_seed(seed)  # deterministic init; the global state is restored below
        try:
            self.module = TinyTransformer(self.config).to(dtype=dtype, device=self.device).eval()
        finally:
            torch.random.set_rng_state(generator_state)

    def new_cache(self) -> TinyKVCache:
        return TinyKVCache(self.config, self.dtype, self.device)

    def crop(self, cache: TinyKVCache, length: int) -> TinyKVCache:
        cache.length = min(cache.length, length)  # an integer reset, no copy
        return cache

    def forward(self, cache: TinyKVCache, token_ids: Sequence[int], start: int, *, last: int) -> np.ndarray:
        """Probabilities (float64, (last, V)) at the ``last`` newest positions."""
        if start != cache.length:
            raise ConfigError(f"forward at position {start} but the cache holds {cache.length}")
        ids = torch.tensor([list(token_ids)], dtype=torch.long, device=self.device)  # (1, L)
        with torch.inference_mode():
            logits = self.module(ids, cache, start)[0, -last:]  # (last, V)
            probs = torch.softmax(logits.to(torch.float64), dim=-1)
        return probs.cpu().numpy()

    def next_token_probs(self, prefix: Sequence[int]) -> np.ndarray:
        """Reference protocol: a full forward on a fresh cache, last position's softmax."""
        return self.forward(self.new_cache(), prefix, 0, last=1)[0]
