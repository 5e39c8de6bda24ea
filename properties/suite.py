"""The property suite as data: every property of SPEC §7, runnable against any engine.

Each :class:`SuiteProperty` has a name, the capabilities it needs, and ``run(engine,
shrink=...)``, which raises :class:`~properties.violation.PropertyViolation` (or the
engine's own error) when the engine fails it. Hypothesis drives the randomised ones with the
active profile (``ci``: derandomized; ``thorough``: fresh seeds, 10x examples); statistical
ones use a fixed configuration list, registered here so that the Bonferroni share of the
family-wise α = 1e-6 is known (:data:`REGISTERED_STATISTICAL_TESTS`).

Order matters to the mutant harness (``killed_by`` is the first property that fails): exact
and deterministic properties first, statistical ones last. The pytest files in
``tests/properties`` call :func:`run_property` per property; ``properties.mutants`` calls
:func:`first_failure`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from scipy import stats

from properties import strategies as pst
from properties.communication import check_message_latency, message_requests
from properties.distribution import (
    StatisticalPlan,
    check_exact_acceptance_rate,
    check_exact_sequence_law,
    check_statistical_law,
    float_target_law,
    plan_for,
)
from properties.engines import Engine, EngineRequest
from properties.latency import (
    check_exact_timing,
    check_illustration,
    check_latency_dominance,
    check_monte_carlo_means,
)
from properties.profiles import active_profile, examples
from properties.schedule import (
    check_cache_reuse,
    check_schedule_agreement,
    check_timing_fidelity,
    schedule_requests,
)
from properties.statistics import bonferroni_alpha
from properties.trajectory import (
    check_greedy_acceptances,
    check_greedy_equality,
    check_result_contract,
    check_trajectory_equality,
)
from properties.violation import PropertyViolation
from reference.fast.exact import round_resolution_times
from reference.latency import LatencyModel
from reference.toy_models import MixtureDrafter, SyntheticAcceptancePair, TabularLM

Runner = Callable[..., None]


@dataclass(frozen=True)
class SuiteProperty:
    """One property of the suite: name, what it checks, what it needs, how to run it."""

    name: str
    kind: str  # "trajectory", "greedy", "exact", "latency", "statistical"
    requires: tuple[str, ...]  # capability attributes that must be True
    description: str
    runner: Runner

    def applies_to(self, engine: Engine) -> bool:
        """True when the engine declares every capability the property needs."""
        return all(getattr(engine.capabilities, cap) for cap in self.requires)

    def run(self, engine: Engine, *, shrink: bool = True) -> None:
        """Run against ``engine``; raises on failure."""
        self.runner(engine, shrink=shrink)


def _hypothesis(strategy: st.SearchStrategy, check: Callable[[Engine, object], None], n: int) -> Runner:
    def runner(engine: Engine, *, shrink: bool = True) -> None:
        phases = [Phase.explicit, Phase.reuse, Phase.generate] + ([Phase.shrink] if shrink else [])

        @settings(max_examples=examples(n), database=None, deadline=None, phases=phases,
                  derandomize=active_profile() == "ci", print_blob=True,
                  suppress_health_check=list(HealthCheck))
        @given(strategy)
        def inner(case: object) -> None:
            check(engine, case)

        inner()

    return runner


# ---------------------------------------------------------------- randomised properties


@st.composite
def _exact_cases(draw: st.DrawFn) -> tuple[EngineRequest, object, object, int]:
    target, drafter = draw(pst.rational_pairs())
    V = target.vocab_size
    length = draw(st.integers(1, 3 if V == 2 else 2))
    request = EngineRequest(target, drafter, draw(pst.prompts(V, max_size=2)), length,
                            algorithm=draw(st.sampled_from(["dsi", "si", "nonsi"])),
                            lookahead=draw(pst.lookaheads(max_value=3)),
                            sp_degree=draw(pst.sp_degrees(max_value=3)),
                            latency=draw(pst.latency_models()), preemptive=draw(st.booleans()))
    return request, target, drafter, length


def _exact_law(engine: Engine, case: tuple) -> None:
    request, target, drafter, length = case
    check_exact_sequence_law(engine, request, target, drafter, length)


def _exact_acceptance(engine: Engine, case: tuple) -> None:
    request, target, drafter, _ = case
    check_exact_acceptance_rate(engine, request, target, drafter)


def _decode_only(request: EngineRequest) -> EngineRequest:
    lat = request.latency or LatencyModel()
    return request.but(latency=LatencyModel(lat.target_decode, lat.drafter_decode))


def _dominance(engine: Engine, request: EngineRequest) -> None:
    # T5/T6 are theorems about the preemptive algorithm; the non-preemptive variant (a
    # cancelled draft keeps the drafter) can lose to non-SI when c > 1/2 (tests/properties).
    check_latency_dominance(engine, _decode_only(request).but(preemptive=True))


@st.composite
def _warm_start_requests(draw: st.DrawFn) -> EngineRequest:
    """Requests with prefill latencies (drafter's ≤ target's), finite N, warm start, no jitter."""
    request = draw(pst.generation_requests(max_length=14, jitter=False, with_processing=False))
    lat = request.latency or LatencyModel()
    target_prefill = draw(st.fractions(min_value=1, max_value=8, max_denominator=4))
    drafter_prefill = draw(st.fractions(min_value=Fraction(1, 20), max_value=target_prefill, max_denominator=20))
    return request.but(latency=LatencyModel(lat.target_decode, lat.drafter_decode, target_prefill, drafter_prefill),
                       sp_degree=draw(pst.sp_degrees(unlimited=False)), preemptive=True, warm_start=True)


def _warm_start_dominance(engine: Engine, request: EngineRequest) -> None:
    # With prefill and warm start only T_DSI <= T_nonSI holds (SI can win: docs/reference.md).
    check_latency_dominance(engine, request, against_si=False)


def _illustration(engine: Engine, *, shrink: bool = True) -> None:
    check_illustration(engine)


# ---------------------------------------------------------------- statistical properties


@dataclass(frozen=True)
class StatisticalCase:
    """One registered statistical test (fixed model, algorithm and processing)."""

    name: str
    request: EngineRequest
    length: int


def statistical_cases() -> tuple[StatisticalCase, ...]:
    """The registered χ² tests of the first m tokens (models fixed for reproducibility).

    Each: α = 1e-6 / 5 = 2e-7 (Bonferroni over REGISTERED_STATISTICAL_TESTS), power 0.99
    against a two-bin shift of TV 0.05 on the merged bins, n from :func:`statistical_plan`:
    dsi_tabular n = 5068 (9 bins), si_processed n = 4028 (9 bins), dsi_synthetic n = 3503
    (16 bins). The Monte Carlo means (same α) have power 0.99 against a 3 % shift of E[T],
    R from the exact variance (:func:`_monte_carlo`, docs/mutants.md).
    """
    t3 = TabularLM(3, order=1, seed=7)
    t4 = TabularLM(4, order=1, seed=8, concentration=0.7)
    pair = SyntheticAcceptancePair(4, 0.6, seed=5)
    return (
        StatisticalCase("dsi_tabular", EngineRequest(t3, MixtureDrafter(t3, overlap=0.5), (0,), 2,
                                                     algorithm="dsi", lookahead=2, sp_degree=2), 2),
        StatisticalCase("si_processed", EngineRequest(t4, MixtureDrafter(t4, overlap=0.3), (1,), 2,
                                                      algorithm="si", lookahead=3, temperature=0.7,
                                                      top_k=3), 2),
        StatisticalCase("dsi_synthetic", EngineRequest(pair.target, pair.drafter, (0,), 2,
                                                       algorithm="dsi", lookahead=1, sp_degree=None), 2),
    )


#: Monte Carlo mean checks: (acceptance a, lookahead k, N, c, S). The number of seeds R is
#: not a constant: :func:`monte_carlo_repeats` derives it, per algorithm, from the exact
#: variance of the latency, α and the stated effect (see :func:`_monte_carlo`).
MONTE_CARLO_CASES = ((0.8, 3, 3, Fraction(1, 2), 20),)
#: Effect the Monte Carlo means must detect: a shift of the mean latency by 3 % of E[T].
MONTE_CARLO_EFFECT = 0.03
#: Required power against that effect at the per-test α.
MONTE_CARLO_POWER = 0.99


def monte_carlo_moments(algorithm: str, a: float, k: int, n_servers: int | None, c: Fraction,
                        tokens: int) -> tuple[float, float]:
    """Exact ``(E[T], SD[T])`` of the SI or DSI latency (i.i.d. acceptance a, time units).

    Dynamic programming over the first and second moments on the same recurrences as the
    exact expectations (SPEC §10): SI, per iteration from n resolved tokens, cost
    ``kk·c + 1`` and g = accepted + 1 tokens gained; DSI, per round from f, cost ``R_m(j)``
    (:func:`reference.fast.exact.round_resolution_times`) and j + 1 tokens gained. With
    ``T_n = cost + T_{n+g}``: ``E[T_n²] = Σ_g P(g) (cost² + 2·cost·E[T_{n+g}] + E[T_{n+g}²])``.

    Checked against brute-force enumeration of every acceptance path (weights
    ``a^#accepted (1 − a)^#rejected``) through the fast simulators:

    >>> import itertools, numpy as np
    >>> from reference.fast import exact
    >>> paths = np.array(list(itertools.product([False, True], repeat=7)))
    >>> w = 0.8 ** paths.sum(1) * 0.2 ** (~paths).sum(1)
    >>> for alg, lat in (("si", exact.si_latency(paths, 3, 0.5)),
    ...                  ("dsi", exact.dsi_latency(paths, 3, 0.5, 3))):
    ...     mean = float(w @ lat)
    ...     sd = float(np.sqrt(w @ (lat - mean) ** 2))
    ...     got = monte_carlo_moments(alg, 0.8, 3, 3, Fraction(1, 2), 7)
    ...     print(alg, np.allclose(got, (mean, sd), rtol=1e-12, atol=0))
    si True
    dsi True
    """
    first = np.zeros(tokens + 1)
    second = np.zeros(tokens + 1)
    for n in range(tokens - 1, -1, -1):
        if algorithm == "si":
            kk = min(k, tokens - n - 1)
            outcomes = [(a**acc * ((1 - a) if acc < kk else 1.0), kk * float(c) + 1, acc + 1)
                        for acc in range(kk + 1)]
        else:
            m = tokens - n
            times = round_resolution_times(float(c), k, n_servers, m)
            outcomes = [(a**j * ((1 - a) if j < m - 1 else 1.0), float(times[j]), j + 1) for j in range(m)]
        for prob, cost, gained in outcomes:
            nxt = min(n + gained, tokens)
            first[n] += prob * (cost + first[nxt])
            second[n] += prob * (cost**2 + 2 * cost * first[nxt] + second[nxt])
    return float(first[0]), math.sqrt(max(float(second[0] - first[0] ** 2), 0.0))


def monte_carlo_power(repeats: int, sd: float, shift: float, alpha: float) -> float:
    """Power of the two-sided CLT test ``|mean − E| > z_{1−α/2}·s/√R`` against a shift.

    ``Φ(shift·√R/σ − z) + Φ(−shift·√R/σ − z)`` (s ≈ σ at these R).

    >>> round(monte_carlo_power(100, 1.0, 0.5, 0.05), 4)  # z = 1.96, shift/se = 5
    0.9988
    """
    z = stats.norm.isf(alpha / 2)
    d = shift * math.sqrt(repeats) / sd
    return float(stats.norm.cdf(d - z) + stats.norm.cdf(-d - z))


def monte_carlo_repeats(sd: float, shift: float, alpha: float, power: float = MONTE_CARLO_POWER) -> int:
    """Smallest R with :func:`monte_carlo_power` ≥ ``power`` (at least 100, for the CLT).

    Starts from ``⌈((z_{1−α/2} + z_{power})·σ/shift)²⌉`` and steps down/up to the exact minimum.

    >>> monte_carlo_repeats(1.0, 0.5, 0.05)  # ((1.960 + 2.326) / 0.5)² = 73.5 -> the floor
    100
    >>> r = monte_carlo_repeats(2.0, 0.1, 2e-7)
    >>> monte_carlo_power(r, 2.0, 0.1, 2e-7) >= 0.99 > monte_carlo_power(r - 1, 2.0, 0.1, 2e-7)
    True
    """
    z = stats.norm.isf(alpha / 2) + stats.norm.isf(1 - power)
    r = max(math.ceil((z * sd / shift) ** 2), 2)
    while r > 2 and monte_carlo_power(r - 1, sd, shift, alpha) >= power:
        r -= 1
    while monte_carlo_power(r, sd, shift, alpha) < power:
        r += 1
    return max(r, 100)


#: Bonferroni denominator: χ² tests plus two Monte Carlo means (SI, DSI) per MC case.
REGISTERED_STATISTICAL_TESTS = len(statistical_cases()) + 2 * len(MONTE_CARLO_CASES)
STATISTICAL_ALPHA = bonferroni_alpha(REGISTERED_STATISTICAL_TESTS)


def seed_offset() -> int:
    """0 under ``ci`` (a failure is a deterministic regression); fresh under ``thorough``."""
    return 0 if active_profile() == "ci" else random.SystemRandom().randrange(2**40)


def statistical_plan(case: StatisticalCase) -> StatisticalPlan:
    """α = 1e-6 / registered count; n for power 0.99 against TV 0.05 (two-bin shift)."""
    return plan_for(float_target_law(case.request, case.length), STATISTICAL_ALPHA)


def _statistical(engine: Engine, *, shrink: bool = True) -> None:
    offset = seed_offset()
    for case in statistical_cases():
        check_statistical_law(engine, case.request, case.length, statistical_plan(case),
                              seed_offset=offset, name=f"statistical_law[{case.name}]")


def _monte_carlo(engine: Engine, *, shrink: bool = True) -> None:
    """Mean SI and DSI latency over R seeds vs the exact finite-S expectation (CLT interval).

    Per registered test (SI, DSI of each case): two-sided α = STATISTICAL_ALPHA = 1e-6 / 5 =
    2e-7 (z = 5.20); power ≥ 0.99 against a shift of the mean by MONTE_CARLO_EFFECT = 3 % of
    E[T]. R is the smallest sample with that power, computed from the exact standard deviation
    σ of T (:func:`monte_carlo_moments`, a DP, no pilot needed): R = ⌈((z_{1−α/2} + z_{0.99})
    σ / (0.03·E[T]))²⌉ up to the exact minimum. For the case a = 0.8, k = 3, N = 3, c = 1/2,
    S = 20: SI E = 16.96, σ = 2.59 → R = 1468; DSI E = 13.49, σ = 1.38 → R = 658 (about 4 s
    on the reference). The power is for the normal approximation with s ≈ σ (R ≥ 600, s is within
    a few percent of σ).
    """
    offset = seed_offset()
    for a, k, n_servers, c, tokens in MONTE_CARLO_CASES:
        repeats = {}
        for algorithm in ("si", "dsi"):
            mean, sd = monte_carlo_moments(algorithm, a, k, n_servers, c, tokens)
            repeats[algorithm] = monte_carlo_repeats(sd, MONTE_CARLO_EFFECT * mean, STATISTICAL_ALPHA)
        check_monte_carlo_means(engine, acceptance=a, lookahead=k, sp_degree=n_servers, c=c,
                                tokens=tokens, repeats=repeats, alpha=STATISTICAL_ALPHA,
                                seed_offset=offset)


CANONICAL = ("canonical",)
TIMED = ("canonical", "timed")

SUITE: tuple[SuiteProperty, ...] = (
    SuiteProperty("result_contract", "contract", (),
                  "S tokens in range(V), one non-decreasing time per token, latency = last time",
                  _hypothesis(pst.generation_requests(max_length=10), check_result_contract, 10)),
    SuiteProperty("trajectory_equality", "trajectory", CANONICAL,
                  "non-SI == SI == DSI token for token (random models, k, N, latencies, jitter)",
                  _hypothesis(pst.generation_requests(max_length=12), check_trajectory_equality, 60)),
    SuiteProperty("greedy_equality", "greedy", (),
                  "greedy DSI/SI/non-SI == the target's greedy decode",
                  _hypothesis(pst.generation_requests(modes=("greedy",)), check_greedy_equality, 25)),
    SuiteProperty("greedy_acceptances", "greedy", CANONICAL,
                  "greedy: accepted drafts == positions with argmax q = argmax p",
                  _hypothesis(pst.generation_requests(modes=("greedy",)), check_greedy_acceptances, 25)),
    SuiteProperty("exact_sequence_law", "exact", ("uniform_injection",),
                  "law of the first m <= 3 tokens by exact enumeration == target law",
                  _hypothesis(_exact_cases(), _exact_law, 20)),
    SuiteProperty("exact_acceptance_rate", "exact", ("uniform_injection",),
                  "P[accept] == Σ min(p, q), exactly",
                  _hypothesis(_exact_cases(), _exact_acceptance, 20)),
    SuiteProperty("schedule_agreement", "schedule", ("canonical", "schedule_trace"),
                  "the engine's schedule (forwards, servers, rounds, times, cancellations) == the reference's",
                  _hypothesis(schedule_requests(), check_schedule_agreement, 100)),
    SuiteProperty("kv_cache_reuse", "schedule", ("kv_cache",),
                  "each forward reuses exactly min(LCP, len − needed) cached positions of its server",
                  _hypothesis(schedule_requests(), check_cache_reuse, 30)),
    SuiteProperty("timing_fidelity", "timing", ("schedule_trace",),
                  "observed times within the declared tolerance of the schedule (emulated and real latency)",
                  lambda engine, shrink=True: check_timing_fidelity(engine)),
    SuiteProperty("illustration", "latency", TIMED,
                  "the paper's illustration: tokens by t = 14, 32, 56, 64", _illustration),
    SuiteProperty("latency_dominance", "latency", TIMED,
                  "pathwise T_DSI <= T_nonSI (N >= 1) and <= T_SI (N >= 2), decode latencies",
                  _hypothesis(pst.generation_requests(max_length=14, jitter=False,
                                                      with_processing=False), _dominance, 60)),
    SuiteProperty("warm_start_dominance", "latency", TIMED,
                  "prefill latencies, warm start: pathwise T_DSI <= T_nonSI (N >= 1)",
                  _hypothesis(_warm_start_requests(), _warm_start_dominance, 40)),
    SuiteProperty("exact_timing", "latency", TIMED,
                  "non-SI/SI times from the path (prefill included); DSI round-additive",
                  _hypothesis(pst.generation_requests(max_length=14, jitter=False, modes=("sample",),
                                                      with_processing=False), check_exact_timing, 40)),
    SuiteProperty("monte_carlo_means", "statistical", TIMED,
                  "mean SI/DSI latency == exact finite-S expectation (CLT interval, α stated)",
                  _monte_carlo),
    SuiteProperty("statistical_law", "statistical", (),
                  "χ² of the first m tokens vs the exact target law (α, power, n stated)",
                  _statistical),
    # last, so that the mutant catalogue's first failures (killed_by) are those documented before it
    SuiteProperty("message_latency", "latency", TIMED,
                  "message latencies are target forward time; with them on every side T_DSI <= T_nonSI, "
                  "T_SI (N >= 2); the loss against message-free SI/non-SI is at most mu per iteration/token",
                  _hypothesis(message_requests(), check_message_latency, 20)),
)

PROPERTIES = {prop.name: prop for prop in SUITE}


def run_property(name: str, engine: Engine, *, shrink: bool = True) -> None:
    """Run one property by name against ``engine``."""
    PROPERTIES[name].run(engine, shrink=shrink)


def failures(engine: Engine, *, stop_at_first: bool = True,
             names: tuple[str, ...] | None = None) -> list[tuple[str, str]]:
    """Run the suite in order (no shrinking); ``(property, message)`` of each failure.

    A crash of the engine under a property (any exception) counts as a failure of it.
    """
    found: list[tuple[str, str]] = []
    for prop in SUITE:
        if (names is not None and prop.name not in names) or not prop.applies_to(engine):
            continue
        message = failure_of(prop, engine)
        if message is not None:
            found.append((prop.name, message))
        if found and stop_at_first:
            break
    return found


def failure_of(prop: SuiteProperty, engine: Engine) -> str | None:
    """Run one property without shrinking: None if it holds, else why it failed (a crash of
    the engine under the property counts as a failure)."""
    try:
        prop.run(engine, shrink=False)
    except PropertyViolation as exc:
        return str(exc)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def first_failure(engine: Engine) -> tuple[str, str] | None:
    """``(property, message)`` of the first property the engine fails, or None."""
    found = failures(engine, stop_at_first=True)
    return found[0] if found else None
