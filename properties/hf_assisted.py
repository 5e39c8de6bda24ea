"""Run the applicable properties against transformers' assisted generation and report.

``python -m properties.hf_assisted [--json] [--quick]``: greedy equality on several prompts
and lookaheads, then χ² tests of the law of the first m tokens (m = 2 with V = 8, m = 4 with
V = 4) against the exact target law for tiny random-init Llama and GPT-2 pairs (family-wise
α = 1e-6 over the χ² tests, Bonferroni; each test's n gives power 0.99 against a two-bin
shift of TV 0.05).
``--quick`` uses TV 0.1 (4x fewer samples) for a smoke run. Results: docs/hf_assisted_generation.md.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

from properties.distribution import check_statistical_law, float_target_law, plan_for
from properties.engines import EngineRequest
from properties.hf_adapter import HFAssistedEngine, tiny_gpt2, tiny_llama
from properties.statistics import FAMILY_ALPHA
from properties.trajectory import check_greedy_equality
from properties.violation import PropertyViolation


def _pairs() -> dict[str, tuple[object, object]]:
    return {"llama": (tiny_llama(0, layers=2), tiny_llama(1, layers=1)),
            "gpt2": (tiny_gpt2(2, layers=2), tiny_gpt2(3, layers=1)),
            "llama-v4": (tiny_llama(4, layers=2, vocab_size=4), tiny_llama(5, layers=1, vocab_size=4))}


def run(*, quick: bool = False) -> dict[str, object]:
    """Greedy and statistical checks of HF assisted generation; a JSON-able report."""
    import torch

    torch.set_num_threads(1)
    engine = HFAssistedEngine()
    pairs = _pairs()
    greedy = []
    for name, (target, drafter) in pairs.items():
        if name == "llama-v4":
            continue
        for prompt in ((1,), (2, 5), (7, 0, 3), (4, 4, 4, 1)):
            for k in (1, 3):
                request = EngineRequest(target, drafter, prompt, 12, algorithm="si", lookahead=k,
                                        mode="greedy")  # type: ignore[arg-type]
                try:
                    check_greedy_equality(engine, request, algorithms=("si",))
                    greedy.append({"pair": name, "prompt": prompt, "k": k, "passed": True})
                except PropertyViolation as exc:
                    greedy.append({"pair": name, "prompt": prompt, "k": k, "passed": False,
                                   "message": str(exc)})
    cases = [
        ("llama V=8 m=2 k=3", EngineRequest(*pairs["llama"], (1, 2), 2, algorithm="si", lookahead=3)),  # type: ignore[misc]
        ("llama V=8 m=2 k=1 T=0.7 top_k=4", EngineRequest(*pairs["llama"], (3,), 2, algorithm="si",  # type: ignore[misc]
                                                          lookahead=1, temperature=0.7, top_k=4)),
        ("gpt2 V=8 m=2 k=2", EngineRequest(*pairs["gpt2"], (5, 1), 2, algorithm="si", lookahead=2)),  # type: ignore[misc]
        ("llama V=4 m=4 k=3", EngineRequest(*pairs["llama-v4"], (1,), 4, algorithm="si", lookahead=3)),  # type: ignore[misc]
        ("llama V=4 m=4 k=2 top_p=0.9", EngineRequest(*pairs["llama-v4"], (2, 0), 4, algorithm="si",  # type: ignore[misc]
                                                      lookahead=2, top_p=0.9)),
        ("gpt2 V=8 m=2 plain (control)", EngineRequest(*pairs["gpt2"], (5, 1), 2, algorithm="plain")),  # type: ignore[misc]
    ]
    alpha = FAMILY_ALPHA / len(cases)
    effect = 0.1 if quick else 0.05
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
    request = cases[0][1]
    plan = plan_for(float_target_law(request, request.max_new_tokens), alpha, effect_tv=effect)
    control: dict[str, object] = {"case": "llama V=8 m=2 k=3, assistant_ensemble_weight=0.5 (lossy)",
                                  "alpha": alpha, "n": plan.n}
    try:
        result = check_statistical_law(lossy, request, request.max_new_tokens, plan, seed_offset=0)
        control.update(detected=False, statistic=result.statistic, df=result.df, p_value=result.p_value)
    except PropertyViolation as exc:
        control.update(detected=True, message=str(exc))
    import transformers

    return {"transformers": transformers.__version__, "torch": torch.__version__,
            "greedy": greedy, "statistical": statistical, "positive_control": control}


def main(argv: Sequence[str] | None = None) -> int:
    """Print the report; exit 0 iff every check passed."""
    from reference.cli import OneLineErrorParser

    parser = OneLineErrorParser(prog="python -m properties.hf_assisted")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    report = run(quick=args.quick)
    if args.json:
        print(json.dumps(report, default=str))
    else:
        passed = sum(g["passed"] for g in report["greedy"])  # type: ignore[index, union-attr]
        print(f"transformers {report['transformers']}, torch {report['torch']}")
        print(f"greedy equality: {passed}/{len(report['greedy'])} passed")  # type: ignore[arg-type]
        for entry in report["statistical"]:  # type: ignore[union-attr]
            print(entry)
        print("positive control:", report["positive_control"])
    ok = all(g["passed"] for g in report["greedy"]) and all(  # type: ignore[union-attr]
        s["passed"] for s in report["statistical"]) and report["positive_control"]["detected"]  # type: ignore[index, union-attr]
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
