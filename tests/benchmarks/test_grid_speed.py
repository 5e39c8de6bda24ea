"""Benchmark: the full paper heatmap grid (ndim 20, S 1000, 5 repeats, both models).

Run with ``pytest tests/benchmarks --benchmark-enable``. Reports the grid time and its ratio
to the per-token loops measured in the same run (targets: < 10 s, >= 50x). No timing is
asserted: the assertions check that the benchmarked grid is the full one.
"""

from reference.fast.grid import heatmap_grid
from reference.fast.speed import time_loop_grid


def test_full_heatmap_grid_both_models(benchmark):
    grids = benchmark.pedantic(lambda: (heatmap_grid("exact"), heatmap_grid("paper")), rounds=1, iterations=1)
    assert all(grid.dsi.shape == (21, 21, 20) for grid in grids)
    if benchmark.enabled:
        loop_seconds = time_loop_grid(sample_rows=40)
        grid_seconds = benchmark.stats.stats.mean
        benchmark.extra_info["loop_seconds_extrapolated"] = sum(loop_seconds.values())
        benchmark.extra_info["speedup_over_loop"] = sum(loop_seconds.values()) / grid_seconds
        print(f"\ngrid {grid_seconds:.2f} s; loops {loop_seconds} s; ratio "
              f"{sum(loop_seconds.values()) / grid_seconds:.0f}x")
