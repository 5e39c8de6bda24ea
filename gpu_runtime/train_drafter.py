"""Training the drafter of :mod:`gpu_runtime.trained_drafter` by distillation, on offline text.

``python -m gpu_runtime.train_drafter [--out PATH] [--max-tokens N] [--epochs E]`` retrains the
shipped weights deterministically (fixed seed, data order and thread count; a few minutes on
a quiet 2-core CPU; about 15 minutes on the shared machine it was first run on).

Data (all offline): the HumanEval *training* problems' prompt + canonical solution
(:mod:`gpu_runtime.humaneval`; the held-out problems are never read here) and the sources of a
fixed list of standard-library modules (:data:`STDLIB_MODULES`), tokenized and cut into chunks
of ``chunk_tokens`` tokens, up to ``max_tokens`` tokens in all.

Teacher: for each chunk the target computes, once, the hidden state after its first L layers
(the drafter's input) and its next-token distribution p at every position, of which the
``teacher_top`` most probable tokens are kept (renormalised over V' ∩ top).

Student: ``q = softmax(head[V'] · rms(adapter(h_L)))``; loss = cross-entropy of q against the
kept teacher mass, ``−Σ_{x ∈ top ∩ V'} p(x) log q(x)`` averaged over positions (forward KL up
to a constant). Only the adapter layer is trained (AdamW, cosine learning rate, gradient norm
clipped at 1); the target's layers, final norm and head stay frozen and shared.

V' (``subset_size`` ids): the training tokens ranked by frequency (ties: lower id first),
then the lowest ids not yet in, until the size is reached.

Held-out check: after training, greedy agreement (argmax q = argmax p) and Σ min(p, q) on the
held-out problems' prompt + solution under teacher forcing, for the trained drafter and for
early exit at L + 1 (what the adapter started as).
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F  # noqa: N812  (the PyTorch convention)

from gpu_runtime import humaneval, smollm2
from gpu_runtime.gguf_cache import file_sha256, smollm2_gguf
from gpu_runtime.llama import LlamaStack
from gpu_runtime.trained_drafter import DEFAULT_WEIGHTS, adapter_init, build, save_weights
from reference.errors import ConfigError, check_count

#: Standard-library modules whose sources are training text (read in this order).
STDLIB_MODULES = ("textwrap", "string", "heapq", "bisect", "fractions", "statistics", "functools",
                  "difflib", "calendar", "copy", "random", "csv", "shlex", "glob", "fnmatch",
                  "colorsys", "graphlib", "operator", "reprlib", "contextlib")


@dataclass(frozen=True)
class TrainConfig:
    exit_layer: int = 4  # L: the adapter reads the hidden state after target layers 0..L-1
    subset_size: int = 8192  # |V'|: token ids the drafter's head covers
    chunk_tokens: int = 256  # tokens per training sequence
    max_tokens: int = 20_000  # training tokens in all (HumanEval train first, then stdlib)
    epochs: int = 4  # passes over the chunks
    learning_rate: float = 1e-3  # AdamW peak, cosine decay to 0 after 5% warm-up
    teacher_top: int = 32  # teacher tokens kept per position
    held_out_problems: int = 41  # held-out HumanEval problems in the report (41: all)
    seed: int = 0  # parameter init is a copy; the seed orders the chunks
    threads: int = 1  # torch intra-op threads (fixed: results depend on it in the last bits)

    def __post_init__(self) -> None:
        for name in ("exit_layer", "subset_size", "chunk_tokens", "max_tokens", "epochs", "teacher_top",
                     "threads", "held_out_problems"):
            check_count(getattr(self, name), name)
        if not self.learning_rate > 0:
            raise ConfigError(f"learning_rate must be > 0, got {self.learning_rate}")


def training_texts() -> list[str]:
    """HumanEval training problems (prompt + solution), then the standard-library sources."""
    texts = [p.prompt + p.solution for p in humaneval.select("train")]
    for name in STDLIB_MODULES:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin and spec.origin.endswith(".py"):
            texts.append(Path(spec.origin).read_text("utf-8"))
    return texts


def make_chunks(texts: list[str], chunk_tokens: int, max_tokens: int) -> list[tuple[int, ...]]:
    """Texts tokenized and cut into chunks of at most ``chunk_tokens`` (at least 8 tokens each)."""
    chunks: list[tuple[int, ...]] = []
    total = 0
    for text in texts:
        ids = smollm2.encode(text)
        for begin in range(0, len(ids), chunk_tokens):
            piece = ids[begin:begin + chunk_tokens][: max_tokens - total]
            if len(piece) >= 8:
                chunks.append(piece)
                total += len(piece)
            if total >= max_tokens:
                return chunks
    return chunks


def token_subset(chunks: list[tuple[int, ...]], size: int, vocab_size: int) -> torch.Tensor:
    """V': training tokens by frequency (ties: lower id), then the lowest other ids; sorted."""
    if size > vocab_size:
        raise ConfigError(f"subset_size {size} exceeds the vocabulary ({vocab_size})")
    counts = Counter(t for chunk in chunks for t in chunk)
    ranked = [t for t, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0]))][:size]
    chosen = set(ranked)
    filler = (t for t in range(vocab_size) if t not in chosen)
    while len(chosen) < size:
        chosen.add(next(filler))
    return torch.tensor(sorted(chosen), dtype=torch.int64)


@dataclass
class ChunkFeatures:
    hidden: torch.Tensor  # [T, D] after target layers 0..L-1
    top_ids: torch.Tensor  # [T, K] positions in V' of the teacher's kept tokens (-1: outside V')
    top_probs: torch.Tensor  # [T, K] teacher probabilities of those tokens
    target_argmax_in_subset: torch.Tensor  # [T] position in V' of argmax p (-1: outside V')


def teacher_features(stack: LlamaStack, chunk: tuple[int, ...], exit_layer: int, top: int,
                     subset_index: torch.Tensor) -> ChunkFeatures:
    """The drafter's input and the target's kept distribution at every position of a chunk."""
    ids = torch.tensor(chunk, dtype=torch.long)  # [T]
    with torch.inference_mode():
        h_exit = stack.hidden(ids, None, 0, upto=exit_layer)  # [T, D]
        h_final = stack.hidden(ids, None, 0, first=exit_layer, from_hidden=h_exit)  # [T, D]
        probs = torch.softmax(stack.logits(h_final), dim=-1)  # [T, V]
        top_probs, top_ids = probs.topk(top, dim=-1)  # [T, K]
        argmax = probs.argmax(dim=-1)  # [T]
    return ChunkFeatures(h_exit.clone(), subset_index[top_ids].clone(), top_probs.clone(),
                         subset_index[argmax].clone())


def distillation_loss(logits: torch.Tensor, features: ChunkFeatures) -> torch.Tensor:
    """−Σ_{kept x in V'} p(x) log q(x), averaged over positions; logits [T, V']."""
    log_q = F.log_softmax(logits, dim=-1)  # [T, V']
    inside = features.top_ids >= 0
    gathered = log_q.gather(1, features.top_ids.clamp(min=0))  # [T, K]
    return -(features.top_probs * gathered * inside).sum(dim=1).mean()


@dataclass
class HeldOutFeatures:
    hidden: torch.Tensor  # [T, D] after target layers 0..L-1
    final: torch.Tensor  # [T, D] after every target layer (before the final norm)


def held_out_features(stack: LlamaStack, ids: tuple[int, ...], exit_layer: int) -> HeldOutFeatures:
    """The hidden states a held-out text needs: at the exit layer and at the top."""
    tokens = torch.tensor(ids, dtype=torch.long)
    with torch.inference_mode():
        h_exit = stack.hidden(tokens, None, 0, upto=exit_layer)
        h_final = stack.hidden(tokens, None, 0, first=exit_layer, from_hidden=h_exit)
    return HeldOutFeatures(h_exit.clone(), h_final.clone())


def held_out_report(stack: LlamaStack, drafter: LlamaStack, subset: torch.Tensor, exit_layer: int,
                    texts: list[HeldOutFeatures]) -> dict[str, float]:
    """Greedy agreement (argmax q = argmax p) and mean Σ min(p, q) under teacher forcing on
    held-out text: the trained drafter, and early exit at L + 1 (what the adapter started as)."""
    baseline = stack.truncated(exit_layer + 1)
    totals = {"trained": [0, 0.0], f"early-exit:{exit_layer + 1}": [0, 0.0]}
    positions = 0
    with torch.inference_mode():
        for f in texts:
            p = torch.softmax(stack.logits(f.final).double(), dim=-1)  # [T, V]
            top = p.argmax(dim=-1)
            q_trained = torch.zeros_like(p)
            adapted = drafter.hidden(torch.empty(0, dtype=torch.long), None, 0, first=exit_layer,
                                     from_hidden=f.hidden)
            q_trained[:, subset] = torch.softmax(drafter.logits(adapted).double(), dim=-1)
            exited = baseline.hidden(torch.empty(0, dtype=torch.long), None, 0, first=exit_layer,
                                     from_hidden=f.hidden)
            q_exit = torch.softmax(baseline.logits(exited).double(), dim=-1)
            for name, q in zip(totals, (q_trained, q_exit), strict=True):
                totals[name][0] += int((q.argmax(dim=-1) == top).sum())
                totals[name][1] += float(torch.minimum(p, q).sum())
            positions += int(p.shape[0])
    out = {}
    for name, (agree, mass) in totals.items():
        out[f"{name} greedy agreement"] = agree / positions
        out[f"{name} mean sum min(p, q)"] = mass / positions
    out["held-out positions"] = float(positions)
    return out


def train(config: TrainConfig = TrainConfig(), *, log=print) -> tuple[dict, torch.Tensor, dict]:
    """Train the adapter; returns (adapter weights, V', summary)."""
    torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    started = time.perf_counter()
    stack = smollm2.load_stack()
    chunks = make_chunks(training_texts(), config.chunk_tokens, config.max_tokens)
    subset = token_subset(chunks, config.subset_size, stack.vocab_size)
    subset_index = torch.full((stack.vocab_size,), -1, dtype=torch.long)
    subset_index[subset] = torch.arange(subset.shape[0])
    log(f"{len(chunks)} chunks, {sum(map(len, chunks))} tokens; V' = {subset.shape[0]} ids")
    features = [teacher_features(stack, c, config.exit_layer, config.teacher_top, subset_index) for c in chunks]
    teacher_s = time.perf_counter() - started
    log(f"teacher features in {teacher_s:.0f} s")
    adapter = {k: v.requires_grad_(True) for k, v in adapter_init(stack, config.exit_layer).items()}
    drafter = build(stack, adapter, config.exit_layer, subset)
    block = drafter.blocks[-1]
    optimizer = torch.optim.AdamW(list(adapter.values()), lr=config.learning_rate, weight_decay=0.0)
    total_steps = config.epochs * len(features)
    warmup = max(1, total_steps // 20)
    order_rng = np.random.default_rng(config.seed)
    step = 0
    for epoch in range(config.epochs):
        losses = []
        for index in order_rng.permutation(len(features)):
            f = features[int(index)]
            lr = config.learning_rate * min((step + 1) / warmup,
                                            0.5 * (1 + math.cos(math.pi * step / total_steps)))
            for group in optimizer.param_groups:
                group["lr"] = lr
            hidden = drafter.hidden(torch.empty(0, dtype=torch.long), None, 0, first=len(drafter.blocks) - 1,
                                    from_hidden=f.hidden)  # [T, D] through the adapter only
            loss = distillation_loss(drafter.logits(hidden), f)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(block.parameters(), 1.0)
            optimizer.step()
            losses.append(float(loss.detach()))
            step += 1
        log(f"epoch {epoch + 1}/{config.epochs}: mean loss {np.mean(losses):.4f} "
            f"({time.perf_counter() - started:.0f} s)")
    train_s = time.perf_counter() - started
    weights = {k: v.detach() for k, v in adapter.items()}
    held_out = [held_out_features(stack, smollm2.encode(p.prompt + p.solution), config.exit_layer)
                for p in humaneval.select("held-out")[: config.held_out_problems]]
    report = held_out_report(stack, build(stack, weights, config.exit_layer, subset), subset,
                             config.exit_layer, held_out)
    summary = {"config": asdict(config), "chunks": len(chunks), "tokens": sum(map(len, chunks)),
               "teacher_seconds": round(teacher_s, 1), "training_seconds": round(train_s, 1),
               "held_out": report, "torch": torch.__version__}
    return weights, subset, summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gpu_runtime.train_drafter", description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(DEFAULT_WEIGHTS), help="weights file (default: the shipped one)")
    parser.add_argument("--max-tokens", type=int, default=TrainConfig.max_tokens)
    parser.add_argument("--epochs", type=int, default=TrainConfig.epochs)
    parser.add_argument("--exit-layer", type=int, default=TrainConfig.exit_layer)
    parser.add_argument("--threads", type=int, default=TrainConfig.threads)
    parser.add_argument("--held-out-problems", type=int, default=TrainConfig.held_out_problems)
    args = parser.parse_args(argv)
    config = TrainConfig(max_tokens=args.max_tokens, epochs=args.epochs, exit_layer=args.exit_layer,
                         threads=args.threads, held_out_problems=args.held_out_problems)
    weights, subset, summary = train(config, log=lambda m: print(m, file=sys.stderr))
    save_weights(args.out, weights, subset, config.exit_layer, base_sha256=file_sha256(smollm2_gguf()),
                 summary=summary)
    for key, value in summary["held_out"].items():
        print(f"{key}: {value:.4f}")
    print(f"training {summary['training_seconds']} s; wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
