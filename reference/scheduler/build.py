"""The scheduler for an algorithm name: the one place that maps "dsi" | "si" | "nonsi" | "plain"
to a state machine (used by ``reference.generate``, the property engines and the runtime)."""

from __future__ import annotations

from reference.errors import ConfigError
from reference.scheduler.base import Scheduler
from reference.scheduler.blocking import NonSIScheduler, SIScheduler
from reference.scheduler.dsi import DSIScheduler
from reference.scheduler.protocol import TokenRule

ALGORITHMS = ("dsi", "si", "nonsi", "plain")


def build_scheduler(rule: TokenRule, algorithm: str, *, lookahead: int, num_target_servers: int | None,
                    preemptive: bool = True, warm_start: bool = False,
                    dsi_scheduler: type[DSIScheduler] = DSIScheduler) -> Scheduler:
    """A fresh scheduler for one request. ``dsi_scheduler`` lets a mutant replace DSI's rules.

    N (``num_target_servers``), ``preemptive`` and ``warm_start`` apply to DSI only; SI, non-SI
    and plain decoding use one target server.
    """
    if algorithm == "dsi":
        return dsi_scheduler(rule, lookahead, num_target_servers, preemptive=preemptive, warm_start=warm_start)
    if algorithm == "si":
        return SIScheduler(rule, lookahead)
    if algorithm in ("nonsi", "plain"):
        return NonSIScheduler(rule, with_drafter=algorithm == "nonsi")
    raise ConfigError(f"algorithm must be one of {ALGORITHMS}, got {algorithm!r}")
