"""``dsi prove`` and ``python -m proofs``: JSON of SPEC §9, table, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from paper_repro.console import main
from proofs import runner


def test_prove_json_lists_the_selected_theorems(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prove", "--only", "T2", "--only", "T4", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [t["id"] for t in out["theorems"]] == ["T2", "T4"]
    for record in out["theorems"]:
        assert {"id", "title", "method", "status", "seconds"} <= set(record)
        assert record["status"] == "proved"
    assert out["all_proved"] is True


def test_prove_table_has_the_columns(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prove", "--only", "t2"]) == 0
    text = capsys.readouterr().out
    assert text.splitlines()[0].split() == ["id", "title", "method", "status", "seconds"]
    assert "1/1 proved" in text


def test_unknown_id_exits_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prove", "--only", "T99"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "T99" in err


def test_registry_has_t1_to_t9() -> None:
    ids = [thm.id for thm in runner.theorems()]
    assert {f"T{i}" for i in range(1, 10)} <= set(ids)
    for thm in runner.theorems():
        assert thm.statement and thm.method and thm.title


def test_a_failing_theorem_makes_the_exit_status_1(monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from proofs.core import REGISTRY, ProofUndecided, Theorem

    def undecided() -> str:
        raise ProofUndecided("z3 answered unknown")

    monkeypatch.setitem(REGISTRY, "TX", Theorem("TX", "t", "s", (), "m", undecided))
    assert main(["prove", "--only", "TX", "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["theorems"][0]["status"] == "unknown" and out["all_proved"] is False


def test_python_dash_m_proofs_is_dsi_prove() -> None:
    done = subprocess.run([sys.executable, "-m", "proofs", "--only", "T2", "--json"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["theorems"][0]["id"] == "T2"
