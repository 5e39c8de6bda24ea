"""Launching the distributed runtime (SPEC §13): ``dsi generate --backend distributed`` spawns
its ranks; two torchrun invocations on 127.0.0.1 (two "nodes", one c10d rendezvous) run the
same command as one job; ``dsi bench --backend distributed --json`` reports measured,
predicted and the per-task overhead. Tokens are checked against the reference's."""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import subprocess
import sys

import pytest

from paper_repro.console import main
from reference import generate
from reference.latency import LatencyModel
from reference.toy_models import SyntheticAcceptancePair

ARGS = ["--tokens", "20", "--k", "3", "--seed", "5", "--target-ms", "5", "--drafter-ms", "1", "--vocab", "16",
        "--acceptance", "0.7", "--json"]


def reference_tokens(servers: int) -> dict:
    pair = SyntheticAcceptancePair(16, 0.7, seed=5)
    result = generate(pair.target, pair.drafter, [1, 2, 3], 20, algorithm="dsi", lookahead=3,
                      num_target_servers=servers, seed=5, latency=LatencyModel(5, 1))
    return {"tokens": list(result.tokens), "accepted_drafts": result.counters.accepted_drafts}


def test_generate_spawns_its_ranks(capsys):
    assert main(["generate", "--backend", "distributed", "--num-target-servers", "3", *ARGS]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["engine"] == "runtime" and out["backend"] == "distributed"
    expected = reference_tokens(3)
    assert out["tokens"] == expected["tokens"]
    assert out["counters"]["accepted_drafts"] == expected["accepted_drafts"]


def test_generate_distributed_needs_n(capsys):
    assert main(["generate", "--backend", "distributed", *ARGS]) == 2
    assert "needs --num-target-servers N" in capsys.readouterr().err


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(shutil.which("torchrun") is None, reason="torchrun is not installed")
def test_two_torchrun_nodes_on_localhost_run_one_job():
    """Two launcher invocations, two processes each, one rendezvous: rank 0 schedules, three
    server ranks (one of them on rank 0's "node"). Exactly one node prints the result."""
    port = free_port()
    command = ["torchrun", "--nnodes", "2", "--nproc-per-node", "2", "--rdzv-backend", "c10d",
               "--rdzv-endpoint", f"127.0.0.1:{port}", "--rdzv-id", f"dsi-{port}", "--max-restarts", "0",
               "-m", "paper_repro", "generate", "--backend", "distributed", "-N", "3", *ARGS]
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    nodes = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for _ in range(2)]
    outputs = []
    try:
        for node in nodes:
            out, err = node.communicate(timeout=240)
            assert node.returncode == 0, err[-2000:]
            outputs.append(out)
    finally:
        for node in nodes:
            node.kill()
    printed = [json.loads(line) for out in outputs for line in out.splitlines() if line.startswith("{")]
    assert len(printed) == 1
    expected = reference_tokens(3)
    assert printed[0]["tokens"] == expected["tokens"]
    assert printed[0]["counters"]["accepted_drafts"] == expected["accepted_drafts"]


def test_bench_distributed_json_reports_measured_predicted_and_overhead(capsys):
    """Exit status 1 means measured − predicted beyond the tolerance (a loaded machine): the
    report is printed all the same; the schedule must agree either way."""
    status = main(["bench", "--backend", "distributed", "--json", "--tokens", "12", "--runs", "1",
                   "--target-ms", "4", "--drafter-ms", "1", "--k", "2", "--acceptance", "0.5", "-N", "2"])
    out = json.loads(capsys.readouterr().out)
    assert status == (0 if out["ok"] else 1)
    assert out["backend"] == "distributed" and out["world_size"] == 3
    assert set(out["measured"]) == set(out["predicted"]) == {"nonsi", "si", "dsi"}
    assert out["schedule_agrees"]
    assert math.isfinite(out["overhead_per_task_ms"]) and out["messages"]["tasks"] > 0
    pair = SyntheticAcceptancePair(64, 0.5, seed=0)
    latency = LatencyModel(4, 1, dispatch_latency=str(out["config"]["dispatch_ms"]),
                           result_latency=str(out["config"]["result_ms"]))
    predicted_si = generate(pair.target, pair.drafter, [1, 2, 3], 12, algorithm="si", lookahead=2,
                            latency=latency).latency
    assert out["predicted"]["si"] == pytest.approx(float(predicted_si) * 1e-3)  # messages in the prediction


def test_rank_module_refuses_to_run_outside_a_job():
    done = subprocess.run([sys.executable, "-m", "gpu_runtime.distributed.serve"], capture_output=True, text=True,
                          env={k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE")}, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip() == ("dsi rank: error: LaunchError: environment variable RANK must be set to an "
                                   "integer (got None); launch with torchrun or dsi")
