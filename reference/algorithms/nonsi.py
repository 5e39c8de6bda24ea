"""non-SI and plain decoding in virtual time (SPEC §4.1): :class:`reference.scheduler.NonSIScheduler`.

Token i resolves at ``r_i = r_{i-1} + max(target forward, drafter forward)`` (the first
forwards are prefills). ``"plain"`` samples p directly; ``"nonsi"`` computes d_i alongside
and emits the canonical ``K(p, q, d_i)``, identical to SI's and DSI's tokens.
"""

from __future__ import annotations

from reference.algorithms.canonical import Request
from reference.results import Result
from reference.scheduler import NonSIScheduler, VirtualDriver


def run_nonsi(request: Request, *, with_drafter: bool = True) -> Result:
    """Run non-SI (``with_drafter``: canonical tokens; else plain sampling)."""
    return VirtualDriver(request, NonSIScheduler(request, with_drafter=with_drafter)).run()
