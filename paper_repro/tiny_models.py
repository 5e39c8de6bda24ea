"""Tiny random-init Hugging Face models for tests and the table pipeline's smoke run (no downloads).

* :func:`char_tokenizer` — a character-level ``PreTrainedTokenizerFast`` (printable ASCII,
  ``<unk>``, ``<eos>``) built with the ``tokenizers`` library;
* :func:`tiny_pair` — a GPT-2-shaped target (``target_layers`` blocks) and an *early-exit*
  drafter: the target's embeddings, first ``drafter_layers`` blocks, final norm and head, so
  the pair agrees often but not always (random weights, ``initializer_range`` sets how often);
* :func:`save_tiny_pair` — writes both with ``save_pretrained`` so the real loading code
  (:func:`paper_repro.hf_measure.load_causal_lm`) can be exercised on them.

Their numbers (latencies, â) describe these toys, never the paper's models.
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any


def char_tokenizer() -> Any:
    """A character-level fast tokenizer: one token per printable ASCII character."""
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    vocab = {"<unk>": 0, "<eos>": 1}
    for ch in string.printable:
        vocab.setdefault(ch, len(vocab))
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    return PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>", eos_token="<eos>",
                                   pad_token="<eos>")


def tiny_pair(*, seed: int = 0, target_layers: int = 4, drafter_layers: int = 1, width: int = 64,
              initializer_range: float = 0.1) -> tuple[Any, Any, Any]:
    """(target, drafter, tokenizer): random-init GPT-2 target and its early-exit drafter."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    tokenizer = char_tokenizer()
    vocab_size = len(tokenizer.get_vocab())

    def config(layers: int) -> Any:
        return GPT2Config(vocab_size=vocab_size, n_positions=512, n_embd=width, n_layer=layers,
                          n_head=2, initializer_range=initializer_range, bos_token_id=1,
                          eos_token_id=1, pad_token_id=1)

    torch.manual_seed(seed)
    target = GPT2LMHeadModel(config(target_layers)).eval()
    drafter = GPT2LMHeadModel(config(drafter_layers)).eval()
    own = drafter.state_dict()
    drafter.load_state_dict({name: value for name, value in target.state_dict().items() if name in own})
    return target, drafter, tokenizer


def save_tiny_pair(directory: str | Path, **kwargs: Any) -> tuple[Path, Path]:
    """Save a :func:`tiny_pair` as two model directories (target, drafter) with the tokenizer."""
    directory = Path(directory)
    target, drafter, tokenizer = tiny_pair(**kwargs)
    paths = directory / "target", directory / "drafter"
    for model, path in zip((target, drafter), paths, strict=True):
        model.save_pretrained(path)
        tokenizer.save_pretrained(path)
    return paths
