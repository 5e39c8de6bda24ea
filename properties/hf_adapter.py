"""External engine: Hugging Face transformers' assisted generation (SPEC §7, §10).

``model.generate(input_ids, assistant_model=drafter, do_sample=...)`` is transformers' SI
implementation (speculative sampling, Leviathan et al. Algorithm 1, when sampling; token
matching when greedy). Nobody in this project wrote it, so running the suite against it tests
the suite as much as the library.

The engine is *not canonical* (its randomness is torch's global generator, seeded per request
with ``torch.manual_seed(seed)``), has no virtual time and no uniform injection, and runs only
transformers models (``any_model`` False: the suite draws from :meth:`HFAssistedEngine.model_pairs`):
the distribution, greedy, stop-token and request-isolation properties apply. ``algorithm="si"``
is assisted generation with ``num_assistant_tokens = lookahead`` (constant schedule);
``algorithm="plain"`` is the target's own ``generate``. Stop tokens are passed as
``eos_token_id`` (generation ends after the first one); without them exactly S tokens are
generated (``min_new_tokens``). ``Result.times`` holds the wall-clock seconds of the whole
call for every token.

``dsi check --engine properties.hf_adapter:HFAssistedEngine`` runs the applicable suite
(docs/adapters.md walks through this file as the worked example of an adapter).

Models are tiny and random-initialised from configs (no downloads): :func:`tiny_llama`,
:func:`tiny_gpt2`. Their distributions are exposed to the properties as
:class:`reference.toy_models.TorchModuleLM` (float64 softmax of the logits), which is also
how the engine finds the modules (``request.target.module``).
"""

from __future__ import annotations

import time

from properties.engines import Capabilities, EngineRequest
from reference.errors import ConfigError
from reference.results import Result
from reference.toy_models import TorchModuleLM


def _quiet() -> None:
    import transformers

    transformers.logging.set_verbosity_error()


#: Weight init scale of the tiny models: transformers' default 0.02 gives near-uniform
#: next-token laws (target/drafter TV ≈ 0.05), too flat to test anything; 0.2 gives peaked,
#: clearly different laws (TV ≈ 0.5).
INIT_RANGE = 0.2


def tiny_llama(seed: int, *, layers: int = 2, vocab_size: int = 8, hidden: int = 16,
               init_range: float = INIT_RANGE) -> TorchModuleLM:
    """A random-init LlamaForCausalLM (torch.manual_seed(seed)), wrapped as a reference model."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=vocab_size, hidden_size=hidden, intermediate_size=2 * hidden,
                         num_hidden_layers=layers, num_attention_heads=2, num_key_value_heads=2,
                         max_position_embeddings=64, bos_token_id=None, eos_token_id=None,
                         pad_token_id=0, initializer_range=init_range)
    return TorchModuleLM(LlamaForCausalLM(config).eval(), vocab_size)


def tiny_gpt2(seed: int, *, layers: int = 2, vocab_size: int = 8, hidden: int = 16,
              init_range: float = INIT_RANGE) -> TorchModuleLM:
    """A random-init GPT2LMHeadModel (torch.manual_seed(seed)), wrapped as a reference model."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(seed)
    config = GPT2Config(vocab_size=vocab_size, n_embd=hidden, n_layer=layers, n_head=2, n_positions=64,
                        bos_token_id=None, eos_token_id=None, pad_token_id=0,
                        initializer_range=init_range)
    return TorchModuleLM(GPT2LMHeadModel(config).eval(), vocab_size)


class HFAssistedEngine:
    """transformers' ``generate`` (with ``assistant_model`` for SI) behind the engine protocol."""

    name = "hf-assisted"
    capabilities = Capabilities(canonical=False, virtual_time=False, wall_time=True,
                                uniform_injection=False, modes=frozenset({"sample", "greedy"}),
                                algorithms=frozenset({"si", "plain"}), any_model=False)

    def __init__(self, **generate_kwargs: object) -> None:
        """``generate_kwargs`` are passed to every ``generate`` call (e.g. a lossy option)."""
        _quiet()
        self.generate_kwargs = dict(generate_kwargs)
        self._pairs: list[tuple[TorchModuleLM, TorchModuleLM]] = []

    def model_pairs(self) -> list[tuple[TorchModuleLM, TorchModuleLM]]:
        """The (target, drafter) pairs the suite may draw (built once): a 2-layer Llama with a
        1-layer Llama drafter (V = 8), the same with GPT-2 (V = 8), and Llama with V = 4."""
        if not self._pairs:
            self._pairs = [(tiny_llama(0, layers=2), tiny_llama(1, layers=1)),
                           (tiny_gpt2(2, layers=2), tiny_gpt2(3, layers=1)),
                           (tiny_llama(4, layers=2, vocab_size=4), tiny_llama(5, layers=1, vocab_size=4))]
        return self._pairs

    def generate(self, request: EngineRequest) -> Result:
        """Run ``generate``: up to the first stop token, else exactly ``max_new_tokens`` tokens."""
        import torch

        if request.algorithm not in self.capabilities.algorithms:
            raise ConfigError(f"{self.name} supports algorithms {sorted(self.capabilities.algorithms)}, "
                              f"got {request.algorithm!r}")
        if request.uniforms is not None:
            raise ConfigError(f"{self.name} cannot take injected uniforms")
        target = getattr(request.target, "module", None)
        if target is None:
            raise ConfigError("the HF engine needs TorchModuleLM-wrapped transformers models")
        kwargs: dict[str, object] = {"max_new_tokens": request.max_new_tokens,
                                     "do_sample": request.mode == "sample", "pad_token_id": 0}
        if request.stop_tokens:
            kwargs["eos_token_id"] = sorted(request.stop_tokens)
        else:
            kwargs["min_new_tokens"] = request.max_new_tokens
        if request.mode == "sample":
            kwargs.update(temperature=request.temperature, top_k=request.top_k or 0,
                          top_p=request.top_p if request.top_p is not None else 1.0)
        if request.algorithm == "si":
            kwargs.update(assistant_model=request.drafter.module,  # type: ignore[union-attr]
                          num_assistant_tokens=request.lookahead,
                          num_assistant_tokens_schedule="constant")
        kwargs.update(self.generate_kwargs)
        ids = torch.tensor([list(request.prompt)], dtype=torch.long)
        torch.manual_seed(request.seed % 2**63)
        start = time.perf_counter()
        # An explicit mask: generate() would otherwise infer one from pad_token_id and
        # silently mask prompt tokens equal to it (id 0 here).
        mask = torch.ones_like(ids)
        with torch.inference_mode():
            out = target.generate(ids, attention_mask=mask, **kwargs)
        seconds = time.perf_counter() - start
        tokens = tuple(int(t) for t in out[0, len(request.prompt):].tolist())
        return Result(f"hf-{request.algorithm}", tokens, tuple(seconds for _ in tokens))
