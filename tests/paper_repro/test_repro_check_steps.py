"""The checking steps of ``dsi repro all``: rows from proofs, properties, mutants, runtime, open claims."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from paper_repro import check_steps
from paper_repro.settings import StepContext
from properties.mutants import MUTANTS, MutantOutcome
from properties.selection import register_engine


def test_sweep_passes_the_reference_and_fails_a_broken_kernel() -> None:
    """The mutant accepts every draft: P[accept] = 1 != Σ min(p, q), so the exact property fails it."""
    register_engine("always_accept_for_test", MUTANTS["always_accept"].build)
    names = ("trajectory_equality", "exact_acceptance_rate")
    table = check_steps.sweep(("reference", "always_accept_for_test"), names)
    assert list(table) == list(names)
    assert table["exact_acceptance_rate"]["reference"]["status"] == "pass"
    assert table["exact_acceptance_rate"]["always_accept_for_test"]["status"] == "fail"
    rows = check_steps.property_rows(table, {}, "ci")
    assert [r.verdict for r in rows] == ["reproduced", "not reproduced"]
    assert "always_accept_for_test" in rows[1].note


def test_property_rows_mark_extra_properties_beyond_and_skip_engines_that_do_not_apply() -> None:
    table = {"exact_timing": {"reference": {"status": "pass", "seconds": 0.2, "message": ""},
                              "runtime": {"status": "n/a", "seconds": 0.0, "message": ""}},
             "illustration": {"runtime": {"status": "n/a", "seconds": 0.0, "message": ""}}}
    rows = check_steps.property_rows(table, {"exact_timing": "times from the path"}, "thorough")
    assert rows[0].verdict == "beyond" and "runtime" not in rows[0].ours and "thorough" in rows[0].how
    assert rows[1].verdict == "error" and rows[1].ours == "no engine applies"


def test_every_suite_property_has_a_claim() -> None:
    from properties.suite import SUITE

    assert {p.name for p in SUITE} == set(check_steps.PROPERTY_CLAIMS)


def test_mutant_row_reports_the_kill_rate_and_names_survivors() -> None:
    killed = MutantOutcome("always_accept", "kernel", True, "exact_acceptance_rate", 0.5, "P = 1")
    survived = MutantOutcome("bonus_dropped", "schedule", False, None, 2.0, "")
    assert check_steps.mutant_row([killed, killed]).verdict == "beyond"
    row = check_steps.mutant_row([killed, survived])
    assert row.verdict == "not reproduced" and row.ours.startswith("killed 1/2") and "bonus_dropped" in row.note


BENCH = {"config": {"target_ms": 20.0, "drafter_ms": 2.0, "c": 0.1, "lookahead": 5, "num_target_servers": 3,
                    "acceptance": 0.8, "tokens": 100, "runs": 3},
         "speedup": {"measured_dsi_over_si": 1.25, "predicted_dsi_over_si": 1.27,
                     "measured_dsi_over_nonsi": 3.1, "predicted_dsi_over_nonsi": 3.2},
         "lag_s": {"nonsi": 0.001, "si": 0.002, "dsi": 0.001}, "tolerance_s": 0.04, "within_tolerance": True,
         "overhead_per_task_ms": 0.1, "schedule_agrees": True, "schedule_differences": []}


def test_runtime_rows_fail_off_the_schedule_or_beyond_the_tolerance() -> None:
    assert [r.verdict for r in check_steps.runtime_rows(BENCH)] == ["beyond", "reproduced"]
    late = {**BENCH, "within_tolerance": False}
    assert check_steps.runtime_rows(late)[1].verdict == "not reproduced"
    differs = {**BENCH, "schedule_agrees": False, "schedule_differences": ["dsi: forward 3 (window 1..4): start"]}
    row = check_steps.runtime_rows(differs)[0]
    assert row.verdict == "not reproduced" and "forward 3" in row.ours
    slower = copy.deepcopy(BENCH)
    slower["speedup"]["measured_dsi_over_si"] = 0.98
    assert check_steps.runtime_rows(slower)[1].verdict == "not reproduced"


def test_runtime_rows_of_a_real_bench_with_a_broken_runtime_are_not_reproduced(monkeypatch) -> None:
    """The "differs" branch is live: the bench reports (not raises) a runtime whose DSI tokens differ."""
    import dataclasses

    from gpu_runtime import compare
    from gpu_runtime.engine import RuntimeEngine

    class OffByOne(RuntimeEngine):
        def generate(self, *args, **kwargs):
            result = super().generate(*args, **kwargs)
            if result.algorithm != "dsi":
                return result
            return dataclasses.replace(result, tokens=(*result.tokens[:-1], (result.tokens[-1] + 1) % 64))

    config = compare.BenchConfig(target_ms=2.0, drafter_ms=1.0, lookahead=2, tokens=6, runs=1, acceptance=0.5)
    intact = check_steps.runtime_rows(compare.run_benchmark(config))[0]
    monkeypatch.setattr(compare, "RuntimeEngine", OffByOne)
    broken = check_steps.runtime_rows(compare.run_benchmark(config))[0]
    assert (intact.verdict, intact.ours) == ("beyond", "equal")
    assert broken.verdict == "not reproduced" and broken.ours.startswith("differs: dsi: tokens")


def test_schedule_variant_findings_are_recomputed() -> None:
    """Hand-derived in tests/properties/test_latency.py and tests/reference/test_algorithms.py:
    cold-start prefill 6 > 5, warm start 5 = 5, warm start vs SI 67/20 > 14/5, no preemption 9/4 > 2."""
    rows = check_steps.finding_rows()
    assert [r.ours for r in rows] == ["T_DSI = 6, T_nonSI = 5", "T_DSI = 5, T_nonSI = 5",
                                      "T_DSI = 67/20, T_SI = 14/5", "T_DSI = 9/4, T_nonSI = 2"]
    assert [r.verdict for r in rows] == ["finding", "beyond", "finding", "finding"]


def test_open_step_lists_every_open_claim_with_a_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from paper_repro import prefill_search

    monkeypatch.setattr(prefill_search, "REPRO_CASES", 40)
    outcome = check_steps.open_step(StepContext(out=tmp_path))
    unchecked = [r for r in outcome.rows if r.verdict == "not checked"]
    assert len(unchecked) == len(check_steps.OPEN_CLAIMS) and all(r.note and r.how for r in unchecked)
    assert (tmp_path / "open" / "open_claims.csv").read_text().count("not checked") == len(unchecked)
    prefill = [r for r in outcome.rows if r.claim.startswith("Prefill,")]
    assert len(prefill) == 2 and all(" of 40" in r.ours for r in prefill)


@pytest.mark.parametrize(("theorem", "status", "verdict"), [
    ("T2", "proved", "reproduced"), ("T8b", "proved", "beyond"), ("T4", "refuted", "not reproduced"),
    ("T9", "error", "error")])
def test_proof_verdicts(theorem: str, status: str, verdict: str) -> None:
    assert check_steps.proof_verdict(theorem, status) == verdict
