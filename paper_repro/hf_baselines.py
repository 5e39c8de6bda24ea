"""Hugging Face's own decoding of the real model, as baselines beside the runtime.

The same SmolLM2 checkpoint (the safetensors cache entry of :mod:`gpu_runtime.gguf_cache`),
loaded as ``transformers.AutoModelForCausalLM`` (safetensors only, no remote code), and
decoded greedily with exactly ``new_tokens`` tokens (``min_new_tokens = max_new_tokens``, so
EOS cannot stop early) by:

* ``hf-plain`` — ``model.generate(do_sample=False)``;
* ``hf-prompt-lookup`` — assisted generation with n-gram drafts
  (``prompt_lookup_num_tokens``, transformers' prompt lookup decoding);
* ``hf-early-exit:L`` — assisted generation with the model's first L layers as the drafter
  (``assistant_early_exit=L``, self-speculation).

Each returns its tokens and wall time (seconds, ``time.perf_counter`` around ``generate``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from reference.errors import ConfigError

#: transformers' default number of prompt-lookup candidates per step.
PROMPT_LOOKUP_TOKENS = 10


def load_hf_model() -> Any:
    """The checkpoint as a ``transformers`` model in eval mode (float32, CPU)."""
    from gpu_runtime.hf import load_pretrained
    from gpu_runtime.smollm2 import checkpoint_dir

    return load_pretrained(str(checkpoint_dir()), dtype="float32").model


def hf_generate(model: Any, prompt: Sequence[int], new_tokens: int, method: str) -> tuple[tuple[int, ...], float]:
    """(tokens, seconds) of one greedy generation by ``method`` (module docstring)."""
    import torch

    options: dict[str, Any] = {}
    if method == "hf-prompt-lookup":
        options["prompt_lookup_num_tokens"] = PROMPT_LOOKUP_TOKENS
    elif method.startswith("hf-early-exit:"):
        options["assistant_early_exit"] = int(method.split(":", 1)[1])
    elif method != "hf-plain":
        raise ConfigError(f"unknown HF method {method!r}: hf-plain, hf-prompt-lookup, hf-early-exit:L")
    from transformers import GenerationConfig

    ids = torch.tensor([list(prompt)], dtype=torch.long)
    eos = model.config.eos_token_id
    settings = GenerationConfig(max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
                                pad_token_id=eos if isinstance(eos, int) else 0, eos_token_id=eos, **options)
    with torch.inference_mode():
        start = time.perf_counter()
        out = model.generate(ids, attention_mask=torch.ones_like(ids), generation_config=settings)
        seconds = time.perf_counter() - start
    return tuple(int(t) for t in out[0, ids.shape[1]:].tolist()), seconds
