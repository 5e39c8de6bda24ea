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
