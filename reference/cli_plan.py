"""``dsi plan``: best (k, N) for DSI and best k for SI from a pair's measured latencies and acceptance.

Input, either

* ``--measurements FILE --drafter NAME``: a measurement JSON (as written by ``dsi repro table
  --measure humaneval-smollm2``, docs/measurements/) whose ``drafters[NAME]`` holds
  ``latency_ms`` (LatencyModel fields in ms: ``target_decode``, ``drafter_decode``,
  ``target_prefill``, ``drafter_prefill``, ``target_positions_cost``) and
  ``acceptance.table_estimate`` (â); flags given as well override the file's values; or
* flags only: ``--target-ms``, ``--drafter-ms`` (required), ``--target-prefill-ms``,
  ``--drafter-prefill-ms``, ``--positions-cost 1,1.4,1.7,...``, ``--acceptance/-a``.

Prints the plan of :func:`reference.plan.plan` (``--json``: one JSON object).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from reference.cli_args import add_acceptance, add_max_new_tokens
from reference.errors import ConfigError
from reference.latency import LatencyModel, to_fraction
from reference.plan import PlanConfig, plan

LATENCY_FIELDS = ("target_decode", "drafter_decode", "target_prefill", "drafter_prefill")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``plan`` to the root parser."""
    parser = subparsers.add_parser(
        "plan", help="best (k, N) for DSI and best k for SI from measured latencies and acceptance",
        description="Predict non-SI, SI and DSI latency (exact model) and choose k and N within a budget.")
    parser.add_argument("--measurements", help="measurement JSON (docs/measurements/*.json)")
    parser.add_argument("--drafter", help="drafter name in the measurement JSON")
    parser.add_argument("--target-ms", type=float, help="target decode latency (TPOT), ms")
    parser.add_argument("--drafter-ms", type=float, help="drafter decode latency (TPOT), ms")
    parser.add_argument("--target-prefill-ms", type=float, help="target prefill latency (TTFT), ms")
    parser.add_argument("--drafter-prefill-ms", type=float, help="drafter prefill latency (TTFT), ms")
    parser.add_argument("--positions-cost", help="target forward cost by positions delivered, "
                                                 "comma-separated multiples of one position (starts with 1)")
    add_acceptance(parser, type=float, help="acceptance rate a in [0, 1]")
    parser.add_argument("--max-target-servers", type=int, default=7, help="budget of target servers (default 7)")
    parser.add_argument("--max-lookahead", type=int, default=20, help="k in 1..K (default 20)")
    add_max_new_tokens(parser, type=int, default=1000, help="tokens S (default 1000)")
    parser.add_argument("--repeats", type=int, default=5, help="acceptance paths (default 5)")
    parser.add_argument("--seed", type=int, default=42, help="seed of the i.i.d. paths (default 42)")
    parser.add_argument("--warm-start", action="store_true", help="DSI servers prefill the prompt at t = 0")
    parser.add_argument("--non-preemptive", action="store_true",
                        help="a cancelled forward keeps its server until it ends (real compute)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)


def _from_file(path: str, drafter: str | None) -> tuple[dict[str, Any], float | None]:
    try:
        data = json.loads(Path(path).read_text("utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path} is not JSON: {exc}") from None
    drafters = data.get("drafters") if isinstance(data, dict) else None
    if not isinstance(drafters, dict) or not drafters:
        raise ConfigError(f"{path} has no 'drafters' object")
    if drafter not in drafters:
        raise ConfigError(f"--drafter must be one of {sorted(drafters)}, got {drafter!r}")
    entry = drafters[drafter]
    latency = entry.get("latency_ms")
    if not isinstance(latency, dict):
        raise ConfigError(f"{path}: drafters[{drafter!r}] has no 'latency_ms' object")
    acceptance = (entry.get("acceptance") or {}).get("table_estimate")
    return dict(latency), acceptance


def latency_and_acceptance(args: argparse.Namespace) -> tuple[LatencyModel, float]:
    """The latency model (ms) and acceptance rate from the file and/or the flags."""
    values: dict[str, Any] = {}
    acceptance = None
    if args.measurements:
        values, acceptance = _from_file(args.measurements, args.drafter)
    elif args.drafter:
        raise ConfigError("--drafter needs --measurements")
    for name in LATENCY_FIELDS:
        flag = getattr(args, name.replace("decode", "ms").replace("prefill", "prefill_ms"))
        if flag is not None:
            values[name] = flag
    if args.positions_cost is not None:
        try:
            values["target_positions_cost"] = [float(v) for v in args.positions_cost.split(",") if v.strip()]
        except ValueError:
            raise ConfigError(
                f"--positions-cost must be comma-separated numbers, got {args.positions_cost!r}") from None
    if args.acceptance is not None:
        acceptance = args.acceptance
    for name in ("target_decode", "drafter_decode"):
        if values.get(name) is None:
            raise ConfigError(f"missing {name}: pass --{name.split('_')[0]}-ms or --measurements")
    if acceptance is None:
        raise ConfigError("missing acceptance rate: pass --acceptance or --measurements")
    kwargs = {name: to_fraction(round(float(values[name]), 4), name=name)
              for name in LATENCY_FIELDS if values.get(name) is not None}
    table = tuple(to_fraction(round(float(v), 4), name="target_positions_cost")
                  for v in values.get("target_positions_cost") or ())
    return LatencyModel(**kwargs, target_positions_cost=table), float(acceptance)


def run(args: argparse.Namespace) -> int:
    latency, acceptance = latency_and_acceptance(args)
    config = PlanConfig(max_target_servers=args.max_target_servers, max_lookahead=args.max_lookahead,
                        tokens=args.max_new_tokens, repeats=args.repeats, seed=args.seed,
                        warm_start=args.warm_start, preemptive=not args.non_preemptive)
    result = plan(latency, acceptance, config)
    out = {"acceptance": acceptance, "c": float(latency.c), "tokens": config.tokens, **result.as_dict()}
    if args.json:
        print(json.dumps(out))
        return 0
    S = config.tokens
    print(f"a = {acceptance:.3f}, c = {float(latency.c):.4f}, S = {S}, budget N <= {config.max_target_servers}, "
          f"k in 1..{config.max_lookahead} ({config.repeats} i.i.d. paths, seed {config.seed})")
    print(f"{'':<8}{'k':>4}{'N':>4}{'ms/token':>11}{'target forwards/token':>24}")
    rows = [result.nonsi, result.si, result.dsi]
    for choice in rows:
        print(f"{choice.algorithm:<8}{choice.lookahead or '-':>4}{choice.num_target_servers:>4}"
              f"{choice.latency / S:>11.2f}{choice.target_forwards_per_token:>24.3f}")
    print("DSI, best k at each N: " + ", ".join(
        f"N={c.num_target_servers}: k={c.lookahead}, {c.latency / S:.2f} ms/token" for c in result.dsi_by_servers))
    print("speedups: " + ", ".join(f"{name} {value:.3f}x" for name, value in result.speedups.items()))
    return 0
