"""Latency properties of virtual-time engines (SPEC §4, §6 T5/T6/T9, §7, §10).

All checks here need the ``canonical`` and ``timed`` capabilities: they read virtual times,
or, for a wall-time engine that reports its schedule, its nominal times
(:func:`scheduled`; its observed times are checked by ``properties.schedule``).

* :func:`check_latency_dominance` — pathwise, for the same request: ``T_DSI ≤ T_nonSI`` for
  every N ≥ 1 and ``T_DSI ≤ T_SI`` for N ≥ 2 (T5, T6). No jitter: the theorems are about
  fixed latencies. The suite runs it with decode latencies and preemption; with per-server
  prefill latencies (SPEC §10), or without preemption, it fails on the reference — two
  findings pinned by literal counterexamples in ``tests/properties/test_latency.py``.
* :func:`check_exact_timing` — decode latencies, no jitter: non-SI resolves token i at
  ``prefill + i`` target forwards; SI's times follow from the acceptance path, iteration by
  iteration (``kk·c + 1`` each, the accepted prefix plus one token gained); DSI's times are
  round-additive: a rejection cancels everything, so token i of a round started at ``t0``
  with ``m`` tokens left resolves at ``t0 + R_m(j)``, with ``R_m`` the resolution times of an
  all-accepted run of m tokens (obtained from the engine on a drafter equal to the target).
  The acceptance path is recomputed here from the models and the canonical uniforms; the
  DSI latency must also equal the fast exact model's (``reference.fast.exact.dsi_latency``,
  the "event simulation = fast simulator" check of SPEC §10).
* :func:`check_illustration` — the paper's illustration (target 7, drafter 1, k = 1, N = 7,
  S = 100): tokens resolved by t = 14, 32, 56, 64 (literal numbers of SPEC §10 / the brief).
* :func:`check_monte_carlo_means` — synthetic i.i.d. acceptance a: the mean SI and DSI
  latencies over R seeds agree with the exact finite-S expectations (dynamic programming:
  SI here, DSI by ``reference.closed_forms.dsi_expected_latency``; the S → ∞ closed forms
  carry an O(1/S) bias, SPEC §10) within a CLT confidence interval at level α.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from fractions import Fraction

import numpy as np
from scipy import stats

from properties.engines import Engine, EngineRequest
from properties.violation import PropertyViolation
from reference import closed_forms
from reference.fast import exact as fast_exact
from reference.latency import LatencyModel
from reference.randomness import u
from reference.results import Result, tokens_by
from reference.toy_models import SyntheticAcceptancePair, TabularLM


def scheduled(engine: Engine, request: EngineRequest) -> Result:
    """The engine's result with the times of its schedule (nominal times of a wall-time engine)."""
    result = engine.generate(request)
    return replace(result, times=result.nominal_times) if result.nominal_times else result


def check_latency_dominance(engine: Engine, request: EngineRequest, *, against_si: bool = True) -> None:
    """``T_DSI ≤ T_nonSI`` (N ≥ 1) and, if ``against_si``, ``T_DSI ≤ T_SI`` (N ≥ 2) on the same path."""
    lat = request.latency
    if lat.jitter:
        lat = LatencyModel(lat.target_decode, lat.drafter_decode, lat.target_prefill, lat.drafter_prefill)
    request = request.but(latency=lat, stop_tokens=frozenset())
    t_dsi = scheduled(engine, request.but(algorithm="dsi")).latency
    t_nonsi = scheduled(engine, request.but(algorithm="nonsi")).latency
    if t_dsi > t_nonsi:
        raise PropertyViolation("latency_dominance",
                                f"T_DSI = {t_dsi} > T_nonSI = {t_nonsi} (N = {request.num_target_servers}, "
                                f"k = {request.lookahead}, {lat}, S = {request.max_new_tokens})")
    if against_si and (request.num_target_servers is None or request.num_target_servers >= 2):
        t_si = scheduled(engine, request.but(algorithm="si")).latency
        if t_dsi > t_si:
            raise PropertyViolation("latency_dominance",
                                    f"T_DSI = {t_dsi} > T_SI = {t_si} (N = {request.num_target_servers}, "
                                    f"k = {request.lookahead}, {lat}, S = {request.max_new_tokens})")


# ---------------------------------------------------------------- exact timing


def _inverse_cdf(weights: np.ndarray, uniform: float) -> int:
    """Smallest id j with ``u·Σw < cumsum(w)[j]`` (SPEC §3), written independently."""
    total = float(weights.sum())
    running = 0.0
    for j, w in enumerate(weights):
        running += float(w)
        if w > 0 and uniform * total < running:
            return j
    return int(np.flatnonzero(weights > 0)[-1])


def acceptance_path(request: EngineRequest, tokens: tuple[int, ...]) -> list[bool]:
    """Whether the canonical draft at each position equals the emitted token (identity processing)."""
    path = []
    for i, token in enumerate(tokens):
        q = np.asarray(request.drafter.next_token_probs(request.prompt + tokens[:i]))  # type: ignore[union-attr]
        draft = int(np.argmax(q)) if request.mode == "greedy" else _inverse_cdf(q, u(request.seed, i, "draft"))
        path.append(draft == token)
    return path


def expected_si_times(path: list[bool], k: int, lat: LatencyModel) -> list[Fraction]:
    """SI resolution times from an acceptance path (SPEC §4.2, prefill on first forwards)."""
    S = len(path)
    times: list[Fraction] = []
    t = Fraction(0)
    drafter_forwards = target_forwards = 0
    while len(times) < S:
        n = len(times)
        kk = min(k, S - n - 1)
        for _ in range(kk):
            t += lat.duration("drafter", 0, drafter_forwards, prefill=drafter_forwards == 0)
            drafter_forwards += 1
        verify = lat.duration("target", 0, target_forwards, prefill=target_forwards == 0)
        bonus = lat.duration("drafter", 0, drafter_forwards, prefill=drafter_forwards == 0)
        target_forwards += 1
        drafter_forwards += 1
        t += max(verify, bonus)
        gained = 0
        while gained < kk and path[n + gained]:
            gained += 1
        times.extend([t] * (gained + 1))
    return times[:S]


def all_accepted_times(engine: Engine, request: EngineRequest, length: int) -> tuple[Fraction, ...]:
    """``R_m``: DSI resolution times of an all-accepted run of ``length`` tokens."""
    model = TabularLM(2, order=0, seed=0)
    return scheduled(engine, request.but(target=model, drafter=model, prompt=(0,), mode="sample",
                                       max_new_tokens=length, algorithm="dsi", temperature=1.0,
                                       top_k=None, top_p=None)).times


def expected_dsi_times(engine: Engine, request: EngineRequest, path: list[bool]) -> list[Fraction]:
    """Round-additive DSI times: ``r_i = t0 + R_{S−f}(i − f)``, new round after a rejection."""
    S = len(path)
    times: list[Fraction] = []
    t0, f = Fraction(0), 0
    cache: dict[int, tuple[Fraction, ...]] = {}
    while f < S:
        m = S - f
        if m not in cache:
            cache[m] = all_accepted_times(engine, request, m)
        R = cache[m]
        j = 0
        while True:
            times.append(t0 + R[j])
            if not path[f + j] or f + j == S - 1:
                break
            j += 1
        t0, f = times[-1], f + j + 1
    return times


def check_exact_timing(engine: Engine, request: EngineRequest) -> None:
    """non-SI, SI and DSI resolution times equal their independent predictions."""
    lat = request.latency
    decode = LatencyModel(lat.target_decode, lat.drafter_decode)
    prefill = LatencyModel(lat.target_decode, lat.drafter_decode, lat.target_prefill, lat.drafter_prefill)
    base = request.but(stop_tokens=frozenset(), temperature=1.0, top_k=None, top_p=None, preemptive=True)
    nonsi = scheduled(engine, base.but(algorithm="nonsi", latency=prefill))
    first = prefill.target_prefill if prefill.target_prefill is not None else prefill.target_decode
    expected_nonsi = [first + i * prefill.target_decode for i in range(len(nonsi.tokens))]
    if list(nonsi.times) != expected_nonsi:
        raise PropertyViolation("exact_timing", f"non-SI times {nonsi.times} != {expected_nonsi}")
    path = acceptance_path(base, tuple(nonsi.tokens))
    si = scheduled(engine, base.but(algorithm="si", latency=prefill))
    expected_si = expected_si_times(path, base.lookahead, prefill)
    if list(si.times) != expected_si:
        raise PropertyViolation("exact_timing", f"SI times {list(map(str, si.times))} != "
                                f"{list(map(str, expected_si))} for path {path}, k={base.lookahead}, {prefill}")
    dsi = scheduled(engine, base.but(algorithm="dsi", latency=decode))
    expected_dsi = expected_dsi_times(engine, base.but(latency=decode), path)
    if list(dsi.times) != expected_dsi:
        raise PropertyViolation(
            "exact_timing", f"DSI times {list(map(str, dsi.times))} are not round-additive "
            f"{list(map(str, expected_dsi))} for path {path}, k={base.lookahead}, "
            f"N={base.num_target_servers}, {decode}")
    fast = float(decode.target_decode) * float(
        fast_exact.dsi_latency(np.array([path]), base.lookahead, decode.c, base.num_target_servers)[0])
    if abs(float(dsi.latency) - fast) > 1e-9:
        raise PropertyViolation(
            "exact_timing", f"DSI latency {dsi.latency} != {fast} of the fast exact model "
            f"(reference.fast.exact) for path {path}, k={base.lookahead}, N={base.num_target_servers}, {decode}")


# ---------------------------------------------------------------- the paper's illustration

#: Tokens resolved by t = 14, 32, 56, 64 (target 7, drafter 1, k = 1, N = 7, S = 100).
ILLUSTRATION_CHECKPOINTS = (14, 32, 56, 64)
ILLUSTRATION = {
    ("accept", "dsi"): (8, 26, 50, 58),
    ("accept", "si"): (2, 8, 14, 16),
    ("accept", "nonsi"): (2, 4, 8, 9),
    ("reject", "dsi"): (2, 4, 8, 9),
    ("reject", "si"): (1, 4, 7, 8),
}


class PointMass:
    """A model that always puts all mass on one id (V = 2)."""

    vocab_size = 2

    def __init__(self, token: int) -> None:
        self.token = token

    def next_token_probs(self, prefix: object) -> np.ndarray:
        probs = np.zeros(2)
        probs[self.token] = 1.0
        return probs

    def __repr__(self) -> str:
        return f"PointMass({self.token})"


def check_illustration(engine: Engine) -> None:
    """The illustration's token counts, all accepted (q = p) and all rejected (disjoint)."""
    latency = LatencyModel(target_decode=7, drafter_decode=1)
    same = TabularLM(2, order=0, seed=3)
    pairs = {"accept": (same, same), "reject": (PointMass(0), PointMass(1))}
    for (case, algorithm), expected in ILLUSTRATION.items():
        target, drafter = pairs[case]
        result = scheduled(engine, EngineRequest(target, drafter, (0,), 100, algorithm=algorithm,
                                               lookahead=1, num_target_servers=7, latency=latency))
        got = tuple(tokens_by(result, t) for t in ILLUSTRATION_CHECKPOINTS)
        if got != expected:
            raise PropertyViolation("illustration", f"{case}ed drafts, {algorithm}: tokens by t = "
                                    f"{ILLUSTRATION_CHECKPOINTS} are {got}, expected {expected}")


# ---------------------------------------------------------------- Monte Carlo means


def si_expected_latency(c: Fraction, a: float, k: int, S: int) -> float:
    """Exact finite-S ``E[T_SI]``: ``E_n = kk·c + 1 + Σ_g P(g) E_{n+g}`` (i.i.d. acceptance a)."""
    expected = [0.0] * (S + 1)
    for n in range(S - 1, -1, -1):
        kk = min(k, S - n - 1)
        value = kk * float(c) + 1
        for accepted in range(kk + 1):
            prob = a**accepted * ((1 - a) if accepted < kk else 1.0)
            value += prob * expected[min(n + accepted + 1, S)]
        expected[n] = value
    return expected[0]


def check_monte_carlo_means(engine: Engine, *, acceptance: float, lookahead: int, num_target_servers: int | None,
                            c: Fraction, tokens: int, repeats: int | Mapping[str, int], alpha: float,
                            seed_offset: int = 0) -> dict[str, tuple[float, float, float]]:
    """Mean SI and DSI latency over R seeds vs the exact expectation, CLT interval.

    Fails when ``|mean − E| > z_{1−α/2} · s/√R`` (two-sided level α; the sample standard
    deviation s; R ≥ 100 so the normal approximation of the mean holds). ``repeats`` is R,
    one int for both algorithms or ``{"si": R_SI, "dsi": R_DSI}`` (the suite sizes each for
    its power, ``properties.statistical_suite.run_monte_carlo_means``); seeds ``seed_offset + 0..R−1``.
    Returns {algorithm: (mean, expectation, half_width)}.
    """
    pair = SyntheticAcceptancePair(4, acceptance, seed=11)
    base = EngineRequest(pair.target, pair.drafter, (0,), tokens, lookahead=lookahead,
                         num_target_servers=num_target_servers, latency=LatencyModel.time_units(c))
    expected = {"si": si_expected_latency(c, acceptance, lookahead, tokens),
                "dsi": closed_forms.dsi_expected_latency(c, acceptance, lookahead, num_target_servers, tokens)}
    z = stats.norm.isf(alpha / 2)
    out = {}
    for algorithm, value in expected.items():
        count = repeats if isinstance(repeats, int) else repeats[algorithm]
        samples = np.array([float(scheduled(engine, base.but(algorithm=algorithm, seed=seed_offset + r)).latency)
                            for r in range(count)])
        mean = float(samples.mean())
        half = z * float(samples.std(ddof=1)) / math.sqrt(count)
        if abs(mean - value) > max(half, 1e-12):
            raise PropertyViolation(
                "monte_carlo_means",
                f"{algorithm}: mean latency {mean:.4f} over {count} seeds, exact E[T] = {value:.4f}, "
                f"half-width {half:.4f} at α = {alpha:.2g} (a = {acceptance}, k = {lookahead}, "
                f"N = {num_target_servers}, c = {c}, S = {tokens})")
        out[algorithm] = (mean, value, half)
    return out
