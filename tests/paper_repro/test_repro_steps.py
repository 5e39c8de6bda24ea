"""``repro all`` as a list of steps: the runner, error rows, atomic output, figures copy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from paper_repro.check_steps import proofs_step
from paper_repro.claims import comparison_claim
from paper_repro.report import ClaimRow
from paper_repro.runner import DEFAULT_STEPS, run_steps, select_steps
from paper_repro.settings import HeatmapSettings, ReproSettings, Step, StepContext, StepOutcome
from paper_repro.steps import REPRODUCTION_STEPS
from reference.errors import ConfigError

QUIET = ReproSettings(progress=False)


def ok_step(context: StepContext) -> StepOutcome:
    (context.out / "ok.txt").write_text("ok")
    return StepOutcome([ClaimRow("works", "test", "1", "1", "reproduced", step="ok")],
                       sections=["### extra section\n"])


def broken_step(context: StepContext) -> StepOutcome:
    raise ValueError("boom")


def test_runner_collects_rows_and_turns_a_failing_step_into_an_error_row(tmp_path: Path) -> None:
    steps = [Step("broken", "fails", broken_step), Step("ok", "works", ok_step)]
    summary = run_steps(steps, tmp_path / "out", QUIET)
    assert [(r.step, r.verdict) for r in summary.rows] == [("broken", "error"), ("ok", "reproduced")]
    assert "ValueError: boom" in summary.rows[0].ours
    report = (tmp_path / "out" / "REPORT.md").read_text()
    assert "| ok | works | test | 1 | 1 | reproduced |  |" in report
    assert "### extra section" in report
    claims = json.loads((tmp_path / "out" / "claims.json").read_text())
    assert [c["verdict"] for c in claims["claims"]] == ["error", "reproduced"]
    assert (tmp_path / "out" / "ok.txt").read_text() == "ok"


def test_a_rerun_replaces_the_results_directory(tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_steps([Step("ok", "works", ok_step)], out, QUIET)
    (out / "stale.txt").write_text("stale")
    run_steps([Step("ok", "works", ok_step)], out, QUIET)
    assert sorted(p.name for p in out.iterdir()) == [".dsi-output", "REPORT.md", "claims.csv", "claims.json",
                                                     "ok.txt"]


def test_reproduction_steps_end_to_end_on_a_small_grid(tmp_path: Path) -> None:
    settings = ReproSettings(heatmap=HeatmapSettings(ndim=2, tokens=40, repeats=1), table_demo=False,
                             progress=False)
    summary = run_steps(REPRODUCTION_STEPS, tmp_path / "results", settings, figures_dir=tmp_path / "figs")
    assert [name for name, _ in summary.timings] == ["illustration", "heatmaps", "table"]
    verdicts = {r.verdict for r in summary.rows}
    assert "error" not in verdicts and "not reproduced" not in verdicts
    assert any(r.verdict == "discrepancy" and "worst case, SI" in r.claim for r in summary.rows)
    assert any(r.verdict == "not measured" for r in summary.rows)
    figs = sorted(p.name for p in (tmp_path / "figs").iterdir())
    assert figs == ["heatmaps-exact-lookahead.png", "heatmaps-exact-panels.png",
                    "heatmaps-paper-lookahead.png", "heatmaps-paper-panels.png",
                    "illustration.png"]
    for rel in ("heatmaps/exact/rows.csv", "heatmaps/paper/best_k.csv", "illustration/illustration.json",
                "table/table.json", "REPORT.md"):
        assert (tmp_path / "results" / rel).is_file(), rel


def test_proofs_step_reports_each_theorem_with_its_verdict(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from proofs import runner
    from proofs.core import ProofResult

    def fake_run(only: object = None) -> list[ProofResult]:
        return [ProofResult("T1", "kernel-lossless", "P[K = x] = p(x)", (), "sympy", "proved", 0.5),
                ProofResult("T6inf", "every S, unlimited N", "T_DSI <= T_SI", (), "z3", "proved", 0.1),
                ProofResult("T6", "never slower than SI", "T_DSI <= T_SI", (), "z3", "unknown", 20.0),
                ProofResult("T5", "never slower than non-SI", "T_DSI <= T_nonSI", (), "z3", "refuted", 1.0)]

    monkeypatch.setattr(runner, "run", fake_run)
    outcome = proofs_step(StepContext(out=tmp_path))
    assert [(r.claim, r.verdict) for r in outcome.rows] == [
        ("T1: kernel-lossless", "reproduced"), ("T6inf: every S, unlimited N", "beyond"),
        ("T6: never slower than SI", "error"), ("T5: never slower than non-SI", "not reproduced")]
    assert json.loads((tmp_path / "proofs" / "proofs.json").read_text())["theorems"][0]["id"] == "T1"


def test_repro_all_runs_checks_then_reproductions_then_open_claims() -> None:
    assert [s.name for s in DEFAULT_STEPS] == ["proofs", "properties", "mutants", "runtime", "illustration",
                                               "heatmaps", "table", "open"]
    assert [s.name for s in select_steps(["proofs", "runtime"])] == [
        "properties", "mutants", "illustration", "heatmaps", "table", "open"]
    with pytest.raises(ConfigError, match="unknown step"):
        select_steps(["astrology"])


def _comparison(recheck: list[dict]) -> dict:
    return {"cells": 441, "cells_exact_not_slower": 441 - len(recheck), "min_ratio": 0.85, "max_ratio": 1.03,
            "max_ratio_c": 0.01, "max_ratio_a": 0.99, "mean_ratio": 0.93, "exact_slower": [], "recheck": recheck}


def test_exact_vs_paper_claim_counts_only_significant_excesses() -> None:
    cell = {"c": 0.01, "a": 0.99, "k_exact": 17, "k_paper": 15, "ratio": 1.004, "excess": 0.1, "se": 0.24}
    noise = comparison_claim(_comparison([{**cell, "significant": False}]))
    real = comparison_claim(_comparison([{**cell, "excess": 3.0, "se": 0.2, "significant": True}]))
    assert noise.verdict == "beyond" and "0 significant" in noise.ours
    assert real.verdict == "finding" and "1 significant" in real.ours and "3.000 ± 0.200" in real.note


def test_a_demo_pair_timed_slower_than_its_target_is_retried_then_reported_not_measured(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from paper_repro import steps

    calls = []

    def noisy() -> object:
        calls.append(1)
        raise ConfigError("row tiny: drafter TPOT 25.8 ms exceeds target TPOT 11.3 ms")

    monkeypatch.setattr(steps, "tiny_demo_row", noisy)
    outcome = steps.table_step(StepContext(out=tmp_path, settings=ReproSettings(progress=False)))
    assert len(calls) == steps.DEMO_ATTEMPTS
    demo = [r for r in outcome.rows if "tiny random-init pair" in r.claim]
    assert [r.verdict for r in demo] == ["not measured"] and "exceeds target TPOT" in demo[0].ours
