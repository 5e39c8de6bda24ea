"""Latency emulation: a floor per forward, slept to an absolute deadline (SPEC §8, §10).

A forward that starts at wall time ``t_start`` (seconds, ``time.perf_counter``) and whose
floor is ``L`` ends no earlier than ``t_start + L``: the server computes, then sleeps until
that absolute deadline (so compute time is absorbed by the floor instead of added to it).
The sleep waits on a ``threading.Event``: cancelling the forward sets it, and the server is
free at once (an emulated forward is interruptible; a real one is not).

Floors come from a reference :class:`reference.latency.LatencyModel` in any time unit,
times ``time_unit_s`` seconds per unit, so the reference predicts the same schedule in
virtual time; its deterministic jitter applies. ``extra_jitter_s`` adds an independent
uniform ``[0, extra_jitter_s)`` delay per forward, keyed by (seed, role, server, forward):
a perturbation of the schedule that must never change the tokens.
"""

from __future__ import annotations

import ctypes
import threading
import time
from dataclasses import dataclass

import numpy as np

from reference.errors import ConfigError
from reference.latency import LatencyModel

_PR_SET_TIMERSLACK = 29  # prctl option, <linux/prctl.h>


@dataclass(frozen=True)
class Floors:
    """Per-forward latency floors in seconds; ``latency=None`` means no floor (compute only)."""

    latency: LatencyModel | None = None
    time_unit_s: float = 1e-3  # seconds per unit of ``latency`` (default: units are ms)
    extra_jitter_s: float = 0.0  # max extra random delay per forward
    jitter_seed: int = 0

    def __post_init__(self) -> None:
        if not self.time_unit_s > 0:
            raise ConfigError(f"time_unit_s must be > 0, got {self.time_unit_s!r}")
        if not self.extra_jitter_s >= 0:
            raise ConfigError(f"extra_jitter_s must be >= 0, got {self.extra_jitter_s!r}")

    def seconds(self, role: str, server: int, forward_index: int, *, prefill: bool) -> float:
        """Floor of one forward: ``duration(role, server, index) · time_unit_s`` + extra jitter."""
        floor = 0.0
        if self.latency is not None:
            duration = self.latency.duration(role, server, forward_index, prefill=prefill)
            floor = float(duration) * self.time_unit_s
        if self.extra_jitter_s:
            role_id = 0 if role == "target" else 1
            rng = np.random.default_rng((self.jitter_seed, role_id, server, forward_index))
            floor += float(rng.random()) * self.extra_jitter_s
        return floor


def precise_timers() -> bool:
    """Linux: set the calling thread's timer slack to 1 ns (default 50 µs) so that sleeps end
    close to their deadline; elsewhere a no-op. Returns whether it took effect."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_TIMERSLACK, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def sleep_until(deadline: float, interrupt: threading.Event | None) -> bool:
    """Sleep until ``time.perf_counter() >= deadline``; True if ``interrupt`` was set first."""
    while True:
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            return False
        if interrupt is None:
            time.sleep(remaining)
        elif interrupt.wait(remaining):
            return True
