"""``dsi mutants`` and ``python -m properties.mutants``."""

from __future__ import annotations

import json

import pytest

from paper_repro.console import main as dsi_main
from properties.mutants import main as mutants_main


def test_dsi_mutants_json_reports_kills(capsys: pytest.CaptureFixture[str]) -> None:
    status = dsi_main(["mutants", "--json", "--only", "always_accept", "drafter_stale_prefix"])
    out = json.loads(capsys.readouterr().out)
    assert status == 0
    assert [m["name"] for m in out["mutants"]] == ["always_accept", "drafter_stale_prefix"]
    for row in out["mutants"]:
        assert set(row) >= {"name", "engine", "bug_class", "killed", "killed_by", "seconds"}
        assert row["killed"] is True and row["engine"] == "reference"
    assert out["mutants"][0]["killed_by"] == "exact_sequence_law"
    assert out["mutants"][1]["killed_by"] == "trajectory_equality"


def test_text_table_has_one_row_per_mutant(capsys: pytest.CaptureFixture[str]) -> None:
    assert mutants_main(["--only", "bonus_wrong_position"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split()[:2] == ["mutant", "bug"]
    assert lines[1].split()[0] == "bonus_wrong_position" and "killed" in lines[1]
    assert lines[-1].startswith("killed 1/1 (100%)")


def test_unknown_mutant_is_exit_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert dsi_main(["mutants", "--only", "no_such_mutant"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no_such_mutant" in err[0]
