"""``python -m gpu_runtime.hf_bench``: non-SI, SI and DSI with real Hugging Face models.

For GPU machines (the CUDA path is not exercised in CI; CPU works for tiny models):

    python -m gpu_runtime.hf_bench --target lmsys/vicuna-7b-v1.3 --drafter double7/vicuna-68m \
        --target-devices cuda:0,cuda:1,cuda:2 --drafter-device cuda:3 -N 6 -k 5 \
        --max-new-tokens 64 --prompt "Write a haiku about GPUs." --runs 5 --out results.json

Target server i runs on ``target-devices[i % len]`` with its own CUDA stream (several
servers may share a GPU); one target replica is loaded per distinct device. No latency
floors: forwards take their real time. Loading is safe: configs are compared first (a
drafter whose vocabulary width differs is refused before any weights load), weights come
from safetensors only, and remote code runs only with ``--trust-remote-code``. Prints (or
writes with ``--out``) one JSON object: per algorithm the median wall latency over runs in
seconds, tokens, counters; speedups; the configuration.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Sequence

from gpu_runtime.devices import DeviceBinding
from gpu_runtime.engine import RuntimeEngine
from gpu_runtime.hf import HFCausalLM, dtype_argument, load_config, load_pretrained, model_loading
from reference.cli import OneLineErrorParser
from reference.cli_args import (
    MAX_COUNT,
    MAX_LOOKAHEAD,
    MAX_RUNTIME_SERVERS,
    MAX_TOKENS,
    add_lookahead,
    add_max_new_tokens,
    add_num_target_servers,
    integer,
)
from reference.errors import ConfigError, DSIError, FileFormatError, VocabularyMismatchError
from reference.files import atomic_write_text, check_output_file
from reference.generate import ALGORITHMS
from reference.models import parse_token_ids


def check_configs(target: str, drafter: str, *, trust_remote_code: bool) -> int:
    """Compare the vocabulary widths from the configs alone; refuse a mismatch before loading."""
    widths = [getattr(load_config(name, trust_remote_code=trust_remote_code), "vocab_size", None)
              for name in (target, drafter)]
    if widths[0] != widths[1]:
        raise VocabularyMismatchError(f"target {target} has vocab_size={widths[0]} but drafter "
                                      f"{drafter} has vocab_size={widths[1]}")
    if not isinstance(widths[0], int) or widths[0] < 1:
        raise FileFormatError(f"the config of {target} has no positive integer vocab_size: {widths[0]!r}")
    return int(widths[0])


def parser() -> argparse.ArgumentParser:
    p = OneLineErrorParser(prog="python -m gpu_runtime.hf_bench", description=__doc__.split("\n")[0])
    p.add_argument("--target", required=True, help="Hugging Face name or path of the target")
    p.add_argument("--drafter", required=True, help="Hugging Face name or path of the drafter")
    p.add_argument("--target-devices", default="cuda:0", help="comma-separated, e.g. cuda:0,cuda:1")
    p.add_argument("--drafter-device", default="cuda:0")
    p.add_argument("--dtype", default="bfloat16")
    add_num_target_servers(p, type=integer(MAX_RUNTIME_SERVERS, minimum=1), default=None,
                           help="target servers N (default: one per device)")
    add_lookahead(p, type=integer(MAX_LOOKAHEAD, minimum=1), default=5, help="lookahead k (default 5)")
    add_max_new_tokens(p, type=integer(MAX_TOKENS, minimum=1), default=64, help="new tokens S (default 64)")
    p.add_argument("--prompt", default="The quick brown fox")
    p.add_argument("--prompt-ids", default=None, help="comma-separated token ids (skips the tokenizer)")
    p.add_argument("--mode", choices=("greedy", "sample"), default="greedy")
    p.add_argument("--seed", type=integer(2**64 - 1, minimum=0), default=0)
    p.add_argument("--runs", type=integer(MAX_COUNT, minimum=1), default=5)
    p.add_argument("--algorithms", default="nonsi,si,dsi")
    p.add_argument("--no-eos", action="store_true", help="do not stop at the target's EOS")
    p.add_argument("--trust-remote-code", action="store_true", help="allow model repositories' code")
    p.add_argument("--out", default=None, help="write the JSON here (atomically) instead of stdout")
    return p


def _check_arguments(args: argparse.Namespace) -> tuple[tuple[str, ...], list[str], list[int] | None]:
    """Everything that can be refused before a model loads: (devices, algorithms, prompt ids)."""
    algorithms = [a.strip() for a in args.algorithms.split(",") if a.strip()]
    unknown = [a for a in algorithms if a not in ALGORITHMS]
    if not algorithms or unknown:
        raise ConfigError(f"--algorithms must list some of {', '.join(ALGORITHMS)}, got {args.algorithms!r}")
    devices = tuple(d.strip() for d in args.target_devices.split(",") if d.strip())
    if not devices:
        raise ConfigError(f"--target-devices must name at least one device, got {args.target_devices!r}")
    for device in (*devices, args.drafter_device):
        DeviceBinding(device)  # "cpu" or an available "cuda[:i]"
    dtype_argument(args.dtype)
    prompt = parse_token_ids(args.prompt_ids, flag="--prompt-ids") if args.prompt_ids is not None else None
    if args.out is not None:
        check_output_file(args.out, what="--out file")
    return devices, algorithms, prompt


def run(args: argparse.Namespace) -> dict:
    devices, algorithms, prompt = _check_arguments(args)
    check_configs(args.target, args.drafter, trust_remote_code=args.trust_remote_code)
    replicas = {d: load_pretrained(args.target, device=d, dtype=args.dtype,
                                   trust_remote_code=args.trust_remote_code) for d in dict.fromkeys(devices)}
    drafter: HFCausalLM = load_pretrained(args.drafter, device=args.drafter_device, dtype=args.dtype,
                                          trust_remote_code=args.trust_remote_code)
    target = replicas[devices[0]]
    if prompt is None:
        from transformers import AutoTokenizer

        with model_loading(args.target):
            tokenizer = AutoTokenizer.from_pretrained(args.target, trust_remote_code=args.trust_remote_code)
        prompt = tokenizer(args.prompt)["input_ids"]
    eos = target.eos_token_id
    stop = () if args.no_eos or eos is None else ((eos,) if isinstance(eos, int) else tuple(eos))
    engine = RuntimeEngine(target_devices=devices, drafter_device=args.drafter_device,
                           target_replicas=tuple(replicas[d] for d in devices), forward_timeout_s=600.0)
    servers = args.num_target_servers or len(devices)
    results: dict = {}
    for alg in algorithms:
        latencies, last = [], None
        for _ in range(args.runs):
            last = engine.generate(target, drafter, prompt, args.max_new_tokens, algorithm=alg,
                                   lookahead=args.lookahead, num_target_servers=servers if alg == "dsi" else None,
                                   mode=args.mode, seed=args.seed, stop_tokens=stop)
            latencies.append(last.latency)
        assert last is not None
        results[alg] = {"latency_s": statistics.median(latencies), "runs_s": latencies,
                        "tokens": list(last.tokens), "counters": vars(last.counters)}
    speedups = {}
    if "si" in results and "dsi" in results:
        speedups["dsi_over_si"] = results["si"]["latency_s"] / results["dsi"]["latency_s"]
    if "nonsi" in results and "dsi" in results:
        speedups["dsi_over_nonsi"] = results["nonsi"]["latency_s"] / results["dsi"]["latency_s"]
    return {"config": vars(args), "results": results, "speedup": speedups}


def main(argv: Sequence[str] | None = None) -> int:
    """Exit 0 on success; 2 and one line on stderr for any refused input (nothing written)."""
    args = parser().parse_args(argv)
    try:
        out = json.dumps(run(args))
        if args.out is not None:
            atomic_write_text(args.out, out)  # complete or not at all
    except DSIError as exc:
        sys.stderr.write(f"gpu_runtime.hf_bench: error: {type(exc).__name__}: {' '.join(str(exc).split())}\n")
        return 2
    if args.out is None:
        print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
