"""``repro all`` as a list of steps: the runner, error rows, atomic output, figures copy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from paper_repro.report import ClaimRow
from paper_repro.steps import (
    DEFAULT_STEPS,
    HeatmapSettings,
    ReproSettings,
    Step,
    StepContext,
    StepOutcome,
    proofs_step,
    run_steps,
)

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
    out.mkdir()
    (out / "stale.txt").write_text("stale")
    run_steps([Step("ok", "works", ok_step)], out, QUIET)
    assert sorted(p.name for p in out.iterdir()) == ["REPORT.md", "claims.csv", "claims.json", "ok.txt"]


def test_default_steps_end_to_end_on_a_small_grid(tmp_path: Path) -> None:
    settings = ReproSettings(heatmap=HeatmapSettings(ndim=2, tokens=40, repeats=1), table_demo=False,
                             progress=False)
    summary = run_steps(DEFAULT_STEPS, tmp_path / "results", settings, figures_dir=tmp_path / "figs")
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


def test_proofs_step_reports_each_theorem_from_dsi_prove_json(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import reference.cli

    def fake_main(argv: list[str]) -> int:
        assert argv == ["prove", "--json"]
        print(json.dumps({"theorems": [
            {"id": "T1", "title": "kernel-lossless", "method": "sympy", "status": "proved", "seconds": 0.5},
            {"id": "T6", "title": "never slower than SI", "method": "z3", "status": "unknown", "seconds": 20},
        ]}))
        return 1

    monkeypatch.setattr(reference.cli, "main", fake_main)
    outcome = proofs_step(StepContext(out=tmp_path))
    assert [(r.claim, r.verdict) for r in outcome.rows] == [
        ("T1: kernel-lossless", "beyond"), ("T6: never slower than SI", "error")]
    assert json.loads((tmp_path / "proofs" / "proofs.json").read_text())["theorems"][0]["id"] == "T1"
