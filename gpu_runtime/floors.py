"""Latency emulation: a floor per forward, in the latency model's time unit (SPEC §8, §10).

A forward that starts at nominal time t (time units) cannot end before ``t + floor``: the
wall-time driver holds its output until then (:mod:`gpu_runtime.driver`), so compute time is
absorbed by the floor instead of added to it, and cutting a cancelled forward short is
immediate. Floors come from a reference :class:`reference.latency.LatencyModel` (its
deterministic jitter included), so the reference predicts the same schedule in virtual time;
one time unit is ``time_unit_s`` seconds. ``extra_jitter_s`` adds an independent uniform
``[0, extra_jitter_s)`` delay per forward, keyed by (seed, role, server, forward): a
perturbation of the schedule that must never change the tokens.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from reference.errors import ConfigError
from reference.latency import LatencyModel

_PR_SET_TIMERSLACK = 29  # prctl options, <linux/prctl.h>
_PR_GET_TIMERSLACK = 30


@dataclass(frozen=True)
class Floors:
    """Per-forward latency floors; ``latency=None`` means no floor (compute time only)."""

    latency: LatencyModel | None = None
    time_unit_s: float = 1e-3  # seconds per unit of ``latency`` (default: units are ms)
    extra_jitter_s: float = 0.0  # max extra random delay per forward
    jitter_seed: int = 0

    def __post_init__(self) -> None:
        if not self.time_unit_s > 0:
            raise ConfigError(f"time_unit_s must be > 0, got {self.time_unit_s!r}")
        if not self.extra_jitter_s >= 0:
            raise ConfigError(f"extra_jitter_s must be >= 0, got {self.extra_jitter_s!r}")

    def units(self, role: str, server: int, forward_index: int, *, prefill: bool, positions: int = 1) -> Fraction:
        """Floor of one forward in time units: ``duration(role, server, index, positions)`` + extra
        jitter."""
        floor = Fraction(0)
        if self.latency is not None:
            floor = self.latency.duration(role, server, forward_index, prefill=prefill, positions=positions)
        if self.extra_jitter_s:
            role_id = 0 if role == "target" else 1
            rng = np.random.default_rng((self.jitter_seed, role_id, server, forward_index))
            floor += Fraction(float(rng.random()) * self.extra_jitter_s) / Fraction(self.time_unit_s)
        return floor

    def message_seconds(self, role: str) -> tuple[float, float]:
        """(dispatch, result) message latencies of a forward of ``role`` in seconds: the part
        of its floor that a remote server does not hold (:mod:`gpu_runtime.distributed`)."""
        lat = self.latency
        if lat is None or not lat.messages(role):
            return 0.0, 0.0
        return float(lat.dispatch_latency) * self.time_unit_s, float(lat.result_latency) * self.time_unit_s

    def seconds(self, role: str, server: int, forward_index: int, *, prefill: bool, positions: int = 1) -> float:
        """The same floor in seconds."""
        return float(self.units(role, server, forward_index, prefill=prefill, positions=positions)) * self.time_unit_s

    def longest_s(self) -> float:
        """A bound on one floor in seconds for stall detection: the longest latency (a target
        decode at the last entry of the cost-by-positions table), plus messages, doubled for
        jitter. Positions beyond the table extrapolate further; the stall limit adds
        ``forward_timeout_s`` on top of this."""
        longest = 0.0
        if self.latency is not None:
            lat = self.latency
            decode = lat.target_decode * max((1, *lat.target_positions_cost))
            values = (decode, lat.target_prefill, lat.drafter_decode, lat.drafter_prefill)
            longest = float(max(v for v in values if v is not None) + max(lat.messages("target"),
                                                                            lat.messages("drafter")))
            longest *= 2 * self.time_unit_s
        return longest + self.extra_jitter_s


def timer_slack(nanoseconds: int | None = 1) -> int | None:
    """Linux: set the calling thread's timer slack (default 50 µs) so that timed waits end
    close to their deadline; returns the previous slack (None elsewhere, or to only read it)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        previous = int(libc.prctl(_PR_GET_TIMERSLACK, 0, 0, 0, 0))
        if nanoseconds is not None:
            libc.prctl(_PR_SET_TIMERSLACK, nanoseconds, 0, 0, 0)
        return previous
    except (OSError, AttributeError):
        return None
