"""Claim rows and REPORT.md rendering."""

from __future__ import annotations

import pytest

from paper_repro.report import VERDICTS, ClaimRow, render_report, verdict_counts
from reference.errors import ConfigError


def test_unknown_verdict_is_rejected() -> None:
    with pytest.raises(ConfigError, match="verdict"):
        ClaimRow("c", "h", "1", "1", "probably")


def test_report_has_one_table_line_per_row_and_escapes_pipes() -> None:
    rows = [ClaimRow("DSI >= SI", "grid", "1.01", ">= 1", "reproduced", step="heatmaps"),
            ClaimRow("a|b", "x", "2", "", "finding", step="s", note="n")]
    text = render_report(rows, title="T", timings=[("heatmaps", 1.25)], revision="abc")
    lines = text.splitlines()
    assert lines[0] == "# T"
    assert "| heatmaps | DSI >= SI | grid | 1.01 | >= 1 | reproduced |  |" in lines
    assert "| s | a\\|b | x | 2 |  | finding | n |" in lines
    assert "Verdicts: reproduced 1, finding 1." in lines
    assert "| heatmaps | 1.2 |" in lines  # 1.25 is exact in binary; format rounds half to even
    assert "git revision: `abc`" in lines


def test_verdict_counts_include_every_verdict() -> None:
    counts = verdict_counts([ClaimRow("c", "h", "", "", "error")] * 2)
    assert set(counts) == set(VERDICTS)
    assert counts["error"] == 2
    assert sum(counts.values()) == 2


def test_the_printed_claim_table_keeps_each_verdict_whole(capsys) -> None:
    from paper_repro.report import print_claims_table

    rows = [ClaimRow("T1: kernel lossless", "sympy " * 30, "proved in 2.1 s", "theorem", "reproduced", step="proofs"),
            ClaimRow("Table rows", "needs a GPU", "10 rows lack measurements", "", "not measured", step="table")]
    print_claims_table(rows, width=160)  # the width used when stdout is not a terminal
    out = capsys.readouterr().out
    for word in ("reproduced", "not measured", "T1: kernel lossless", "proofs", "theorem"):
        assert word in out
    assert out.rstrip().endswith("verdicts: reproduced 1, not measured 1")
