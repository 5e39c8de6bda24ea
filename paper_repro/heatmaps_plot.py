"""Drawing Figure 1: speedup panels with slowdowns (< 1) in pink, and the chosen lookaheads.

Plot functions take an ``Axes`` and return it (never ``show()``); the numbers come from
:mod:`paper_repro.heatmaps`. x = drafter latency c, y = acceptance rate a, as in the paper.
"""

from __future__ import annotations

import numpy as np
from matplotlib import colors
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from paper_repro.heatmaps import PANELS, TOLERANCE, BestK

#: Colour of slowdowns (speedup < 1), as in the paper.
PINK = "#f4a3c0"


def _edges(values: np.ndarray) -> np.ndarray:
    """Cell edges for ``pcolormesh`` around (possibly uneven) centres."""
    values = np.asarray(values, dtype=float)
    if values.size == 1:
        return np.array([values[0] - 0.5, values[0] + 0.5])
    mid = (values[1:] + values[:-1]) / 2
    return np.concatenate([[values[0] - (mid[0] - values[0])], mid,
                           [values[-1] + (values[-1] - mid[-1])]])


def plot_speedup_panel(ax: Axes, speedup: np.ndarray, c_values: np.ndarray, a_values: np.ndarray,
                       *, title: str = "", vmax: float | None = None) -> Axes:
    """Speedup[c, a] as a heatmap: >= 1 on a blue scale (log), < 1 in pink."""
    values = np.asarray(speedup, dtype=float).T  # rows = a, columns = c
    top = float(np.nanmax(values)) if vmax is None else vmax
    fast = np.ma.masked_where(values < 1 - TOLERANCE, values)
    slow = np.ma.masked_where(values >= 1 - TOLERANCE, values)
    x, y = _edges(c_values), _edges(a_values)
    mesh = ax.pcolormesh(x, y, fast, cmap="Blues", norm=colors.LogNorm(vmin=1.0, vmax=max(top, 1.01)),
                         shading="flat")
    ax.pcolormesh(x, y, slow, cmap=colors.ListedColormap([PINK]), shading="flat")
    ax.figure.colorbar(mesh, ax=ax, fraction=0.046, pad=0.04).ax.tick_params(which="both", labelsize=6)
    n_slow = int(np.ma.count(slow))
    low, high = float(np.nanmin(values)), float(np.nanmax(values))
    ax.set_title(f"{title}\nmin {low:.3f}, max {high:.2f}, cells < 1: {n_slow}", fontsize=8)
    ax.set_xlabel("drafter latency c (target forwards)", fontsize=7)
    ax.set_ylabel("acceptance rate a", fontsize=7)
    ax.tick_params(labelsize=6)
    return ax


def plot_lookahead_panel(ax: Axes, lookahead: np.ndarray, c_values: np.ndarray,
                         a_values: np.ndarray, *, title: str = "") -> Axes:
    """The chosen lookahead k per cell."""
    values = np.asarray(lookahead, dtype=float).T
    mesh = ax.pcolormesh(_edges(c_values), _edges(a_values), values, cmap="viridis", shading="flat")
    ax.figure.colorbar(mesh, ax=ax, fraction=0.046, pad=0.04).ax.tick_params(which="both", labelsize=6)
    ax.set_title(title, fontsize=8)
    ax.set_xlabel("drafter latency c (target forwards)", fontsize=7)
    ax.set_ylabel("acceptance rate a", fontsize=7)
    ax.tick_params(labelsize=6)
    return ax


def panels_figure(best: BestK, *, subtitle: str = "") -> Figure:
    """The four panels of Figure 1 in a row; for the paper model a fifth: DSI/SI with SI's k
    restricted to DSI-valid k (the authors' choice, what the paper's figure shows)."""
    panels = list(PANELS)
    if best.model == "paper":
        panels.append(("dsi_over_si_restricted", "DSI / SI, SI's k restricted (authors)"))
    fig = Figure(figsize=(4.5 * len(panels), 4.4))
    axes = fig.subplots(1, len(panels))
    for ax, (key, title) in zip(axes, panels, strict=True):
        plot_speedup_panel(ax, best.panel(key), best.c_values, best.a_values, title=title)
    fig.suptitle(f"Speedup heatmaps, {best.model} model {subtitle}(pink: slowdown)", fontsize=9)
    fig.subplots_adjust(wspace=0.35, top=0.8)
    return fig


def lookahead_figure(best: BestK) -> Figure:
    """Chosen lookahead per cell: SI (every k), SI (DSI-valid k, the authors' choice), DSI."""
    fig = Figure(figsize=(14, 4.4))
    axes = fig.subplots(1, 3)
    plot_lookahead_panel(axes[0], best.si_k, best.c_values, best.a_values, title="SI best k (all k)")
    plot_lookahead_panel(axes[1], best.si_restricted_k, best.c_values, best.a_values,
                         title="SI best k (DSI-valid k only)")
    plot_lookahead_panel(axes[2], best.dsi_k, best.c_values, best.a_values, title="DSI best k")
    fig.suptitle(f"Chosen lookahead per cell, {best.model} model", fontsize=9)
    fig.subplots_adjust(wspace=0.35, top=0.82)
    return fig
