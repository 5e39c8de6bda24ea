"""The runtime on the real model, for real: non-SI, SI and DSI beside Hugging Face's decoding.

``dsi repro real-run [--prompts 3] [--max-new-tokens 48] [--runs 3] [--save PATH]`` (committed as
``docs/measurements/humaneval-smollm2-run.json``; ``dsi repro all`` reads it, never reruns it).
On held-out HumanEval prompts, SmolLM2-135M as the target, one torch thread per server:

1. **k from ``dsi plan``** (:func:`reference.plan.plan`) on the table measurement
   (``docs/measurements/humaneval-smollm2.json``: latencies, cost by positions, held-out â):
   SI's best k, and DSI's best k at N target servers (warm start, non-preemptive: a real
   forward cannot be interrupted), S = ``tokens``;
2. **calibration and plain greedy decoding**: a timed greedy generation of the target with its
   KV cache (TTFT, TPOT; its tokens are *the* plain greedy tokens) and of each drafter;
3. **prediction**: the exact model (:mod:`reference.fast.timed`) with the calibrated latencies,
   the measured cost by positions, and this prompt's own greedy acceptance path (the drafter's
   argmax along the plain greedy tokens);
4. **runtime, greedy**: :class:`gpu_runtime.engine.RuntimeEngine` plain (no drafter), non-SI
   (drafter alongside), SI(k), DSI(k, N, warm start, non-preemptive); ``runs`` runs each,
   interleaved; wall time = the time of the last token; tokens must equal plain greedy;
5. **runtime, sampling** (temperature 1, seed ``seed``): non-SI, SI, DSI once each; tokens must
   equal the reference's DSI (:func:`reference.generate`) with the same models and seed;
6. **Hugging Face**: ``generate`` (plain) and assisted generation (prompt lookup, early exit at
   ``hf_early_exit``), ``runs`` runs each; tokens compared with plain greedy;
7. **concurrency**: a decode forward alone and while a second server decodes at the same time
   (:func:`concurrent_slowdown`): the prediction assumes independent servers, a CPU does not
   give them.

Times are seconds; "measured" is the median of the runs. On a shared machine the numbers carry
the load average seen before and after.
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from paper_repro.hf_baselines import hf_generate
from paper_repro.real_measure import generate_timed, latency_model, load_average
from reference.errors import ConfigError
from reference.fast.timed import dsi_time, nonsi_time, si_time
from reference.generate import generate
from reference.plan import PlanConfig, plan

#: The committed measurements (table protocol) and the committed run.
MEASUREMENTS_DIR = Path(__file__).resolve().parent.parent / "docs" / "measurements"
MEASUREMENT_FILE = MEASUREMENTS_DIR / "humaneval-smollm2.json"
RUN_FILE = MEASUREMENTS_DIR / "humaneval-smollm2-run.json"
ALGORITHMS = ("nonsi", "si", "dsi")


@dataclass(frozen=True)
class RunConfig:
    prompts: int = 3  # the first n held-out HumanEval problems
    tokens: int = 48  # new tokens S
    runs: int = 3  # median of this many runs per method
    num_target_servers: int = 2  # DSI's N (this machine has 2 cores)
    drafters: tuple[str, ...] = ("prompt-lookup", "trained")
    hf_early_exit: int = 24  # layers of HF's early-exit drafter
    seed: int = 0  # canonical seed of the sampling runs
    threads: int = 1  # torch intra-op threads (each server is one thread)
    forward_timeout_s: float = 300.0

    def __post_init__(self) -> None:
        for name in ("prompts", "tokens", "runs", "num_target_servers", "hf_early_exit", "threads"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.tokens < 2:
            raise ConfigError(f"tokens must be >= 2, got {self.tokens}")


def load_measurement(path: str | Path = MEASUREMENT_FILE) -> dict[str, Any]:
    """The table measurement JSON (``dsi repro table --measure humaneval-smollm2``)."""
    try:
        return json.loads(Path(path).read_text("utf-8"))
    except OSError:
        raise ConfigError(f"no measurement at {path}: run `dsi repro table --measure humaneval-smollm2 "
                          f"--save-measurements {path}` first") from None


def choose_lookahead(entry: dict[str, Any], config: RunConfig) -> dict[str, int]:
    """SI's best k and DSI's best k at N (``dsi plan`` on the drafter's measured entry)."""
    latency = latency_model(entry["latency_ms"])
    settings = PlanConfig(max_target_servers=config.num_target_servers, tokens=config.tokens, repeats=20,
                          screen_tokens=config.tokens, warm_start=True, preemptive=False)
    result = plan(latency, entry["acceptance"]["table_estimate"], settings,
                  server_counts=(config.num_target_servers,))
    return {"si": int(result.si.lookahead), "dsi": int(result.dsi.lookahead)}  # type: ignore[arg-type]


def concurrent_slowdown(target: Any, prompt: tuple[int, ...], *, forwards: int = 10) -> dict[str, float]:
    """Mean decode forward time alone and with a second server decoding at the same time.

    The latency model treats target servers as independent; on a CPU they share memory
    bandwidth (and cores), so a forward slows down while another runs. The ratio says how far.
    """
    import threading

    def decode(out: list[float]) -> None:
        cache = target.new_cache()
        target.forward(cache, prompt, 0, last=1)
        start = time.perf_counter()
        for _ in range(forwards):
            target.forward(cache, [int(prompt[-1])], cache.length, last=1)
        out.append((time.perf_counter() - start) / forwards)

    alone: list[float] = []
    decode(alone)
    together: list[float] = []
    threads = [threading.Thread(target=decode, args=(together,)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"alone_ms": 1e3 * alone[0], "two_servers_ms": 1e3 * float(np.mean(together)),
            "slowdown": float(np.mean(together)) / alone[0]}


def acceptance_path(drafter: Any, prompt: tuple[int, ...], tokens: tuple[int, ...]) -> list[bool]:
    """Greedy acceptance path: the drafter's argmax along the plain greedy tokens equals them."""
    q = drafter.forward(drafter.new_cache(), list(prompt) + list(tokens[:-1]), 0, last=len(tokens))
    return (q.argmax(axis=1) == np.array(tokens)).tolist()


def predicted_seconds(path: list[bool], target_times: tuple[float, float], drafter_times: tuple[float, float],
                      positions_cost: list[float], ks: dict[str, int], config: RunConfig) -> dict[str, float]:
    """Exact-model latencies (seconds) of plain, non-SI, SI(k), DSI(k, N) on this path."""
    latency = latency_model({"target_prefill": 1e3 * target_times[0], "target_decode": 1e3 * target_times[1],
                             "drafter_prefill": 1e3 * drafter_times[0],
                             "drafter_decode": min(1e3 * drafter_times[1], 1e3 * target_times[1]),
                             "target_positions_cost": positions_cost})
    return {"plain": nonsi_time(path, latency, with_drafter=False).latency / 1e3,
            "nonsi": nonsi_time(path, latency).latency / 1e3,
            "si": si_time(path, ks["si"], latency).latency / 1e3,
            "dsi": dsi_time(path, ks["dsi"], config.num_target_servers, latency, warm_start=True,
                            preemptive=False).latency / 1e3}


def _options(algorithm: str, ks: dict[str, int], config: RunConfig) -> dict[str, Any]:
    if algorithm == "si":
        return {"lookahead": ks["si"]}
    if algorithm == "dsi":
        return {"lookahead": ks["dsi"], "num_target_servers": config.num_target_servers, "warm_start": True,
                "preemptive": False}
    return {}


def run(config: RunConfig = RunConfig(), *, measurement: dict[str, Any] | None = None,
        log=lambda message: None) -> dict[str, Any]:
    """Everything of the module docstring; returns the JSON object."""
    import torch

    from gpu_runtime import humaneval, smollm2
    from gpu_runtime.engine import RuntimeEngine
    from paper_repro.hf_baselines import load_hf_model

    started = time.perf_counter()
    load_before = load_average()
    torch.set_num_threads(config.threads)
    measurement = measurement or load_measurement()
    for name in config.drafters:
        if name not in measurement["drafters"]:
            raise ConfigError(f"drafter {name!r} is not in the measurement (has {sorted(measurement['drafters'])})")
    ks = {name: choose_lookahead(measurement["drafters"][name], config) for name in config.drafters}
    positions_cost = measurement["positions_cost"]["fitted"]
    target = smollm2.load_target()
    drafters = {name: smollm2.load_drafter(name) for name in config.drafters}
    hf_model = load_hf_model()
    engine = RuntimeEngine(forward_timeout_s=config.forward_timeout_s)
    concurrency = concurrent_slowdown(target, smollm2.encode(humaneval.select("held-out", 1)[0].prompt))
    log(f"decode forward alone {concurrency['alone_ms']:.1f} ms, with a second server at once "
        f"{concurrency['two_servers_ms']:.1f} ms")
    out_prompts = []
    for problem in humaneval.select("held-out", config.prompts):
        prompt = smollm2.encode(problem.prompt)
        log(f"{problem.task_id}: {len(prompt)} prompt tokens")
        entry = _one_prompt(prompt, target, drafters, hf_model, engine, ks, positions_cost, config)
        entry["task"] = problem.task_id
        log("  " + ", ".join(f"{method} {row['measured_s']:.2f} s" for method, row in _methods(entry).items()))
        out_prompts.append(entry)
    return {"config": asdict(config), "lookahead": ks, "positions_cost": positions_cost, "concurrency": concurrency,
            "machine": {"load_average_before": load_before, "load_average_after": load_average(),
                        "seconds": round(time.perf_counter() - started, 1)},
            "prompts": out_prompts, "summary": summarize(out_prompts)}


def _one_prompt(prompt: tuple[int, ...], target: Any, drafters: dict[str, Any], hf_model: Any, engine: Any,
                ks: dict[str, dict[str, int]], positions_cost: list[float], config: RunConfig) -> dict[str, Any]:
    """Calibration, prediction, interleaved greedy runs, sampling checks and HF runs of one prompt."""
    plain, ttft, tpot = generate_timed(target, prompt, config.tokens)
    plain = tuple(plain)
    entry: dict[str, Any] = {"prompt_tokens": len(prompt), "target_ttft_s": ttft, "target_tpot_s": tpot,
                             "drafters": {}, "hf": {}}
    for name, drafter in drafters.items():
        _, d_ttft, d_tpot = generate_timed(drafter, prompt, config.tokens)
        path = acceptance_path(drafter, prompt, plain)
        predicted = predicted_seconds(path, (ttft, tpot), (d_ttft, d_tpot), positions_cost, ks[name], config)
        entry["plain"] = {"predicted_s": predicted.pop("plain"), "runs_s": [], "tokens_equal_plain": True}
        entry["drafters"][name] = {"lookahead": ks[name], "drafter_ttft_s": d_ttft, "drafter_tpot_s": d_tpot,
                                   "greedy_acceptance": float(np.mean(path)), "predicted_s": predicted,
                                   "runs_s": {alg: [] for alg in ALGORITHMS}, "greedy_tokens_equal_plain": True}
    for method in hf_methods(config):
        entry["hf"][method] = {"runs_s": [], "tokens_equal_plain": True}
    greedy = {"mode": "greedy", "seed": config.seed}
    for _ in range(config.runs):  # every method once per round: load drifts hit them alike
        result = engine.generate(target, None, prompt, config.tokens, algorithm="plain", **greedy)
        entry["plain"]["runs_s"].append(float(result.latency))
        entry["plain"]["tokens_equal_plain"] &= result.tokens == plain
        for name, drafter in drafters.items():
            row = entry["drafters"][name]
            for algorithm in ALGORITHMS:
                result = engine.generate(target, drafter, prompt, config.tokens, algorithm=algorithm, **greedy,
                                         **_options(algorithm, ks[name], config))
                row["runs_s"][algorithm].append(float(result.latency))
                row["greedy_tokens_equal_plain"] &= result.tokens == plain
        for method, row in entry["hf"].items():
            tokens, seconds = hf_generate(hf_model, prompt, config.tokens, method)
            row["runs_s"].append(seconds)
            row["tokens_equal_plain"] &= tokens == plain
    entry["plain"]["measured_s"] = statistics.median(entry["plain"]["runs_s"])
    for row in entry["hf"].values():
        row["measured_s"] = statistics.median(row["runs_s"])
    for name, drafter in drafters.items():
        row = entry["drafters"][name]
        row["measured_s"] = {alg: statistics.median(v) for alg, v in row["runs_s"].items()}
        dsi = {k: v for k, v in _options("dsi", ks[name], config).items() if k != "preemptive"}
        reference = generate(target, drafter, prompt, config.tokens, algorithm="dsi", mode="sample",
                             seed=config.seed, **dsi)
        row["sampling_tokens_equal_reference"] = {
            algorithm: engine.generate(target, drafter, prompt, config.tokens, algorithm=algorithm, mode="sample",
                                       seed=config.seed, **_options(algorithm, ks[name], config)).tokens
            == reference.tokens for algorithm in ALGORITHMS}
    return entry


def hf_methods(config: RunConfig) -> tuple[str, ...]:
    """Hugging Face's decodings run beside the runtime (:mod:`paper_repro.hf_baselines`)."""
    return ("hf-plain", "hf-prompt-lookup", f"hf-early-exit:{config.hf_early_exit}")


def _methods(entry: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every measured method of one prompt by display name (plain, alg (drafter), hf-...)."""
    out = {"plain": entry["plain"]}
    for name, row in entry["drafters"].items():
        for alg in ALGORITHMS:
            out[f"{alg} ({name})"] = {"measured_s": row["measured_s"][alg], "predicted_s": row["predicted_s"][alg]}
    out.update(entry["hf"])
    return out


def summarize(prompts: list[dict[str, Any]]) -> dict[str, Any]:
    """Totals over prompts (seconds) per method, and the token checks."""
    totals: dict[str, dict[str, float]] = {}
    for entry in prompts:
        for method, row in _methods(entry).items():
            total = totals.setdefault(method, {key: 0.0 for key in ("measured_s", "predicted_s") if key in row})
            for key in total:
                total[key] += row[key]
    drafter_rows = [d for e in prompts for d in e["drafters"].values()]
    checks = {
        "greedy_tokens_equal_plain": all(d["greedy_tokens_equal_plain"] for d in drafter_rows)
        and all(e["plain"]["tokens_equal_plain"] for e in prompts),
        "sampling_tokens_equal_reference": all(all(d["sampling_tokens_equal_reference"].values())
                                               for d in drafter_rows),
        "hf_tokens_equal_plain": {m: all(e["hf"][m]["tokens_equal_plain"] for e in prompts)
                                  for m in (prompts[0]["hf"] if prompts else {})},
    }
    return {"totals_s": totals, "checks": checks}


RUN_COMMAND = "dsi repro real-run --save docs/measurements/humaneval-smollm2-run.json"


def _concurrency_note(data: dict[str, Any]) -> str:
    concurrency = data.get("concurrency")
    if not concurrency:
        return ""
    return (f" A decode forward takes {concurrency['alone_ms']:.1f} ms alone and "
            f"{concurrency['two_servers_ms']:.1f} ms while a second server decodes "
            f"({concurrency['slowdown']:.2f}x): predictions assume independent servers.")


def run_section(data: dict[str, Any], *, step: str = "table") -> tuple[list[Any], list[str]]:
    """Claim rows and report lines of a committed real run (:func:`run`'s JSON)."""
    from paper_repro.report import ClaimRow

    summary, config, machine = data["summary"], data["config"], data["machine"]
    loaded = f"load average {machine.get('load_average_before')} → {machine.get('load_average_after')}"
    lines = ["", "#### The runtime on the real model (wall time, this CPU)", "",
             f"{len(data['prompts'])} held-out HumanEval prompts, S = {config['tokens']}, N = "
             f"{config['num_target_servers']} target servers, one torch thread per server, median of "
             f"{config['runs']} runs, summed over prompts; k from `dsi plan`: {data['lookahead']}; {loaded}. "
             f"Command: `{RUN_COMMAND}`." + _concurrency_note(data), "",
             "| method | measured (s) | predicted (s) |", "|---|---|---|"]
    for method, row in summary["totals_s"].items():
        predicted = f"{row['predicted_s']:.2f}" if "predicted_s" in row else "-"
        lines.append(f"| {method} | {row['measured_s']:.2f} | {predicted} |")
    checks = summary["checks"]
    lossless = checks["greedy_tokens_equal_plain"] and checks["sampling_tokens_equal_reference"]
    hf = ", ".join(f"{m}: {'equal' if ok else 'differs'}" for m, ok in checks["hf_tokens_equal_plain"].items())
    lines += ["", f"Tokens: runtime greedy == plain greedy: {checks['greedy_tokens_equal_plain']}; runtime "
                  f"sampling == reference (seed {config['seed']}): {checks['sampling_tokens_equal_reference']}; "
                  f"HF vs plain greedy: {hf}."]
    totals = summary["totals_s"]
    verdicts = []
    for name in config["drafters"]:
        dsi = totals[f"dsi ({name})"]["measured_s"]
        others = {alg: totals[key]["measured_s"] for alg, key in
                  (("plain", "plain"), ("non-SI", f"nonsi ({name})"), ("SI", f"si ({name})"))}
        verdicts.append(f"{name}: DSI " + ", ".join(f"{value / dsi:.2f}x vs {alg}" for alg, value in others.items()))
    claims = [
        ClaimRow(claim="DSI is lossless on a real model (runtime, 2 target servers)",
                 how=f"SmolLM2-135M, drafters {', '.join(config['drafters'])}: runtime non-SI/SI/DSI tokens vs "
                     "plain greedy decoding (greedy) and vs the reference with the same models (sampling)",
                 ours="identical" if lossless else "tokens differ", paper="lossless (Theorem 1)",
                 verdict="reproduced" if lossless else "not reproduced", step=step,
                 note=f"committed run; re-run with `{RUN_COMMAND}`"),
        ClaimRow(claim="DSI never slower than SI or non-SI, real compute on this CPU",
                 how=f"wall time, median of {config['runs']}, summed over {len(data['prompts'])} prompts, "
                     f"N = {config['num_target_servers']} (speedup > 1: DSI faster)",
                 ours="; ".join(verdicts), paper="never slower (simulated, GPU servers)", verdict="finding",
                 step=step, note=f"servers share 2 cores with the drafter; {loaded}"),
    ]
    return claims, lines
