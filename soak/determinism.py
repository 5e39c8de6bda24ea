"""Determinism under jitter: many runtime runs with random delays, each checked against the reference.

Each run is one random request (algorithm, k, N, S, sampling mode, processing, models, prompt,
drafter latency c — a third of them on a kc = 1/n boundary —, prefill, warm start, stop
tokens, preemptive or not) drawn from ``numpy.random.default_rng((seed, index))``, so run
``index`` of soak seed ``seed`` replays alone (``python -m soak.determinism --seed S --case I``).
Three ways to perturb the runtime, one per run, and what is compared in each:

``model-jitter``
    Emulated latency whose :class:`~reference.latency.LatencyModel` has its own deterministic
    ``jitter`` (every forward ``× (1 + jitter · v)``, ``v`` keyed by server and forward; a
    quarter of these runs have jitter 0, so many deadlines coincide). Both engines apply the
    same durations, so the runtime's schedule must equal the reference's exactly
    (:func:`reference.scheduler.agreement.trace_differences`: tokens, nominal token times,
    every forward's server, positions, round, dispatch/start/end/cancel times).
``extra-jitter``
    Emulated latency plus the runtime's own ``extra_jitter_s`` (a uniform extra floor per
    forward, :class:`gpu_runtime.floors.Floors`). The reference does not know that delay, so
    two comparisons: the tokens must equal the reference's under the plain latency model (a
    different schedule: the perturbation must not change a token, SPEC §3), and the schedule
    must equal the reference's when the reference is handed the very durations the runtime
    used (:class:`FloorDurations`, the runtime's ``Floors.units`` behind the reference's
    ``duration`` hook). The durations are the runtime's; what is checked is that the wall
    driver turns them into the virtual driver's schedule (rare near-ties included).
``real-compute``
    No floors: forwards last their compute time plus ``extra_jitter_s`` (the later of the two,
    SPEC §8.1), so the schedule depends on the machine and only tokens are compared.

Time units: most runs use ``TIME_UNIT_S`` = 0.1 ms per latency unit, so that 10,000 runs fit
in minutes. Floors that short are below this machine's cost of one forward and one thread
hand-off, so every forward overruns and the observed times trail the schedule by the
accumulated overhead (the schedule is unchanged, SPEC §8.1): their lags are recorded, not
checked. A fifth of the runs (*timed*) use the floors of the ``timing_fidelity`` property,
which a busy machine can keep: a target forward ``TIMED_UNIT_S`` = 5 ms, a draft at least 1 ms
(c ≥ 1/5); there the observed lags (tokens after their nominal time, forwards taken after their
nominal start) must stay within ``TIMING_TOLERANCE_S`` + ``PROBE_FACTOR`` × the wake-up delay a
bare sleeping thread saw meanwhile (:class:`gpu_runtime.jitter.WakeupProbe`), the rule of the
``timing_fidelity`` property.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import time
from collections import Counter
from dataclasses import asdict, dataclass, field, fields, replace
from fractions import Fraction

import numpy as np

from gpu_runtime.engine import TIMING_TOLERANCE_S, RuntimeEngine
from gpu_runtime.floors import Floors
from gpu_runtime.jitter import WakeupProbe
from properties.schedule import FIDELITY_DRAFTER_S, FIDELITY_TARGET_S, timing_lags
from reference.generate import generate
from reference.latency import LatencyModel, to_fraction
from reference.scheduler.agreement import trace_differences
from reference.toy_models import MixtureDrafter, SyntheticAcceptancePair, TabularLM

MODES = ("model-jitter", "extra-jitter", "real-compute")
#: Seconds per latency unit: a target forward's floor is 0.1 ms, so 10,000 runs fit in minutes.
TIME_UNIT_S = 1e-4
#: Seconds per latency unit of the timed runs (lags checked), their least drafter latency c (the
#: floors of the timing_fidelity property) and their share of all runs.
TIMED_UNIT_S, TIMED_SHARE = FIDELITY_TARGET_S, 0.2
TIMED_MIN_C = to_fraction(FIDELITY_DRAFTER_S) / to_fraction(FIDELITY_TARGET_S)
#: Failures kept in full in the summary (the counts cover all of them).
KEPT_FAILURES = 20
#: The runtime under test (each case sets its time unit and delays on it).
_RUNTIME = RuntimeEngine()


@dataclass(frozen=True)
class FloorDurations(LatencyModel):
    """The runtime's floors as the reference's latency model: the floors' latency model whose
    ``duration`` is ``Floors.units`` (extra jitter included), so the reference replays the
    runtime's durations."""

    floors: Floors | None = field(default=None, compare=False)

    @classmethod
    def of(cls, floors: Floors) -> FloorDurations:
        base = floors.latency or LatencyModel()
        return cls(**{f.name: getattr(base, f.name) for f in fields(LatencyModel)}, floors=floors)

    def duration(self, role: str, server: int, forward_index: int, *, prefill: bool,
                 positions: int = 1) -> Fraction:
        assert self.floors is not None
        return self.floors.units(role, server, forward_index, prefill=prefill, positions=positions)


@dataclass(frozen=True)
class JitterCase:
    """One drawn run: the request and how the runtime is perturbed."""

    seed: int
    index: int
    mode: str
    kwargs: dict  # reference.generate / RuntimeEngine.generate keyword arguments
    prompt: tuple[int, ...]
    max_new_tokens: int
    models: tuple[str, int, float, int]  # (kind, V, acceptance or overlap, seed)
    extra_jitter_s: float
    jitter_seed: int
    time_unit_s: float  # TIMED_UNIT_S: a timed run (lags checked)

    @property
    def timed(self) -> bool:
        return self.time_unit_s == TIMED_UNIT_S

    def pair(self) -> tuple[object, object]:
        kind, V, level, seed = self.models
        if kind == "synthetic":
            pair = SyntheticAcceptancePair(V, level, seed=seed, mode=self.kwargs["mode"])
            return pair.target, pair.drafter
        target = TabularLM(V, order=seed % 3, seed=seed)
        return target, MixtureDrafter(target, overlap=level, seed=seed + 1)

    def describe(self) -> str:
        kw = self.kwargs
        return (f"{self.mode} {kw['algorithm']} k={kw['lookahead']} N={kw.get('num_target_servers')} "
                f"S={self.max_new_tokens} "
                f"{kw['mode']} models={self.models} latency={kw['latency']} extra_jitter_s={self.extra_jitter_s:.3g} "
                f"time_unit_s={self.time_unit_s:g}")


def draw_case(seed: int, index: int) -> JitterCase:
    """Run ``index`` of soak seed ``seed`` (a pure function of both)."""
    rng = np.random.default_rng((seed, index))
    mode = MODES[int(rng.choice(3, p=[0.4, 0.4, 0.2]))]
    unit = TIMED_UNIT_S if rng.random() < TIMED_SHARE else TIME_UNIT_S
    algorithm = str(rng.choice(["dsi", "si", "nonsi", "plain"], p=[0.55, 0.2, 0.15, 0.1]))
    k = int(rng.integers(1, 7))
    num_target_servers = None if rng.random() < 0.15 else int(rng.integers(1, 6))
    sampling = "greedy" if rng.random() < 0.5 else "sample"
    V = int(rng.integers(2, 9))
    if rng.random() < 0.7:
        models = ("synthetic", V, float(rng.choice([0.0, 0.3, 0.6, 0.8, 0.95, 1.0])), int(rng.integers(10**6)))
    else:
        models = ("tabular", V, float(rng.choice([0.0, 0.5, 0.9, 1.0])), int(rng.integers(10**6)))
    if rng.random() < 0.3:  # a kc = 1/n boundary, exact rational
        c = min(Fraction(1, k * int(rng.integers(1, 4))), Fraction(1))
    else:
        c = Fraction(int(rng.integers(1, 11)), 10)
    if unit == TIMED_UNIT_S:
        c = max(c, TIMED_MIN_C)
    latency: dict = {}
    if rng.random() < 0.3:
        latency["target_prefill"] = Fraction(int(rng.integers(2, 9)), 2)
        if rng.random() < 0.5:
            latency["drafter_prefill"] = c * int(rng.integers(1, 4))
    if (mode == "model-jitter" and rng.random() < 0.75) or (mode == "extra-jitter" and rng.random() < 0.3):
        latency.update(jitter=Fraction(int(rng.integers(1, 10)), 10), jitter_seed=int(rng.integers(2**31)))
    kwargs: dict = {"algorithm": algorithm, "lookahead": k, "mode": sampling, "seed": int(rng.integers(2**63)),
                    "latency": LatencyModel.time_units(c, **latency), "preemptive": bool(rng.random() < 0.8)}
    if algorithm == "dsi":
        kwargs["num_target_servers"] = num_target_servers
        kwargs["warm_start"] = num_target_servers is not None and bool(rng.random() < 0.3)
    if sampling == "sample" and rng.random() < 0.3:
        kwargs["top_k"] = int(rng.integers(1, V + 1))
    if sampling == "sample" and rng.random() < 0.2:
        kwargs["temperature"] = float(rng.choice([0.5, 1.3]))
    if rng.random() < 0.15:
        kwargs["stop_tokens"] = (int(rng.integers(V)),)
    prompt = tuple(int(t) for t in rng.integers(0, V, size=int(rng.integers(1, 4))))
    extra = 0.0 if mode == "model-jitter" else float(rng.uniform(0, 3)) * unit
    return JitterCase(seed, index, mode, kwargs, prompt, int(rng.integers(1, 25)), models, extra,
                      int(rng.integers(2**31)), unit)


@dataclass
class CaseOutcome:
    """What one run showed: problems (empty when it passed), its worst lag and allowance."""

    index: int
    mode: str
    algorithm: str
    timed: bool
    problems: list[str] = field(default_factory=list)
    kinds: set[str] = field(default_factory=set)  # what failed: tokens, schedule, lag, error
    worst_lag_s: float = 0.0
    allowance_s: float = 0.0
    probe_worst_s: float = 0.0
    seconds: float = 0.0
    loadavg: float = 0.0  # the machine's 1-minute load average when the run ended


def run_case(case: JitterCase, runtime: RuntimeEngine = _RUNTIME) -> CaseOutcome:
    """Run ``case`` on ``runtime`` (its time unit and delays set by the case) and check it
    against the reference (module docstring)."""
    began = time.perf_counter()
    outcome = CaseOutcome(case.index, case.mode, case.kwargs["algorithm"], case.timed)
    unit = case.time_unit_s
    target, drafter = case.pair()
    kwargs = dict(case.kwargs)
    engine = replace(runtime, time_unit_s=unit, extra_jitter_s=case.extra_jitter_s, jitter_seed=case.jitter_seed,
                     emulate_latency=case.mode != "real-compute")
    try:
        expected = generate(target, drafter, case.prompt, case.max_new_tokens, **kwargs)
        runtime_latency = None if case.mode == "real-compute" else kwargs["latency"]
        with WakeupProbe() as probe:
            got = engine.generate(target, drafter, case.prompt, case.max_new_tokens,
                                  **{**kwargs, "latency": runtime_latency})
        if got.tokens != expected.tokens:
            outcome.kinds.add("tokens")
            outcome.problems.append(f"tokens {got.tokens} != the reference's {expected.tokens}")
        if case.mode != "real-compute":  # the schedule: the reference with the same durations
            same = expected
            if case.mode == "extra-jitter":
                floors = Floors(kwargs["latency"], unit, case.extra_jitter_s, case.jitter_seed)
                same = generate(target, drafter, case.prompt, case.max_new_tokens,
                                **{**kwargs, "latency": FloorDurations.of(floors)})
            differences = [p for p in trace_differences(same, got) if not p.startswith("tokens ")]
            if differences:
                outcome.kinds.add("schedule")
                outcome.problems += [f"schedule: {p}" for p in differences]
        tokens, starts = timing_lags(got, unit)
        outcome.worst_lag_s = max(tokens + starts, default=0.0)
        outcome.probe_worst_s = probe.worst_s
        outcome.allowance_s = probe.allowance(TIMING_TOLERANCE_S)
        if case.timed and outcome.worst_lag_s > outcome.allowance_s:
            outcome.kinds.add("lag")
            outcome.problems.append(f"lag {outcome.worst_lag_s * 1e3:.1f} ms beyond the allowance "
                                    f"{outcome.allowance_s * 1e3:.1f} ms")
    except Exception as exc:  # any error is a failure of the run, reported with its case
        outcome.kinds.add("error")
        outcome.problems.append(f"{type(exc).__name__}: {exc}")
    outcome.seconds = time.perf_counter() - began
    outcome.loadavg = os.getloadavg()[0]
    return outcome


def _run_chunk(task: tuple[int, range, RuntimeEngine]) -> list[CaseOutcome]:
    seed, indices, runtime = task
    return [run_case(draw_case(seed, index), runtime) for index in indices]


@dataclass
class JitterSummary:
    """Counts over all runs and the failures (the first ``KEPT_FAILURES`` in full)."""

    seed: int
    runs: int = 0
    failed: int = 0
    failed_by_kind: dict = field(default_factory=dict)  # tokens, schedule, lag, error (a run may count twice)
    by_mode: dict = field(default_factory=dict)
    by_algorithm: dict = field(default_factory=dict)
    trace_compared: int = 0  # runs whose full schedule was compared (model-jitter, extra-jitter)
    timed: int = 0  # runs at TIMED_UNIT_S, lags checked
    worst_lag_ms: float = 0.0  # timed runs
    worst_lag_beyond_probe_ms: float | None = None  # timed runs: max of lag − PROBE_FACTOR × probe delay
    worst_probe_ms: float = 0.0
    worst_untimed_lag_ms: float = 0.0  # runs at TIME_UNIT_S: accumulated overruns, not checked
    tolerance_ms: float = TIMING_TOLERANCE_S * 1e3
    time_unit_s: float = TIME_UNIT_S
    timed_unit_s: float = TIMED_UNIT_S
    seconds: float = 0.0
    workers: int = 1
    failures: list[dict] = field(default_factory=list)

    def add(self, outcome: CaseOutcome) -> None:
        self.runs += 1
        self.by_mode[outcome.mode] = self.by_mode.get(outcome.mode, 0) + 1
        self.by_algorithm[outcome.algorithm] = self.by_algorithm.get(outcome.algorithm, 0) + 1
        self.trace_compared += outcome.mode != "real-compute"
        if outcome.timed:
            self.timed += 1
            self.worst_lag_ms = max(self.worst_lag_ms, outcome.worst_lag_s * 1e3)
            beyond = outcome.worst_lag_s - (outcome.allowance_s - TIMING_TOLERANCE_S)
            self.worst_lag_beyond_probe_ms = max(self.worst_lag_beyond_probe_ms or -math.inf, beyond * 1e3)
        else:
            self.worst_untimed_lag_ms = max(self.worst_untimed_lag_ms, outcome.worst_lag_s * 1e3)
        self.worst_probe_ms = max(self.worst_probe_ms, outcome.probe_worst_s * 1e3)
        if outcome.problems:
            self.failed += 1
            for kind in outcome.kinds:
                self.failed_by_kind[kind] = self.failed_by_kind.get(kind, 0) + 1
            if len(self.failures) < KEPT_FAILURES:
                case = draw_case(self.seed, outcome.index)
                self.failures.append({"case": outcome.index, "mode": outcome.mode, "kinds": sorted(outcome.kinds),
                                      "loadavg": outcome.loadavg, "probe_worst_ms": outcome.probe_worst_s * 1e3,
                                      "request": case.describe(),
                                      "problems": outcome.problems[:3], "replay": replay_command(self.seed,
                                                                                                 outcome.index)})

    def as_dict(self) -> dict:
        out = asdict(self)
        out["by_mode"] = dict(sorted(Counter(self.by_mode).items()))
        out["by_algorithm"] = dict(sorted(Counter(self.by_algorithm).items()))
        out["failed_by_kind"] = dict(sorted(self.failed_by_kind.items()))
        return out


def replay_command(seed: int, index: int) -> str:
    """The command that reruns one case alone."""
    return f"python -m soak.determinism --seed {seed} --case {index}"


def run_jitter(seed: int, runs: int, *, workers: int = 1, chunk: int = 25,
               runtime: RuntimeEngine = _RUNTIME) -> JitterSummary:
    """``runs`` cases of soak seed ``seed`` on ``workers`` processes (1: in this process)."""
    began = time.perf_counter()
    summary = JitterSummary(seed=seed, workers=workers)
    tasks = [(seed, range(start, min(start + chunk, runs)), runtime) for start in range(0, runs, chunk)]
    if workers <= 1:
        for task in tasks:
            for outcome in _run_chunk(task):
                summary.add(outcome)
    else:
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            for outcomes in pool.imap_unordered(_run_chunk, tasks):
                for outcome in outcomes:
                    summary.add(outcome)
    summary.seconds = time.perf_counter() - began
    return summary


def main(argv: list[str] | None = None) -> int:
    """``python -m soak.determinism --seed S (--case I | --runs R [--workers W]) [--mutant M | --all-mutants]``:
    JSON on stdout; exit 1 when a run failed (not with ``--all-mutants``, which reports)."""
    import json

    from properties.runtime_mutants import RUNTIME_MUTANTS
    from reference.cli import OneLineErrorParser

    parser = OneLineErrorParser(prog="python -m soak.determinism", description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, required=True, help="the soak's jitter seed")
    parser.add_argument("--case", type=int, help="replay this one case (prints its request and problems)")
    parser.add_argument("--runs", type=int, default=100, help="cases 0..RUNS-1 (default 100)")
    parser.add_argument("--workers", type=int, default=1, help="processes (default 1)")
    parser.add_argument("--mutant", choices=[m[0] for m in RUNTIME_MUTANTS],
                        help="run against this runtime mutant instead (properties/runtime_mutants.py)")
    parser.add_argument("--all-mutants", action="store_true",
                        help="run the cases against every runtime mutant: failed runs per mutant")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.workers < 1:
        parser.error("--runs and --workers must be >= 1")
    if args.all_mutants:
        table = {}
        for name, *_, factory in RUNTIME_MUTANTS:
            summary = run_jitter(args.seed, args.runs, workers=args.workers, runtime=factory().runtime)
            table[name] = {"failed": summary.failed, "runs": summary.runs,
                           "first": summary.failures[0]["problems"][0] if summary.failures else None}
        print(json.dumps(table, indent=2))
        return 0
    runtime = _RUNTIME
    if args.mutant:
        runtime = next(factory for name, *_, factory in RUNTIME_MUTANTS if name == args.mutant)().runtime
    if args.case is not None:
        case = draw_case(args.seed, args.case)
        outcome = run_case(case, runtime)
        print(json.dumps({"request": case.describe(), **asdict(outcome), "kinds": sorted(outcome.kinds)}, indent=2))
        return 1 if outcome.problems else 0
    summary = run_jitter(args.seed, args.runs, workers=args.workers, runtime=runtime)
    print(json.dumps(summary.as_dict(), indent=2))
    return 1 if summary.failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
