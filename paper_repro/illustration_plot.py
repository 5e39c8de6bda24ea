"""Drawing the illustration: a Gantt chart per algorithm and case, and the token-count table.

Plot functions take a matplotlib ``Axes`` and return it; they never call ``show()``. Figures
are built with ``matplotlib.figure.Figure`` (no pyplot global state). The numbers come from
:mod:`paper_repro.illustration`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from paper_repro.illustration import (
    ALGORITHMS,
    CASES,
    LABELS,
    PAPER_COUNTS,
    PAPER_TIMES,
    Bar,
    server_order,
)

#: Fill colour per task kind.
KIND_COLOURS = {
    "draft": "#9ecae1",     # drafter forward
    "frontier": "#31a354",  # DSI task on the verified prefix
    "window": "#fd8d3c",    # DSI window verification
    "verify": "#fd8d3c",    # SI verification
    "decode": "#969696",    # non-SI target forward
}


def _row_label(server: str) -> str:
    return "drafter" if server == "drafter" else f"target {int(server.split(':')[1]) + 1}"


def plot_gantt(ax: Axes, bars: Sequence[Bar], *, horizon: float, title: str = "",
               marks: Sequence[float] = PAPER_TIMES) -> Axes:
    """One row per server, one box per forward; cancelled forwards hatched; ``marks`` dashed."""
    rows = server_order(list(bars))
    index = {name: i for i, name in enumerate(rows)}
    for bar in bars:
        y = index[bar.server]
        ax.broken_barh([(bar.start, bar.end - bar.start)], (y - 0.4, 0.8),
                       facecolors=KIND_COLOURS.get(bar.kind, "#cccccc"), edgecolors="black",
                       linewidth=0.3, hatch="////" if bar.cancelled else None,
                       alpha=0.45 if bar.cancelled else 1.0)
        if bar.end - bar.start >= 3 and not bar.cancelled:
            label = (str(bar.first_position) if bar.first_position == bar.last_position
                     else f"{bar.first_position}-{bar.last_position}")
            ax.text((bar.start + bar.end) / 2, y, label, ha="center", va="center", fontsize=5)
    for t in marks:
        ax.axvline(t, color="black", linestyle="--", linewidth=0.6)
    ax.set_xlim(0, horizon)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([_row_label(name) for name in rows], fontsize=6)
    ax.tick_params(axis="x", labelsize=6)
    ax.set_title(title, fontsize=8)
    return ax


def plot_count_table(ax: Axes, counts: Mapping[str, Mapping[str, Sequence[int]]],
                     times: Sequence[int] = PAPER_TIMES) -> Axes:
    """Token counts by each time: ours beside the paper's; cells that differ in red."""
    ax.axis("off")
    header = ["case", "algorithm"] + [f"t={t} ours / paper" for t in times]
    body, colours = [], []
    for case in CASES:
        for alg in ALGORITHMS:
            ours, paper = counts[case][alg], PAPER_COUNTS[case][alg]
            body.append([case, LABELS[alg]] + [f"{o} / {p}" for o, p in zip(ours, paper, strict=True)])
            colours.append(["white", "white"] + ["white" if o == p else "#fcbba1"
                                                 for o, p in zip(ours, paper, strict=True)])
    table = ax.table(cellText=body, colLabels=header, cellColours=colours, loc="center",
                     cellLoc="center")
    table.auto_set_font_size(False)
    table.set_fontsize(7)
    table.scale(1, 1.2)
    return ax


def illustration_figure(bars: Mapping[str, Mapping[str, Sequence[Bar]]],
                        counts: Mapping[str, Mapping[str, Sequence[int]]], *,
                        horizon: float = 64) -> Figure:
    """Six Gantt panels (algorithms x cases) above the token-count table."""
    fig = Figure(figsize=(13, 13))
    grid = fig.add_gridspec(len(ALGORITHMS) + 1, len(CASES),
                            height_ratios=[1.0, 1.0, 2.2, 0.9])
    for col, case in enumerate(CASES):
        for row, alg in enumerate(ALGORITHMS):
            ax = fig.add_subplot(grid[row, col])
            ours = counts[case][alg]
            plot_gantt(ax, bars[case][alg], horizon=horizon,
                       title=f"{LABELS[alg]}, {case} case (every draft "
                             f"{'accepted' if case == 'best' else 'rejected'}): tokens "
                             f"{'/'.join(map(str, ours))}")
    plot_count_table(fig.add_subplot(grid[len(ALGORITHMS), :]), counts)
    fig.suptitle("Timelines (target 7, drafter 1, k = 1, 1 drafter + 7 targets); hatched = "
                 "cancelled; dashed lines at t = 14, 32, 56, 64", fontsize=9)
    fig.subplots_adjust(top=0.95, bottom=0.02, hspace=0.35)
    return fig
