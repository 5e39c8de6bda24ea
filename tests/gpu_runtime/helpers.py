"""Shared fixtures for the runtime tests: fast engines, thread bookkeeping, cache replay."""

from __future__ import annotations

import threading

from gpu_runtime.engine import RuntimeEngine
from gpu_runtime.workers import common_prefix_length
from reference.latency import LatencyModel

#: Floors of 1 ms (target) and 0.2 ms (drafter), plus up to 0.3 ms random jitter per forward.
FAST_LATENCY = LatencyModel(target_decode=1, drafter_decode="1/5", jitter="1/2", jitter_seed=3)


def jittery_engine(seed: int = 0, **kwargs: object) -> RuntimeEngine:
    """An engine with random extra delays: a schedule perturbation that must not change tokens."""
    return RuntimeEngine(time_unit_s=1e-3, extra_jitter_s=3e-4, jitter_seed=seed, emulate_latency=True, **kwargs)


def runtime_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("dsi-")]


def replay_cache(trace: tuple) -> list[str]:
    """Check every forward's cache counts against its server's previous input; list violations.

    A forward with input x (length L) that needs p at its n newest positions, on a server whose
    previous forward held y, must reuse exactly min(LCP(x, y), L − n) positions and process the
    rest (nothing its server already holds for the same prefix is processed again).
    """
    problems = []
    for record in trace:
        if record.start is not None and record.end is not None and record.end < record.start:
            problems.append(f"task {record.task_id} ends before it starts")
    by_server: dict[str, list] = {}
    for record in trace:
        if record.start is not None and record.input_ids:
            by_server.setdefault(record.server, []).append(record)
    for server, records in by_server.items():
        held: tuple[int, ...] = ()
        for record in sorted(records, key=lambda r: r.task_id):  # a server runs its tasks in id order
            need = record.last_position - record.first_position + 1
            ids = record.input_ids
            expected = min(common_prefix_length(held, ids), len(ids) - need)
            if record.cache_reused != expected or record.tokens_processed != len(ids) - expected:
                problems.append(f"{server} task {record.task_id}: reused {record.cache_reused}, "
                                f"processed {record.tokens_processed}, expected reuse {expected}")
            held = ids
    return problems


def starts_in_order(trace: tuple) -> bool:
    """On each server's timeline, forwards start in the order they run (task id order)."""
    by_server: dict[str, list] = {}
    for record in trace:
        if record.start is not None:
            by_server.setdefault(record.server, []).append(record)
    return all([r.start for r in sorted(rs, key=lambda r: r.task_id)]
               == sorted(r.start for r in rs) for rs in by_server.values())
