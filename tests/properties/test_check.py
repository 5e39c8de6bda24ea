"""``dsi check``: verdicts, evidence, statistics, not-applicable capabilities, the report file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from paper_repro.console import main as dsi_main
from properties.check import CheckReport, run_check, write_report
from properties.engines import Capabilities, EngineRequest, ReferenceEngine
from properties.suite import SUITE, Outcome
from reference.errors import PathError
from reference.results import Result


class NotCanonical:
    """The reference engine declaring only what a non-canonical engine would (no batch, no injection)."""

    name = "not-canonical"
    capabilities = Capabilities(canonical=False, virtual_time=False, wall_time=False, uniform_injection=False)

    def generate(self, request: EngineRequest) -> Result:
        return ReferenceEngine().generate(request)


def test_quick_check_passes_on_the_reference(capsys: pytest.CaptureFixture[str]) -> None:
    assert dsi_main(["check", "--engine", "properties.engines:ReferenceEngine", "--quick", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["passed"] is True and out["profile"] == "quick"
    assert [p["name"] for p in out["properties"]] == [p.name for p in SUITE]
    verdicts = {p["name"]: p["verdict"] for p in out["properties"]}
    # the reference reports no wall-time schedule: the schedule properties do not apply to it
    assert {n for n, v in verdicts.items() if v != "pass"} == {"schedule_agreement", "kv_cache_reuse",
                                                              "timing_fidelity"}
    assert {v for n, v in verdicts.items() if v != "pass"} == {"not applicable"}
    statistics = [s for p in out["properties"] for s in p.get("statistics", [])]
    # 5 χ² tests and 2 Monte Carlo means, each with its α, power, effect, n and result
    assert len(statistics) == 7
    for test in statistics:
        assert test["alpha"] == pytest.approx(1e-6 / 7) and test["power"] == 0.99 and test["n"] >= 100
        assert "p_value" in test or "half_width" in test


@pytest.mark.parametrize(("mutant", "killer"), [
    ("stop_ignored", "stop_tokens"), ("greedy_ties_upward", "greedy_ties"), ("top_p_crossing_dropped", "processed_law"),
    ("batch_padding_unmasked", "batch_consistency"), ("always_accept", "exact_sequence_law"),
])
def test_check_fails_a_mutant_and_names_the_property(mutant: str, killer: str,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert dsi_main(["check", "--engine", f"mutant:{mutant}", "--quick", "--json", "--only", killer]) == 1
    out = json.loads(capsys.readouterr().out)
    (entry,) = out["properties"]
    assert out["passed"] is False and entry["name"] == killer and entry["verdict"] == "fail"
    assert entry["evidence"].startswith(f"[{killer}]") and "Falsifying example" in entry["evidence"]


def test_not_applicable_properties_name_the_capability(tmp_path: Path) -> None:
    report = run_check(NotCanonical(), profile="quick", names=["trajectory_equality", "greedy_equality",
                                                               "batch_consistency"])
    verdicts = {o.name: (o.verdict, o.missing) for o in report.outcomes}
    assert verdicts == {"trajectory_equality": ("not applicable", ("canonical",)),
                        "greedy_equality": ("pass", ()),
                        "batch_consistency": ("not applicable", ("batching",))}
    assert report.passed
    text = write_report(report, tmp_path / "report.md").read_text(encoding="utf-8")
    assert "| `trajectory_equality` | n/a: needs canonical |" in text
    assert "* `batch_consistency`: the engine does not declare batching (has generate_batch)" in text


def test_report_is_written_whole_and_exit_status_follows_the_verdicts(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "report.json"
    assert dsi_main(["check", "--engine", "mutant:stop_ignored", "--quick", "--only", "result_contract",
                     "stop_tokens", "--report", str(path)]) == 1
    report = json.loads(path.read_text(encoding="utf-8"))
    assert [(p["name"], p["verdict"]) for p in report["properties"]] == [("result_contract", "pass"),
                                                                        ("stop_tokens", "fail")]
    assert os.listdir(tmp_path) == ["report.json"]  # no temporary file left behind
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith("mutant:stop_ignored: FAIL (1 fail, 1 pass)")


def test_a_failed_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = CheckReport("e", "e", "ci", (Outcome("result_contract", "pass", 0.1),), 0.1)

    def broken(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(PathError, match="cannot write"):  # a typed error (exit 2 in the CLI)
        write_report(report, tmp_path / "report.md")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("argv", [
    ["check", "--engine", "no_such_module:factory"],
    ["check", "--engine", "mutant:no_such_mutant"],
    ["check", "--engine", "reference", "--only", "no_such_property"],
    ["check", "--engine", "reference", "--report", "/no/such/directory/report.md"],
    ["check", "--engine", "reference", "--quick", "--thorough"],
    ["check"],
])
def test_bad_arguments_exit_2_with_one_line(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        raise SystemExit(dsi_main(argv))
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "error" in err[0]
