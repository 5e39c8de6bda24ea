"""Planning speculation for a measured target/drafter pair: best (k, N) for DSI, best k for SI.

Given a pair's latencies (a :class:`~reference.latency.LatencyModel`: decode and prefill of
both models, and the target's cost by number of positions) and its acceptance, :func:`plan`
predicts with the exact schedule model (:mod:`reference.fast.timed`):

* non-SI: one target forward per token;
* SI: the lookahead k in 1..``max_lookahead`` with the least mean latency;
* DSI: the (k, N) with the least mean latency over k in 1..``max_lookahead`` and N in
  1..``max_target_servers`` (ties: fewer servers, then smaller k), and the best k at every N;
* speedups (ratios of mean latencies) and **target forwards per generated token**: the
  compute that speculation spends (1 for non-SI; cancelled DSI tasks count, their compute was
  spent).

Acceptance paths are i.i.d. with rate a (the paper's model; ``np.random.default_rng(seed)``
draws ``(repeats, tokens)`` uniforms, accepted where ``u < a``: :func:`iid_paths`, also the
table pipeline's stream) unless paths are given (for example real agreement traces).

Search, in two stages (the timed simulation is an event simulation, ~10⁴ events per path of
1000 tokens): every candidate on the first ``screen_tokens`` positions of the first path,
then the ``refine`` best candidates per N on every path in full. Latencies are in the latency
model's unit (milliseconds when it was built from milliseconds).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from reference.errors import ConfigError, check_count
from reference.fast.timed import TimedRun, dsi_time, nonsi_time, si_time
from reference.latency import LatencyModel


def iid_paths(acceptance: float, tokens: int, repeats: int, seed: int) -> np.ndarray:
    """(repeats, tokens) i.i.d. acceptance paths: ``default_rng(seed).random(shape) < a``."""
    if not 0 <= acceptance <= 1:
        raise ConfigError(f"acceptance rate must be in [0, 1], got {acceptance!r}")
    if tokens < 1 or repeats < 1:
        raise ConfigError(f"tokens and repeats must be >= 1, got {tokens}, {repeats}")
    return np.random.default_rng(seed).random((repeats, tokens)) < acceptance


@dataclass(frozen=True)
class PlanConfig:
    """How the plan searches (defaults: the table protocol of SPEC §10, S = 1000, 5 repeats)."""

    max_target_servers: int = 7  # budget of target servers: DSI tries N = 1..budget
    max_lookahead: int = 20  # k in 1..max_lookahead
    tokens: int = 1000  # S
    repeats: int = 5
    seed: int = 42
    screen_tokens: int = 200  # stage 1: every candidate on this prefix of path 0
    refine: int = 3  # stage 2: this many best candidates per N on every path
    warm_start: bool = False  # DSI: every target server prefills the prompt at t = 0
    preemptive: bool = True  # False: a cancelled forward keeps its server (real compute)

    def __post_init__(self) -> None:
        for name in ("max_target_servers", "max_lookahead", "tokens", "repeats", "screen_tokens", "refine"):
            check_count(getattr(self, name), name)
        if self.seed < 0:
            raise ConfigError(f"seed must be >= 0, got {self.seed}")


@dataclass(frozen=True)
class Choice:
    """One algorithm at one setting: mean latency and target forwards per generated token."""

    algorithm: str
    lookahead: int | None
    num_target_servers: int | None
    latency: float
    target_forwards_per_token: float

    def as_dict(self) -> dict[str, object]:
        return {"algorithm": self.algorithm, "lookahead": self.lookahead,
                "num_target_servers": self.num_target_servers, "latency": self.latency,
                "target_forwards_per_token": self.target_forwards_per_token}


@dataclass(frozen=True)
class Plan:
    nonsi: Choice
    si: Choice
    dsi: Choice
    dsi_by_servers: tuple[Choice, ...] = field(default=())  # best k at N = 1..budget

    @property
    def speedups(self) -> dict[str, float]:
        return {"dsi_over_si": self.si.latency / self.dsi.latency,
                "dsi_over_nonsi": self.nonsi.latency / self.dsi.latency,
                "si_over_nonsi": self.nonsi.latency / self.si.latency}

    def as_dict(self) -> dict[str, object]:
        return {"nonsi": self.nonsi.as_dict(), "si": self.si.as_dict(), "dsi": self.dsi.as_dict(),
                "dsi_by_servers": [c.as_dict() for c in self.dsi_by_servers], "speedups": self.speedups}


def _mean(runs: list[TimedRun], tokens: int) -> tuple[float, float]:
    latency = float(np.mean([r.latency for r in runs]))
    forwards = float(np.mean([r.target_forwards for r in runs])) / tokens
    return latency, forwards


def _best(candidates: list[int], run: Callable[[np.ndarray, int], TimedRun], paths: np.ndarray,
          config: PlanConfig) -> tuple[int, float, float]:
    """(k, mean latency, forwards per token) of the best lookahead, screened then refined."""
    screen = paths[0, : min(config.screen_tokens, paths.shape[1])]
    scored = sorted(candidates, key=lambda k: (run(screen, k).latency, k))[: config.refine]
    best: tuple[int, float, float] | None = None
    for k in sorted(scored):
        latency, forwards = _mean([run(path, k) for path in paths], paths.shape[1])
        if best is None or latency < best[1]:
            best = (k, latency, forwards)
    assert best is not None
    return best


def plan(latency: LatencyModel, acceptance: float | None = None, config: PlanConfig = PlanConfig(), *,
         paths: np.ndarray | None = None, server_counts: Sequence[int] | None = None) -> Plan:
    """Best SI lookahead and best DSI (k, N) within the server budget (module docstring).

    ``server_counts``: the N values DSI tries (default 1..``max_target_servers``).
    """
    if paths is None:
        if acceptance is None:
            raise ConfigError("plan needs an acceptance rate or acceptance paths")
        paths = iid_paths(acceptance, config.tokens, config.repeats, config.seed)
    paths = np.asarray(paths, dtype=bool)
    if paths.ndim != 2 or paths.shape[1] < 1:
        raise ConfigError(f"acceptance paths must have shape (repeats, tokens), got {paths.shape}")
    tokens = paths.shape[1]
    ks = list(range(1, config.max_lookahead + 1))
    nonsi_latency, nonsi_forwards = _mean([nonsi_time(p, latency) for p in paths], tokens)
    nonsi = Choice("nonsi", None, 1, nonsi_latency, nonsi_forwards)
    k, si_latency, si_forwards = _best(ks, lambda p, k: si_time(p, k, latency), paths, config)
    si = Choice("si", k, 1, si_latency, si_forwards)
    counts = list(server_counts) if server_counts is not None else range(1, config.max_target_servers + 1)
    if not counts or any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in counts):
        raise ConfigError(f"server counts must be integers >= 1, got {list(counts)}")
    by_servers = []
    for N in counts:
        k, dsi_latency, dsi_forwards = _best(
            ks, lambda p, k, N=N: dsi_time(p, k, N, latency, preemptive=config.preemptive,
                                           warm_start=config.warm_start), paths, config)
        by_servers.append(Choice("dsi", k, N, dsi_latency, dsi_forwards))
    best = min(by_servers, key=lambda c: (c.latency, c.num_target_servers, c.lookahead))
    return Plan(nonsi, si, best, tuple(by_servers))
