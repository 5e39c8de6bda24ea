"""Running under ``torchrun``: every process runs the same ``dsi`` command; rank 0 runs it, the
others serve rank 0 (docs/distributed.md, "Several machines")."""

from __future__ import annotations

import os

from gpu_runtime.distributed.cluster import LaunchError


def launched() -> bool:
    """Whether this process is a worker of a torchrun (torch elastic) job."""
    return "TORCHELASTIC_RUN_ID" in os.environ


def launched_target_ranks(drafter_rank: bool = False) -> int:
    """Target ranks of the torchrun job: WORLD_SIZE − 1 (rank 0 schedules) [− 1 for the drafter]."""
    world = int(os.environ.get("WORLD_SIZE", "0"))
    ranks = world - 1 - int(drafter_rank)
    if ranks < 1:
        raise LaunchError(f"WORLD_SIZE={world} leaves no server rank: rank 0 runs the scheduler, so the "
                          "job needs at least 2 processes (--nnodes × --nproc-per-node)")
    return ranks


def serve_launched(backend: str) -> int | None:
    """On a server rank of a torchrun job: serve rank 0 until it shuts the job down, and return
    the exit status; on rank 0: None (run the command)."""
    if int(os.environ.get("RANK", "0")) == 0:
        return None
    from gpu_runtime.distributed import serve

    os.environ["DSI_BACKEND"] = backend
    return serve.main()
