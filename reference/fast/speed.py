"""Speed of the vectorised heatmap grid against the per-token loops, measured in one run.

The loops are timed on a fixed subsample of grid rows and extrapolated to the full grid
(SPEC §10: loops used as speed baselines are timed on a subsample).
"""

from __future__ import annotations

import time

import numpy as np

from reference.fast import loops, paper
from reference.fast.grid import grid_values, heatmap_grid


def time_vectorised_grid(ndim: int = 20, tokens: int = 1000, repeats: int = 5, seed: int = 42,
                         num_target_servers: int = 7) -> dict[str, float]:
    """Seconds for the full grid of each model."""
    out = {}
    for model in ("exact", "paper"):
        start = time.perf_counter()
        heatmap_grid(model, ndim=ndim, tokens=tokens, repeats=repeats, seed=seed, num_target_servers=num_target_servers)
        out[model] = time.perf_counter() - start
    return out


def time_loop_grid(ndim: int = 20, tokens: int = 1000, repeats: int = 5, seed: int = 42,
                   num_target_servers: int = 7, sample_rows: int = 40) -> dict[str, float]:
    """Extrapolated seconds for the per-token loops over the full grid (both models)."""
    c_values, a_values = grid_values(ndim)
    rows = [(c, a, k) for c in c_values for a in a_values for k in range(1, 21)]
    picks = np.random.default_rng(0).choice(len(rows), size=min(sample_rows, len(rows)), replace=False)
    per_model = {"exact": 0.0, "paper": 0.0}
    for index in picks:
        c, a, k = rows[index]
        start = time.perf_counter()
        accept = np.random.default_rng(seed).random((repeats, tokens)) < a
        for path in accept:
            loops.exact_si_latency_loop(path, k, float(c))
            loops.exact_dsi_latency_loop(path, k, float(c), num_target_servers)
        per_model["exact"] += time.perf_counter() - start
        start = time.perf_counter()
        for row in paper.geometric_draws(float(a), tokens, repeats, seed):
            loops.paper_latencies_loop(row, k, float(c))
        per_model["paper"] += time.perf_counter() - start
    scale = len(rows) / len(picks)
    return {model: seconds * scale for model, seconds in per_model.items()}
