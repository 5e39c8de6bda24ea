"""The trained drafter: the target's first L layers, one trained decoder layer, a frequent-token head.

A self-speculative drafter in the family of Kangaroo (Liu et al., 2024: a shallow sub-network
of the target plus a trained adapter) and EAGLE/Medusa (a small trained head on the target's
hidden states), built from the target's own weights:

    h = target.blocks[0..L−1](embed(x))          # shared with the target, frozen
    h = adapter(h)                                # one Llama decoder layer, trained
    q = softmax(head[V'] · rms_final(h))          # the target's final norm and LM head,
                                                  # restricted to the token set V'

* ``adapter`` starts as a copy of target layer L and is trained by distillation
  (:mod:`gpu_runtime.train_drafter`) to match the target's next-token distribution;
* V' is the set of the most frequent tokens of the training text (ids stored with the
  weights); q is zero outside V'. The LM head is a fifth of the model's weights, so
  restricting it is what makes the drafter cheap (frequency-ranked drafting). Losslessness is
  untouched: the kernel rejects a draft with ``p(d) < q(d)`` at the right rate and the
  residual ``norm(max(p − q, 0))`` carries every token outside V'.

Weights file (safetensors): the adapter's nine tensors under ``adapter.``, the int64 token ids
``vocab_subset``, and metadata ``exit_layer``, ``base_sha256`` (the GGUF the drafter was
trained on) and the training summary as JSON.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

from gpu_runtime.gguf_cache import ModelUnavailable
from gpu_runtime.llama import Block, KVCache, LlamaStack
from gpu_runtime.llama_lm import LlamaLM
from reference.errors import ConfigError, FileFormatError

#: The shipped weights (``python -m gpu_runtime.train_drafter`` rewrites them).
DEFAULT_WEIGHTS = Path(__file__).resolve().parent / "data" / "smollm2_drafter.safetensors"
ADAPTER_PREFIX = "adapter."
ADAPTER_TENSORS = ("input_layernorm.weight", "self_attn.q_proj.weight", "self_attn.k_proj.weight",
                   "self_attn.v_proj.weight", "self_attn.o_proj.weight", "post_attention_layernorm.weight",
                   "mlp.gate_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight")


def adapter_init(stack: LlamaStack, exit_layer: int) -> dict[str, torch.Tensor]:
    """Adapter weights initialised as a copy of target layer ``exit_layer`` (fresh tensors)."""
    if not 1 <= exit_layer < len(stack.blocks):
        raise ConfigError(f"exit layer must be in [1, {len(stack.blocks) - 1}], got {exit_layer}")
    source = stack.blocks[exit_layer]
    tensors = source.parameters()
    return {ADAPTER_PREFIX + name: t.detach().clone() for name, t in zip(ADAPTER_TENSORS, tensors, strict=True)}


class SubsetHeadStack(LlamaStack):
    """A stack whose LM head covers the token ids ``subset`` only; logits are [L, |V'|]."""

    def __init__(self, base: LlamaStack, blocks: list[Block], subset: torch.Tensor) -> None:
        super().__init__(base.config, base.embed, blocks, base.norm, base.head[subset])
        self.subset = subset  # [V'] int64 token ids
        self.vocab_size = base.vocab_size  # rows are scattered back to the full vocabulary


class TrainedDrafterLM(LlamaLM):
    """The trained drafter as a runtime and reference model: q over V (zero outside V')."""

    def __init__(self, stack: SubsetHeadStack, *, name: str = "trained") -> None:
        super().__init__(stack, name=name)
        self.subset = stack.subset

    def forward(self, cache: KVCache, token_ids, start: int, *, last: int) -> np.ndarray:  # type: ignore[override]
        """float64 q [last, V]: softmax over V' scattered into the full vocabulary."""
        if not 1 <= last <= len(token_ids):
            raise ConfigError(f"last must be in [1, {len(token_ids)}], got {last}")
        ids = torch.tensor(list(token_ids), dtype=torch.long)  # [L]
        with torch.inference_mode():
            hidden = self.stack.hidden(ids, cache, start)[-last:]  # [last, D]
            subset_probs = torch.softmax(self.stack.logits(hidden).to(torch.float64), dim=-1)  # [last, V']
            out = torch.zeros((last, self.vocab_size), dtype=torch.float64)
            out[:, self.subset] = subset_probs
            return out.numpy()


def build(stack: LlamaStack, adapter: Mapping[str, torch.Tensor], exit_layer: int,
          subset: torch.Tensor) -> SubsetHeadStack:
    """The drafter's stack: target blocks 0..L−1 (shared), the adapter block, head rows V'."""
    block = Block(adapter, ADAPTER_PREFIX, stack.config)
    return SubsetHeadStack(stack, [*stack.blocks[:exit_layer], block], subset)


def save_weights(path: str | Path, adapter: Mapping[str, torch.Tensor], subset: torch.Tensor,
                 exit_layer: int, *, base_sha256: str, summary: Mapping[str, object],
                 dtype: torch.dtype = torch.float16) -> Path:
    """Write the drafter's weights atomically (adapter tensors stored in ``dtype``)."""
    from safetensors.torch import save_file

    tensors = {k: v.detach().to(dtype).contiguous() for k, v in adapter.items()}
    tensors["vocab_subset"] = subset.to(torch.int64).contiguous()
    metadata = {"exit_layer": str(exit_layer), "base_sha256": base_sha256,
                "summary": json.dumps(summary, sort_keys=True)}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata=metadata)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; a shipped file is world-readable
        os.replace(tmp, path)  # atomic: the file appears complete or not at all
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def read_weights(path: str | Path) -> tuple[dict[str, torch.Tensor], torch.Tensor, int, dict[str, str]]:
    """(adapter tensors in float32, vocab subset, exit layer, metadata) from a weights file."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise ModelUnavailable(f"no trained drafter weights at {path}; train them with "
                               "`python -m gpu_runtime.train_drafter`")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = dict(handle.metadata() or {})
            tensors = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118
    except Exception as exc:  # safetensors' own errors on a truncated or foreign file
        raise FileFormatError(f"{path} is not a safetensors file: {type(exc).__name__}: {exc}") from None
    missing = [ADAPTER_PREFIX + n for n in ADAPTER_TENSORS if ADAPTER_PREFIX + n not in tensors]
    if missing or "vocab_subset" not in tensors or "exit_layer" not in metadata:
        raise ConfigError(f"{path} is not a trained drafter file (missing {missing or 'metadata'})")
    subset = tensors.pop("vocab_subset").to(torch.int64)
    adapter = {k: v.to(torch.float32) for k, v in tensors.items()}
    return adapter, subset, int(metadata["exit_layer"]), metadata


def load_trained(stack: LlamaStack, path: str | Path | None = None) -> TrainedDrafterLM:
    """The trained drafter on ``stack`` (default: the shipped weights)."""
    adapter, subset, exit_layer, _ = read_weights(path or DEFAULT_WEIGHTS)
    if int(subset.max()) >= stack.vocab_size or int(subset.min()) < 0:
        raise ConfigError(f"vocab_subset has ids outside [0, {stack.vocab_size})")
    return TrainedDrafterLM(build(stack, adapter, exit_layer, subset), name=f"trained (exit {exit_layer})")
