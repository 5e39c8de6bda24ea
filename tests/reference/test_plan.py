"""``reference.plan`` and ``dsi plan``: hand-computed cases, the two-stage search against brute
force, the path stream shared with paper_repro, and invalid input (exit 2)."""

from __future__ import annotations

import json
from fractions import Fraction as F

import numpy as np
import pytest

from paper_repro.console import main
from reference.errors import ConfigError
from reference.fast.timed import dsi_time, si_time
from reference.latency import LatencyModel
from reference.plan import PlanConfig, iid_paths, plan

LATENCY = LatencyModel(target_decode=1, drafter_decode=F(1, 10))


def test_no_acceptance_hand_computed():
    result = plan(LATENCY, 0.0, PlanConfig(max_target_servers=2, max_lookahead=4, tokens=10, repeats=2))
    # SI, k = 1: 9 iterations of 0.1 + 1, then one of 0 + 1
    assert (result.si.lookahead, result.si.latency) == (1, pytest.approx(10.9))
    assert result.nonsi.latency == 10.0 and result.nonsi.target_forwards_per_token == 1.0
    # every draft rejected: DSI resolves one token per frontier task, as non-SI
    assert result.dsi.latency == pytest.approx(10.0)
    assert result.speedups["dsi_over_nonsi"] == pytest.approx(1.0)


def test_search_equals_brute_force():
    latency = LatencyModel(target_decode=1, drafter_decode=F(1, 5), target_prefill=F(2),
                           target_positions_cost=(1, F(13, 10), F(16, 10)))
    config = PlanConfig(max_target_servers=3, max_lookahead=5, tokens=40, repeats=3, seed=1,
                        screen_tokens=40, refine=5)  # screening keeps every k: the search is exhaustive
    result = plan(latency, 0.6, config)
    paths = iid_paths(0.6, 40, 3, 1)
    si = {k: np.mean([si_time(p, k, latency).latency for p in paths]) for k in range(1, 6)}
    best_si = min(si, key=lambda k: (si[k], k))
    assert (result.si.lookahead, result.si.latency) == (best_si, pytest.approx(si[best_si]))
    dsi = {(N, k): np.mean([dsi_time(p, k, N, latency).latency for p in paths])
           for N in range(1, 4) for k in range(1, 6)}
    best = min(dsi, key=lambda nk: (dsi[nk], nk[0], nk[1]))
    assert (result.dsi.num_target_servers, result.dsi.lookahead) == best
    assert result.dsi.latency == pytest.approx(dsi[best])
    assert [c.num_target_servers for c in result.dsi_by_servers] == [1, 2, 3]


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"max_target_servers": 0}, "max_target_servers"),
    ({"max_lookahead": 0}, "max_lookahead"),
    ({"seed": -1}, "seed"),
])
def test_invalid_config(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        PlanConfig(**kwargs)


def test_plan_needs_acceptance():
    with pytest.raises(ConfigError, match="acceptance"):
        plan(LATENCY)


def test_cli_reads_a_measurement_file_and_flags_override(tmp_path, capsys):
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"drafters": {"d": {
        "latency_ms": {"target_decode": 60.0, "drafter_decode": 6.0, "target_prefill": 120.0,
                       "drafter_prefill": 12.0, "target_positions_cost": [1.0, 1.5]},
        "acceptance": {"table_estimate": 0.5}}}}))
    args = ["plan", "--measurements", str(path), "--drafter", "d", "--max-target-servers", "2",
            "--max-lookahead", "3", "-S", "20", "--repeats", "1", "--json"]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["acceptance"] == 0.5 and out["c"] == pytest.approx(0.1)
    assert main([*args, "-a", "0.9", "--drafter-ms", "30"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["acceptance"] == 0.9 and out["c"] == pytest.approx(0.5)


@pytest.mark.parametrize(("argv", "message"), [
    (["plan", "--target-ms", "60", "--drafter-ms", "6"], "acceptance"),
    (["plan", "--target-ms", "60", "-a", "0.5"], "drafter_decode"),
    (["plan", "--target-ms", "60", "--drafter-ms", "90", "-a", "0.5"], "exceeds 1"),
    (["plan", "--target-ms", "60", "--drafter-ms", "6", "-a", "1.5"], "acceptance"),
    (["plan", "--target-ms", "60", "--drafter-ms", "6", "-a", "0.5", "--positions-cost", "2,3"], "must be 1"),
    (["plan", "--target-ms", "60", "--drafter-ms", "6", "-a", "0.5", "--positions-cost", "1,x"], "comma-separated"),
    (["plan", "--drafter", "d", "-a", "0.5"], "--measurements"),
    (["plan", "--measurements", "/nonexistent.json", "--drafter", "d"], "cannot read"),
])
def test_cli_invalid_input_exits_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
