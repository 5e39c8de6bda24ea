"""Per-level forward latencies, and the reference latency models made from them.

For each contention level (:mod:`gpu_runtime.device_check.plan`) the table holds the median
and the 95th percentile, in milliseconds, of four forwards: target decode (``verify_width``
new positions on a cached prompt), drafter decode (one position), and the prefill of the
prompt by each model. They come from measurements (:func:`from_timings`) or, for the dry
run, from the cost model (:mod:`gpu_runtime.device_check.estimate`).

Two :class:`reference.latency.LatencyModel`\\ s per level, in milliseconds (time unit 1 ms):

* ``median`` — the prediction: the reference's virtual time with these latencies is what a
  run without floors should take;
* ``floor`` — p95 × ``floor_margin``: the floors of the emulated run, long enough that the
  real compute fits inside nearly every one, so its schedule must be the reference's exactly.

A latency model needs drafter decode ≤ target decode (c ≤ 1); a measured drafter slower than
the target is clamped to the target's latency, with a note.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction

from reference.errors import ConfigError
from reference.latency import LatencyModel

FORWARDS = ("target_decode", "drafter_decode", "target_prefill", "drafter_prefill")
UNIT_S = 1e-3  # latency models are in milliseconds


def ms_fraction(ms: float) -> Fraction:
    """Milliseconds rounded to the microsecond, as an exact fraction (at least 1 µs).

    >>> ms_fraction(1.2345678), ms_fraction(0.0001)
    (Fraction(247, 200), Fraction(1, 1000))
    """
    return Fraction(max(1, round(ms * 1000)), 1000)


def quantile(values: Iterable[float], q: float) -> float:
    """The ``q`` quantile by the nearest-rank rule (the value at rank ``ceil(q·n)``).

    >>> quantile([5.0, 1.0, 3.0, 2.0, 4.0], 0.95), quantile([5.0, 1.0, 3.0, 2.0, 4.0], 0.5)
    (5.0, 3.0)
    """
    ordered = sorted(values)
    if not ordered:
        raise ConfigError("no values to take a quantile of")
    rank = max(1, -(-len(ordered) * q // 1))
    return ordered[int(rank) - 1]


@dataclass(frozen=True)
class Timing:
    """Timed forwards of one model in one situation (milliseconds)."""

    role: str  # "target" or "drafter"
    kind: str  # "decode" (on a cached prefix) or "prefill" (from an empty cache)
    width: int  # new positions per forward
    start: int  # positions cached before the forward
    level: int | None  # contention level; None: the model alone, one stream
    samples_ms: tuple[float, ...]

    @property
    def median_ms(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def p95_ms(self) -> float:
        return quantile(self.samples_ms, 0.95)

    def as_dict(self) -> dict:
        ms = self.samples_ms
        return {"role": self.role, "kind": self.kind, "width": self.width, "start": self.start,
                "level": self.level, "n": len(ms), "median_ms": self.median_ms, "p95_ms": self.p95_ms,
                "min_ms": min(ms), "max_ms": max(ms)}


@dataclass(frozen=True)
class LevelLatency:
    """Median and p95 (ms) of the four forwards at one level."""

    level: int
    median: dict[str, float]
    p95: dict[str, float]

    def __post_init__(self) -> None:
        for values in (self.median, self.p95):
            if set(values) != set(FORWARDS) or not all(v > 0 for v in values.values()):
                raise ConfigError(f"level {self.level}: need positive {FORWARDS}, got {values}")

    @property
    def c(self) -> float:
        """Drafter decode over target decode (medians), clamped to 1."""
        return min(1.0, self.median["drafter_decode"] / self.median["target_decode"])

    def model(self, which: str, margin: float = 1.0) -> LatencyModel:
        """``which="median"``: the prediction; ``"floor"``: p95 × ``margin`` (module docstring)."""
        values = self.median if which == "median" else self.p95
        scale = 1.0 if which == "median" else margin
        ms = {name: ms_fraction(value * scale) for name, value in values.items()}
        ms["drafter_decode"] = min(ms["drafter_decode"], ms["target_decode"])  # c <= 1
        return LatencyModel(**ms)

    def as_dict(self, margin: float) -> dict:
        return {"level": self.level, "median_ms": self.median, "p95_ms": self.p95, "c": self.c,
                "floor_ms": {k: float(v) for k, v in _fields(self.model("floor", margin)).items()}}


def _fields(model: LatencyModel) -> dict[str, Fraction]:
    return {name: getattr(model, name) for name in FORWARDS}


@dataclass(frozen=True)
class LatencyTable:
    """The levels of one check, and where their numbers come from."""

    levels: dict[int, LevelLatency]
    source: str  # "measured", "estimated" or the path of an earlier device_check.json
    notes: tuple[str, ...] = field(default=())

    def at(self, level: int) -> LevelLatency:
        if level not in self.levels:
            raise ConfigError(f"no latencies for level {level} (have {sorted(self.levels)})")
        return self.levels[level]

    def as_dict(self, margin: float) -> dict:
        return {"source": self.source, "notes": list(self.notes),
                "levels": {str(k): v.as_dict(margin) for k, v in sorted(self.levels.items())}}

    @classmethod
    def from_dict(cls, data: dict, source: str) -> LatencyTable:
        """The table of an earlier ``device_check.json`` (``latency_table``)."""
        levels = {int(k): LevelLatency(int(k), dict(v["median_ms"]), dict(v["p95_ms"]))
                  for k, v in data["levels"].items()}
        return cls(levels, source)


def from_timings(timings: list[Timing], *, levels: Iterable[int], verify_width: int) -> LatencyTable:
    """Level 0 from the models timed alone; level m ≥ 1 from the runs with m target streams and
    the drafter's stream computing at once. Target decode is the ``verify_width`` forward."""
    def pick(role: str, kind: str, level: int | None) -> Timing:
        for timing in timings:
            if (timing.role, timing.kind, timing.level) != (role, kind, level):
                continue
            if kind == "prefill" or timing.width == (verify_width if role == "target" else 1):
                return timing
        raise ConfigError(f"no {role} {kind} timing at level {level}")

    table, notes = {}, []
    for level in levels:
        source = None if level == 0 else level
        chosen = {"target_decode": pick("target", "decode", source),
                  "drafter_decode": pick("drafter", "decode", source),
                  "target_prefill": pick("target", "prefill", source),
                  "drafter_prefill": pick("drafter", "prefill", source)}
        entry = LevelLatency(level, {k: t.median_ms for k, t in chosen.items()},
                             {k: t.p95_ms for k, t in chosen.items()})
        if entry.median["drafter_decode"] > entry.median["target_decode"]:
            notes.append(f"level {level}: drafter decode {entry.median['drafter_decode']:.3g} ms > target "
                         f"{entry.median['target_decode']:.3g} ms; c clamped to 1")
        table[level] = entry
    return LatencyTable(table, "measured", tuple(notes))
