"""SI(k) in virtual time: :class:`reference.scheduler.SIScheduler` on the virtual driver (SPEC §4.2).

Per iteration the drafter drafts ``kk = min(k, S − resolved − 1)`` tokens back to back
(``kk·c``), then one target forward verifies them while the drafter drafts the bonus
position (``max(1, c)``); positions resolve with K up to the first rejection.
"""

from __future__ import annotations

from reference.algorithms.canonical import Request
from reference.results import Result
from reference.scheduler import SIScheduler, VirtualDriver


def run_si(request: Request, lookahead: int) -> Result:
    """Run SI with lookahead ``k``; every position resolves with the canonical kernel."""
    return VirtualDriver(request, SIScheduler(request, lookahead)).run()
