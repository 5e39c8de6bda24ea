"""Hugging Face causal LMs as runtime models (SPEC §8): cache cropping and safe loading.

:class:`HFCausalLM` wraps a ``transformers`` causal LM: the cache is a ``DynamicCache``;
cropping to ``length`` positions removes the newer ones (``DynamicCache.crop`` with a
negative count, which both the 4.x and 5.x APIs read as "remove this many"); a forward
passes the new ids with explicit ``cache_position``/``position_ids`` and returns the
float64 softmax of the logits at the newest positions. ``next_token_probs`` (a full forward
without cache) makes it a reference model too, so tests compare runtime and reference on
the same tiny random-init model.

:func:`load_pretrained` is safe by default: safetensors only, no ``trust_remote_code``
unless the caller passes ``trust_remote_code=True`` explicitly; a checkpoint that does not
load is a typed error (:func:`model_loading`).
"""

from __future__ import annotations

import contextlib
import inspect
import os
from collections.abc import Iterator, Sequence

import numpy as np
import torch

from reference.errors import ConfigError, FileFormatError, PathError


class HFCausalLM:
    """A ``transformers`` causal LM (on one device) as a runtime and reference model."""

    def __init__(self, model: torch.nn.Module, *, device: str | None = None) -> None:
        self.model = model.eval()
        self.device = torch.device(device) if device else next(model.parameters()).device
        config = model.config  # type: ignore[attr-defined]
        self.vocab_size = int(model.get_output_embeddings().weight.shape[0])  # type: ignore[operator]
        self.config_vocab_size = int(getattr(config, "vocab_size", self.vocab_size))
        self.eos_token_id = getattr(config, "eos_token_id", None)
        # transformers >= 5.x names the cache argument ``cache``; older releases ``past_key_values``
        forward_parameters = inspect.signature(model.forward).parameters  # type: ignore[attr-defined]
        self._cache_argument = "cache" if "cache" in forward_parameters else "past_key_values"

    def new_cache(self) -> object:
        from transformers import DynamicCache

        return DynamicCache()

    def crop(self, cache: object, length: int) -> object:
        """Keep positions 0..length−1 (a fresh cache when nothing is kept)."""
        held = int(cache.get_seq_length())  # type: ignore[attr-defined]
        if length <= 0:
            return self.new_cache()
        if held > length:
            cache.crop(-(held - length))  # type: ignore[attr-defined]
        return cache

    def forward(self, cache: object, token_ids: Sequence[int], start: int, *, last: int) -> np.ndarray:
        """float64 softmax of the logits at the ``last`` newest of the new positions."""
        held = int(cache.get_seq_length())  # type: ignore[attr-defined]
        if held != start:
            raise ConfigError(f"forward at position {start} but the cache holds {held}")
        ids = torch.tensor([list(token_ids)], dtype=torch.long, device=self.device)  # (1, L)
        positions = torch.arange(start, start + ids.shape[1], device=self.device)  # (L,)
        with torch.inference_mode():
            out = self.model(input_ids=ids, use_cache=True, cache_position=positions,
                             position_ids=positions[None], **{self._cache_argument: cache})
            logits = out.logits[0, -last:].to(torch.float64)  # (last, V)
            probs = torch.softmax(logits, dim=-1)
        return probs.cpu().numpy()

    def next_token_probs(self, prefix: Sequence[int]) -> np.ndarray:
        """Reference protocol: a full forward without cache, last position's softmax."""
        return self.forward(self.new_cache(), prefix, 0, last=1)[0]


def load_pretrained(name: str, *, device: str = "cpu", dtype: str = "bfloat16",
                    trust_remote_code: bool = False) -> HFCausalLM:
    """Load ``name`` safely: safetensors weights only; remote code only if asked explicitly.

    A missing directory is a ``PathError``; a checkpoint that does not load (malformed or
    truncated ``config.json`` or safetensors, weights of the wrong shape) or that lacks weights
    (``transformers`` would initialise them at random) is a ``FileFormatError``.
    """
    from transformers import AutoModelForCausalLM

    dtype_kwargs = dtype_argument(dtype)
    with model_loading(name):
        model, info = AutoModelForCausalLM.from_pretrained(
            name, use_safetensors=True, trust_remote_code=trust_remote_code, output_loading_info=True,
            **dtype_kwargs)
    if info.get("missing_keys"):
        raise FileFormatError(f"model {name} lacks weights {sorted(info['missing_keys'])[:5]}; "
                              "refusing to initialise them at random")
    return HFCausalLM(model.to(device), device=device)


def load_config(name: str, *, trust_remote_code: bool = False) -> object:
    """``AutoConfig`` of ``name`` with the typed errors of :func:`load_pretrained`."""
    from transformers import AutoConfig

    with model_loading(name):
        return AutoConfig.from_pretrained(name, trust_remote_code=trust_remote_code)


@contextlib.contextmanager
def model_loading(name: str) -> Iterator[None]:
    """Turn what ``transformers`` and ``safetensors`` raise on a bad checkpoint into typed errors."""
    from safetensors import SafetensorError

    if name.startswith(("/", ".", "~")) and not os.path.exists(os.path.expanduser(name)):  # a path, not a hub id
        raise PathError(f"model directory {name} does not exist")
    try:
        yield
    except (OSError, ValueError, KeyError, TypeError, RuntimeError, SafetensorError) as exc:
        message = " ".join(str(exc).split())[:300]
        raise FileFormatError(f"cannot load model {name}: {type(exc).__name__}: {message}") from None


def dtype_argument(dtype: str) -> dict[str, torch.dtype]:
    """``from_pretrained``'s dtype keyword for the installed transformers (``dtype`` from 5.0,
    ``torch_dtype`` before), with the torch dtype named ``dtype``; unknown names are a ConfigError."""
    import transformers

    torch_dtype = getattr(torch, dtype, None)
    if not isinstance(torch_dtype, torch.dtype):
        raise ConfigError(f"unknown dtype {dtype!r} (e.g. float32, float16, bfloat16, float64)")
    major = int(transformers.__version__.split(".")[0])
    return {"dtype" if major >= 5 else "torch_dtype": torch_dtype}
