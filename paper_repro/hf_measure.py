"""Measuring a target/drafter pair with Hugging Face models: TTFT, TPOT, agreement traces (SPEC §5, §10).

Protocol of the paper's table (§10 pins the details):

* prompts: 50 random examples per dataset (``shuffle(seed=42)``), formatted per dataset;
* greedy decoding, 20 new tokens (``min_new_tokens = max_new_tokens``, so EOS cannot stop early);
* TTFT = one forward on the prompt; TPOT = (generate time − TTFT) / (new tokens − 1);
  both timed with a device synchronisation at each boundary, after one warm-up generation;
  reported as the mean over prompts, in milliseconds;
* agreement trace of a prompt: the target's greedy continuation x, then one teacher-forced
  drafter forward on prompt + x; ``agree[i] = argmax q(·|x_<i) == x_i``; the acceptance rate
  â is estimated from the traces by :func:`paper_repro.acceptance.acceptance_rate`.

Loading is safe by default: ``trust_remote_code=False``; weights as the hub ships them
(safetensors where available). A drafter whose tokenizer vocabulary differs from the target's
is refused before any timing. Prompts longer than the smaller model's context (minus the new
tokens) keep their last tokens.

Everything here needs ``torch`` and ``transformers``; ``datasets`` only for the real datasets
(:func:`load_prompts`); :func:`builtin_prompts` needs nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from paper_repro.acceptance import acceptance_rate, format_trace
from paper_repro.measurements import DATA_DIR, TableRow
from reference.errors import ConfigError, DSIError, FileFormatError, PathError, VocabularyMismatchError


class MeasurementUnavailable(DSIError):
    """A measurement cannot run here (a missing package, model or dataset)."""


def _format_cnn(example: dict[str, Any]) -> str:
    return f"Summarize the article.\n{example['article'].strip()}\nSummary:\n"


def _format_alpaca(example: dict[str, Any]) -> str:
    text = f"### Instruction:\n{example['instruction'].strip()}\n\n"
    if str(example.get("input", "")).strip():
        text += f"### Input:\n{example['input'].strip()}\n\n"
    return text + "### Response:\n"


def _format_humaneval(example: dict[str, Any]) -> str:
    return example["prompt"]


def _format_mbpp(example: dict[str, Any]) -> str:
    return f"Write a Python function.\nTask: {example['text'].strip()}\nTest: {example['test_list'][0]}\n"


@dataclass(frozen=True)
class DatasetSpec:
    """Where a dataset lives on the hub and how an example becomes a prompt."""

    path: str
    config: str | None
    split: str
    format: Callable[[dict[str, Any]], str]


#: The table's datasets (keys are the ``dataset`` field of a table row).
DATASETS: dict[str, DatasetSpec] = {
    "cnn_dailymail": DatasetSpec("cnn_dailymail", "2.0.0", "test", _format_cnn),
    "danielkorat/alpaca": DatasetSpec("danielkorat/alpaca", None, "train", _format_alpaca),
    "openai/openai_humaneval": DatasetSpec("openai/openai_humaneval", None, "test", _format_humaneval),
    "mbpp": DatasetSpec("mbpp", None, "test", _format_mbpp),
}


def builtin_prompts(dataset: str) -> list[str]:
    """The small prompt set shipped in ``paper_repro/data/prompts_builtin.json``."""
    data = json.loads((DATA_DIR / "prompts_builtin.json").read_text("utf-8"))
    prompts = data["prompts"]
    if dataset not in prompts:
        raise ConfigError(f"no built-in prompts for dataset {dataset!r}; known: {sorted(prompts)}")
    return list(prompts[dataset])


def load_prompts(dataset: str, *, n: int = 50, seed: int = 42) -> list[str]:
    """``n`` random formatted prompts of a table dataset (Hugging Face ``datasets``)."""
    if dataset not in DATASETS:
        raise ConfigError(f"unknown dataset {dataset!r}; known: {sorted(DATASETS)}")
    try:
        import datasets
    except ImportError:
        raise MeasurementUnavailable(
            "the 'datasets' package is not installed; install it or pass --builtin-prompts") from None
    spec = DATASETS[dataset]
    try:
        data = datasets.load_dataset(spec.path, spec.config, split=spec.split)
    except Exception as exc:  # network, hub or cache errors of any kind
        raise MeasurementUnavailable(f"cannot load dataset {spec.path}: {exc}") from None
    data = data.shuffle(seed=seed).select(range(min(n, len(data))))
    return [spec.format(example) for example in data]


def load_causal_lm(model_id: str, *, revision: str | None = None, dtype: str = "bfloat16",
                   device: str = "cpu", trust_remote_code: bool = False) -> tuple[Any, Any]:
    """(model, tokenizer) via ``AutoModelForCausalLM`` / ``AutoTokenizer``, in eval mode on ``device``."""
    try:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from gpu_runtime.devices import DeviceBinding
        from gpu_runtime.hf import dtype_argument, model_loading
    except ImportError:
        raise MeasurementUnavailable("transformers is not installed") from None
    dtype_kwargs = dtype_argument(dtype)
    DeviceBinding(device)  # "cpu" or an available "cuda[:i]", before any download
    try:
        with model_loading(model_id):  # a checkpoint that does not load: a typed error
            tokenizer = AutoTokenizer.from_pretrained(model_id, revision=revision,
                                                      trust_remote_code=trust_remote_code)
            model = AutoModelForCausalLM.from_pretrained(model_id, revision=revision,
                                                         trust_remote_code=trust_remote_code,
                                                         **dtype_kwargs)
    except (FileFormatError, PathError) as exc:
        raise MeasurementUnavailable(f"cannot load model {model_id!r}: {exc}") from None
    model.to(device)
    model.eval()
    return model, tokenizer


def check_same_vocabulary(target_tokenizer: Any, drafter_tokenizer: Any) -> None:
    """Refuse a pair whose tokenizers map tokens to different ids."""
    if target_tokenizer.get_vocab() != drafter_tokenizer.get_vocab():
        raise VocabularyMismatchError(
            f"target and drafter tokenizers differ (vocab sizes {len(target_tokenizer.get_vocab())} "
            f"and {len(drafter_tokenizer.get_vocab())}); the drafter cannot draft for this target")


def _context_length(model: Any) -> int | None:
    config = model.config
    for name in ("max_position_embeddings", "n_positions"):
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    return None


def encode(tokenizer: Any, prompt: str, *, max_tokens: int | None, device: Any) -> Any:
    """Token ids (1, L) of a prompt, keeping the last ``max_tokens`` when it is longer."""
    ids = tokenizer(prompt, return_tensors="pt").input_ids
    if ids.shape[1] == 0:
        raise ConfigError("a prompt encoded to zero tokens")
    if max_tokens is not None and ids.shape[1] > max_tokens:
        ids = ids[:, -max_tokens:]
    return ids.to(device)


def _sync(device: Any) -> None:
    import torch

    if getattr(device, "type", str(device)) == "cuda":
        torch.cuda.synchronize(device)


def _generate(model: Any, input_ids: Any, new_tokens: int) -> Any:
    import torch

    pad = model.config.pad_token_id
    if pad is None:
        pad = model.config.eos_token_id if isinstance(model.config.eos_token_id, int) else 0
    with torch.inference_mode():
        return model.generate(input_ids, attention_mask=torch.ones_like(input_ids),
                              max_new_tokens=new_tokens, min_new_tokens=new_tokens,
                              do_sample=False, pad_token_id=pad)


def time_prompt(model: Any, input_ids: Any, new_tokens: int) -> tuple[float, float]:
    """(TTFT, generate time) in seconds for one prompt, synchronised at every boundary."""
    import torch

    device = input_ids.device
    _sync(device)
    start = time.perf_counter()
    with torch.inference_mode():
        model(input_ids)
    _sync(device)
    ttft = time.perf_counter() - start
    start = time.perf_counter()
    _generate(model, input_ids, new_tokens)
    _sync(device)
    return ttft, time.perf_counter() - start


def tpot_from_times(ttft_s: float, generate_s: float, new_tokens: int) -> float:
    """TPOT = (generate time − TTFT) / (new tokens − 1), floored at a tiny positive time.

    >>> round(tpot_from_times(0.5, 2.4, 20), 12)
    0.1
    """
    if new_tokens < 2:
        raise ConfigError(f"TPOT needs at least 2 new tokens, got {new_tokens}")
    return max((generate_s - ttft_s) / (new_tokens - 1), 1e-9)


@dataclass(frozen=True)
class LatencyMeasurement:
    """Mean TTFT and TPOT (ms) over prompts, with the per-prompt values."""

    ttft_ms: float
    tpot_ms: float
    ttft_ms_each: tuple[float, ...]
    tpot_ms_each: tuple[float, ...]


def measure_latency(model: Any, tokenizer: Any, prompts: Sequence[str], *, new_tokens: int = 20,
                    max_prompt_tokens: int | None = None, progress: bool = False) -> LatencyMeasurement:
    """TTFT and TPOT of one model on the prompts (after one untimed warm-up generation)."""
    if not prompts:
        raise ConfigError("measure_latency needs at least one prompt")
    device = next(model.parameters()).device
    ids_all = [encode(tokenizer, p, max_tokens=max_prompt_tokens, device=device) for p in prompts]
    _generate(model, ids_all[0], new_tokens)  # warm-up
    ttfts, tpots = [], []
    for ids in _maybe_tqdm(ids_all, progress, "latency"):
        ttft, total = time_prompt(model, ids, new_tokens)
        ttfts.append(ttft * 1e3)
        tpots.append(tpot_from_times(ttft, total, new_tokens) * 1e3)
    return LatencyMeasurement(sum(ttfts) / len(ttfts), sum(tpots) / len(tpots), tuple(ttfts), tuple(tpots))


def agreement_trace(target: Any, drafter: Any, input_ids: Any, new_tokens: int) -> tuple[bool, ...]:
    """Teacher-forced agreement of the drafter's argmax with the target's greedy tokens."""
    import torch

    prompt_length = input_ids.shape[1]
    out = _generate(target, input_ids, new_tokens)  # (1, L + n)
    generated = out[0, prompt_length:]
    with torch.inference_mode():
        logits = drafter(out[:, :-1].to(next(drafter.parameters()).device)).logits  # (1, L+n-1, V')
    drafts = logits[0, prompt_length - 1:].argmax(dim=-1).to(generated.device)  # predictions of x_L..
    return tuple(bool(x) for x in (drafts == generated).tolist())


def agreement_traces(target: Any, drafter: Any, tokenizer: Any, prompts: Sequence[str], *,
                     new_tokens: int = 20, max_prompt_tokens: int | None = None,
                     progress: bool = False) -> list[tuple[bool, ...]]:
    """One agreement trace per prompt (see :func:`agreement_trace`)."""
    device = next(target.parameters()).device
    return [agreement_trace(target, drafter, encode(tokenizer, p, max_tokens=max_prompt_tokens,
                                                    device=device), new_tokens)
            for p in _maybe_tqdm(prompts, progress, "agreement")]


def _maybe_tqdm(items: Sequence[Any], enabled: bool, desc: str) -> Sequence[Any]:
    if not enabled:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc=desc, leave=False)


def measure_pair(row: TableRow, target: Any, target_tokenizer: Any, drafter: Any,
                 drafter_tokenizer: Any, prompts: Sequence[str], *, new_tokens: int = 20,
                 source: str = "", progress: bool = False) -> TableRow:
    """Fill a table row with TTFT, TPOT, â and the agreement traces of a loaded pair."""
    check_same_vocabulary(target_tokenizer, drafter_tokenizer)
    limits = [n for n in (_context_length(target), _context_length(drafter)) if n is not None]
    max_prompt = min(limits) - new_tokens if limits else None
    if max_prompt is not None and max_prompt < 1:
        raise ConfigError(f"context length {min(limits)} leaves no room for {new_tokens} new tokens")
    target_latency = measure_latency(target, target_tokenizer, prompts, new_tokens=new_tokens,
                                     max_prompt_tokens=max_prompt, progress=progress)
    drafter_latency = measure_latency(drafter, drafter_tokenizer, prompts, new_tokens=new_tokens,
                                      max_prompt_tokens=max_prompt, progress=progress)
    traces = agreement_traces(target, drafter, target_tokenizer, prompts, new_tokens=new_tokens,
                              max_prompt_tokens=max_prompt, progress=progress)
    return row.with_measurements(
        target_ttft_ms=target_latency.ttft_ms, target_tpot_ms=target_latency.tpot_ms,
        drafter_ttft_ms=drafter_latency.ttft_ms, drafter_tpot_ms=drafter_latency.tpot_ms,
        acceptance_rate=acceptance_rate(traces),
        agreement_traces=tuple(format_trace(t) for t in traces),
        source=source or f"measured on {len(prompts)} prompts, {new_tokens} new tokens",
    )


def measure_row(row: TableRow, *, device: str = "cuda", dtype: str = "bfloat16", n_prompts: int = 50,
                seed: int = 42, new_tokens: int = 20, builtin: bool = False,
                progress: bool = True) -> TableRow:
    """Load the row's models and dataset from the hub and measure (needs the models; a GPU for real numbers)."""
    prompts = builtin_prompts(row.dataset) if builtin else load_prompts(row.dataset, n=n_prompts, seed=seed)
    target, target_tok = load_causal_lm(row.target, revision=row.target_revision, dtype=dtype, device=device)
    drafter, drafter_tok = load_causal_lm(row.drafter, dtype=dtype, device=device)
    return measure_pair(row, target, target_tok, drafter, drafter_tok, prompts, new_tokens=new_tokens,
                        source=f"{device}, {dtype}, {len(prompts)} prompts "
                               f"({'built-in' if builtin else f'shuffle seed {seed}'}), {new_tokens} new tokens",
                        progress=progress)
