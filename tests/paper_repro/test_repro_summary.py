"""The compact terminal summary of ``dsi repro all``: counts, failing and notable rows, the report's path."""

from __future__ import annotations

import pytest

from paper_repro.report import VERDICTS, ClaimRow
from paper_repro.summary import FAILING, NOTABLE, terminal_summary

LONG = "a how-established text that would wrap over many terminal lines " * 6


def _rows() -> list[ClaimRow]:
    rows = [ClaimRow(f"claim {i}", LONG, f"{i}.0", "1.0", "reproduced", step="proofs") for i in range(30)]
    rows += [ClaimRow(f"beyond {i}", LONG, "proved", "", "beyond", step="proofs") for i in range(10)]
    rows += [ClaimRow("Figure 1 with SI's best k over every k", LONG, "8 cells below 1: " + "x" * 300,
                      ">= 1", "finding", step="heatmaps-paper"),
             ClaimRow("Illustration, worst case, SI", LONG, "1/4/7/8", "1/4/8/9", "discrepancy", step="illustration"),
             ClaimRow("Table rows", LONG, "10 rows lack measurements", "", "not measured", step="table"),
             ClaimRow("T3 for every vocabulary", LONG, "", "", "not checked", step="open", note="budget"),
             ClaimRow("DSI faster than SI in wall time", LONG, "DSI/SI 0.91 (predicted 1.27)", "faster",
                      "not reproduced", step="runtime", note="measured/predicted 0.72 " + "y" * 400)]
    return rows


def test_every_verdict_is_counted_listed_or_only_counted_on_purpose() -> None:
    assert set(FAILING) | set(NOTABLE) | {"reproduced", "beyond"} == set(VERDICTS)


@pytest.mark.parametrize("width", [60, 100, 160])
def test_the_summary_fits_the_width_and_stays_short(width: int) -> None:
    rows = _rows()
    text = terminal_summary(rows, report="results/REPORT.md", timings=[("proofs", 35.0), ("heatmaps", 4.2)],
                            width=width)
    lines = text.splitlines()
    assert all(len(line) <= width for line in lines), max(lines, key=len)
    # 45 rows: times and counts (<= 2 lines each at width 60) + 1 failing (header, <= 3 lines)
    # + 4 notable (4 headers) + path
    assert len(lines) <= 2 + 2 + 1 + 3 + 8 + 1
    assert " ".join(text.split()).count("verdicts: reproduced 30, not reproduced 1, discrepancy 1, finding 1, "
                                        "beyond 10, not measured 1, not checked 1") == 1
    assert lines[-1].endswith("results/REPORT.md")
    for claim in ("Figure 1 with SI", "worst case, SI", "Table rows", "T3 for every", "DSI faster than SI"):
        assert claim in text
    assert "claim 7" not in text and "beyond 3" not in text  # agreeing rows are only counted


def test_a_failing_row_shows_its_number_the_paper_and_its_note() -> None:
    text = terminal_summary(_rows(), report="REPORT.md", width=160)
    failed = text.split("FAILED (1):")[1]
    for part in ("DSI/SI 0.91 (predicted 1.27)", "paper: faster", "measured/predicted 0.72"):
        assert part in failed


def test_no_failure_section_when_nothing_failed() -> None:
    rows = [r for r in _rows() if r.verdict not in FAILING]
    assert "FAILED" not in terminal_summary(rows, report="REPORT.md")
