"""``python -m gpu_runtime.distributed.serve``: the process of one server rank.

Configured by the environment, as torchrun configures its workers: ``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``; and by ``DSI_BACKEND`` (gloo | nccl),
``DSI_SERVER_CLASS`` (``module:attribute``, default the standard server) and
``DSI_STARTUP_TIMEOUT_S``. :meth:`Cluster.spawn` starts one such process with
``DSI_FORK_RANKS=1,2,...``: it imports torch once and forks one child per rank (importing torch
is most of a rank's start-up: seconds on a busy machine, once instead of N times). Each process
started that way gets ``DSI_PARENT_PID``: it asks the kernel to kill it when its parent dies
(Linux ``PR_SET_PDEATHSIG``), so no rank outlives the scheduler even if that one is killed; any
rank exits when its connection to rank 0 breaks. Exit status: 0 after SHUTDOWN, 2 with one line on
stderr for a launch error (rendezvous unreachable, world size mismatch), 1 when rank 0 is lost.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime
import importlib
import os
import signal
import sys

from gpu_runtime.distributed.cluster import LaunchError, check_world, init_group
from gpu_runtime.distributed.rank import RankServer
from reference.errors import DSIError

_PR_SET_PDEATHSIG = 1

# c10d's C++ log lines (a socket retrying, a peer gone) would bury the one-line errors of a rank;
# set TORCH_CPP_LOG_LEVEL=INFO to see them (read when torch loads, which happens after this).
os.environ.setdefault("TORCH_CPP_LOG_LEVEL", "FATAL")


def die_with_parent(parent_pid: int) -> None:
    """Linux: SIGKILL this process when its parent exits; exit now if it already has."""
    with contextlib.suppress(OSError, AttributeError):  # not Linux: the broken link ends us
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:
        sys.exit(1)


def server_class(spec: str) -> type[RankServer]:
    module, _, attribute = spec.partition(":")
    try:
        cls = getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError, ValueError) as exc:
        raise LaunchError(f"DSI_SERVER_CLASS={spec!r} cannot be imported: {exc}") from None
    if not (isinstance(cls, type) and issubclass(cls, RankServer)):
        raise LaunchError(f"DSI_SERVER_CLASS={spec!r} is not a RankServer subclass")
    return cls


def env_int(name: str) -> int:
    try:
        return int(os.environ[name])
    except (KeyError, ValueError):
        raise LaunchError(f"environment variable {name} must be set to an integer "
                          f"(got {os.environ.get(name)!r}); launch with torchrun or dsi") from None


def rendezvous(rank: int, world_size: int, backend: str, timeout_s: float) -> None:
    """Join the job's process group (a server rank); LaunchError when the rendezvous is
    unreachable within ``timeout_s`` or the world sizes disagree."""
    import torch.distributed as dist

    if os.environ.get("TORCHELASTIC_RUN_ID"):  # launched by torchrun: its agent runs the store
        init_group(backend, None, rank, world_size)
        return
    host, port = os.environ.get("MASTER_ADDR", "127.0.0.1"), env_int("MASTER_PORT")
    try:
        store = dist.TCPStore(host, port, world_size, False, timeout=datetime.timedelta(seconds=timeout_s))
    except Exception as exc:
        del exc  # its type and text vary with the torch version (refused, timed out, ...)
        raise LaunchError(f"rendezvous {host}:{port} unreachable within {timeout_s:.3g} s: is rank 0 "
                          "running, and are MASTER_ADDR / --rdzv-endpoint the same on every node?") from None
    check_world(store, rank, world_size, timeout_s)
    init_group(backend, store, rank, world_size)


def fork_ranks(ranks: list[int]) -> int:
    """One process, many ranks: import torch once, then fork a child per rank (each dies with
    this launcher, which dies with rank 0); wait for them all. Exit status: the worst child's."""
    import torch.distributed  # noqa: F401 - imported once, before forking, for every rank

    children = []
    for rank in ranks:
        pid = os.fork()
        if pid == 0:  # the child: one rank
            os.environ["RANK"] = os.environ["LOCAL_RANK"] = str(rank)
            os.environ["DSI_PARENT_PID"] = str(os.getppid())
            os._exit(main())
        children.append(pid)
    worst = 0
    for pid in children:
        _, status = os.waitpid(pid, 0)
        worst = max(worst, os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 1)
    return worst


def main() -> int:
    try:
        if "DSI_PARENT_PID" in os.environ:
            die_with_parent(env_int("DSI_PARENT_PID"))
        if "DSI_FORK_RANKS" in os.environ:
            ranks = os.environ.pop("DSI_FORK_RANKS")
            try:
                return fork_ranks([int(r) for r in ranks.split(",")])
            except ValueError:
                raise LaunchError(f"DSI_FORK_RANKS must be comma-separated ranks, got {ranks!r}") from None
        rank, world_size = env_int("RANK"), env_int("WORLD_SIZE")
        if not 1 <= rank < world_size:
            raise LaunchError(f"a server rank needs 1 <= RANK < WORLD_SIZE, got RANK={rank}, WORLD_SIZE={world_size}")
        backend = os.environ.get("DSI_BACKEND", "gloo")
        timeout_s = float(os.environ.get("DSI_STARTUP_TIMEOUT_S", "120"))
        cls = server_class(os.environ.get("DSI_SERVER_CLASS", "gpu_runtime.distributed.rank:RankServer"))
        rendezvous(rank, world_size, backend, timeout_s)
    except DSIError as exc:
        sys.stderr.write(f"dsi rank: error: {type(exc).__name__}: {exc}\n")
        return 2
    return serve_forever(cls, rank, world_size)


def serve_forever(cls: type[RankServer], rank: int, world_size: int) -> int:
    """Serve rank 0 until SHUTDOWN (0) or until rank 0 is lost (1)."""
    import torch.distributed as dist

    try:
        cls(rank, world_size).serve()
    except (RuntimeError, DSIError) as exc:
        sys.stderr.write(f"dsi rank {rank}: stopping: {str(exc).splitlines()[0][:200]}\n")
        return 1
    finally:
        if dist.is_initialized():
            with contextlib.suppress(Exception):
                dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
