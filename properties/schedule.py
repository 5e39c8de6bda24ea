"""Schedule properties of wall-time engines: the same algorithm, not only the same tokens.

The canonical coupling makes tokens independent of the schedule (SPEC §3), so an engine that
emits the right tokens may still not run DSI. An engine that reports its schedule (capability
``schedule_trace``: a trace of :class:`reference.results.TaskRecord` with nominal times in
latency units, and ``Result.nominal_times``) is checked against the reference on it (SPEC §11.1):

* :func:`check_schedule_agreement` — the engine's trace equals the reference's for the same
  request: the same forwards in the same order (kind, server, positions, round), the same
  dispatch, start, end and cancellation times (exact rationals), the same prefill flags, and
  the same tokens at the same nominal times;
* :func:`check_cache_reuse` — every forward reuses exactly what its server's KV cache can
  keep, ``min(LCP(previous input on that server, input), len(input) − positions needed)``,
  and processes the rest (capability ``kv_cache``);
* :func:`check_timing_fidelity` — what the machine did stays within the engine's declared
  tolerance of its schedule: every token is observed, and every forward taken by its server,
  at most ``timing_tolerance_s`` + 3 × the machine's current wake-up delay (measured by a
  bare sleeping thread meanwhile, :class:`gpu_runtime.jitter.WakeupProbe`) after its nominal
  time (a task queued behind a stale forward on a busy server fails this). One case runs with
  emulated latency (floors long enough for this machine), one with real compute only (a
  slow target model, every draft rejected, so cancellations hit forwards still computing).
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from fractions import Fraction

import numpy as np
from hypothesis import strategies as st

from properties import strategies as pst
from properties.engines import Engine, EngineRequest, ReferenceEngine
from properties.violation import PropertyViolation
from reference.latency import LatencyModel
from reference.results import Result
from reference.scheduler.agreement import trace_differences
from reference.toy_models import SyntheticAcceptancePair


def check_schedule_agreement(engine: Engine, request: EngineRequest) -> None:
    """The engine's schedule and tokens equal the reference's for ``request``."""
    expected = ReferenceEngine().generate(request)
    got = engine.generate(request)
    problems = trace_differences(expected, got)
    if problems:
        raise PropertyViolation("schedule_agreement", f"{request.algorithm} (k = {request.lookahead}, N = "
                                f"{request.num_target_servers}, S = {request.max_new_tokens}, {request.latency}, "
                                f"warm_start = {request.warm_start}, preemptive = {request.preemptive}): "
                                + " | ".join(problems))


@st.composite
def schedule_requests(draw: st.DrawFn) -> EngineRequest:
    """Requests that exercise every rule: all algorithms, N unlimited / 1 / 2 / more, kc = 1/n
    boundaries and kc ≥ 1, prefill, warm start, stop tokens, preemptive or not, jitter."""
    request = draw(pst.generation_requests(max_length=14))
    algorithm = draw(st.sampled_from(["dsi", "dsi", "dsi", "si", "nonsi", "plain"]))
    if draw(st.booleans()):  # long enough for several rounds (Hypothesis favours short ones)
        request = request.but(max_new_tokens=draw(st.sampled_from(range(8, 25))))
    lat = request.latency
    if draw(st.booleans()):  # drafter latency on a kc = 1/n boundary (exact rational)
        n = draw(st.integers(1, 3))
        c = Fraction(1, request.lookahead * n)
        lat = replace(lat, drafter_decode=lat.target_decode * c,
                      drafter_prefill=None if lat.drafter_prefill is None else min(lat.drafter_prefill,
                                                                                  lat.target_decode))
    warm = algorithm == "dsi" and request.num_target_servers is not None and draw(st.booleans())
    V = request.target.vocab_size
    stops = frozenset(draw(st.sets(st.integers(0, V - 1), max_size=1)))
    return request.but(algorithm=algorithm, latency=lat, warm_start=warm, stop_tokens=stops)


# ---------------------------------------------------------------- KV caches


def _common_prefix(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def cache_problems(result: Result) -> list[str]:
    """Forwards whose cache counts differ from a replay of their server's inputs."""
    problems = []
    held: dict[str, tuple[int, ...]] = {}
    for record in sorted(result.trace, key=lambda r: r.task_id):  # a server runs its forwards in id order
        if record.tokens_processed is None or not record.input_ids:
            continue
        ids = record.input_ids
        need = record.last_position - record.first_position + 1
        reuse = min(_common_prefix(held.get(record.server, ()), ids), len(ids) - need)
        if (record.cache_reused, record.tokens_processed) != (reuse, len(ids) - reuse):
            problems.append(f"{record.server} forward {record.task_id}: reused {record.cache_reused}, processed "
                            f"{record.tokens_processed}; its cache allows reusing {reuse} of {len(ids)}")
        held[record.server] = ids
    return problems


def check_cache_reuse(engine: Engine, request: EngineRequest) -> None:
    """Every forward's cache counts equal a replay of its server's previous inputs."""
    result = engine.generate(request)
    problems = cache_problems(result)
    if problems:
        raise PropertyViolation("kv_cache_reuse", f"{request.algorithm}, N = {request.num_target_servers}: "
                                + " | ".join(problems[:3]))


# ---------------------------------------------------------------- timing fidelity


class SlowModel:
    """A reference model whose every ``next_token_probs`` call takes ``seconds`` of real time
    (a compute the runtime cannot interrupt)."""

    def __init__(self, model: object, seconds: float) -> None:
        self.model = model
        self.seconds = seconds
        self.vocab_size = model.vocab_size  # type: ignore[attr-defined]

    def next_token_probs(self, prefix: object) -> np.ndarray:
        time.sleep(self.seconds)
        return self.model.next_token_probs(prefix)  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        return f"SlowModel({self.model!r}, {self.seconds})"


def timing_lags(result: Result, time_unit_s: float) -> tuple[list[float], list[float]]:
    """(token lags, start lags) in seconds: observed minus nominal."""
    tokens = [float(observed) - float(nominal) * time_unit_s
              for observed, nominal in zip(result.times, result.nominal_times, strict=True)]
    starts = [record.wall_start - float(record.start) * time_unit_s
              for record in result.trace if record.wall_start is not None and record.start is not None]
    return tokens, starts


def _timed_lags(name: str, engine: Engine, request: EngineRequest, unit: float, declared: float) -> None:
    """Run ``request``; every lag must stay within the declared tolerance plus PROBE_FACTOR times
    the wake-up delay a bare sleeping thread saw meanwhile (the load of the machine right now)."""
    from gpu_runtime.jitter import WakeupProbe

    with WakeupProbe() as probe:
        result = engine.generate(request)
    tokens, starts = timing_lags(result, unit)
    worst_token, worst_start = max(tokens, default=0.0), max(starts, default=0.0)
    allowed = probe.allowance(declared)
    if worst_token > allowed or worst_start > allowed:
        raise PropertyViolation("timing_fidelity", f"{name}: a token observed {worst_token * 1e3:.2f} ms "
                                f"after its nominal time, a forward taken {worst_start * 1e3:.2f} ms after "
                                f"its nominal start (allowed {allowed * 1e3:.1f} ms: declared "
                                f"{declared * 1e3:.1f} ms, machine wake-up delay {probe.worst_s * 1e3:.2f} ms)")


#: Emulated floors of the fidelity case: a target forward ≥ 5 ms, a draft ≥ 1 ms (this
#: machine's toy forwards take well under 1 ms when it is not overloaded).
FIDELITY_TARGET_S, FIDELITY_DRAFTER_S = 5e-3, 1e-3
#: Real compute of the slow target in the no-floor case (per position it delivers).
SLOW_TARGET_S = 0.08


def check_timing_fidelity(engine: Engine) -> None:
    """Observed times within the engine's tolerance of its schedule (emulated and real latency)."""
    caps = engine.capabilities
    unit, tolerance = caps.time_unit_s, caps.timing_tolerance_s
    if unit is None or tolerance is None:
        raise PropertyViolation("timing_fidelity", "the engine declares no time_unit_s / timing_tolerance_s")
    pair = SyntheticAcceptancePair(8, 0.7, seed=3)
    target_units = max(1, math.ceil(FIDELITY_TARGET_S / unit))
    drafter_units = max(1, math.ceil(FIDELITY_DRAFTER_S / unit))
    emulated = LatencyModel(target_decode=target_units, drafter_decode=min(drafter_units, target_units))
    for algorithm, num_target_servers in (("dsi", 3), ("si", None), ("nonsi", None)):
        request = EngineRequest(pair.target, pair.drafter, (1,), 16, algorithm=algorithm, lookahead=3,
                                num_target_servers=num_target_servers, latency=emulated, seed=5)
        _timed_lags(f"{algorithm}, emulated latency", engine, request, unit, tolerance)
    # real compute only (the engine's emulate_latency=False where it has that setting): a = 0,
    # so every draft is rejected when the frontier task ends (one position: 80 ms) and the
    # round's window (three positions: 240 ms, still computing on its server) is cancelled; the
    # next window needs a server (N = 3: one is idle)
    with_settings = getattr(engine, "with_settings", None)
    real = with_settings(emulate_latency=False) if with_settings is not None else engine
    never = SyntheticAcceptancePair(4, 0.0, seed=4)
    request = EngineRequest(SlowModel(never.target, SLOW_TARGET_S), never.drafter, (1,), 4, algorithm="dsi",
                            lookahead=2, num_target_servers=3, seed=1)
    _timed_lags("dsi, real compute", real, request, unit, tolerance)
