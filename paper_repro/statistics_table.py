"""The registered statistical tests of the property suite, run on one engine, as a table.

For each χ² test of :func:`properties.statistical_suite.statistical_cases`: bins, level α, power against TV
0.05, sample size n and the χ² statistic (df) with its p-value; for each Monte Carlo case of
:data:`properties.statistical_suite.MONTE_CARLO_CASES`: R per algorithm (sized from the exact standard
deviation), the sample mean, the exact expectation and the half-width of the interval. These are
the numbers of docs/mutants.md ("Statistics: α, power, sample sizes"), computed on seeds
0..n−1 (the ``ci`` profile's seeds).

Command: ``python -m paper_repro.statistics_table [--engine reference|runtime|module:factory]
[--json]`` (about 20 s on the reference, 2-core machine).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from reference.errors import DSIError


def statistics_rows(engine_name: str = "reference") -> dict[str, list[dict[str, Any]]]:
    """Run every registered statistical test on the engine; never raises on a failing test."""
    from properties.distribution import float_target_law, sample_counts
    from properties.latency import check_monte_carlo_means
    from properties.selection import get_engine
    from properties.statistical_suite import (
        MONTE_CARLO_CASES,
        MONTE_CARLO_EFFECT,
        STATISTICAL_ALPHA,
        monte_carlo_moments,
        monte_carlo_repeats,
        statistical_cases,
        statistical_plan,
    )
    from properties.statistics import chi_square_gof

    engine = get_engine(engine_name)
    chi2 = []
    for case in statistical_cases():
        plan = statistical_plan(case)
        law = float_target_law(case.request, case.length)
        result = chi_square_gof(law, sample_counts(engine, case.request, case.length, plan.n, 0))
        chi2.append({"test": f"statistical_law[{case.name}]", "bins": result.bins, "alpha": plan.alpha,
                     "power": plan.power, "effect_tv": plan.effect_tv, "n": plan.n, "chi2": result.statistic,
                     "df": result.df, "p_value": result.p_value, "passed": result.p_value >= plan.alpha})
    means = []
    for a, k, num_target_servers, c, tokens in MONTE_CARLO_CASES:
        plan: dict[str, tuple[float, float, int]] = {}
        for algorithm in ("si", "dsi"):
            mean, sd = monte_carlo_moments(algorithm, a, k, num_target_servers, c, tokens)
            plan[algorithm] = (mean, sd, monte_carlo_repeats(sd, MONTE_CARLO_EFFECT * mean, STATISTICAL_ALPHA))
        try:
            outcome = check_monte_carlo_means(engine, acceptance=a, lookahead=k,
                                              num_target_servers=num_target_servers, c=c, tokens=tokens,
                                              repeats={x: plan[x][2] for x in plan},
                                              alpha=STATISTICAL_ALPHA)
        except DSIError as exc:  # a failing mean is reported, not raised
            means.append({"test": "monte_carlo_means", "error": " ".join(str(exc).split())})
            continue
        for algorithm, (mean, expectation, half) in outcome.items():
            means.append({"test": f"monte_carlo_means {algorithm}", "a": a, "k": k, "N": num_target_servers,
                          "c": str(c), "S": tokens, "alpha": STATISTICAL_ALPHA, "sd": plan[algorithm][1],
                          "shift": MONTE_CARLO_EFFECT * plan[algorithm][0], "R": plan[algorithm][2],
                          "mean": mean, "expectation": expectation, "half_width": half})
    return {"chi2": chi2, "monte_carlo": means}


def format_rows(rows: dict[str, list[dict[str, Any]]]) -> str:
    lines = [f"{'test':<37} bins  alpha    power  n      chi2 (df)     p"]
    for r in rows["chi2"]:
        chi2 = f"{r['chi2']:.2f} ({r['df']})"
        lines.append(f"{r['test']:<37} {r['bins']:<5} {r['alpha']:<8.2g} {r['power']:<6} {r['n']:<6} "
                     f"{chi2:<13} {r['p_value']:.3f}")
    lines.append("")
    lines.append("test                     R     sigma   3% shift  mean      E[T]      half-width")
    for r in rows["monte_carlo"]:
        if "error" in r:
            lines.append(f"  error: {r['error']}")
            continue
        lines.append(f"{r['test']:<24} {r['R']:<5} {r['sd']:<7.3f} {r['shift']:<9.3f} {r['mean']:<9.3f} "
                     f"{r['expectation']:<9.3f} {r['half_width']:.3f}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m paper_repro.statistics_table",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--engine", default="reference", help="reference, runtime or module:factory")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    try:
        rows = statistics_rows(args.engine)
    except DSIError as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    print(json.dumps(rows) if args.json else format_rows(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
