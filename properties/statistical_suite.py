"""The registered statistical tests of the suite: χ² of the first tokens, Monte Carlo means.

Family-wise α = 1e-6 (``properties.statistics.FAMILY_ALPHA``) split by Bonferroni over
:data:`REGISTERED_STATISTICAL_TESTS` (the χ² cases of :func:`statistical_cases` plus two Monte
Carlo means, SI and DSI, per case of :data:`MONTE_CARLO_CASES`). Sample sizes come from the
stated power against a stated effect, never from a constant: χ² n for power 0.99 against a
two-bin shift of TV 0.05 (:func:`statistical_plan`), Monte Carlo R for power 0.99 against a
3 % shift of E[T] from the exact variance (:func:`monte_carlo_repeats`). The ``quick`` profile
doubles both effects (about 4x fewer samples, same α; :func:`properties.profiles.effect_factor`).

An engine that runs only its own models (``Capabilities.any_model`` False) gets the same cases
on its own pairs (:func:`engine_cases`); an engine without DSI runs them with its speculative
algorithm (SI for Hugging Face). Each runner returns one record per test (α, power, effect, n,
statistic, p-value) for ``dsi check``'s report; :func:`statistical_plans` gives the plans
before anything runs.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from scipy import stats

from properties.distribution import StatisticalPlan, check_statistical_law, float_target_law, plan_for
from properties.engines import Engine, EngineRequest, speculative_algorithm
from properties.exact_models import RationalTabularLM
from properties.latency import check_monte_carlo_means
from properties.profiles import effect_factor, is_derandomized
from properties.statistics import DEFAULT_EFFECT_TV, DEFAULT_POWER, bonferroni_alpha
from reference.fast.exact import round_resolution_times
from reference.toy_models import MixtureDrafter, SyntheticAcceptancePair, TabularLM


@dataclass(frozen=True)
class StatisticalCase:
    """One registered statistical test (fixed model, algorithm and processing)."""

    name: str
    request: EngineRequest
    length: int


def statistical_cases() -> tuple[StatisticalCase, ...]:
    """The registered χ² tests of the first m tokens (models fixed for reproducibility).

    Each: α = 1e-6 / REGISTERED_STATISTICAL_TESTS (Bonferroni), power 0.99 against a two-bin
    shift of TV 0.05 on the merged bins, n from :func:`statistical_plan` (``dsi check --only
    statistical_law`` prints them). ``dsi_stopped`` tests the law of the stopped sequence
    (at most 3 tokens, stop token 2): the statistical side of "the stopped sequence follows
    the target's law" for engines without uniform injection. ``dsi_processed_ties`` puts
    temperature 2, top-k 2 and top-p 0.6 together on rows built so that each way of getting
    them wrong moves the law by TV ≥ 0.3 at one position: the first row (2, 2, 2, 2)/8 ties at
    the top-k boundary (keep ids 0 and 1), the row after x0 = 0 is (0, 2, 3, 3)/8 (top-p crosses
    at the second kept id), after x0 = 1 it is (0, 1, 2, 5)/8 (top-p differs before and after
    the temperature and after top-k's renormalisation): the statistical side of
    ``processed_law``.
    """
    t3 = TabularLM(3, order=1, seed=7)
    t4 = TabularLM(4, order=1, seed=8, concentration=0.7)
    pair = SyntheticAcceptancePair(4, 0.6, seed=5)
    stopping = TabularLM(3, order=1, seed=9)
    ties = RationalTabularLM.from_weights([[0, 2, 3, 3], [0, 1, 2, 5], [2, 2, 2, 2], [2, 2, 2, 2]], order=1)
    ties_drafter = RationalTabularLM.from_weights([[1, 3, 2, 2], [2, 2, 3, 1], [3, 1, 2, 2], [1, 1, 1, 5]], order=1)
    return (
        StatisticalCase("dsi_tabular", EngineRequest(t3, MixtureDrafter(t3, overlap=0.5), (0,), 2,
                                                     algorithm="dsi", lookahead=2, num_target_servers=2), 2),
        StatisticalCase("si_processed", EngineRequest(t4, MixtureDrafter(t4, overlap=0.3), (1,), 2,
                                                      algorithm="si", lookahead=3, temperature=0.7,
                                                      top_k=3), 2),
        StatisticalCase("dsi_synthetic", EngineRequest(pair.target, pair.drafter, (0,), 2,
                                                       algorithm="dsi", lookahead=1, num_target_servers=None), 2),
        StatisticalCase("dsi_stopped", EngineRequest(stopping, MixtureDrafter(stopping, overlap=0.6), (0,), 3,
                                                     algorithm="dsi", lookahead=2, num_target_servers=3,
                                                     stop_tokens=frozenset({2})), 3),
        StatisticalCase("dsi_processed_ties", EngineRequest(ties, ties_drafter, (2,), 2, algorithm="dsi",
                                                            lookahead=2, num_target_servers=2, temperature=2.0, top_k=2,
                                                            top_p=0.6), 2),
    )


def engine_cases(engine: Engine) -> tuple[StatisticalCase, ...]:
    """:func:`statistical_cases` as this engine can run them.

    The algorithm falls back to the engine's speculative one (:func:`speculative_algorithm`);
    an engine without ``any_model`` gets its own pairs (case i on pair i mod #pairs), with the
    prompt, top-k and stop tokens mapped into its vocabulary.
    """
    cases = []
    pairs = None if engine.capabilities.any_model else list(engine.model_pairs())  # type: ignore[attr-defined]
    for index, case in enumerate(statistical_cases()):
        request = case.request.but(algorithm=speculative_algorithm(engine, case.request.algorithm))
        if pairs:
            target, drafter = pairs[index % len(pairs)]
            V = int(target.vocab_size)
            request = request.but(target=target, drafter=drafter, prompt=tuple(t % V for t in request.prompt),
                                  top_k=None if request.top_k is None else min(request.top_k, V),
                                  stop_tokens=frozenset(t % V for t in request.stop_tokens))
        cases.append(StatisticalCase(case.name, request, case.length))
    return tuple(cases)


#: Monte Carlo mean checks: (acceptance a, lookahead k, N, c, S). The number of seeds R is
#: not a constant: :func:`monte_carlo_repeats` derives it, per algorithm, from the exact
#: variance of the latency, α and the stated effect (see :func:`run_monte_carlo_means`).
MONTE_CARLO_CASES = ((0.8, 3, 3, Fraction(1, 2), 20),)
#: Effect the Monte Carlo means must detect: a shift of the mean latency by 3 % of E[T].
MONTE_CARLO_EFFECT = 0.03
#: Required power against that effect at the per-test α.
MONTE_CARLO_POWER = 0.99


def monte_carlo_moments(algorithm: str, a: float, k: int, num_target_servers: int | None, c: Fraction,
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
            times = round_resolution_times(c, k, num_target_servers, m)
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
    """0 under ``ci`` and ``quick`` (a failure is a deterministic regression); fresh under ``thorough``."""
    return 0 if is_derandomized() else random.SystemRandom().randrange(2**40)


def statistical_plan(case: StatisticalCase) -> StatisticalPlan:
    """α = 1e-6 / registered count; n for power 0.99 against TV 0.05 (0.1 under ``quick``)."""
    return plan_for(float_target_law(case.request, case.length), STATISTICAL_ALPHA,
                    effect_tv=DEFAULT_EFFECT_TV * effect_factor(), power=DEFAULT_POWER)


def _monte_carlo_repeats_by_case() -> list[tuple[tuple, dict[str, int], dict[str, float]]]:
    out = []
    for a, k, num_target_servers, c, tokens in MONTE_CARLO_CASES:
        repeats, shifts = {}, {}
        for algorithm in ("si", "dsi"):
            mean, sd = monte_carlo_moments(algorithm, a, k, num_target_servers, c, tokens)
            shifts[algorithm] = MONTE_CARLO_EFFECT * effect_factor() * mean
            repeats[algorithm] = monte_carlo_repeats(sd, shifts[algorithm], STATISTICAL_ALPHA)
        out.append(((a, k, num_target_servers, c, tokens), repeats, shifts))
    return out


def statistical_plans(name: str, engine: Engine) -> list[dict[str, object]]:
    """The plan of each registered test of property ``name`` (α, power, effect, n), before running."""
    if name == "statistical_law":
        return [{"test": f"statistical_law[{case.name}]", "alpha": STATISTICAL_ALPHA, "power": plan.power,
                 "effect": f"TV {plan.effect_tv:g} (two-bin shift)", "n": plan.n}
                for case in engine_cases(engine) for plan in [statistical_plan(case)]]
    if name == "monte_carlo_means":
        return [{"test": f"monte_carlo_means[{algorithm}, a={a}, k={k}, N={n}, c={c}, S={S}]",
                 "alpha": STATISTICAL_ALPHA, "power": MONTE_CARLO_POWER,
                 "effect": f"shift {100 * MONTE_CARLO_EFFECT * effect_factor():g} % of E[T] "
                           f"({shifts[algorithm]:.3f})", "n": repeats[algorithm]}
                for (a, k, n, c, S), repeats, shifts in _monte_carlo_repeats_by_case() for algorithm in ("si", "dsi")]
    return []


def run_statistical_law(engine: Engine, *, shrink: bool = True) -> list[dict[str, object]]:
    """Every χ² case on the engine; one record per test (raises at the first rejection)."""
    offset = seed_offset()
    records = []
    for case in engine_cases(engine):
        plan = statistical_plan(case)
        result = check_statistical_law(engine, case.request, case.length, plan, seed_offset=offset,
                                       name=f"statistical_law[{case.name}]")
        records.append({"test": f"statistical_law[{case.name}]", "alpha": plan.alpha, "power": plan.power,
                        "effect": f"TV {plan.effect_tv:g} (two-bin shift)", "n": plan.n,
                        "statistic": round(result.statistic, 3), "df": result.df,
                        "p_value": float(f"{result.p_value:.4g}")})
    return records


def run_monte_carlo_means(engine: Engine, *, shrink: bool = True) -> list[dict[str, object]]:
    """Mean SI and DSI latency over R seeds vs the exact finite-S expectation (CLT interval).

    Per registered test (SI, DSI of each case): two-sided α = STATISTICAL_ALPHA (z ≈ 5.2);
    power ≥ 0.99 against a shift of the mean by MONTE_CARLO_EFFECT = 3 % of E[T] (6 % under
    ``quick``). R is the smallest sample with that power, computed from the exact standard
    deviation σ of T (:func:`monte_carlo_moments`, a DP, no pilot needed): R = ⌈((z_{1−α/2} +
    z_{0.99}) σ / (0.03·E[T]))²⌉ up to the exact minimum. The power is for the normal
    approximation with s ≈ σ (R ≥ 600 under ``ci``: s is within a few percent of σ).
    """
    offset = seed_offset()
    records = []
    for (a, k, num_target_servers, c, tokens), repeats, shifts in _monte_carlo_repeats_by_case():
        found = check_monte_carlo_means(engine, acceptance=a, lookahead=k, num_target_servers=num_target_servers, c=c,
                                        tokens=tokens, repeats=repeats, alpha=STATISTICAL_ALPHA,
                                        seed_offset=offset)
        for algorithm, (mean, expected, half) in found.items():
            records.append({"test": f"monte_carlo_means[{algorithm}, a={a}, k={k}, N={num_target_servers}, c={c}, "
                                    f"S={tokens}]", "alpha": STATISTICAL_ALPHA, "power": MONTE_CARLO_POWER,
                            "effect": f"shift {shifts[algorithm]:.3f}", "n": repeats[algorithm],
                            "mean": round(mean, 4), "expected": round(expected, 4),
                            "half_width": round(half, 4)})
    return records
