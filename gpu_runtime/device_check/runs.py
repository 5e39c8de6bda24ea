"""The runs of the device check: k from the plan, the reference's predictions, the runtime runs
and their checks, all inside a time budget.

For each :class:`~gpu_runtime.device_check.plan.RunConfig` (algorithm, N, a, mode):

1. **k** minimises the exact expected latency of the exact schedule model for the measured c of
   the config's level: ``reference.closed_forms.si_expected_latency`` (SI) or
   ``dsi_expected_latency`` with its N (DSI), k in 1..max_lookahead, S tokens;
2. **predictions** — ``reference.generate`` in virtual time on the synthetic pair and the seed,
   with the level's floor latencies (the emulated run's exact schedule), its median latencies
   (what the real run should take) and the level-0 latencies (every server alone: the
   no-contention bound);
3. the **emulated run**: the runtime on the device with the floor latencies, the real forward
   inside each floor. Its schedule must equal the reference's (``trace_differences``: tokens,
   forwards, servers, rounds, nominal times), and every token be observed no later than its
   nominal time plus the allowance: the runtime's declared ``TIMING_TOLERANCE_S``, plus
   ``PROBE_FACTOR`` × the wake-up delay a sleeping thread saw meanwhile, plus the longest
   target floor — a real compute cannot be interrupted, so a cancelled forward keeps its stream
   until it ends and may delay its server's next forward by at most one forward (SPEC §8.1);
4. the **real runs** (no floors, ``runs`` times): tokens must equal the reference's; the median
   wall time is reported beside the median-latency prediction and the no-contention bound.

Tokens are compared with the reference's on the same seed, so they are identical across
algorithms (SPEC §3 item 1) and, in greedy mode, to plain decoding; in sampling mode plain
decoding is another coupling with the same law (§3 item 3) and is compared with the
reference's plain decoding.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from gpu_runtime.device_check.latency_table import UNIT_S, LatencyTable
from gpu_runtime.device_check.plan import CheckPlan, RunConfig
from gpu_runtime.engine import TIMING_TOLERANCE_S, RuntimeEngine
from gpu_runtime.jitter import WakeupProbe
from gpu_runtime.synthetic import SyntheticForward
from reference.closed_forms import dsi_expected_latency, si_expected_latency
from reference.generate import generate
from reference.latency import LatencyModel
from reference.results import Result
from reference.scheduler.agreement import trace_differences
from reference.toy_models import SyntheticAcceptancePair


def plan_lookahead(config: RunConfig, c: float, plan: CheckPlan) -> int | None:
    """k minimising the exact expected latency (module docstring, step 1); None for plain and
    non-SI, which have no lookahead."""
    if config.algorithm in ("plain", "nonsi"):
        return None
    c = min(1.0, max(round(c, 3), 0.001))
    a, S = config.acceptance, plan.max_new_tokens
    if config.algorithm == "dsi":
        def cost(k: int) -> float:
            return dsi_expected_latency(c, a, k, config.num_target_servers, S)
    else:
        def cost(k: int) -> float:
            return si_expected_latency(c, a, k, S)
    return min(range(1, plan.max_lookahead + 1), key=cost)


@dataclass
class Prepared:
    """A config with its k and the reference's three predictions."""

    config: RunConfig
    lookahead: int | None  # None for plain and non-SI (no k)
    c: float
    floors: LatencyModel  # the emulated run's floors (ms)
    emulated: Result  # floor latencies
    median: Result  # median latencies
    alone: Result  # level-0 latencies

    def seconds(self, result: Result) -> float:
        return float(result.latency) * UNIT_S

    def estimate_s(self, runs: int, overhead_s: float) -> float:
        """Wall time the config should take: the emulated run and ``runs`` real runs, plus overhead."""
        return self.seconds(self.emulated) + runs * self.seconds(self.median) + (1 + runs) * overhead_s


def pair_for(config: RunConfig, plan: CheckPlan, pairs: dict) -> SyntheticAcceptancePair:
    key = (config.acceptance, config.mode)
    if key not in pairs:
        pairs[key] = SyntheticAcceptancePair(plan.synthetic_vocab, config.acceptance, seed=plan.seed,
                                             mode=config.mode)
    return pairs[key]


def _options(config: RunConfig, lookahead: int | None, plan: CheckPlan) -> dict:
    options = {"algorithm": config.algorithm, "lookahead": lookahead or 1, "mode": config.mode, "seed": plan.seed}
    if config.algorithm == "dsi":
        options["num_target_servers"] = config.num_target_servers
    return options


def prepare(config: RunConfig, table: LatencyTable, plan: CheckPlan, pairs: dict, ks: dict) -> Prepared:
    """Step 1 and 2 of the module docstring (CPU only; the dry run runs exactly this)."""
    level = table.at(config.level)
    key = (config.algorithm, config.num_target_servers, config.acceptance, level.c)
    if key not in ks:
        ks[key] = plan_lookahead(config, level.c, plan)
    k = ks[key]
    pair = pair_for(config, plan, pairs)
    options = _options(config, k, plan)
    floors = level.model("floor", plan.floor_margin)
    predict = {name: generate(pair.target, pair.drafter, plan.prompt(), plan.max_new_tokens, latency=model, **options)
               for name, model in (("emulated", floors), ("median", level.model("median")),
                                   ("alone", table.at(0).model("median")))}
    return Prepared(config, k, level.c, floors, **predict)


def quantiles_ms(values_s: list[float]) -> dict[str, float]:
    """Median, 99th percentile and maximum, in milliseconds."""
    ms = sorted(v * 1e3 for v in values_s) or [0.0]
    return {"median": statistics.median(ms), "p99": ms[min(len(ms) - 1, int(0.99 * len(ms)))], "max": ms[-1]}


@dataclass
class Runner:
    """Runs prepared configs on the device with the two real models (HFCausalLM) behind the pair."""

    plan: CheckPlan
    target: object  # the computing target (gpu_runtime.hf.HFCausalLM)
    drafter: object
    pairs: dict = field(default_factory=dict)
    engine_options: dict = field(default_factory=dict)  # more RuntimeEngine fields (tests: a mutant)

    def engine(self) -> RuntimeEngine:
        device = self.plan.device
        return RuntimeEngine(time_unit_s=UNIT_S, emulate_latency=True, target_devices=(device,),
                             drafter_device=device, forward_timeout_s=self.plan.forward_timeout_s,
                             **self.engine_options)

    def run(self, prepared: Prepared) -> dict:
        config, plan = prepared.config, self.plan
        pair = pair_for(config, plan, self.pairs)
        target, drafter = SyntheticForward(self.target, pair.target), SyntheticForward(self.drafter, pair.drafter)
        options = _options(config, prepared.lookahead, plan)
        engine, prompt, S = self.engine(), plan.prompt(), plan.max_new_tokens
        with WakeupProbe() as probe:
            emulated = engine.generate(target, drafter, prompt, S, latency=prepared.floors, **options)
        emulated_check = self._check_emulated(prepared, emulated, probe)
        real = replace(engine, emulate_latency=False)  # real latency: forwards take their compute time
        real_runs = [real.generate(target, drafter, prompt, S, **options) for _ in range(plan.runs)]
        expected = prepared.emulated.tokens
        measured = statistics.median(r.latency for r in real_runs)
        predicted = prepared.seconds(prepared.median)
        last = real_runs[-1]
        widths = [r.tokens_processed for r in last.trace if r.tokens_processed]
        counters = vars(last.counters)
        drafts = counters["accepted_drafts"] + counters["rejected_drafts"]
        return {
            "lookahead": prepared.lookahead, "c": prepared.c,
            "tokens": list(last.tokens),
            "tokens_match_reference": all(r.tokens == expected for r in (emulated, *real_runs)),
            "emulated": emulated_check,
            "real": {"measured_s": measured, "runs_s": [r.latency for r in real_runs], "predicted_s": predicted,
                     "predicted_alone_s": prepared.seconds(prepared.alone),
                     "measured_over_predicted": measured / predicted,
                     "counters": counters,
                     "acceptance_observed": counters["accepted_drafts"] / drafts if drafts else None,
                     "tokens_processed": {"median": statistics.median(widths) if widths else 0,
                                          "max": max(widths, default=0)}},
            "nonfinite_forwards": target.nonfinite + drafter.nonfinite,
            "forwards_computed": target.forwards + drafter.forwards,
        }

    def _check_emulated(self, prepared: Prepared, got: Result, probe: WakeupProbe) -> dict:
        expected = prepared.emulated
        differences = trace_differences(expected, got)
        token_lags = [o - float(n) * UNIT_S for o, n in zip(got.times, got.nominal_times, strict=True)]
        start_lags = [r.wall_start - float(r.start) * UNIT_S for r in got.trace
                      if r.wall_start is not None and r.start is not None]
        floors = prepared.floors
        longest_target_s = float(max(floors.target_decode, floors.target_prefill or 0)) * UNIT_S
        declared = probe.allowance(TIMING_TOLERANCE_S)
        allowed = declared + longest_target_s
        worst = max(token_lags, default=0.0)
        return {"predicted_s": prepared.seconds(expected), "measured_s": got.latency,
                "schedule_agrees": not differences, "differences": differences,
                "token_lag_ms": quantiles_ms(token_lags), "start_lag_ms": quantiles_ms(start_lags),
                "declared_allowance_ms": declared * 1e3, "allowed_lag_ms": allowed * 1e3,
                "within_tolerance": min(token_lags, default=0.0) >= -1e-9 and worst <= allowed,
                "tokens_beyond_declared": sum(lag > declared for lag in token_lags),
                "overruns": got.params.get("overruns", 0)}


class Budget:
    """Seconds left of the check's limit, from a clock started at construction."""

    def __init__(self, limit_s: float, clock: Callable[[], float] = time.perf_counter) -> None:
        self.limit_s = limit_s
        self.clock = clock
        self.t0 = clock()

    def elapsed(self) -> float:
        return self.clock() - self.t0

    def remaining(self) -> float:
        return self.limit_s - self.elapsed()


def within_budget(items: Iterable, *, estimate: Callable[[object], float], run: Callable[[object], object],
                  budget: Budget, reserve_s: float, name: Callable[[object], str] = str,
                  done: Callable[[object, object], None] | None = None) -> tuple[list, list[str]]:
    """Run each item whose estimate fits in what is left (less ``reserve_s``); skip the others
    with a note. Estimates are scaled by how long the finished items took against theirs
    (never below 1), so a plan that runs slower than estimated skips earlier."""
    results, skipped = [], []
    spent = estimated = 0.0
    for item in items:
        scale = max(1.0, spent / estimated) if estimated else 1.0
        need = estimate(item) * scale
        left = budget.remaining() - reserve_s
        if need > left:
            skipped.append(f"{name(item)}: skipped by the time budget (needs ~{need:.1f} s, "
                           f"{max(0.0, left):.1f} s left)")
            continue
        began = budget.elapsed()
        outcome = run(item)
        spent += budget.elapsed() - began
        estimated += estimate(item)
        results.append(outcome)
        if done is not None:
            done(item, outcome)
    return results, skipped
