"""``dsi bench --backend distributed``: the emulated-latency benchmark over server ranks.

:func:`gpu_runtime.compare.run_benchmark` (non-SI, SI and DSI, median of runs, the schedule
checked against the reference's in every run, lags within the declared tolerance) with the
target servers on ``N`` gloo ranks of this machine and the communication in the prediction:

1. *calibration* — two untimed DSI runs; from the second one's message timings, the median
   dispatch leg (JOB sent on rank 0 → received on the rank) and result leg (answer sent by the
   rank → received on rank 0) become the latency model's ``dispatch_latency`` and
   ``result_latency`` (ms, rounded to 0.01), unless given;
2. the benchmark proper, whose predictions (the reference's virtual times) include them.

Added to the report: ``messages`` — per target forward of the DSI runs, the dispatch and result
legs, the wire round trip (``overhead_ms``: dispatch to result, beyond what the rank spent on
the forward — its compute and its floor) and the result payload in bytes (median, p99, max);
``overhead_per_task_ms`` — the median of that round trip (the thread runtime reports its
charged wake-up cost here; that one is ``charged_overhead_per_task_ms``);
``predicted_without_messages`` — the reference's latencies with the messages left out.
"""

from __future__ import annotations

import statistics
from dataclasses import replace

from gpu_runtime.compare import ALGORITHMS, UNIT_S, BenchConfig, run_benchmark
from gpu_runtime.distributed.cluster import active
from gpu_runtime.distributed.engine import DistributedEngine
from gpu_runtime.distributed.pool import TaskTiming
from reference.generate import generate
from reference.results import Result
from reference.toy_models import SyntheticAcceptancePair

PROMPT = [1, 2, 3]


def message_legs(timings: list[TaskTiming]) -> dict[str, list[float]]:
    """Seconds per answered target forward: dispatch leg, result leg, wire round trip; and bytes."""
    done = [t for t in timings if t.role == "target" and t.arrived is not None and t.rank_received is not None
            and t.rank_replied is not None]
    return {
        "dispatch": [t.rank_received - t.sent for t in done],  # type: ignore[operator]
        "result": [t.arrived - t.rank_replied for t in done],  # type: ignore[operator]
        "overhead": [(t.arrived - t.sent) - (t.rank_replied - t.rank_received) for t in done],  # type: ignore[operator]
        "bytes": [float(t.result_bytes) for t in done if not t.stopped],
    }


def _quantiles(values: list[float], scale: float) -> dict[str, float]:
    ordered = sorted(v * scale for v in values) or [0.0]
    return {"median": statistics.median(ordered), "p99": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
            "max": ordered[-1]}


def calibrate(engine: DistributedEngine, config: BenchConfig) -> tuple[float, float]:
    """(dispatch ms, result ms): the median legs of a DSI run on ``engine`` (after one to warm
    the ranks up: the first request of fresh processes is slower)."""
    pair = SyntheticAcceptancePair(config.vocab_size, config.acceptance, seed=config.seed, mode=config.mode)
    for _ in range(2):
        engine.generate(pair.target, pair.drafter, PROMPT, config.tokens, algorithm="dsi",
                        lookahead=config.lookahead, num_target_servers=config.servers(), mode=config.mode,
                        seed=config.seed, latency=config.latency())
    cluster = active()
    legs = message_legs(cluster.last_timings if cluster is not None else [])
    return (round(statistics.median(legs["dispatch"] or [0.0]) * 1e3, 2),
            round(statistics.median(legs["result"] or [0.0]) * 1e3, 2))


def run_distributed_benchmark(config: BenchConfig, *, protocol: str = "verify", messages_given: bool = False,
                              engine: DistributedEngine | None = None) -> dict:
    """The benchmark of the module docstring; ``messages_given``: keep the config's message
    latencies instead of calibrating them."""
    servers = config.servers()
    engine = engine or DistributedEngine(time_unit_s=UNIT_S, target_ranks=servers, protocol=protocol,
                                          emulate_latency=True)
    engine.start()
    if not messages_given:
        dispatch_ms, result_ms = calibrate(engine, config)
        config = replace(config, dispatch_ms=dispatch_ms, result_ms=result_ms)
    timings: list[TaskTiming] = []

    def collect(algorithm: str, result: Result) -> None:
        cluster = active()
        if algorithm == "dsi" and cluster is not None:
            timings.extend(cluster.last_timings)

    out = run_benchmark(config, engine=engine, after_run=collect)
    legs = message_legs(timings)
    pair = SyntheticAcceptancePair(config.vocab_size, config.acceptance, seed=config.seed, mode=config.mode)
    bare = replace(config, dispatch_ms=0.0, result_ms=0.0).latency()
    without = {alg: float(generate(pair.target, pair.drafter, PROMPT, config.tokens, algorithm=alg,
                                   lookahead=config.lookahead, mode=config.mode, seed=config.seed, latency=bare,
                                   **({"num_target_servers": servers, "warm_start": config.warm_start}
                                      if alg == "dsi" else {})).latency) * UNIT_S for alg in ALGORITHMS}
    out.update(
        backend="distributed", protocol=protocol, world_size=servers + 1,
        charged_overhead_per_task_ms=out["overhead_per_task_ms"],
        overhead_per_task_ms=statistics.median(legs["overhead"] or [0.0]) * 1e3,
        messages={"dispatch_ms": _quantiles(legs["dispatch"], 1e3), "result_ms": _quantiles(legs["result"], 1e3),
                  "overhead_ms": _quantiles(legs["overhead"], 1e3), "result_bytes": _quantiles(legs["bytes"], 1),
                  "tasks": len(legs["overhead"])},
        predicted_without_messages=without,
    )
    return out
