"""``dsi generate`` and ``dsi bench``: the runtime's subcommands (SPEC §9).

* ``dsi generate --engine runtime|reference`` — one generation on a toy model pair
  (synthetic acceptance, tabular + mixture drafter, or tiny transformers) with latencies in
  ms (floors for the runtime, virtual time for the reference); prints tokens and latency.
  ``--backend distributed --num-target-servers N`` puts the target servers on N ranks of
  torch.distributed (spawned here; under torchrun, the job's ranks: docs/distributed.md).
* ``dsi bench`` — :func:`gpu_runtime.compare.run_benchmark`: non-SI, SI and DSI measured on
  the runtime with emulated latencies against the reference's predicted times.

``--json`` prints exactly one JSON object on stdout. Bad input raises a ``DSIError``
(the root parser turns it into exit status 2 and one line on stderr).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys

from reference.cli_args import (
    MAX_COUNT,
    MAX_LOOKAHEAD,
    MAX_RUNTIME_SERVERS,
    MAX_TOKENS,
    MAX_VOCAB,
    add_acceptance,
    add_lookahead,
    add_max_new_tokens,
    add_num_target_servers,
    integer,
    real,
)
from reference.config import GenerationConfig
from reference.errors import ConfigError
from reference.generate import ALGORITHMS, generate
from reference.latency import LatencyModel, to_fraction
from reference.models import parse_token_ids
from reference.toy_models import MixtureDrafter, SyntheticAcceptancePair, TabularLM

MODELS = ("synthetic", "tabular", "tiny")


def _add_latency_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target-ms", type=real, default=20.0, help="target decode latency (ms)")
    parser.add_argument("--drafter-ms", type=real, default=2.0, help="drafter decode latency (ms)")
    parser.add_argument("--target-prefill-ms", type=real, default=None, help="first target forward")
    parser.add_argument("--drafter-prefill-ms", type=real, default=None, help="first drafter forward")
    parser.add_argument("--warm-start", action="store_true",
                        help="DSI: every target server prefills the prompt at t = 0 (needs a finite -N)")


def _add_backend_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backend", choices=("threads", "distributed"), default="threads",
                        help="runtime servers: threads of this process, or torch.distributed ranks (SPEC §13): "
                             "spawned here over gloo, or the ranks of a torchrun job")
    parser.add_argument("--protocol", choices=("verify", "rows"), default="verify",
                        help="distributed: what a target rank sends back (docs/distributed.md)")
    parser.add_argument("--dist-backend", choices=("gloo", "nccl"), default="gloo",
                        help="distributed: process-group backend (nccl: one rank per GPU)")


def _distributed_engine(args: argparse.Namespace, servers: int | None, **fields: object) -> object:
    """The distributed engine of ``--backend distributed``: N target ranks (under torchrun,
    WORLD_SIZE − 1 of them, which must equal N if given)."""
    from gpu_runtime.distributed.engine import DistributedEngine
    from gpu_runtime.distributed.launch import launched, launched_target_ranks

    if launched():
        ranks = launched_target_ranks()
        if servers is not None and servers != ranks:
            raise ConfigError(f"--num-target-servers {servers} but the torchrun job has {ranks} server ranks "
                              "(WORLD_SIZE − 1): one target server per rank")
    elif servers is None:
        raise ConfigError("--backend distributed needs --num-target-servers N (one rank per target server)")
    else:
        ranks = servers
    return DistributedEngine(target_ranks=ranks, backend=args.dist_backend, protocol=args.protocol,
                             launched=launched(), **fields)  # type: ignore[arg-type]


def _serve_if_server_rank(args: argparse.Namespace) -> int | None:
    """Under torchrun every process runs the command: ranks other than 0 serve rank 0 instead."""
    if getattr(args, "backend", "threads") != "distributed":
        return None
    from gpu_runtime.distributed.launch import launched, serve_launched

    return serve_launched(args.dist_backend) if launched() else None


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``generate`` and ``bench``."""
    gen = subparsers.add_parser("generate", help="generate with the runtime or the reference")
    gen.add_argument("--engine", choices=("runtime", "reference"), default="runtime")
    gen.add_argument("--algorithm", choices=ALGORITHMS, default="dsi")
    gen.add_argument("--model", choices=MODELS, default="synthetic")
    gen.add_argument("--vocab", type=integer(MAX_VOCAB), default=64, help="vocabulary size V")
    add_acceptance(gen, type=real, default=0.8, help="synthetic: acceptance rate a; tabular: drafter overlap")
    gen.add_argument("--prompt", default="1,2,3", help="comma-separated token ids")
    add_max_new_tokens(gen, type=integer(MAX_TOKENS), default=50, help="new tokens S (default 50)")
    add_lookahead(gen, type=integer(MAX_LOOKAHEAD), default=5, help="lookahead k (default 5)")
    add_num_target_servers(gen, type=integer(MAX_RUNTIME_SERVERS), default=None,
                           help="target servers N (default: unlimited; distributed: one rank each)")
    gen.add_argument("--mode", choices=("sample", "greedy"), default="sample")
    gen.add_argument("--seed", type=integer(2**64), default=0)
    gen.add_argument("--temperature", type=real, default=1.0)
    gen.add_argument("--top-k", type=integer(MAX_VOCAB), default=None)
    gen.add_argument("--top-p", type=real, default=None)
    _add_latency_flags(gen)
    _add_backend_flags(gen)
    gen.add_argument("--json", action="store_true", help="print one JSON object")
    gen.set_defaults(func=cmd_generate)

    bench = subparsers.add_parser("bench", help="runtime wall time vs reference virtual time")
    _add_latency_flags(bench)
    add_lookahead(bench, type=integer(MAX_LOOKAHEAD), default=5, help="lookahead k (default 5)")
    add_num_target_servers(bench, type=integer(MAX_RUNTIME_SERVERS), default=None,
                           help="target servers N (default ceil(1/(kc))+1)")
    add_acceptance(bench, type=real, default=0.8, help="synthetic acceptance rate a (default 0.8)")
    add_max_new_tokens(bench, type=integer(MAX_TOKENS), default=200, help="new tokens S (default 200)")
    bench.add_argument("--vocab", type=integer(MAX_VOCAB), default=64, help="vocabulary size V")
    bench.add_argument("--runs", type=integer(MAX_COUNT), default=5, help="runtime runs per algorithm (median)")
    bench.add_argument("--seed", type=integer(2**64), default=0)
    bench.add_argument("--mode", choices=("sample", "greedy"), default="sample")
    _add_backend_flags(bench)
    bench.add_argument("--dispatch-ms", type=real, default=None,
                       help="distributed: dispatch message latency of the prediction (default: measured)")
    bench.add_argument("--result-ms", type=real, default=None,
                       help="distributed: result message latency of the prediction (default: measured)")
    bench.add_argument("--json", action="store_true", help="print one JSON object")
    bench.set_defaults(func=cmd_bench)


def _latency(args: argparse.Namespace) -> LatencyModel:
    extra = {name: to_fraction(value, name=name) for name, value in
             (("target_prefill", args.target_prefill_ms), ("drafter_prefill", args.drafter_prefill_ms))
             if value is not None}
    return LatencyModel(target_decode=to_fraction(args.target_ms, name="target_ms"),
                        drafter_decode=to_fraction(args.drafter_ms, name="drafter_ms"), **extra)


def _models(args: argparse.Namespace) -> tuple[object, object]:
    if args.vocab < 2:
        raise ConfigError(f"--vocab must be >= 2, got {args.vocab}")
    if args.model == "synthetic":
        pair = SyntheticAcceptancePair(args.vocab, args.acceptance, seed=args.seed, mode=args.mode)
        return pair.target, pair.drafter
    if args.model == "tabular":
        target = TabularLM(args.vocab, order=2, seed=args.seed)
        return target, MixtureDrafter(target, overlap=args.acceptance)
    from gpu_runtime.tiny_transformer import TinyConfig, TinyTransformerLM

    return (TinyTransformerLM(TinyConfig(vocab_size=args.vocab, dim=64, n_layers=2), seed=1),
            TinyTransformerLM(TinyConfig(vocab_size=args.vocab, dim=16, n_layers=1), seed=2))


def cmd_generate(args: argparse.Namespace) -> int:
    from gpu_runtime.engine import RuntimeEngine

    served = _serve_if_server_rank(args)
    if served is not None:
        return served
    latency = _latency(args)
    target, drafter = _models(args)
    config = GenerationConfig(  # one config for either engine
        max_new_tokens=args.max_new_tokens, algorithm=args.algorithm, lookahead=args.lookahead,
        num_target_servers=args.num_target_servers, mode=args.mode, seed=args.seed, latency=latency,
        temperature=args.temperature, top_k=args.top_k, top_p=args.top_p,
        warm_start=args.warm_start and args.algorithm == "dsi")
    prompt = parse_token_ids(args.prompt)
    if args.engine == "runtime":
        settings = {"time_unit_s": 1e-3, "emulate_latency": True}  # --target-ms/--drafter-ms as floors
        engine = (_distributed_engine(args, args.num_target_servers, **settings) if args.backend == "distributed"
                  else RuntimeEngine(**settings))
        try:
            result = engine.generate(target, drafter, prompt, config=config)  # type: ignore[attr-defined]
        finally:
            if args.backend == "distributed":
                engine.close()  # type: ignore[attr-defined]
        latency_s = float(result.latency)
    else:
        result = generate(target, drafter, prompt, config=config)
        latency_s = float(result.latency) * 1e-3  # virtual ms -> s
    out = {"engine": args.engine, "backend": args.backend if args.engine == "runtime" else None,
           "algorithm": args.algorithm, "tokens": list(result.tokens),
           "latency_s": latency_s, "counters": dataclasses.asdict(result.counters)}
    if args.json:
        print(json.dumps(out))
    else:
        sys.stdout.write(f"{args.engine} {args.algorithm}: {len(result.tokens)} tokens in "
                         f"{latency_s:.4f} s\n{' '.join(map(str, result.tokens))}\n")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from gpu_runtime.compare import UNIT_S, BenchConfig, run_benchmark

    served = _serve_if_server_rank(args)
    if served is not None:
        return served
    config = BenchConfig(target_ms=args.target_ms, drafter_ms=args.drafter_ms,
                         target_prefill_ms=args.target_prefill_ms,
                         drafter_prefill_ms=args.drafter_prefill_ms, lookahead=args.lookahead,
                         num_target_servers=args.num_target_servers, acceptance=args.acceptance,
                         tokens=args.max_new_tokens,
                         vocab_size=args.vocab, runs=args.runs, seed=args.seed, mode=args.mode,
                         warm_start=args.warm_start, dispatch_ms=args.dispatch_ms or 0.0,
                         result_ms=args.result_ms or 0.0)
    if args.backend == "distributed":
        from gpu_runtime.distributed.bench import run_distributed_benchmark

        engine = _distributed_engine(args, config.servers(), time_unit_s=UNIT_S, emulate_latency=True)
        try:
            given = args.dispatch_ms is not None or args.result_ms is not None
            result = run_distributed_benchmark(config, protocol=args.protocol, engine=engine,  # type: ignore[arg-type]
                                               messages_given=given)
        finally:
            engine.close()  # type: ignore[attr-defined]
    else:
        result = run_benchmark(config)
    status = 0 if result["ok"] else 1  # a runtime off its schedule fails (SPEC §8.1)
    if args.json:
        print(json.dumps(result))
        return status
    m, p, s = result["measured"], result["predicted"], result["speedup"]
    sys.stdout.write(
        f"N = {result['config']['num_target_servers']}, c = {result['config']['c']:.3g}, k = {args.lookahead}, "
        f"a = {args.acceptance}, S = {args.max_new_tokens}, median of {args.runs} runs\n"
        + "".join(f"{alg:>6}: measured {m[alg]:.4f} s, predicted {p[alg]:.4f} s\n"
                  for alg in ("nonsi", "si", "dsi"))
        + f"DSI/SI speedup: measured {s['measured_dsi_over_si']:.3f}, predicted "
          f"{s['predicted_dsi_over_si']:.3f}; overhead {result['overhead_per_task_ms']:.3f} ms/task\n"
        + (f"messages (ms): dispatch {result['config']['dispatch_ms']}, result {result['config']['result_ms']} in "
           f"the prediction; wire round trip per task median {result['messages']['overhead_ms']['median']:.3f}, "
           f"p99 {result['messages']['overhead_ms']['p99']:.3f}\n" if "messages" in result else "")
        + f"schedule: {'equal to the reference' if result['schedule_agrees'] else 'DIFFERS'}; "
          f"lag within {result['tolerance_s'] * 1e3:.0f} ms: {result['within_tolerance']}\n")
    for line in result["schedule_differences"]:
        sys.stdout.write(f"  {line}\n")
    return status
