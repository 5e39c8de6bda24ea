"""Acceptance rate from agreement traces, and acceptance paths (SPEC §10 table protocol)."""

from __future__ import annotations

import numpy as np
import pytest

from paper_repro import acceptance
from reference.errors import ConfigError
from reference.plan import iid_paths


@pytest.mark.parametrize("trace,runs", [
    ([], []),
    ([True, True, True], []),                     # only a censored run
    ([False, False], [0, 0]),
    ([True, False, True, True, False, True], [1, 2]),
])
def test_agreement_runs_drop_the_trailing_run(trace: list, runs: list) -> None:
    assert acceptance.agreement_runs(trace) == runs


def test_acceptance_rate_pools_runs_over_prompts() -> None:
    # runs: [3, 0] and [1] -> n̄ = 4/3 -> â = 1 − 1/(1 + 4/3) = 4/7
    traces = [[True, True, True, False, False, True], [True, False]]
    assert acceptance.mean_run_length(traces) == pytest.approx(4 / 3)
    assert acceptance.acceptance_rate(traces) == pytest.approx(4 / 7)


def test_acceptance_rate_without_any_disagreement_is_an_error() -> None:
    with pytest.raises(ConfigError, match="not estimable"):
        acceptance.acceptance_rate([[True, True], [True]])


def test_trace_strings_round_trip_and_reject_other_characters() -> None:
    assert acceptance.format_trace(acceptance.parse_trace("0110")) == "0110"
    with pytest.raises(ConfigError, match="0 and 1"):
        acceptance.parse_trace("01x")


def test_trace_paths_concatenate_whole_traces() -> None:
    traces = [[True, True, True], [False, False, False]]
    paths = acceptance.trace_paths(traces, 6, 4, seed=3)
    assert paths.shape == (4, 6)
    for row in paths:  # each path is one trace then the other, in some order
        assert row.tolist() in ([True] * 3 + [False] * 3, [False] * 3 + [True] * 3)


def test_trace_paths_cycle_when_the_traces_are_short() -> None:
    paths = acceptance.trace_paths([[True, False]], 5, 1, seed=0)
    assert paths[0].tolist() == [True, False, True, False, True]


def test_iid_paths_are_all_true_at_a_1_and_all_false_at_a_0() -> None:
    assert iid_paths(1.0, 7, 2, 0).all()
    assert not iid_paths(0.0, 7, 2, 0).any()
    np.testing.assert_array_equal(iid_paths(0.5, 9, 3, 11), iid_paths(0.5, 9, 3, 11))


@pytest.mark.parametrize("call", [
    lambda: iid_paths(1.5, 5, 1, 0),
    lambda: iid_paths(0.5, 0, 1, 0),
    lambda: acceptance.trace_paths([], 5, 1, 0),
    lambda: acceptance.trace_paths([[True]], 5, 0, 0),
])
def test_invalid_path_requests_raise(call: object) -> None:
    with pytest.raises(ConfigError):
        call()  # type: ignore[operator]
