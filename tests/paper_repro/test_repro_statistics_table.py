"""The statistics table command: its formatting and its error path (the full run takes ~20 s)."""

from __future__ import annotations

import pytest

from paper_repro.statistics_table import format_rows, main


def test_rows_are_formatted_one_line_each_and_a_failing_mean_is_shown() -> None:
    rows = {"chi2": [{"test": "statistical_law[dsi_tabular]", "bins": 9, "alpha": 2e-7, "power": 0.99, "n": 5068,
                      "chi2": 11.93, "df": 8, "p_value": 0.154}],
            "monte_carlo": [{"test": "monte_carlo_means si", "R": 1468, "sd": 2.589, "shift": 0.509, "mean": 16.812,
                             "expectation": 16.959, "half_width": 0.345},
                            {"test": "monte_carlo_means", "error": "dsi: mean latency 14.1 over 658 seeds"}]}
    lines = format_rows(rows).splitlines()
    assert lines[1].split() == ["statistical_law[dsi_tabular]", "9", "2e-07", "0.99", "5068", "11.93", "(8)", "0.154"]
    assert lines[4].split() == ["monte_carlo_means", "si", "1468", "2.589", "0.509", "16.812", "16.959", "0.345"]
    assert lines[5].strip() == "error: dsi: mean latency 14.1 over 658 seeds"


def test_an_unknown_engine_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--engine", "no_such_engine"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown engine" in err
