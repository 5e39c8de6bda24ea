"""The heatmap grid of the paper's Figure 1 (SPEC §5, §10), for either model.

Grid: ``c`` and ``a`` on ``i/ndim``, i = 0..ndim; c values <= 0.01 raised to 0.01 (c is
exact: :func:`grid_c_exact`), a clipped to [0.01, 0.99]; k in 1..max_lookahead; N target
servers; S tokens; R repeats.

* ``model="paper"``: the paper's cost model; (c, k) pairs with ``N < ceil(1/(k·c))`` are
  excluded (``valid`` False) and counted, as in the authors' code.
* ``model="exact"``: the exact schedule with waiting modelled; every (c, k) is valid.
  Acceptance paths: ``default_rng(seed).random((R, S)) < a`` (fresh generator per row, so
  rows that share a share paths — pathwise comparisons across c and k).

Mean latencies (time units for S tokens) per (c, a, k) are returned as arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from reference.errors import ConfigError
from reference.fast import exact, paper

MODELS = ("exact", "paper")
#: the smallest c of the grid (c values below it are raised to it)
C_FLOOR = Fraction(1, 100)


def grid_c_exact(ndim: int) -> list[Fraction]:
    """The c axis as exact rationals: ``i/ndim``, raised to 1/100 when smaller (SPEC §10).

    The simulators take these, so a tie such as ``k·c = 1`` is decided exactly.

    >>> [str(c) for c in grid_c_exact(3)]
    ['1/100', '1/3', '2/3', '1']
    """
    if ndim < 1:
        raise ConfigError(f"ndim must be >= 1, got {ndim}")
    return [max(Fraction(i, ndim), C_FLOOR) for i in range(ndim + 1)]


def grid_values(ndim: int) -> tuple[np.ndarray, np.ndarray]:
    """The c and a axes of the paper's grid, as floats (c: the nearest floats of :func:`grid_c_exact`).

    >>> c, a = grid_values(4)
    >>> c.tolist(), a.tolist()
    ([0.01, 0.25, 0.5, 0.75, 1.0], [0.01, 0.25, 0.5, 0.75, 0.99])
    """
    c_values = np.array([float(c) for c in grid_c_exact(ndim)])
    a_values = np.clip(np.linspace(0.0, 1.0, ndim + 1), 0.01, 0.99)
    return c_values, a_values


@dataclass(frozen=True)
class HeatmapGrid:
    """Mean latencies on the (c, a, k) grid; arrays are indexed [c, a, k]."""

    model: str
    c_values: np.ndarray
    a_values: np.ndarray
    k_values: np.ndarray
    num_target_servers: int
    tokens: int
    repeats: int
    seed: int
    nonsi: np.ndarray
    si: np.ndarray
    dsi: np.ndarray
    valid: np.ndarray  # [c, k]: DSI allowed for (c, k)

    @property
    def excluded_rows(self) -> int:
        """(c, a, k) rows excluded by the validity rule."""
        return int((~self.valid).sum()) * len(self.a_values)

    def rows(self) -> list[dict]:
        """One dict per (c, a, k) row."""
        out = []
        for ci, c in enumerate(self.c_values):
            for ai, a in enumerate(self.a_values):
                for ki, k in enumerate(self.k_values):
                    out.append({
                        "c": float(c), "a": float(a), "k": int(k),
                        "nonsi": float(self.nonsi[ci, ai, ki]), "si": float(self.si[ci, ai, ki]),
                        "dsi": float(self.dsi[ci, ai, ki]), "valid": bool(self.valid[ci, ki]),
                    })
        return out


def heatmap_grid(model: str = "exact", *, ndim: int = 20, num_target_servers: int = 7, tokens: int = 1000,
                 repeats: int = 5, seed: int = 42, max_lookahead: int = 20) -> HeatmapGrid:
    """Compute the whole grid for one model, vectorised over paths."""
    if model not in MODELS:
        raise ConfigError(f"model must be one of {MODELS}, got {model!r}")
    if num_target_servers < 1 or tokens < 1 or repeats < 1 or max_lookahead < 1:
        raise ConfigError(
            f"num_target_servers N, tokens, repeats and max lookahead must be >= 1, got {num_target_servers}, "
            f"{tokens}, {repeats}, {max_lookahead}"
        )
    c_exact = grid_c_exact(ndim)
    c_values, a_values = grid_values(ndim)
    k_values = np.arange(1, max_lookahead + 1)
    shape = (len(c_values), len(a_values), len(k_values))
    si = np.empty(shape)
    dsi = np.empty(shape)
    valid = np.ones((len(c_values), len(k_values)), dtype=bool)
    if model == "paper":
        for ci, c in enumerate(c_exact):
            for ki, k in enumerate(k_values):
                valid[ci, ki] = num_target_servers >= paper.required_servers(c, int(k))
        _paper_grid(c_values, a_values, k_values, tokens, repeats, seed, si, dsi)
        dsi[~np.broadcast_to(valid[:, None, :], shape)] = np.nan
    else:
        _exact_grid(c_exact, a_values, k_values, num_target_servers, tokens, repeats, seed, si, dsi)
    return HeatmapGrid(model, c_values, a_values, k_values, num_target_servers, tokens, repeats, seed,
                       np.full(shape, float(tokens)), si, dsi, valid)


def _paper_grid(c_values: np.ndarray, a_values: np.ndarray, k_values: np.ndarray, tokens: int,
                repeats: int, seed: int, si: np.ndarray, dsi: np.ndarray) -> None:
    n_a, n_k = len(a_values), len(k_values)
    draws = np.stack([paper.geometric_draws(float(a), tokens, repeats, seed) for a in a_values])
    # paths ordered (a, k, repeat)
    paths = np.broadcast_to(draws[:, None], (n_a, n_k, repeats, tokens)).reshape(-1, tokens)
    lookahead = np.broadcast_to(k_values[None, :, None], (n_a, n_k, repeats)).reshape(-1)
    drafted, iterations = paper.si_totals(paths, lookahead)
    seg_k, seg_tokens = paper.dsi_segments(paths, lookahead)
    used = int((seg_tokens > 0).sum(axis=1).max())
    seg_k, seg_tokens = seg_k[:, :used], seg_tokens[:, :used]
    for ci, c in enumerate(c_values):
        si[ci] = (c * drafted + iterations).reshape(n_a, n_k, repeats).mean(axis=2)
        dsi_c = paper.dsi_latency_from_segments(seg_k, seg_tokens, float(c))
        dsi[ci] = dsi_c.reshape(n_a, n_k, repeats).mean(axis=2)


def _exact_grid(c_exact: list[Fraction], a_values: np.ndarray, k_values: np.ndarray, num_target_servers: int,
                tokens: int, repeats: int, seed: int, si: np.ndarray, dsi: np.ndarray) -> None:
    n_a, n_k = len(a_values), len(k_values)
    uniforms = np.random.default_rng(seed).random((repeats, tokens))
    accept = np.stack([uniforms < a for a in a_values])  # (a, repeat, S)
    paths = np.broadcast_to(accept[:, None], (n_a, n_k, repeats, tokens)).reshape(-1, tokens)
    lookahead = np.broadcast_to(k_values[None, :, None], (n_a, n_k, repeats)).reshape(-1)
    drafted, iterations = exact.si_iteration_totals(paths, lookahead)
    flat = accept.reshape(n_a * repeats, tokens)
    round_paths, js, ms = exact.rounds_of(flat)
    for ci, c in enumerate(c_exact):
        si[ci] = (float(c) * drafted + iterations).reshape(n_a, n_k, repeats).mean(axis=2)
        for ki, k in enumerate(k_values):
            times = exact.round_times(c, int(k), num_target_servers, js, ms)
            per_path = np.bincount(round_paths, weights=times, minlength=n_a * repeats)
            dsi[ci, :, ki] = per_path.reshape(n_a, repeats).mean(axis=1)
