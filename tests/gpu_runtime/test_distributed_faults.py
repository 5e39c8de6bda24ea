"""Faults of the distributed runtime end in a typed error within a bounded time (SPEC §13).

A rank killed with SIGKILL mid-generation is reported within 10 s (in practice at once: its
connection closes); a rank stopped with SIGSTOP (hung) after ``forward_timeout_s``; a rank
that sends a malformed message or a result that is not a distribution at once. Each time no
rank process is left (the cluster is torn down, a stopped rank killed) and the next request
works on a fresh cluster. A forward that raises on a rank is reported with its message and the
ranks stay up. Bad launch configurations (rendezvous unreachable, world size mismatch) are
a clear error: exit status 2 and one line on stderr.
"""

from __future__ import annotations

import datetime
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from gpu_runtime.distributed.cluster import Cluster, ClusterConfig, LaunchError, active, shutdown
from gpu_runtime.distributed.engine import DistributedEngine
from reference.errors import GenerationError
from reference.latency import LatencyModel
from reference.toy_models import SyntheticAcceptancePair, TabularLM
from tests.gpu_runtime.distributed_faulty import RaisingModel

PAIR = SyntheticAcceptancePair(16, 0.8, seed=1)
SLOW = LatencyModel(target_decode=20, drafter_decode=2)  # ms: about 1 s for 60 tokens
KILLED_WITHIN_S = 10.0


@pytest.fixture(scope="module", autouse=True)
def _no_cluster_left():
    """After this module the session's cluster is shut down and none of its threads (rank
    links, the drafter) outlives it: the thread runtime's tests count ``dsi-`` threads."""
    yield
    shutdown()
    deadline = time.perf_counter() + 10
    while (left := [t.name for t in threading.enumerate() if t.name.startswith("dsi-")]) and \
            time.perf_counter() < deadline:
        time.sleep(0.05)
    assert not left, f"threads left after shutdown: {left}"


def generate(engine: DistributedEngine, tokens: int = 60, **kwargs: object):
    return engine.generate(PAIR.target, PAIR.drafter, [1, 2], tokens, algorithm="dsi", num_target_servers=3,
                           latency=SLOW, **kwargs)


def after(seconds: float, action) -> threading.Thread:
    thread = threading.Timer(seconds, action)
    thread.start()
    return thread


def assert_no_rank_left(cluster: Cluster, pids: list[int]) -> None:
    assert cluster.closed
    assert all(process.poll() is not None for process in cluster.processes)  # the launcher
    deadline = time.monotonic() + 5  # its children die with it (PR_SET_PDEATHSIG)
    while time.monotonic() < deadline and any(alive(pid) for pid in pids):
        time.sleep(0.05)
    assert not any(alive(pid) for pid in pids)


@pytest.mark.parametrize(("sig", "match"), [(signal.SIGKILL, "rank 2 is gone"),
                                             (signal.SIGSTOP, "did not finish its forward")])
def test_a_killed_or_hung_rank_is_reported_and_the_next_request_works(sig, match):
    engine = DistributedEngine(time_unit_s=1e-3, emulate_latency=True, forward_timeout_s=2.0)
    engine.start()
    cluster = active()
    assert cluster is not None
    pids = cluster.rank_pids()
    pid = cluster.links[2].pid
    sent = []
    after(0.3, lambda: (os.kill(pid, sig), sent.append(time.perf_counter())))
    with pytest.raises(GenerationError, match=match):
        generate(engine, tokens=400)
    reported = time.perf_counter() - sent[0]
    assert reported < KILLED_WITHIN_S
    assert_no_rank_left(cluster, pids)
    result = generate(engine, tokens=10)  # a fresh cluster
    assert len(result.tokens) == 10 and active() is not cluster


@pytest.mark.parametrize(("server_class", "match"), [
    ("tests.gpu_runtime.distributed_faulty:GarbageServer", "malformed message: bad magic"),
    ("tests.gpu_runtime.distributed_faulty:WrongRowsServer", "malformed result .* sums to"),
])
def test_a_rank_sending_garbage_is_reported_and_torn_down(server_class, match):
    engine = DistributedEngine(time_unit_s=1e-4, emulate_latency=True, server_class=server_class)
    engine.start()
    cluster = active()
    pids = cluster.rank_pids()
    with pytest.raises(GenerationError, match=match):
        generate(engine)
    assert_no_rank_left(cluster, pids)  # torn down, not reused


def test_a_forward_raising_on_a_rank_is_reported_and_the_ranks_stay_up():
    engine = DistributedEngine(time_unit_s=1e-4, emulate_latency=True)
    engine.start()
    cluster = active()
    target = RaisingModel(TabularLM(8, order=1, seed=1))
    with pytest.raises(GenerationError, match="RuntimeError: device lost"):
        engine.generate(target, TabularLM(8, order=1, seed=2), [1], 20, algorithm="dsi", num_target_servers=3,
                        latency=SLOW)
    assert active() is cluster and cluster.broken is None  # the request ended cleanly on every rank
    assert len(generate(engine, tokens=5).tokens) == 5


class Unimportable(TabularLM):
    """Pickled by reference to this test module, which a rank cannot import."""


def test_a_model_a_rank_cannot_load_is_reported_and_the_ranks_stay_up():
    engine = DistributedEngine(time_unit_s=1e-4, emulate_latency=True)
    engine.start()
    cluster = active()
    with pytest.raises(GenerationError, match="cannot set the request up: ModuleNotFoundError"):
        engine.generate(Unimportable(8, order=1, seed=1), TabularLM(8, order=1, seed=2), [1], 5, num_target_servers=3)
    assert active() is cluster and cluster.broken is None
    assert len(generate(engine, tokens=5).tokens) == 5


# ---------------------------------------------------------------------- launch configuration


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_rank(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gpu_runtime.distributed.serve"], capture_output=True, text=True,
                          env={**os.environ, "DSI_STARTUP_TIMEOUT_S": "3", **env}, timeout=120)


def test_an_unreachable_rendezvous_is_a_clear_error():
    port = free_port()  # nobody listens there
    done = run_rank({"RANK": "1", "WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)})
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"dsi rank: error: LaunchError: rendezvous 127.0.0.1:{port} "
                                                   "unreachable within 3 s")


def test_a_world_size_mismatch_is_a_clear_error():
    import torch.distributed as dist

    store = dist.TCPStore("127.0.0.1", 0, 2, True, timeout=datetime.timedelta(seconds=30), wait_for_workers=False)
    store.set("dsi/world/0", "2")  # rank 0 of a world of 2
    done = run_rank({"RANK": "1", "WORLD_SIZE": "3", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(store.port)})
    assert done.returncode == 2
    assert "world size mismatch: rank 1 was launched with WORLD_SIZE=3, rank 0 with WORLD_SIZE=2" in done.stderr


def test_torchrun_world_size_must_fit_the_servers(monkeypatch):
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "3")
    with pytest.raises(LaunchError, match="WORLD_SIZE=3, but 3 target ranks need 4"):
        Cluster.join(ClusterConfig(target_ranks=3))


def test_rank_processes_exit_with_their_parent(tmp_path):
    """A scheduler killed with SIGKILL leaves no rank behind (PR_SET_PDEATHSIG + broken links)."""
    script = tmp_path / "parent.py"
    script.write_text("from gpu_runtime.distributed.engine import DistributedEngine\n"
                      "from gpu_runtime.distributed.cluster import active\n"
                      "DistributedEngine(target_ranks=2).start()\n"
                      "print(' '.join(str(link.pid) for link in active().links.values()), flush=True)\n"
                      "import time; time.sleep(600)\n")
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": os.getcwd()})
    try:
        pids = [int(p) for p in parent.stdout.readline().split()]
        assert len(pids) == 2
    finally:
        parent.kill()
        parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(alive(pid) for pid in pids):
        time.sleep(0.1)
    assert not any(alive(pid) for pid in pids)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as handle:  # a zombie is gone, only not reaped yet
        return handle.read().split(") ")[1][0] != "Z"


