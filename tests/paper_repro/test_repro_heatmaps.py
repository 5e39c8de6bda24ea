"""Best lookahead per cell, panels and their statistics (SPEC §5 Figure 1)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from matplotlib.figure import Figure

from paper_repro import heatmaps
from paper_repro.claims import heatmap_claims
from paper_repro.heatmaps_plot import lookahead_figure, panels_figure, plot_speedup_panel
from paper_repro.settings import HeatmapSettings
from reference.errors import ConfigError

NAN = float("nan")


def hand_grid() -> SimpleNamespace:
    """2 values of c, 1 of a, k in 1..3; numbers chosen by hand (see the expectations below)."""
    si = np.array([[[10.0, 8.0, 9.0]], [[12.0, 11.0, 13.0]]])
    dsi = np.array([[[NAN, NAN, 6.0]], [[7.0, 5.0, 5.0]]])
    return SimpleNamespace(model="paper", c_values=np.array([0.1, 0.5]), a_values=np.array([0.5]),
                           k_values=np.array([1, 2, 3]), si=si, dsi=dsi, nonsi=np.full(si.shape, 10.0),
                           valid=np.array([[False, False, True], [True, True, True]]))


def test_best_lookahead_takes_the_smallest_k_among_ties_and_skips_disallowed() -> None:
    lat = np.array([[4.0, 3.0, 3.0], [1.0, 2.0, 5.0]])
    best, k = heatmaps.best_lookahead(lat, np.array([1, 2, 3]), np.array([[True] * 3, [False, True, True]]))
    assert best.tolist() == [3.0, 2.0]
    assert k.tolist() == [2, 2]


def test_best_lookahead_with_no_allowed_k_is_an_error() -> None:
    with pytest.raises(ConfigError, match="no allowed lookahead"):
        heatmaps.best_lookahead(np.array([[NAN, NAN]]), np.array([1, 2]))


def test_best_k_keeps_si_unrestricted_and_records_the_restricted_choice() -> None:
    best = heatmaps.best_k(hand_grid())
    assert best.si[:, 0].tolist() == [8.0, 11.0]
    assert best.si_k[:, 0].tolist() == [2, 2]
    assert best.si_restricted[:, 0].tolist() == [9.0, 11.0]
    assert best.si_restricted_k[:, 0].tolist() == [3, 2]
    assert best.dsi[:, 0].tolist() == [6.0, 5.0]
    assert best.dsi_k[:, 0].tolist() == [3, 2]


def test_panels_are_ratios_of_best_latencies() -> None:
    best = heatmaps.best_k(hand_grid())
    np.testing.assert_allclose(best.panel("dsi_over_si")[:, 0], [8 / 6, 11 / 5])
    np.testing.assert_allclose(best.panel("dsi_over_nonsi")[:, 0], [10 / 6, 10 / 5])
    np.testing.assert_allclose(best.panel("si_over_nonsi")[:, 0], [10 / 8, 10 / 11])
    np.testing.assert_allclose(best.panel("dsi_over_min")[:, 0], [8 / 6, 10 / 5])
    np.testing.assert_allclose(best.panel("dsi_over_si_restricted")[:, 0], [9 / 6, 11 / 5])
    with pytest.raises(ConfigError, match="unknown panel"):
        best.panel("nope")


def test_panel_stats_list_the_cells_below_one() -> None:
    stats = heatmaps.panel_stats(heatmaps.best_k(hand_grid()))
    assert stats["si_over_nonsi"]["cells_below_1"] == 1
    assert stats["si_over_nonsi"]["below_1"] == [{"c": 0.5, "a": 0.5, "value": pytest.approx(10 / 11)}]
    assert stats["dsi_over_si"]["min"] == pytest.approx(8 / 6)
    assert (stats["dsi_over_si"]["argmin_c"], stats["dsi_over_si"]["argmin_a"]) == (0.1, 0.5)
    assert stats["dsi_over_si"]["max"] == pytest.approx(2.2)


def test_restriction_effect_measures_the_inflation_of_dsi_over_si() -> None:
    effect = heatmaps.restriction_effect(heatmaps.best_k(hand_grid()))
    assert effect["cells_with_other_k"] == 1
    assert effect["max_inflation"] == pytest.approx(9 / 6 - 8 / 6)
    assert effect["max_inflation_c"] == 0.1


def test_summary_rows_have_one_row_per_cell_with_chosen_lookaheads() -> None:
    rows = heatmaps.summary_rows(heatmaps.best_k(hand_grid()))
    assert [(r["c"], r["si_k"], r["dsi_k"], r["si_restricted_k"]) for r in rows] == [
        (0.1, 2, 3, 3), (0.5, 2, 2, 2)]


def test_claims_call_paper_model_cells_below_one_a_finding() -> None:
    best = heatmaps.best_k(hand_grid())
    best_slow = heatmaps.BestK(best.model, best.c_values, best.a_values, best.nonsi, best.si,
                               best.si_k, best.si_restricted, best.si_restricted_k,
                               np.array([[9.0], [5.0]]), best.dsi_k)  # DSI 9 > SI 8 at c = 0.1
    stats = heatmaps.panel_stats(best_slow)
    rows = heatmap_claims("paper", stats, heatmaps.restriction_effect(best_slow), HeatmapSettings(), 0)
    unrestricted = [r for r in rows if "every k" in r.claim]
    assert [r.verdict for r in unrestricted] == ["finding"]
    assert "(c=0.10, a=0.50): 0.8889" in unrestricted[0].ours
    exact_rows = heatmap_claims("exact", stats, heatmaps.restriction_effect(best_slow), HeatmapSettings(), 0)
    assert exact_rows[0].verdict == "not reproduced"


@pytest.fixture(scope="module")
def small_grids() -> dict:
    from reference.fast.grid import heatmap_grid

    return {m: heatmaps.best_k(heatmap_grid(m, ndim=4, tokens=60, repeats=2))
            for m in ("exact", "paper")}


def test_exact_model_dsi_is_never_below_si_or_nonsi_on_a_small_grid(small_grids: dict) -> None:
    best = small_grids["exact"]
    for key in ("dsi_over_si", "dsi_over_nonsi", "dsi_over_min"):
        assert best.panel(key).min() >= 1 - heatmaps.TOLERANCE, key


def test_restricting_si_can_only_raise_dsi_over_si(small_grids: dict) -> None:
    best = small_grids["paper"]
    assert (best.panel("dsi_over_si_restricted") >= best.panel("dsi_over_si") - 1e-12).all()


def test_speedup_panel_draws_slowdowns_in_pink_and_returns_the_axes() -> None:
    fig = Figure()
    ax = fig.add_subplot()
    speedup = np.array([[0.5, 2.0], [1.5, 0.9]])  # [c, a]: two slowdowns
    assert plot_speedup_panel(ax, speedup, np.array([0.1, 0.5]), np.array([0.2, 0.8]), title="t") is ax
    pink = ax.collections[1].get_array()
    assert int(np.ma.count(pink)) == 2
    assert "cells < 1: 2" in ax.get_title()


def test_figures_have_four_panels_plus_the_restricted_one_and_three_lookahead_maps(small_grids: dict) -> None:
    best = small_grids["paper"]
    panels = [ax for ax in panels_figure(best).axes if ax.get_title()]
    assert [ax.get_title().split("\n")[0] for ax in panels] == [t for _, t in heatmaps.PANELS] + [
        "DSI / SI, SI's k restricted (authors)"]
    exact_panels = [ax for ax in panels_figure(small_grids["exact"]).axes if ax.get_title()]
    assert len(exact_panels) == len(heatmaps.PANELS)
    assert len([ax for ax in lookahead_figure(best).axes if ax.get_title()]) == 3


def test_model_comparison_lists_cells_where_the_exact_model_is_slower() -> None:
    paper = heatmaps.best_k(hand_grid())  # DSI best: 6 (c = 0.1), 5 (c = 0.5)
    faster = heatmaps.BestK(paper.model, paper.c_values, paper.a_values, paper.nonsi, paper.si, paper.si_k,
                            paper.si_restricted, paper.si_restricted_k, np.array([[3.0], [6.0]]), paper.dsi_k)
    comparison = heatmaps.model_comparison(faster, paper)
    assert comparison["cells_exact_not_slower"] == 1
    assert comparison["min_ratio"] == pytest.approx(0.5)
    assert comparison["exact_slower"] == [{"c": 0.5, "a": 0.5, "ratio": pytest.approx(1.2)}]


def _one_cell(model: str, c: float, a: float, k: int) -> heatmaps.BestK:
    one = np.array([[1.0]])
    return heatmaps.BestK(model, np.array([c]), np.array([a]), one, one, one, one, one, one, np.array([[k]]))


def test_recheck_flags_a_real_excess_and_clears_noise() -> None:
    """c = 0.1, a = 0.5, S = 200, N = 7. Exact at k = 20 against the paper model at k = 2 is a
    real slowdown (a 20-draft window costs 2 time units of drafting and is rejected within ~2
    drafts; ~1.4x); exact at k = 2 against paper at k = 2 is not (exact <= paper in
    expectation), so the 'slower' flag of a noisy grid must not survive."""
    comparison = {"exact_slower": [{"c": 0.1, "a": 0.5, "ratio": 1.01}]}
    paper = _one_cell("paper", 0.1, 0.5, 2)
    real = heatmaps.recheck_exact_slower(comparison, _one_cell("exact", 0.1, 0.5, 20), paper,
                                         num_target_servers=7, tokens=200, repeats=200)
    noise = heatmaps.recheck_exact_slower(comparison, _one_cell("exact", 0.1, 0.5, 2), paper,
                                          num_target_servers=7, tokens=200, repeats=200)
    assert real[0]["significant"] and real[0]["excess"] > 4 * real[0]["se"]
    assert not noise[0]["significant"] and noise[0]["ratio"] <= 1.0
    assert (real[0]["k_exact"], real[0]["k_paper"]) == (20, 2)
