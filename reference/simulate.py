"""One (c, a, k, N) point of either time-unit model: mean latencies and speedups (SPEC §9).

Used by ``dsi simulate``; the same streams as the heatmap grid (SPEC §10), so a point of
the grid and ``dsi simulate`` with the same parameters agree exactly.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from reference.errors import ConfigError, check_count
from reference.fast import exact, paper
from reference.fast.exact import exact_c
from reference.fast.grid import MODELS
from reference.latency import Number


@dataclass(frozen=True)
class SimulationParams:
    """Validated parameters of one simulated point."""

    model: str = "exact"
    c: Number = 0.1  # exact: a Fraction, or a float meaning its shortest decimal repr
    a: float = 0.8
    k: int = 5
    num_target_servers: int = 7  # N
    tokens: int = 1000
    repeats: int = 5
    seed: int = 42

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ConfigError(f"model must be one of {MODELS}, got {self.model!r}")
        exact_c(self.c)  # c in (0, 1]
        if not 0 <= self.a <= 1:
            raise ConfigError(f"acceptance rate a must be in [0, 1], got {self.a}")
        for name in ("k", "num_target_servers", "tokens", "repeats"):
            check_count(getattr(self, name), name)
        if not 0 <= self.seed < 2**32:
            raise ConfigError(f"seed must be in [0, 2**32), got {self.seed}")


def latency_samples(params: SimulationParams) -> dict[str, np.ndarray]:
    """Latency of non-SI, SI and DSI per repeat (arrays of length R), in time units for S tokens.

    Exact model: repeat r draws its acceptance path from ``default_rng(seed)``; paper model:
    :func:`reference.fast.paper.paper_latencies`. SI and DSI share each repeat's draws.
    """
    p = params
    if p.model == "paper":
        return paper.paper_latencies(p.c, p.a, p.k, p.tokens, p.repeats, p.seed,
                                     num_target_servers=p.num_target_servers)
    accept = np.random.default_rng(p.seed).random((p.repeats, p.tokens)) < p.a
    return {
        "nonsi": exact.nonsi_latency(accept),
        "si": exact.si_latency(accept, p.k, p.c),
        "dsi": exact.dsi_latency(accept, p.k, p.c, p.num_target_servers),
    }


def simulate_point(params: SimulationParams) -> dict:
    """Mean latency (time units for S tokens) of non-SI, SI and DSI, and the speedups."""
    runs = latency_samples(params)
    latency = {name: float(np.mean(values)) for name, values in runs.items()}
    speedup = {
        "dsi_over_si": latency["si"] / latency["dsi"],
        "dsi_over_nonsi": latency["nonsi"] / latency["dsi"],
        "si_over_nonsi": latency["nonsi"] / latency["si"],
    }
    return {"params": {**asdict(params), "c": float(params.c)}, "latency": latency, "speedup": speedup}
