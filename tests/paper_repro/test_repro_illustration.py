"""The paper's illustration from event-simulation traces (SPEC §4.3 facts, §5)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from paper_repro import illustration
from paper_repro.illustration import IllustrationConfig
from reference.errors import ConfigError
from reference.results import Result, TaskRecord


@pytest.fixture(scope="module")
def counts() -> dict:
    return illustration.token_counts(illustration.run_illustration(IllustrationConfig()))


def test_best_case_matches_the_paper_exactly(counts: dict) -> None:
    assert counts["best"] == {"nonsi": [2, 4, 8, 9], "si": [2, 8, 14, 16], "dsi": [8, 26, 50, 58]}


def test_worst_case_matches_the_paper_for_nonsi_and_dsi(counts: dict) -> None:
    assert counts["worst"]["nonsi"] == [2, 4, 8, 9]
    assert counts["worst"]["dsi"] == [2, 4, 8, 9]


def test_worst_case_si_follows_the_model_not_the_printed_row(counts: dict) -> None:
    # 8 units per token (k·1 + 7): floor(t / 8) for t = 14, 32, 56, 64
    assert counts["worst"]["si"] == [1, 4, 7, 8]
    assert illustration.PAPER_COUNTS["worst"]["si"] == (1, 4, 8, 9)


def test_findings_flag_exactly_one_discrepancy(counts: dict) -> None:
    rows = illustration.findings(counts, IllustrationConfig())
    verdicts = [(r.claim.split(":")[0], r.verdict) for r in rows]
    assert [v for _, v in verdicts].count("reproduced") == 5
    assert ("Illustration, worst case, SI", "discrepancy") in verdicts


def test_findings_report_a_mismatch_as_not_reproduced() -> None:
    wrong = {"best": {"nonsi": [2, 4, 8, 9], "si": [2, 8, 14, 16], "dsi": [8, 26, 50, 57]},
             "worst": {"nonsi": [2, 4, 8, 9], "si": [1, 4, 7, 8], "dsi": [2, 4, 8, 9]}}
    rows = illustration.findings(wrong, IllustrationConfig())
    assert [r.verdict for r in rows if "best case, DSI" in r.claim] == ["not reproduced"]


def test_json_has_the_documented_shape(counts: dict) -> None:
    data = illustration.illustration_json(counts)
    assert set(data) == {"times", "best", "worst"}
    assert data["times"] == [14, 32, 56, 64]
    assert data["best"]["dsi"] == [8, 26, 50, 58]


def test_comparison_rows_cover_every_case_algorithm_and_time(counts: dict) -> None:
    rows = illustration.comparison_rows(counts)
    assert len(rows) == 2 * 3 * 4
    mismatches = [(r["case"], r["algorithm"], r["time"]) for r in rows if not r["match"]]
    assert mismatches == [("worst", "si", 56), ("worst", "si", 64)]


@pytest.mark.parametrize("field,value", [("lookahead", 0), ("num_target_servers", -1), ("tokens", 1.5),
                                         ("target_latency", True)])
def test_config_rejects_invalid_values(field: str, value: object) -> None:
    with pytest.raises(ConfigError, match=field):
        IllustrationConfig(**{field: value})


def test_config_rejects_a_drafter_slower_than_the_target() -> None:
    with pytest.raises(ConfigError, match="exceeds"):
        IllustrationConfig(target_latency=1, drafter_latency=2)


def test_gantt_bars_clip_to_the_horizon_and_skip_unstarted_tasks() -> None:
    trace = (
        TaskRecord(0, "target:0", "frontier", 0, 0, Fraction(0), Fraction(0), Fraction(7), None),
        TaskRecord(1, "target:1", "window", 0, 1, Fraction(1), Fraction(60), Fraction(67), Fraction(67)),
        TaskRecord(2, "target:2", "window", 1, 2, Fraction(2), None, None, Fraction(3)),
        TaskRecord(3, "drafter", "draft", 5, 5, Fraction(70), Fraction(70), Fraction(71), None),
    )
    bars = illustration.gantt_bars(Result("dsi", (), (), trace), 64)
    assert [(b.server, b.start, b.end, b.cancelled) for b in bars] == [
        ("target:0", 0.0, 7.0, False), ("target:1", 60.0, 64.0, True)]


def test_server_order_puts_the_drafter_first_then_targets_by_index() -> None:
    bars = [illustration.Bar(s, "window", 0, 1, 0, 0, False) for s in ("target:10", "target:2", "drafter")]
    assert illustration.server_order(bars) == ["drafter", "target:2", "target:10"]
