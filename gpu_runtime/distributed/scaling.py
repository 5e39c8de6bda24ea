"""``python -m gpu_runtime.distributed.scaling``: the distributed runtime as N grows.

For N = 1 .. ``--max-n`` target ranks: ``dsi bench --backend distributed`` (emulated floors:
target 20 ms, drafter 2 ms, k = 5, a = 0.8, S = 200 by default; message latencies calibrated
per N) beside ``dsi bench`` on threads with the same N. One JSON object: per N the measured and
predicted DSI latency (s) of both backends, the DSI-over-SI speedups, the distributed per-task
overhead (dispatch to result beyond the rank's own time: median, p99), the calibrated message
latencies, whether every schedule equalled the reference's, the ranks' start-up time and the
machine's load average; and, on paper beyond, the reference's DSI latency for N = 1 ..
``--paper-max-n`` with the last calibrated message latencies.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Sequence
from dataclasses import replace

from gpu_runtime.compare import UNIT_S, BenchConfig, run_benchmark
from gpu_runtime.distributed.bench import PROMPT, run_distributed_benchmark
from gpu_runtime.distributed.cluster import shutdown
from gpu_runtime.distributed.engine import DistributedEngine
from reference.cli import run_standalone
from reference.cli_args import (
    MAX_COUNT,
    MAX_LOOKAHEAD,
    MAX_RUNTIME_SERVERS,
    MAX_SERVERS,
    MAX_TOKENS,
    add_acceptance,
    add_lookahead,
    add_max_new_tokens,
    integer,
    real,
)
from reference.generate import generate
from reference.toy_models import SyntheticAcceptancePair


def scaling(max_n: int, base: BenchConfig, paper_max_n: int = 16) -> dict:
    rows = []
    dist: dict = {}
    for n in range(1, max_n + 1):
        config = replace(base, num_target_servers=n)
        started = time.perf_counter()
        engine = DistributedEngine(time_unit_s=UNIT_S, target_ranks=n, emulate_latency=True)
        engine.start()
        startup_s = time.perf_counter() - started
        dist = run_distributed_benchmark(config, engine=engine)
        shutdown()  # the next N gets a cluster of its own size
        threads = run_benchmark(config)
        rows.append({
            "N": n,
            "distributed": {"measured_dsi_s": dist["measured"]["dsi"], "predicted_dsi_s": dist["predicted"]["dsi"],
                            "measured_dsi_over_si": dist["speedup"]["measured_dsi_over_si"],
                            "predicted_dsi_over_si": dist["speedup"]["predicted_dsi_over_si"],
                            "speedup_measured_over_predicted": dist["ratios"]["speedup_measured_over_predicted"],
                            "overhead_per_task_ms": dist["messages"]["overhead_ms"],
                            "dispatch_ms": dist["config"]["dispatch_ms"], "result_ms": dist["config"]["result_ms"],
                            "schedule_agrees": dist["schedule_agrees"], "within_tolerance": dist["within_tolerance"]},
            "threads": {"measured_dsi_s": threads["measured"]["dsi"], "predicted_dsi_s": threads["predicted"]["dsi"],
                        "measured_dsi_over_si": threads["speedup"]["measured_dsi_over_si"],
                        "schedule_agrees": threads["schedule_agrees"]},
            "startup_s": startup_s,
            "load_average": os.getloadavg()[0],
        })
    # on paper beyond: the reference's DSI prediction with the last calibrated messages
    messages = {"dispatch_ms": dist["config"]["dispatch_ms"], "result_ms": dist["config"]["result_ms"]}
    latency = replace(base, **messages).latency()
    pair = SyntheticAcceptancePair(base.vocab_size, base.acceptance, seed=base.seed, mode=base.mode)
    paper = {n: float(generate(pair.target, pair.drafter, PROMPT, base.tokens, algorithm="dsi",
                               lookahead=base.lookahead, num_target_servers=n, mode=base.mode, seed=base.seed,
                               latency=latency).latency) * UNIT_S for n in range(1, paper_max_n + 1)}
    return {"config": {**vars(base), "num_target_servers": f"1..{max_n}"}, "rows": rows,
            "predicted_dsi_s": {"messages": messages, "by_N": paper}}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--max-n", type=integer(MAX_RUNTIME_SERVERS, minimum=1), default=8,
                        help="largest N (default 8)")
    add_max_new_tokens(parser, type=integer(MAX_TOKENS, minimum=1), default=200, help="new tokens S (default 200)")
    parser.add_argument("--runs", type=integer(MAX_COUNT, minimum=1), default=3,
                        help="runs per algorithm (median; default 3)")
    add_acceptance(parser, type=real, default=0.8, help="acceptance rate a (default 0.8)")
    add_lookahead(parser, type=integer(MAX_LOOKAHEAD, minimum=1), default=5, help="lookahead k (default 5)")
    parser.add_argument("--paper-max-n", type=integer(MAX_SERVERS, minimum=1), default=16,
                        help="largest N of the prediction (default 16)")


def main(argv: Sequence[str] | None = None) -> int:
    def execute(args: argparse.Namespace) -> int:
        base = BenchConfig(tokens=args.max_new_tokens, runs=args.runs, acceptance=args.acceptance,
                           lookahead=args.lookahead)
        print(json.dumps(scaling(args.max_n, base, args.paper_max_n)))
        return 0

    return run_standalone("python -m gpu_runtime.distributed.scaling", __doc__.split("\n")[0], add_arguments,
                          execute, argv)


if __name__ == "__main__":
    raise SystemExit(main())
