"""Run the applicable properties against transformers' assisted generation and report.

``python -m properties.hf_assisted [--json] [--quick]``: greedy equality on several prompts
and lookaheads, stop tokens (the output is the target's greedy decode cut at the first stop
token), then χ² tests of the law of the first m tokens (m = 2 with V = 8, m = 4 with V = 4,
and the law of a sequence stopped at a stop token) against the exact target law for tiny
random-init Llama and GPT-2 pairs (family-wise α = 1e-6 over the χ² tests run, Bonferroni;
each test's n gives power 0.99 against a two-bin shift of TV 0.05), and a positive control
(a lossy option of the same library must be rejected).

``--quick`` (the CI profile, ≤ 60 s on a 2-core machine; ``tests/properties/test_hf_assisted.py``):
4 greedy cases, 2 stop-token cases, 3 χ² tests powered against TV 0.1 (4x fewer samples) and
the positive control. The generic suite runs on the same engine with ``dsi check --engine
properties.hf_adapter:HFAssistedEngine``. Results: docs/hf_assisted_generation.md.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

from properties.distribution import check_statistical_law, float_target_law, plan_for
from properties.engines import EngineRequest
from properties.hf_adapter import HFAssistedEngine
from properties.statistics import DEFAULT_EFFECT_TV, FAMILY_ALPHA
from properties.stopping import check_stop_tokens
from properties.trajectory import check_greedy_equality
from properties.violation import PropertyViolation

#: χ² cases run by ``--quick`` (indices into :func:`statistical_cases`).
QUICK_CASES = (2, 6, 5)


def statistical_cases(pairs: dict[str, tuple[object, object]]) -> list[tuple[str, EngineRequest]]:
    """The χ² cases: (name, request); the length m is the request's S."""
    llama, gpt2, small = pairs["llama"], pairs["gpt2"], pairs["llama-v4"]
    return [
        ("llama V=8 m=2 k=3", EngineRequest(*llama, (1, 2), 2, algorithm="si", lookahead=3)),  # type: ignore[misc]
        ("llama V=8 m=2 k=1 T=0.7 top_k=4", EngineRequest(*llama, (3,), 2, algorithm="si",  # type: ignore[misc]
                                                          lookahead=1, temperature=0.7, top_k=4)),
        ("gpt2 V=8 m=2 k=2", EngineRequest(*gpt2, (5, 1), 2, algorithm="si", lookahead=2)),  # type: ignore[misc]
        ("llama V=4 m=4 k=3", EngineRequest(*small, (1,), 4, algorithm="si", lookahead=3)),  # type: ignore[misc]
        ("llama V=4 m=4 k=2 top_p=0.9", EngineRequest(*small, (2, 0), 4, algorithm="si",  # type: ignore[misc]
                                                      lookahead=2, top_p=0.9)),
        ("gpt2 V=8 m=2 plain (control)", EngineRequest(*gpt2, (5, 1), 2, algorithm="plain")),  # type: ignore[misc]
        ("llama V=4 m=2 k=2 stopped at 3", EngineRequest(*small, (1, 2), 2, algorithm="si",  # type: ignore[misc]
                                                         lookahead=2, stop_tokens=frozenset({3}))),
    ]


def _greedy_and_stop(engine: HFAssistedEngine, pairs: dict[str, tuple[object, object]], quick: bool
                     ) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    greedy, stops = [], []
    names = ("llama",) if quick else ("llama", "gpt2")
    prompts = ((1,), (7, 0, 3)) if quick else ((1,), (2, 5), (7, 0, 3), (4, 4, 4, 1))
    for name in names:
        target, drafter = pairs[name]
        for prompt in prompts:
            for k in (1, 3):
                request = EngineRequest(target, drafter, prompt, 12, algorithm="si", lookahead=k,  # type: ignore[arg-type]
                                        mode="greedy")
                entry: dict[str, object] = {"pair": name, "prompt": prompt, "k": k}
                try:
                    check_greedy_equality(engine, request, algorithms=("si",))
                    greedy.append({**entry, "passed": True})
                except PropertyViolation as exc:
                    greedy.append({**entry, "passed": False, "message": str(exc)})
            for pick in ((3,) if quick else (1, 3, 6)):
                request = EngineRequest(target, drafter, prompt, 12, algorithm="si", lookahead=2)  # type: ignore[arg-type]
                entry = {"pair": name, "prompt": prompt, "stop_at_index": pick}
                try:
                    check_stop_tokens(engine, request, pick)
                    stops.append({**entry, "passed": True})
                except PropertyViolation as exc:
                    stops.append({**entry, "passed": False, "message": str(exc)})
                if quick:
                    break
    return greedy, stops


def run(*, quick: bool = False) -> dict[str, object]:
    """Greedy, stop-token and statistical checks of HF assisted generation; a JSON-able report."""
    import torch

    torch.set_num_threads(1)
    engine = HFAssistedEngine()
    pairs = dict(zip(("llama", "gpt2", "llama-v4"), engine.model_pairs(), strict=True))
    greedy, stops = _greedy_and_stop(engine, pairs, quick)
    cases = statistical_cases(pairs)
    if quick:
        cases = [cases[i] for i in QUICK_CASES]
    alpha = FAMILY_ALPHA / len(cases)
    effect = 2 * DEFAULT_EFFECT_TV if quick else DEFAULT_EFFECT_TV
    statistical = []
    for name, request in cases:
        length = request.max_new_tokens
        plan = plan_for(float_target_law(request, length), alpha, effect_tv=effect)
        start = time.perf_counter()
        entry: dict[str, object] = {"case": name, "alpha": alpha, "power": plan.power,
                                    "effect_tv": plan.effect_tv, "n": plan.n}
        try:
            result = check_statistical_law(engine, request, length, plan, seed_offset=0)
            entry.update(passed=True, statistic=result.statistic, df=result.df, p_value=result.p_value)
        except PropertyViolation as exc:
            entry.update(passed=False, message=str(exc))
        entry["seconds"] = round(time.perf_counter() - start, 1)
        statistical.append(entry)
    # Positive control: transformers' static ensemble verification (assistant_ensemble_weight
    # w < 1) verifies against v = w·p + (1 − w)·q, lossy by design; the test must reject it.
    lossy = HFAssistedEngine(assistant_ensemble_weight=0.5)
    lossy._pairs = engine.model_pairs()
    request = cases[0][1]
    plan = plan_for(float_target_law(request, request.max_new_tokens), alpha, effect_tv=effect)
    control: dict[str, object] = {"case": f"{cases[0][0]}, assistant_ensemble_weight=0.5 (lossy)",
                                  "alpha": alpha, "n": plan.n}
    try:
        result = check_statistical_law(lossy, request, request.max_new_tokens, plan, seed_offset=0)
        control.update(detected=False, statistic=result.statistic, df=result.df, p_value=result.p_value)
    except PropertyViolation as exc:
        control.update(detected=True, message=str(exc))
    import transformers

    return {"transformers": transformers.__version__, "torch": torch.__version__, "quick": quick,
            "greedy": greedy, "stop_tokens": stops, "statistical": statistical, "positive_control": control}


def passed(report: dict[str, object]) -> bool:
    """Every greedy, stop-token and χ² check passed, and the positive control was detected."""
    checks = [*report["greedy"], *report["stop_tokens"], *report["statistical"]]  # type: ignore[misc]
    return all(c["passed"] for c in checks) and bool(report["positive_control"]["detected"])  # type: ignore[index]


def main(argv: Sequence[str] | None = None) -> int:
    """Print the report; exit 0 iff every check passed."""
    from reference.cli import OneLineErrorParser

    parser = OneLineErrorParser(prog="python -m properties.hf_assisted")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--quick", action="store_true", help="the CI profile (fewer cases, TV 0.1)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    report = run(quick=args.quick)
    report["seconds"] = round(time.perf_counter() - start, 1)
    if args.json:
        print(json.dumps(report, default=str))
    else:
        print(f"transformers {report['transformers']}, torch {report['torch']}")
        for key in ("greedy", "stop_tokens"):
            ok = sum(g["passed"] for g in report[key])  # type: ignore[union-attr]
            print(f"{key}: {ok}/{len(report[key])} passed")  # type: ignore[arg-type]
        for entry in report["statistical"]:  # type: ignore[union-attr]
            print(entry)
        print("positive control:", report["positive_control"])
        print(f"{report['seconds']} s")
    return 0 if passed(report) else 1


if __name__ == "__main__":
    raise SystemExit(main())
