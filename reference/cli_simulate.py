"""``dsi simulate``: one point of the exact or the paper model (SPEC §9)."""

from __future__ import annotations

import argparse
import json

from reference.cli_args import (
    MAX_COUNT,
    MAX_LOOKAHEAD,
    MAX_SERVERS,
    MAX_TOKENS,
    add_acceptance,
    add_lookahead,
    add_max_new_tokens,
    add_num_target_servers,
    check_work,
    integer,
    rational,
    real,
)
from reference.simulate import SimulationParams, simulate_point


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``simulate`` to the root parser."""
    parser = subparsers.add_parser(
        "simulate", help="mean latency of non-SI, SI and DSI for one (c, a, k, N) point",
        description="Simulate one point in time units (target forward = 1). Speedup = ratio of repeat means.",
    )
    parser.add_argument("--model", choices=("exact", "paper"), default="exact")
    parser.add_argument("--c", type=rational, required=True,
                        help="drafter latency in target forwards, (0, 1]; exact: 0.1, 1/3")
    add_acceptance(parser, type=real, required=True, help="acceptance rate in [0, 1]")
    add_lookahead(parser, type=integer(MAX_LOOKAHEAD), required=True, help="lookahead >= 1")
    add_num_target_servers(parser, type=integer(MAX_SERVERS), default=7, help="target servers N (default 7)")
    add_max_new_tokens(parser, type=integer(MAX_TOKENS), default=1000, help="tokens S (default 1000)")
    parser.add_argument("--repeats", type=integer(MAX_COUNT), default=5, help="repeats (default 5)")
    parser.add_argument("--seed", type=integer(2**32), default=42, help="seed (default 42)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Validate, simulate, print."""
    params = SimulationParams(model=args.model, c=args.c, a=args.acceptance, k=args.lookahead,
                              num_target_servers=args.num_target_servers, tokens=args.max_new_tokens,
                              repeats=args.repeats, seed=args.seed)
    check_work("tokens x repeats", args.max_new_tokens * args.repeats)
    out = simulate_point(params)
    if args.json:
        print(json.dumps(out))
        return 0
    p = out["params"]
    print(f"model={p['model']} c={p['c']} a={p['a']} k={p['k']} N={p['num_target_servers']} S={p['tokens']} "
          f"repeats={p['repeats']} seed={p['seed']}")
    print(f"{'algorithm':<10}{'latency':>12}{'per token':>12}")
    for name, value in out["latency"].items():
        print(f"{name:<10}{value:>12.3f}{value / p['tokens']:>12.4f}")
    for name, value in out["speedup"].items():
        print(f"speedup {name}: {value:.4f}")
    return 0
