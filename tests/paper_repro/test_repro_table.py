"""Simulating table rows from measurements (exact model, prefill = TTFT). Expectations by hand."""

from __future__ import annotations

from fractions import Fraction

import pytest

from paper_repro.measurements import TableRow
from paper_repro.table import TableConfig, latency_model, simulate_row, simulate_rows, table_claims
from reference.errors import ConfigError

SMALL = TableConfig(tokens=10, repeats=1, max_lookahead=3, refine=3)


def row(a: float, *, ttft: tuple[float, float] = (10.0, 5.0), traces: tuple[str, ...] | None = None) -> TableRow:
    """Target TPOT 10 ms, drafter TPOT 5 ms (c = 1/2); TTFT target/drafter from ``ttft``."""
    return TableRow(row_id="r", target="t", drafter="d", dataset="mbpp", target_tpot_ms=10.0,
                    drafter_tpot_ms=5.0, target_ttft_ms=ttft[0], drafter_ttft_ms=ttft[1],
                    acceptance_rate=a, agreement_traces=traces)


def test_latency_model_is_in_target_tpot_units() -> None:
    lat = latency_model(row(0.5, ttft=(25.0, 7.5)))
    assert (lat.target_decode, lat.drafter_decode) == (1, Fraction(1, 2))
    assert (lat.target_prefill, lat.drafter_prefill) == (Fraction(5, 2), Fraction(3, 4))


def test_unmeasured_row_cannot_be_simulated() -> None:
    with pytest.raises(ConfigError, match="lacks measurements"):
        latency_model(TableRow(row_id="x", target="t", drafter="d", dataset="mbpp"))


def test_every_draft_accepted_without_prefill() -> None:
    # S = 10, c = 1/2. SI: k=1: 5 iterations of 1.5 = 7.5; k=2: 2+2+2+1 = 7; k=3: 2.5+2.5+1.5 = 6.5.
    # DSI: the window holding draft 8 is dispatched at 9c = 4.5 and ends at 5.5 = T (any k here).
    result = simulate_row(row(1.0), "iid", SMALL)
    assert result.si_decode_only_by_k == (7.5, 7.0, 6.5)
    assert (result.si_k, result.si) == (3, 6.5)
    assert (result.dsi_k, result.dsi) == (1, 5.5)
    assert result.nonsi == 10.0
    assert result.dsi_over_si == pytest.approx(6.5 / 5.5)
    assert result.si_ms == pytest.approx(65.0)


def test_every_draft_rejected_with_prefill() -> None:
    # TTFT: target 20 ms = 2 units, drafter 10 ms = 1 unit (prefill adds 1 and 1/2).
    # non-SI: 2 + 9 = 11. SI(k=1): 9 iterations of 1.5 plus a last one of 1, plus 1.5 = 16.
    # DSI equals non-SI when every draft is rejected: 11.
    result = simulate_row(row(0.0, ttft=(20.0, 10.0)), "iid", SMALL)
    assert (result.nonsi, result.si, result.si_k, result.dsi) == (11.0, 16.0, 1, 11.0)
    assert result.dsi_over_nonsi == 1.0


def test_trace_kind_uses_the_agreement_path() -> None:
    # traces all "1": every draft accepted, as in the a = 1 case, although â is given as 0.3
    result = simulate_row(row(0.3, traces=("1111",)), "trace", SMALL)
    assert result.path_acceptance_share == 1.0
    assert (result.si, result.dsi) == (6.5, 5.5)
    with pytest.raises(ConfigError, match="no agreement traces"):
        simulate_row(row(0.3), "trace", SMALL)
    with pytest.raises(ConfigError, match="kind"):
        simulate_row(row(0.3), "markov", SMALL)


def test_simulate_rows_skips_and_returns_unmeasured_rows() -> None:
    empty = TableRow(row_id="empty", target="t", drafter="d", dataset="mbpp")
    results, unmeasured = simulate_rows([row(1.0, traces=("10",)), empty], SMALL)
    assert [(r.row_id, r.kind) for r in results] == [("r", "iid"), ("r", "trace")]
    assert [r.row_id for r in unmeasured] == ["empty"]
    claims = table_claims(results, unmeasured, paper_rows={"empty"})
    assert claims[-1].verdict == "not measured" and "empty" in claims[-1].ours
    assert [c.verdict for c in claims[:-1]] == ["finding", "finding"]


@pytest.mark.parametrize("field", ["num_target_servers", "tokens", "max_lookahead", "repeats", "refine"])
def test_table_config_rejects_non_positive_values(field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        TableConfig(**{field: 0})


def _results_with_speedups(speedups: list[float]) -> list:
    from dataclasses import replace

    base = simulate_row(row(1.0), "iid", SMALL)
    return [replace(base, row_id=f"p{i}", dsi_over_si=s) for i, s in enumerate(speedups)]


@pytest.mark.parametrize("speedups,verdict", [
    ([1.29, 1.5, 1.92] + [1.4] * 7, "reproduced"),
    ([1.29, 1.5, 2.30] + [1.4] * 7, "not reproduced"),
    ([1.4] * 4, "not measured"),           # partial: 4 of 10 rows
])
def test_range_claim_judges_the_papers_rows_together(speedups: list, verdict: str) -> None:
    results = _results_with_speedups(speedups)
    claims = table_claims(results, [], paper_rows={f"p{i}" for i in range(10)})
    assert claims[0].claim.startswith("Table: DSI over SI")
    assert claims[0].verdict == verdict
    assert claims[0].paper == "1.29x-1.92x"
