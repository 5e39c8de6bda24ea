"""DSI(k, N) in virtual time: :class:`reference.scheduler.DSIScheduler` on the virtual driver.

The rules live in :mod:`reference.scheduler.dsi` (one place, shared with the runtime); this
module is the reference's entry point. ``preemptive=False`` is the variant in which a
cancelled forward keeps its server to its scheduled end (its output discarded);
``warm_start=True`` (finite N) prefills the prompt on every target server at t = 0
(docs/reference.md, "Prefill and warm start").
"""

from __future__ import annotations

from reference.algorithms.canonical import Request
from reference.results import Result
from reference.scheduler import DSIScheduler, VirtualDriver


def run_dsi(request: Request, lookahead: int, num_target_servers: int | None = None, *,
            preemptive: bool = True, warm_start: bool = False) -> Result:
    """Run DSI(k, N); ``num_target_servers=None`` means unlimited servers (no warm start then)."""
    scheduler = DSIScheduler(request, lookahead, num_target_servers, preemptive=preemptive,
                             warm_start=warm_start)
    return VirtualDriver(request, scheduler).run()
