"""Distribution properties: exact enumeration first, then statistics (SPEC §3, §7, §10).

* :func:`check_exact_sequence_law` — engines with uniform injection: the law of the first m
  tokens, computed exactly by :mod:`properties.enumeration`, equals the target's
  autoregressive law (rational rows: equality of fractions; with a temperature the rows are
  irrational and the comparison has tolerance 1e-9). No false positive is possible.
* :func:`check_exact_acceptance_rate` — same engines: ``P[accept at position 0] =
  Σ_x min(p̃(x), q̃(x))`` (T2), exactly, from the engines' accepted-draft counters.
* :func:`check_statistical_law` — every engine: the empirical law of the first m tokens over
  n seeds against the exact target law, χ² with merged bins (:mod:`properties.statistics`);
  α, power, effect and n are arguments and appear in the failure message with the p-value.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from properties.engines import Engine, EngineRequest
from properties.enumeration import engine_sequence_law, position_outcomes
from properties.exact_models import Number, RationalTabularLM, process_exact
from properties.statistics import ChiSquareResult, chi_square_gof, required_sample_size
from properties.violation import PropertyViolation

#: Processing configurations each exact example is checked under (top-k/top-p stay rational).
EXACT_PROCESSING: tuple[dict[str, object], ...] = (
    {}, {"top_k": 2}, {"top_p": 0.5}, {"temperature": 0.5},
)
FLOAT_TOLERANCE = 1e-9


def _laws_equal(a: dict[tuple[int, ...], Number], b: dict[tuple[int, ...], Number]) -> bool:
    keys = set(a) | set(b)
    if all(isinstance(v, Fraction) for v in [*a.values(), *b.values()]):
        return all(a.get(key, Fraction(0)) == b.get(key, Fraction(0)) for key in keys)
    return all(abs(float(a.get(key, 0)) - float(b.get(key, 0))) <= FLOAT_TOLERANCE for key in keys)


def check_exact_sequence_law(engine: Engine, request: EngineRequest, target: RationalTabularLM,
                             drafter: RationalTabularLM, length: int, *,
                             processings: Sequence[Mapping[str, object]] = EXACT_PROCESSING,
                             prop: str = "exact_sequence_law") -> None:
    """Engine law of the first ``length`` tokens == target law, under each processing.

    ``processed_law`` runs it with one drawn combination of temperature, top-k and top-p on
    dyadic rows (ties, zeros, masses that reach top-p exactly).
    """
    for extra in processings:
        base = request.but(mode="sample", target=target, drafter=drafter, **extra)
        expected = target_law(target, base, length)
        got = engine_sequence_law(engine, base, target, drafter, length)
        if not _laws_equal(got, expected):
            diff = {key: (str(got.get(key, 0)), str(expected.get(key, 0)))
                    for key in sorted(set(got) | set(expected)) if got.get(key, 0) != expected.get(key, 0)}
            raise PropertyViolation(
                prop,
                f"{base.algorithm} (k={base.lookahead}, N={base.num_target_servers}, processing={extra}) "
                f"law of the first {length} tokens differs from the target's: (engine, target) = "
                f"{diff}; target={target!r} drafter={drafter!r} prompt={base.prompt}")


def processing_grid(vocab_size: int) -> tuple[dict[str, object], ...]:
    """Every combination of temperature {1, 2}, top-k {None, 1..V} and top-p
    {None, 1/4, 1/2, 3/4} (the grid ``processed_law`` runs on one row).

    >>> len(processing_grid(3))
    32
    """
    return tuple({"temperature": t, "top_k": k, "top_p": p} for t in (1.0, 2.0)
                 for k in (None, *range(1, vocab_size + 1)) for p in (None, 0.25, 0.5, 0.75))


def check_processed_law(engine: Engine, request: EngineRequest, target: RationalTabularLM,
                        drafter: RationalTabularLM, length: int, combination: Mapping[str, object]) -> None:
    """The processed law, two ways: (1) the request's algorithm on (target, drafter) under one
    drawn combination, first ``length`` tokens; (2) each row of the target under every
    combination of :func:`processing_grid`, with the target as its own drafter (every draft
    accepted, so the engine's output law *is* its processed row: any deviation in temperature,
    top-k or top-p shows at once, on rows whose ties and masses sit on the boundaries)."""
    check_exact_sequence_law(engine, request, target, drafter, length, processings=(combination,),
                             prop="processed_law")
    contexts = [request.prompt] if target.order == 0 else [(x,) for x in range(int(target.vocab_size))]
    for prompt in contexts:  # every row of the target
        own = request.but(drafter=target, algorithm="nonsi", max_new_tokens=1, prompt=prompt)
        check_exact_sequence_law(engine, own, target, target, 1, prop="processed_law",
                                 processings=processing_grid(int(target.vocab_size)))


def target_law(target: RationalTabularLM, base: EngineRequest, length: int
               ) -> dict[tuple[int, ...], Number]:
    """The target's processed autoregressive law of ``length`` tokens after ``base.prompt``."""
    from properties.exact_models import target_sequence_law

    return target_sequence_law(target, base.prompt, length, temperature=base.temperature,
                               top_k=base.top_k, top_p=base.top_p)


def check_exact_acceptance_rate(engine: Engine, request: EngineRequest, target: RationalTabularLM,
                                drafter: RationalTabularLM) -> None:
    """``P[draft at position 0 accepted] = Σ min(p̃, q̃)``, exactly, for each processing."""
    for extra in EXACT_PROCESSING:
        base = request.but(mode="sample", target=target, drafter=drafter, **extra)
        kwargs = {"temperature": base.temperature, "top_k": base.top_k, "top_p": base.top_p}
        p = process_exact(target.exact_row(base.prompt), **kwargs)  # type: ignore[arg-type]
        q = process_exact(drafter.exact_row(base.prompt), **kwargs)  # type: ignore[arg-type]
        expected = sum((min(a, b) for a, b in zip(p, q, strict=True)), 0 * p[0])
        got = sum((cell.volume * result.counters.accepted_drafts
                   for cell, _, result in position_outcomes(engine, base, target, drafter, (), {})),
                  0 * p[0])
        if abs(float(got) - float(expected)) > FLOAT_TOLERANCE or (
                isinstance(got, Fraction) and isinstance(expected, Fraction) and got != expected):
            raise PropertyViolation(
                "exact_acceptance_rate",
                f"{base.algorithm} P[accept] = {got}, Σ min(p, q) = {expected} (processing={extra}); "
                f"p={[str(x) for x in p]} q={[str(x) for x in q]}")


# ---------------------------------------------------------------- statistical


@dataclass(frozen=True)
class StatisticalPlan:
    """A statistical test's stated error rates and its sample size.

    alpha: per-test level (Bonferroni share of the family-wise 1e-6);
    power: against a two-bin shift of TV ``effect_tv`` on the merged bins;
    n: sample size from :func:`properties.statistics.required_sample_size`.
    """

    alpha: float
    power: float
    effect_tv: float
    n: int


def float_target_law(request: EngineRequest, length: int) -> dict[tuple[int, ...], float]:
    """The target's processed law of ``length`` tokens by enumeration (any float model).

    With ``request.stop_tokens``, the law of the stopped sequence (a sequence ends at its
    first stop token).
    """
    law: dict[tuple[int, ...], float] = {(): 1.0}
    for _ in range(length):
        nxt: dict[tuple[int, ...], float] = {}
        for seq, prob in law.items():
            if seq and seq[-1] in request.stop_tokens:
                nxt[seq] = prob
                continue
            raw = np.asarray(request.target.next_token_probs(request.prompt + seq), dtype=np.float64)
            row = process_exact([float(x) for x in raw], temperature=request.temperature,
                                top_k=request.top_k, top_p=request.top_p)
            for token, pt in enumerate(row):
                if pt > 0:
                    nxt[(*seq, token)] = prob * float(pt)
        law = nxt
    return law


def plan_for(law: dict[tuple[int, ...], float], alpha: float, *, effect_tv: float = 0.05,
             power: float = 0.99) -> StatisticalPlan:
    """The sample size that gives ``power`` against TV ``effect_tv`` at level ``alpha``."""
    probs = [law[key] for key in sorted(law)]
    return StatisticalPlan(alpha, power, effect_tv,
                           required_sample_size(probs, alpha, effect_tv=effect_tv, target_power=power))


def sample_counts(engine: Engine, request: EngineRequest, length: int, n: int, seed_offset: int
                  ) -> Counter[tuple[int, ...]]:
    """Counts of the first ``length`` tokens over seeds ``seed_offset .. seed_offset + n − 1``."""
    counts: Counter[tuple[int, ...]] = Counter()
    for j in range(n):
        result = engine.generate(request.but(max_new_tokens=length, seed=seed_offset + j))
        counts[tuple(result.tokens[:length])] += 1
    return counts


def check_statistical_law(engine: Engine, request: EngineRequest, length: int, plan: StatisticalPlan,
                          seed_offset: int = 0, *, name: str = "statistical_law") -> ChiSquareResult:
    """χ² of the engine's first ``length`` tokens against the target law; fails if p < α."""
    law = float_target_law(request, length)
    counts = sample_counts(engine, request, length, plan.n, seed_offset)
    result = chi_square_gof(law, counts)
    if result.p_value < plan.alpha:
        raise PropertyViolation(
            name,
            f"{engine.name} {request.algorithm}: χ² = {result.statistic:.2f}, df = {result.df}, "
            f"p-value = {result.p_value:.3g} < α = {plan.alpha:.3g} (n = {plan.n}, power "
            f"{plan.power} vs TV {plan.effect_tv}); observed {dict(counts.most_common(6))}, "
            f"expected {_top(law)}")
    return result


def _top(law: dict[tuple[int, ...], float], count: int = 6) -> dict[tuple[int, ...], float]:
    return dict(sorted(law.items(), key=lambda kv: -kv[1])[:count])
