"""The prefill search: exact latencies of known cases, the case distribution, rows and CLI."""

from __future__ import annotations

import json
from fractions import Fraction as F

import pytest

from paper_repro.check_steps import prefill_search_rows
from paper_repro.prefill_search import Case, PolicyCount, draw_cases, latencies, main, search


def test_the_cold_start_counterexample_and_its_warm_start_fix() -> None:
    """Hand-computed (docs/reference.md): S = 2, k = 1, N = 2, c = 1/2, prefills 4 and 2, drafts
    accepted. non-SI: x0 at 4, x1 at 5. Cold DSI: the window covering position 1 starts at 2 on the
    fresh server 1 and pays the prefill: x1 at 6. Warm DSI: server 1 prefills over [0, 4]; the
    window then runs one decode: x1 at 5."""
    case = Case((True, True), 1, 2, F(1, 2), F(4), F(2))
    cold, warm = latencies(case, "cold"), latencies(case, "warm")
    assert (cold["nonsi"], cold["dsi"], warm["dsi"]) == (5, 6, 5)


def test_warm_start_can_lose_to_si() -> None:
    """Hand-computed (docs/reference.md): SI 14/5 vs warm DSI 67/20."""
    case = Case((True, True), 1, 5, F(9, 20), F(47, 20), F(9, 20))
    times = latencies(case, "warm")
    assert (times["si"], times["dsi"]) == (F(14, 5), F(67, 20))


def test_cases_stay_in_the_stated_domain() -> None:
    cases = draw_cases(300, seed=3)
    for case in cases:
        assert 1 <= len(case.accept) <= 12 and 1 <= case.lookahead <= 4 and 1 <= case.num_target_servers <= 5
        assert 0 < case.c <= 1 and 1 <= case.target_prefill <= 6
        assert case.c <= case.drafter_prefill <= case.target_prefill
        assert (case.c * 20).denominator == (case.drafter_prefill * 20).denominator == 1
    assert {len(c.accept) for c in cases} == set(range(1, 13))
    assert draw_cases(5, seed=3) == cases[:5]  # seeded: reruns are identical


def test_counts_record_losses_and_the_smallest_case() -> None:
    count = PolicyCount("cold")
    small, large = Case((True, True), 1, 2, F(1, 2), F(4), F(2)), Case((True,) * 5, 2, 2, F(1, 2), F(4), F(2))
    count.add(large, {"nonsi": F(5), "si": F(5), "dsi": F(6)})
    count.add(small, {"nonsi": F(5), "si": F(7), "dsi": F(6)})
    count.add(Case((True,), 1, 1, F(1), F(1), F(1)), {"nonsi": F(1), "si": F(1), "dsi": F(2)})
    assert (count.cases, count.slower_than_nonsi, count.slower_than_si, count.cases_with_n_ge_2) == (3, 3, 1, 2)
    assert count.smallest_vs_nonsi.startswith("S = 1,") and count.smallest_vs_si.startswith("S = 5,")


def test_rows_fail_a_warm_start_loss_to_non_si() -> None:
    good, bad = PolicyCount("warm", cases=10, slower_than_si=1), PolicyCount("warm", cases=10, slower_than_nonsi=1)
    cold = PolicyCount("cold", cases=10, slower_than_nonsi=2)
    assert [r.verdict for r in prefill_search_rows({"cold": cold, "warm": good}, 0)] == ["finding", "beyond"]
    assert prefill_search_rows({"warm": bad}, 0)[0].verdict == "not reproduced"


def test_search_finds_cold_start_losses_on_a_small_run() -> None:
    results = search(60, seed=0)
    assert results["cold"].slower_than_nonsi > 0 and results["warm"].slower_than_nonsi == 0


def test_cli_prints_json_and_rejects_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--cases", "5", "--policy", "warm", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert list(data["policies"]) == ["warm"] and data["policies"]["warm"]["cases"] == 5
    assert main(["--cases", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cases must be >= 1" in err
