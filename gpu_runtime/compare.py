"""Wall time against virtual time: the emulated-latency benchmark behind ``dsi bench``.

For one seed and one latency model (target and drafter floors in ms), run non-SI, SI and
DSI on the runtime ``runs`` times each (interleaved, so load drifts hit all three alike),
and the reference once (its times are exact and deterministic). Reported, in seconds for
the whole generation:

* ``measured[alg]`` — the median over runs of the runtime's latency (wall clock);
* ``predicted[alg]`` — the reference's virtual latency for the same seed and latencies;
* ``speedup`` — ``measured_dsi_over_si = measured.si / measured.dsi`` and its predicted twin;
* ``overhead_per_task_ms`` — median over DSI runs of (measured − predicted) divided by the
  number of target tasks that ran: the orchestration cost per task the floors do not hide.

The model pair is :class:`reference.toy_models.SyntheticAcceptancePair` (acceptance ``a``),
so tokens are checked against the reference too: ``tokens_agree`` is False, and
``tokens_differ`` names the algorithms, when any runtime run emitted other tokens than the
reference (reported, not raised, so that ``dsi repro all`` can turn it into a verdict;
``dsi bench`` then exits 2 after printing). ``dsi_prefill_forwards`` counts DSI's warm-up
forwards and the target forwards that paid a prefill, for the reference and for each
runtime run: with warm start, N − 1 warm-ups and one prefill per server.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass

from gpu_runtime.engine import RuntimeEngine
from reference.closed_forms import required_servers_no_wait
from reference.errors import ConfigError
from reference.generate import generate
from reference.latency import LatencyModel, to_fraction
from reference.results import Result
from reference.toy_models import SyntheticAcceptancePair

ALGORITHMS = ("nonsi", "si", "dsi")


@dataclass(frozen=True)
class BenchConfig:
    target_ms: float = 20.0  # target decode floor
    drafter_ms: float = 2.0  # drafter decode floor; c = drafter_ms / target_ms
    target_prefill_ms: float | None = None  # first target forward (None: decode floor)
    drafter_prefill_ms: float | None = None
    lookahead: int = 5  # k
    sp_degree: int | None = None  # N; None: ceil(1/(k·c)) + 1
    acceptance: float = 0.8  # a of the synthetic pair
    tokens: int = 200  # S
    vocab_size: int = 64
    runs: int = 5  # runtime repetitions; the median is reported
    seed: int = 0
    mode: str = "sample"
    charge_wakeups: bool = False  # charge OS/GIL wake-up delays to the schedule too
    warm_start: bool = False  # DSI: every target server prefills the prompt at t = 0

    def __post_init__(self) -> None:
        if self.runs < 1:
            raise ConfigError(f"runs must be >= 1, got {self.runs}")
        if self.lookahead < 1:
            raise ConfigError(f"lookahead k must be >= 1, got {self.lookahead}")
        if self.sp_degree is not None and self.sp_degree < 1:
            raise ConfigError(f"sp_degree N must be >= 1, got {self.sp_degree}")
        if self.tokens < 1:
            raise ConfigError(f"tokens S must be >= 1, got {self.tokens}")

    def latency(self) -> LatencyModel:
        """The latency model in ms (validates 0 < c <= 1 and positive floors)."""
        prefill = {"target_prefill": self.target_prefill_ms, "drafter_prefill": self.drafter_prefill_ms}
        return LatencyModel(target_decode=to_fraction(self.target_ms, name="target_ms"),
                            drafter_decode=to_fraction(self.drafter_ms, name="drafter_ms"),
                            **{k: to_fraction(v, name=k) for k, v in prefill.items() if v is not None})

    def servers(self) -> int:
        return self.sp_degree or required_servers_no_wait(self.latency().c, self.lookahead)


def _dsi_options(algorithm: str, servers: int, config: BenchConfig) -> dict:
    """N and warm start for DSI; nothing for SI and non-SI (one target server)."""
    return {"sp_degree": servers, "warm_start": config.warm_start} if algorithm == "dsi" else {}


def prefill_forwards(result: Result) -> dict[str, int]:
    """Target forwards of one run that were warm-ups, and that paid their server's prefill."""
    target = [r for r in result.trace if r.server.startswith("target") and r.start is not None]
    return {"warmup": sum(r.kind == "warmup" for r in target), "prefill": sum(r.prefill for r in target)}


def run_benchmark(config: BenchConfig) -> dict:
    """Measured (median of runs) and predicted latencies in seconds, speedups, overhead."""
    latency = config.latency()
    servers = config.servers()
    pair = SyntheticAcceptancePair(config.vocab_size, config.acceptance, seed=config.seed,
                                   mode=config.mode)
    prompt = [1, 2, 3]
    common = {"lookahead": config.lookahead, "mode": config.mode, "seed": config.seed,
              "latency": latency}
    predicted, reference_tokens = {}, {}
    reference_forwards: dict[str, int] = {}
    runtime_forwards: list[dict[str, int]] = []
    for alg in ALGORITHMS:
        ref = generate(pair.target, pair.drafter, prompt, config.tokens, algorithm=alg,
                       **_dsi_options(alg, servers, config), **common)
        predicted[alg] = float(ref.latency) * 1e-3
        reference_tokens[alg] = ref.tokens
        if alg == "dsi":
            reference_forwards = prefill_forwards(ref)
    engine = RuntimeEngine(time_unit_s=1e-3, charge_wakeups=config.charge_wakeups)
    measured: dict[str, list[float]] = {alg: [] for alg in ALGORITHMS}
    overhead: list[float] = []
    differ: set[str] = set()
    for _ in range(config.runs):
        for alg in ALGORITHMS:
            run = engine.generate(pair.target, pair.drafter, prompt, config.tokens, algorithm=alg,
                                  **_dsi_options(alg, servers, config), **common)
            if run.tokens != reference_tokens[alg]:
                differ.add(alg)
            measured[alg].append(run.latency)
            if alg == "dsi":
                tasks = max(1, run.counters.target_forwards)
                overhead.append((run.latency - predicted["dsi"]) / tasks * 1e3)
                runtime_forwards.append(prefill_forwards(run))
    median = {alg: statistics.median(values) for alg, values in measured.items()}
    return {
        "config": {**asdict(config), "sp_degree": servers, "c": float(latency.c)},
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
        "overhead_per_task_ms": statistics.median(overhead),
        "runs": measured,
        "tokens_agree": not differ,
        "tokens_differ": sorted(differ),
        "dsi_prefill_forwards": {"reference": reference_forwards, "runtime": runtime_forwards},
    }
