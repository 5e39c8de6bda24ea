"""Latency model of the virtual-time simulations (SPEC §2, §4, §10).

Times are exact rationals (``fractions.Fraction``). The time unit is free: the paper's
unit is one target decode forward (target_decode = 1, drafter_decode = c); the paper's
illustration uses target 7, drafter 1.

* decode latencies (TPOT): ``target_decode``, ``drafter_decode`` with
  0 < drafter_decode <= target_decode;
* prefill latencies (TTFT): the first forward of a request on each server costs its
  prefill latency (``None``: same as decode);
* ``jitter`` in [0, 1): every forward's compute is multiplied by ``1 + jitter · v`` with
  ``v`` in [0, 1) a deterministic function of (jitter_seed, server, forward index) — a
  schedule perturbation that must never change the tokens;
* communication (SPEC §11.4, §13): when servers are processes, a forward on a remote server
  also costs its *dispatch message* (the scheduler's rank → the server) and its *result
  message* (back). ``dispatch_latency`` and ``result_latency`` (default 0: nothing changes)
  are paid by every target forward, and by drafts when ``remote_drafter`` (the drafter on a
  rank of its own). A forward then lasts ``compute + dispatch_latency + result_latency``
  from the instant the scheduler starts it to the instant its output is back: the server
  is held for all of it, and a cancellation frees it at once (the cancel message precedes
  any later dispatch to that server, so it is never overtaken).
* ``target_positions_cost`` (optional; empty by default, which changes nothing): the cost of a
  target *decode* forward that delivers p at ``s`` positions (a verification window of s − 1
  drafts plus the bonus position), as a multiple of ``target_decode``: entry s − 1 for
  s = 1..len (entry 0 is 1); beyond the table the last step is extended linearly,

      duration = target_decode · cost(s),  cost(s) = table[s−1]            (s ≤ len)
                                           cost(s) = table[−1] + (s − len)·(table[−1] − table[−2]).

  On a GPU a forward over a few positions costs about the same as one (the paper's model:
  cost ≡ 1); on a CPU it does not (measured for SmolLM2: 1.5–2.2× at s = 2..17). Prefill
  forwards cost their prefill latency whatever s; drafter forwards deliver one position.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from dataclasses import dataclass
from fractions import Fraction

from reference.errors import ConfigError, check_count

Number = int | float | Fraction | str


def to_fraction(value: Number, *, name: str = "value") -> Fraction:
    """Exact rational from an int, Fraction, decimal string or float (its shortest repr).

    >>> to_fraction(0.1), to_fraction("1/7"), to_fraction(3)
    (Fraction(1, 10), Fraction(1, 7), Fraction(3, 1))
    """
    if isinstance(value, bool):
        raise ConfigError(f"{name} must be a number, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{name} must be finite, got {value!r}")
    try:
        if isinstance(value, Fraction):
            return value
        if isinstance(value, int):
            return Fraction(value)
        if isinstance(value, float):
            return Fraction(repr(value))
        if isinstance(value, str):
            return Fraction(value)
        return Fraction(float(value))  # numpy scalars and the like
    except (ValueError, TypeError, ZeroDivisionError):
        raise ConfigError(f"{name} is not a number: {value!r}") from None


@dataclass(frozen=True)
class LatencyModel:
    """Forward latencies of target and drafter servers, in any consistent time unit."""

    target_decode: Fraction = Fraction(1)
    drafter_decode: Fraction = Fraction(1, 10)
    target_prefill: Fraction | None = None
    drafter_prefill: Fraction | None = None
    jitter: Fraction = Fraction(0)
    jitter_seed: int = 0
    dispatch_latency: Fraction = Fraction(0)  # a remote forward's dispatch message
    result_latency: Fraction = Fraction(0)  # its result message
    remote_drafter: bool = False  # drafts pay the messages too (the drafter on its own rank)
    target_positions_cost: tuple[Fraction, ...] = ()  # cost(s)/cost(1) for s = 1..len; () = all 1

    def __post_init__(self) -> None:
        for name in ("target_decode", "drafter_decode", "target_prefill", "drafter_prefill", "jitter",
                     "dispatch_latency", "result_latency"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, to_fraction(value, name=name))
        table = tuple(to_fraction(v, name="target_positions_cost") for v in self.target_positions_cost)
        object.__setattr__(self, "target_positions_cost", table)
        if table and table[0] != 1:
            raise ConfigError(f"target_positions_cost[0] (one position) must be 1, got {table[0]}")
        if any(b < a for a, b in itertools.pairwise(table)):
            raise ConfigError(f"target_positions_cost must be non-decreasing, got {[str(v) for v in table]}")
        if self.target_decode <= 0:
            raise ConfigError(f"target_decode must be > 0, got {self.target_decode}")
        if self.drafter_decode <= 0:
            raise ConfigError(f"drafter_decode must be > 0, got {self.drafter_decode}")
        if self.drafter_decode > self.target_decode:
            raise ConfigError(
                f"drafter latency c = {self.drafter_decode / self.target_decode} target forwards "
                "exceeds 1; the model needs 0 < c <= 1"
            )
        for name in ("target_prefill", "drafter_prefill"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ConfigError(f"{name} must be > 0, got {value}")
        if not 0 <= self.jitter < 1:
            raise ConfigError(f"jitter must be in [0, 1), got {self.jitter}")
        for name in ("dispatch_latency", "result_latency"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}")

    @classmethod
    def time_units(cls, c: Number, **kwargs: Number | int | None) -> LatencyModel:
        """The paper's units: target decode 1, drafter decode ``c`` in (0, 1]."""
        c = to_fraction(c, name="c")
        if not 0 < c <= 1:
            raise ConfigError(f"c must be in (0, 1] target forwards, got {c}")
        return cls(target_decode=Fraction(1), drafter_decode=c, **kwargs)  # type: ignore[arg-type]

    @property
    def c(self) -> Fraction:
        """Drafter decode latency in target-decode units."""
        return self.drafter_decode / self.target_decode

    def positions_cost(self, positions: int) -> Fraction:
        """cost(s): a target decode forward delivering ``positions`` positions, in target_decode units.

        >>> model = LatencyModel(target_positions_cost=(1, "3/2", 2))
        >>> [str(model.positions_cost(s)) for s in (1, 2, 3, 5)]
        ['1', '3/2', '2', '3']
        >>> LatencyModel().positions_cost(9)  # no table: the paper's model
        Fraction(1, 1)
        """
        check_count(positions, "positions")
        table = self.target_positions_cost
        if not table:
            return Fraction(1)
        if positions <= len(table):
            return table[positions - 1]
        step = table[-1] - table[-2] if len(table) > 1 else Fraction(0)
        return table[-1] + (positions - len(table)) * step

    def messages(self, role: str) -> Fraction:
        """Communication a forward of ``role`` pays: dispatch + result message, or 0 for a
        drafter on the scheduler's process.

        >>> LatencyModel(20, 2, dispatch_latency="0.25", result_latency="0.5").messages("target")
        Fraction(3, 4)
        """
        if role == "target" or (role == "drafter" and self.remote_drafter):
            return self.dispatch_latency + self.result_latency
        return Fraction(0)

    def duration(self, role: str, server: int, forward_index: int, *, prefill: bool,
                 positions: int = 1) -> Fraction:
        """Duration of one forward, scheduler to scheduler: its compute plus its messages."""
        return self.compute(role, server, forward_index, prefill=prefill, positions=positions) + self.messages(role)

    def compute(self, role: str, server: int, forward_index: int, *, prefill: bool,
                positions: int = 1) -> Fraction:
        """The compute of one forward: decode latency (a target's times
        ``positions_cost(positions)``, the number of positions it delivers) or prefill latency,
        times the jitter factor."""
        if role == "target":
            if prefill and self.target_prefill is not None:
                base = self.target_prefill
            else:
                base = self.target_decode * self.positions_cost(positions) if positions != 1 else self.target_decode
        elif role == "drafter":
            base = self.drafter_prefill if prefill and self.drafter_prefill is not None else self.drafter_decode
        else:
            raise ConfigError(f"role must be 'target' or 'drafter', got {role!r}")
        if not self.jitter:
            return base
        digest = hashlib.blake2b(
            repr((self.jitter_seed, role, server, forward_index)).encode(), digest_size=4
        ).digest()
        v = Fraction(int.from_bytes(digest, "little") % 65536, 65536)
        return base * (1 + self.jitter * v)
