"""A Llama decoder in plain PyTorch with a position-indexed KV cache (the real model's forward).

The architecture of Llama (Touvron et al., 2023) as ``transformers`` implements it
(``LlamaForCausalLM``), for batch size 1, written out so that a server can run *any prefix of
the layer stack* with its own cache (early exit, a trained drafter layer on early hidden
states):

    x = embed(ids)                                          # [L, D]
    for each layer:  x = x + attn(rms(x));  x = x + mlp(rms(x))
    logits = head(rms_final(x))                             # [L, V]

* rms(x) = x / sqrt(mean(x²) + eps) · w, computed in float32;
* attention: grouped queries (H query heads share Hkv key/value heads), rotary position
  embedding on q and k (``rotate_half`` convention, inv_freq = θ^(−2i/hd)), causal softmax
  with scale 1/sqrt(hd);
* mlp(x) = down(silu(gate(x)) · up(x)).

The cache (:class:`KVCache`) is two tensors per layer, [Hkv, capacity, hd], grown by doubling;
``length`` says how many positions are valid, so undoing rejected drafts is an integer reset
(gpt-fast's idea). Parameters come from a ``state_dict`` in ``transformers``' naming (a
safetensors file); a test checks the logits against ``LlamaForCausalLM`` on the same weights.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from torch.nn import functional as F  # noqa: N812  (the PyTorch convention)

from reference.errors import ConfigError


@dataclass(frozen=True)
class LlamaConfig:
    """The fields of a Hugging Face ``config.json`` this implementation reads."""

    vocab_size: int  # V
    hidden_size: int  # D, model width
    intermediate_size: int  # MLP width
    num_hidden_layers: int  # transformer blocks
    num_attention_heads: int  # H query heads
    num_key_value_heads: int  # Hkv key/value heads (H / Hkv queries share one)
    head_dim: int  # hd = D / H
    rms_norm_eps: float
    rope_theta: float
    tie_word_embeddings: bool = True

    @classmethod
    def from_dict(cls, config: Mapping[str, object]) -> LlamaConfig:
        """From a ``config.json`` of ``model_type: llama`` (default rotary scaling only)."""
        if config.get("model_type") != "llama":
            raise ConfigError(f"not a llama config: model_type={config.get('model_type')!r}")
        rope = config.get("rope_parameters") or config.get("rope_scaling") or {}
        if rope and rope.get("rope_type", "default") != "default":  # type: ignore[union-attr]
            raise ConfigError(f"rotary scaling {rope!r} is not implemented (default only)")
        theta = rope.get("rope_theta", config.get("rope_theta", 10000.0)) if rope else config.get("rope_theta", 1e4)  # type: ignore[union-attr]
        heads = int(config["num_attention_heads"])  # type: ignore[arg-type]
        width = int(config["hidden_size"])  # type: ignore[arg-type]
        return cls(vocab_size=int(config["vocab_size"]), hidden_size=width,  # type: ignore[arg-type]
                   intermediate_size=int(config["intermediate_size"]),  # type: ignore[arg-type]
                   num_hidden_layers=int(config["num_hidden_layers"]),  # type: ignore[arg-type]
                   num_attention_heads=heads,
                   num_key_value_heads=int(config.get("num_key_value_heads", heads)),  # type: ignore[arg-type]
                   head_dim=int(config.get("head_dim") or width // heads),  # type: ignore[arg-type]
                   rms_norm_eps=float(config["rms_norm_eps"]),  # type: ignore[arg-type]
                   rope_theta=float(theta),  # type: ignore[arg-type]
                   tie_word_embeddings=bool(config.get("tie_word_embeddings", True)))


def rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    """x / sqrt(mean(x², last dim) + eps) · weight, in float32."""
    x32 = x.float()
    return (x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + eps)).to(x.dtype) * weight


def rotary_tables(positions: torch.Tensor, head_dim: int, theta: float,
                  dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin [L, hd] of the rotary angles positions · θ^(−2i/hd) (each half repeated)."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32,
                                             device=positions.device) / head_dim))  # [hd/2]
    angles = positions.float()[:, None] * inv_freq[None, :]  # [L, hd/2]
    angles = torch.cat((angles, angles), dim=-1)  # [L, hd]
    return angles.cos().to(dtype), angles.sin().to(dtype)


def rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotary embedding of x [heads, L, hd] (rotate-half convention)."""
    half = x.shape[-1] // 2
    return x * cos + torch.cat((-x[..., half:], x[..., :half]), dim=-1) * sin


@dataclass(frozen=True)
class Positions:
    """What every block of one forward shares: first position, rotary tables, causal mask."""

    start: int
    cos: torch.Tensor  # [L, hd]
    sin: torch.Tensor  # [L, hd]
    mask: torch.Tensor | None  # [L, start + L] (None for L = 1: the query sees every key)

    @classmethod
    def of(cls, start: int, length: int, config: LlamaConfig, dtype: torch.dtype,
           device: torch.device) -> Positions:
        positions = torch.arange(start, start + length, device=device)  # [L]
        cos, sin = rotary_tables(positions, config.head_dim, config.rope_theta, dtype)
        mask = None
        if length > 1:  # query at position start+i sees keys 0..start+i
            mask = torch.arange(start + length, device=device)[None, :] <= positions[:, None]  # [L, T]
        return cls(start, cos, sin, mask)


class Block:
    """One decoder layer's weights (references into a state dict: shared, never copied)."""

    def __init__(self, weights: Mapping[str, torch.Tensor], prefix: str, config: LlamaConfig) -> None:
        def w(name: str) -> torch.Tensor:
            key = prefix + name
            if key not in weights:
                raise ConfigError(f"state dict lacks {key}")
            return weights[key]

        self.config = config
        self.attn_norm = w("input_layernorm.weight")
        self.q, self.k, self.v, self.o = (w(f"self_attn.{n}_proj.weight") for n in "qkvo")
        self.mlp_norm = w("post_attention_layernorm.weight")
        self.gate, self.up, self.down = (w(f"mlp.{n}_proj.weight") for n in ("gate", "up", "down"))

    def parameters(self) -> list[torch.Tensor]:
        return [self.attn_norm, self.q, self.k, self.v, self.o, self.mlp_norm, self.gate, self.up, self.down]

    def __call__(self, x: torch.Tensor, at: Positions, kv: tuple[torch.Tensor, torch.Tensor] | None) -> torch.Tensor:
        """x [L, D] at positions at.start..; ``kv`` = this layer's cache tensors [Hkv, capacity, hd]
        holding positions 0..start−1 (None: no cache, start must be 0)."""
        cfg = self.config
        L, start = x.shape[0], at.start
        H, Hkv, hd = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
        h = rms_norm(x, self.attn_norm, cfg.rms_norm_eps)
        q = F.linear(h, self.q).view(L, H, hd).transpose(0, 1)  # [H, L, hd]
        k = F.linear(h, self.k).view(L, Hkv, hd).transpose(0, 1)  # [Hkv, L, hd]
        v = F.linear(h, self.v).view(L, Hkv, hd).transpose(0, 1)  # [Hkv, L, hd]
        q, k = rotary(q, at.cos, at.sin), rotary(k, at.cos, at.sin)
        if kv is not None:
            kv[0][:, start:start + L] = k
            kv[1][:, start:start + L] = v
            k, v = kv[0][:, :start + L], kv[1][:, :start + L]  # [Hkv, T, hd], T = start + L
        elif start != 0:
            raise ConfigError("a forward without cache starts at position 0")
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=at.mask, scale=1.0 / math.sqrt(hd),
                                           enable_gqa=Hkv != H)  # [H, L, hd]
        x = x + F.linear(y.transpose(0, 1).reshape(L, H * hd), self.o)  # [L, D]
        h = rms_norm(x, self.mlp_norm, cfg.rms_norm_eps)
        return x + F.linear(F.silu(F.linear(h, self.gate)) * F.linear(h, self.up), self.down)


class KVCache:
    """Keys and values of a stack of ``layers`` blocks; positions 0..length−1 are valid."""

    def __init__(self, layers: int, config: LlamaConfig, dtype: torch.dtype, device: torch.device,
                 capacity: int = 256) -> None:
        shape = (config.num_key_value_heads, capacity, config.head_dim)
        self.keys = [torch.zeros(shape, dtype=dtype, device=device) for _ in range(layers)]
        self.values = [torch.zeros(shape, dtype=dtype, device=device) for _ in range(layers)]
        self.length = 0

    @property
    def capacity(self) -> int:
        return self.keys[0].shape[1] if self.keys else 0

    def reserve(self, positions: int) -> None:
        """Make room for ``positions`` positions (capacity doubles; valid entries are kept)."""
        capacity = self.capacity
        if positions <= capacity:
            return
        while capacity < positions:
            capacity *= 2
        for store in (self.keys, self.values):
            for i, old in enumerate(store):
                new = old.new_zeros((old.shape[0], capacity, old.shape[2]))
                new[:, :self.length] = old[:, :self.length]
                store[i] = new


class LlamaStack:
    """Embedding, a list of blocks, final norm and LM head: a causal LM or a prefix of one.

    ``blocks`` may mix a model's own layers with layers from elsewhere (a drafter's trained
    layer after the target's first L layers); all tensors are shared, not copied.
    """

    def __init__(self, config: LlamaConfig, embed: torch.Tensor, blocks: Sequence[Block],
                 norm: torch.Tensor, head: torch.Tensor) -> None:
        self.config = config
        self.embed, self.blocks, self.norm, self.head = embed, list(blocks), norm, head
        self.vocab_size = int(head.shape[0])

    @classmethod
    def from_state_dict(cls, config: LlamaConfig, weights: Mapping[str, torch.Tensor]) -> LlamaStack:
        """The full model from a ``LlamaForCausalLM`` state dict (tied head if absent)."""
        embed = weights["model.embed_tokens.weight"]
        head = weights.get("lm_head.weight", embed) if config.tie_word_embeddings else weights["lm_head.weight"]
        blocks = [Block(weights, f"model.layers.{i}.", config) for i in range(config.num_hidden_layers)]
        return cls(config, embed, blocks, weights["model.norm.weight"], head)

    def truncated(self, layers: int) -> LlamaStack:
        """The first ``layers`` blocks with the same final norm and head (early exit)."""
        if not 1 <= layers <= len(self.blocks):
            raise ConfigError(f"early-exit layer must be in [1, {len(self.blocks)}], got {layers}")
        return LlamaStack(self.config, self.embed, self.blocks[:layers], self.norm, self.head)

    @property
    def dtype(self) -> torch.dtype:
        return self.embed.dtype

    def new_cache(self) -> KVCache:
        return KVCache(len(self.blocks), self.config, self.dtype, self.embed.device)

    def hidden(self, ids: torch.Tensor, cache: KVCache | None, start: int, *, upto: int | None = None,
               from_hidden: torch.Tensor | None = None, first: int = 0) -> torch.Tensor:
        """Residual stream [L, D] after blocks ``first..upto−1`` for ids [L] at positions start..

        ``from_hidden`` replaces the embedding as the input of block ``first``. With a cache (one
        entry per block; every block runs) it must hold ``start`` positions and then holds start + L;
        a partial pass (``first``, ``upto``) runs without cache (training, analysis).
        """
        upto = len(self.blocks) if upto is None else upto
        x = self.embed[ids] if from_hidden is None else from_hidden  # [L, D]
        L = x.shape[0]
        if cache is not None:
            if first != 0 or upto != len(self.blocks):
                raise ConfigError("a forward with a cache runs every block of the stack")
            if cache.length != start:
                raise ConfigError(f"forward at position {start} but the cache holds {cache.length}")
            cache.reserve(start + L)
        at = Positions.of(start, L, self.config, x.dtype, x.device)
        for i in range(first, upto):
            kv = (cache.keys[i], cache.values[i]) if cache is not None else None
            x = self.blocks[i](x, at, kv)
        if cache is not None:
            cache.length = start + L
        return x

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """head(rms_final(hidden)): [L, D] → [L, V]."""
        return F.linear(rms_norm(hidden, self.norm, self.config.rms_norm_eps), self.head)

    def forward(self, ids: torch.Tensor, cache: KVCache | None, start: int) -> torch.Tensor:
        """Logits [L, V] of ids [L] at positions start.. (writes the cache)."""
        return self.logits(self.hidden(ids, cache, start))
