"""Wall time against virtual time: the emulated-latency benchmark behind ``dsi bench``.

For one seed and one latency model (target and drafter floors in ms), run non-SI, SI and
DSI on the runtime ``runs`` times each (interleaved, so load drifts hit all three alike),
and the reference once (its times are exact and deterministic). Reported, in seconds for
the whole generation:

* ``measured[alg]`` — the median over runs of the runtime's latency (observed wall clock);
* ``predicted[alg]`` — the reference's virtual latency for the same seed and latencies;
* ``speedup`` — ``measured_dsi_over_si = measured.si / measured.dsi`` and its predicted twin;
* ``schedule_agrees`` — every run's trace equals the reference's (tokens, forwards, servers,
  rounds, nominal times: :mod:`reference.scheduler.agreement`);
* ``lag_s`` and ``within_tolerance`` — measured minus predicted per algorithm, within
  ``[0, tolerance_s]``: the runtime's declared ``TIMING_TOLERANCE_S`` plus 3 × the machine's
  wake-up delay measured during the runs (median over runs; docs/runtime.md);
* ``token_lag_ms``, ``start_lag_ms`` — observed minus nominal, per token and per forward;
* ``overhead_per_task_ms`` — the driver's own processing time (scheduler, cancellations,
  dispatches: ``Result.params["driver_busy_s"]``) per DSI task — a forward on any server, a
  draft included — median over runs;
* ``charged_overhead_per_task_ms`` — from extra DSI runs with every wake-up charged to the
  schedule (``charge_wakeups``): (measured − predicted) / target tasks, what the host (driver,
  OS wake-ups, GIL) adds per task when nothing is hidden;
* ``ok`` — the schedule agrees and the lags are within the tolerance: ``dsi bench`` and the
  runtime step of ``dsi repro all`` fail otherwise.

The model pair is :class:`reference.toy_models.SyntheticAcceptancePair` (acceptance ``a``).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace

from gpu_runtime.engine import TIMING_TOLERANCE_S, RuntimeEngine
from gpu_runtime.jitter import WakeupProbe
from reference.closed_forms import required_servers_no_wait
from reference.config import GenerationConfig
from reference.errors import ConfigError
from reference.generate import generate
from reference.latency import LatencyModel, to_fraction
from reference.results import Result
from reference.scheduler.agreement import trace_differences
from reference.toy_models import SyntheticAcceptancePair

ALGORITHMS = ("nonsi", "si", "dsi")
UNIT_S = 1e-3  # the latency model is in milliseconds


@dataclass(frozen=True)
class BenchConfig:
    target_ms: float = 20.0  # target decode floor
    drafter_ms: float = 2.0  # drafter decode floor; c = drafter_ms / target_ms
    target_prefill_ms: float | None = None  # first target forward (None: decode floor)
    drafter_prefill_ms: float | None = None
    lookahead: int = 5  # k
    num_target_servers: int | None = None  # N; None: ceil(1/(k·c)) + 1
    acceptance: float = 0.8  # a of the synthetic pair
    tokens: int = 200  # S
    vocab_size: int = 64
    runs: int = 5  # runtime repetitions; the median is reported
    seed: int = 0
    mode: str = "sample"
    warm_start: bool = False  # DSI: every target server prefills the prompt at t = 0
    dispatch_ms: float = 0.0  # message latencies of a target forward (the distributed backend)
    result_ms: float = 0.0

    def __post_init__(self) -> None:
        if self.runs < 1:
            raise ConfigError(f"runs must be >= 1, got {self.runs}")
        # S, k, N, seed, mode and the latencies: the generation config's rules (SPEC §9)
        GenerationConfig(max_new_tokens=self.tokens, lookahead=self.lookahead,
                         num_target_servers=self.num_target_servers, mode=self.mode, seed=self.seed,
                         latency=self.latency())

    def latency(self) -> LatencyModel:
        """The latency model in ms (validates 0 < c <= 1 and positive floors)."""
        prefill = {"target_prefill": self.target_prefill_ms, "drafter_prefill": self.drafter_prefill_ms}
        return LatencyModel(target_decode=to_fraction(self.target_ms, name="target_ms"),
                            drafter_decode=to_fraction(self.drafter_ms, name="drafter_ms"),
                            dispatch_latency=to_fraction(self.dispatch_ms, name="dispatch_ms"),
                            result_latency=to_fraction(self.result_ms, name="result_ms"),
                            **{k: to_fraction(v, name=k) for k, v in prefill.items() if v is not None})

    def servers(self) -> int:
        return self.num_target_servers or required_servers_no_wait(self.latency().c, self.lookahead)


    def generation(self, algorithm: str) -> GenerationConfig:
        """The generation config of one algorithm's runs: N (``servers()``) and warm start for
        DSI; SI and non-SI use one target server."""
        dsi = algorithm == "dsi"
        return GenerationConfig(max_new_tokens=self.tokens, algorithm=algorithm, lookahead=self.lookahead,
                                num_target_servers=self.servers() if dsi else None, mode=self.mode,
                                seed=self.seed, latency=self.latency(), warm_start=self.warm_start and dsi)


def run_benchmark(config: BenchConfig, *, engine: RuntimeEngine | None = None,
                  after_run: Callable[[str, Result], None] | None = None) -> dict:
    """Measured (median of runs) and predicted latencies in seconds, speedups, the schedule
    check, lags and the per-task overhead (see the module docstring). ``engine``: the runtime
    measured (default: threads, ms units); ``after_run(algorithm, result)`` sees every measured run."""
    latency = config.latency()
    servers = config.servers()
    pair = SyntheticAcceptancePair(config.vocab_size, config.acceptance, seed=config.seed,
                                   mode=config.mode)
    prompt = [1, 2, 3]
    generation = {alg: config.generation(alg) for alg in ALGORITHMS}
    reference = {alg: generate(pair.target, pair.drafter, prompt, config=generation[alg]) for alg in ALGORITHMS}
    predicted = {alg: float(ref.latency) * UNIT_S for alg, ref in reference.items()}
    engine = engine or RuntimeEngine(time_unit_s=UNIT_S, emulate_latency=True)
    measured: dict[str, list[float]] = {alg: [] for alg in ALGORITHMS}
    differences: list[str] = []
    token_lags: list[float] = []
    start_lags: list[float] = []
    allowed: list[float] = []
    busy: list[float] = []
    for _ in range(config.runs):
        for alg in ALGORITHMS:
            with WakeupProbe() as probe:
                run = engine.generate(pair.target, pair.drafter, prompt, config=generation[alg])
            allowed.append(probe.allowance(TIMING_TOLERANCE_S))
            if after_run is not None:
                after_run(alg, run)
            differences += [f"{alg}: {problem}" for problem in trace_differences(reference[alg], run)]
            measured[alg].append(run.latency)
            token_lags += [float(o) - float(n) * UNIT_S for o, n in zip(run.times, run.nominal_times, strict=True)]
            start_lags += [r.wall_start - float(r.start) * UNIT_S for r in run.trace
                           if r.wall_start is not None and r.start is not None]
            if alg == "dsi":  # the driver's own processing per task (a forward on any server)
                tasks = run.counters.target_forwards + run.counters.drafter_forwards
                busy.append(run.params["driver_busy_s"] / max(1, tasks) * 1e3)
    charged = replace(engine, charge_wakeups=True)
    charged_overhead = []
    for _ in range(config.runs):  # everything charged: what the host adds per task, accumulated
        run = charged.generate(pair.target, pair.drafter, prompt, config=generation["dsi"])
        charged_overhead.append((run.latency - predicted["dsi"]) / max(1, run.counters.target_forwards) * 1e3)
    median = {alg: statistics.median(values) for alg, values in measured.items()}
    lag = {alg: median[alg] - predicted[alg] for alg in ALGORITHMS}
    tolerance = statistics.median(allowed)
    within = all(-1e-9 <= value <= tolerance for value in lag.values())
    return {
        "config": {**asdict(config), "num_target_servers": servers, "c": float(latency.c)},
        "measured": median,
        "predicted": predicted,
        "speedup": {
            "measured_dsi_over_si": median["si"] / median["dsi"],
            "predicted_dsi_over_si": predicted["si"] / predicted["dsi"],
            "measured_dsi_over_nonsi": median["nonsi"] / median["dsi"],
            "predicted_dsi_over_nonsi": predicted["nonsi"] / predicted["dsi"],
        },
        "ratios": {
            "speedup_measured_over_predicted":
                (median["si"] / median["dsi"]) / (predicted["si"] / predicted["dsi"]),
            "dsi_measured_over_predicted": median["dsi"] / predicted["dsi"],
        },
        "schedule_agrees": not differences,
        "schedule_differences": differences[:5],
        "lag_s": lag,
        "tolerance_s": tolerance,
        "within_tolerance": within,
        "token_lag_ms": _quantiles(token_lags),
        "start_lag_ms": _quantiles(start_lags),
        "overhead_per_task_ms": statistics.median(busy),
        "charged_overhead_per_task_ms": statistics.median(charged_overhead),
        "runs": measured,
        "ok": not differences and within,
    }


def _quantiles(values_s: list[float]) -> dict[str, float]:
    """Median, 99th percentile and maximum, in milliseconds."""
    ms = sorted(v * 1e3 for v in values_s) or [0.0]
    return {"median": statistics.median(ms), "p99": ms[min(len(ms) - 1, int(0.99 * len(ms)))], "max": ms[-1]}
