"""The paper's Figure 1: speedup heatmaps over (c, a), each algorithm at its best lookahead (SPEC §5).

Numbers only (plots live in :mod:`paper_repro.heatmaps_plot`). The mean latencies per
(c, a, k) come from ``reference.fast.grid.heatmap_grid`` (exact model or the paper's cost
model, SPEC §4.4); this module picks each algorithm's best lookahead per cell and forms the
four panels, each a ratio of mean latencies (a *speedup*; below 1 is a slowdown):

    DSI/SI = T_SI(k_SI*) / T_DSI(k_DSI*)          DSI/non-SI = S / T_DSI(k_DSI*)
    SI/non-SI = S / T_SI(k_SI*)                   DSI/min(SI, non-SI) = min(T_SI(k_SI*), S) / T_DSI(k_DSI*)

Best lookahead: the smallest k in 1..20 with the least mean latency. In the paper model DSI's
k ranges over the pairs valid for N servers (N >= ceil(1/(k·c))) only. SI's k ranges over
*every* k (SI needs one target server); the authors' code restricted SI to DSI-valid k, which
inflates DSI/SI at small c — we compute that restricted ratio too and report the difference.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reference.errors import ConfigError

#: Panels in the paper's order: key, title.
PANELS = (
    ("dsi_over_si", "DSI / SI"),
    ("dsi_over_nonsi", "DSI / non-SI"),
    ("si_over_nonsi", "SI / non-SI"),
    ("dsi_over_min", "DSI / min(SI, non-SI)"),
)
#: Tolerance of "never below 1" checks (float means of the fast simulators).
TOLERANCE = 1e-9


def best_lookahead(latency: np.ndarray, k_values: np.ndarray,
                   allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Least mean latency over the last axis and the smallest k attaining it.

    ``latency`` is [..., k]; entries that are NaN or not ``allowed`` are skipped.

    >>> lat = np.array([[3.0, 2.0, 2.0], [np.nan, 5.0, 4.0]])
    >>> best, k = best_lookahead(lat, np.array([1, 2, 3]))
    >>> best.tolist(), k.tolist()
    ([2.0, 4.0], [2, 3])
    """
    masked = np.where(np.isnan(latency), np.inf, latency)
    if allowed is not None:
        masked = np.where(allowed, masked, np.inf)
    index = np.argmin(masked, axis=-1)
    best = np.take_along_axis(masked, index[..., None], axis=-1)[..., 0]
    if np.isinf(best).any():
        raise ConfigError("a heatmap cell has no allowed lookahead: every k is excluded (in the paper "
                          "model DSI needs N >= ceil(1/(k·c)); raise --max-lookahead or -N)")
    return best, np.asarray(k_values)[index]


@dataclass(frozen=True)
class BestK:
    """Per-cell results, arrays indexed [c, a].

    si / si_k: SI's best over every k; si_restricted / si_restricted_k: over DSI-valid k only
    (the authors' choice); dsi / dsi_k: DSI's best over valid k; nonsi: S.
    """

    model: str
    c_values: np.ndarray
    a_values: np.ndarray
    nonsi: np.ndarray
    si: np.ndarray
    si_k: np.ndarray
    si_restricted: np.ndarray
    si_restricted_k: np.ndarray
    dsi: np.ndarray
    dsi_k: np.ndarray

    def panel(self, key: str) -> np.ndarray:
        """The speedup array [c, a] of one panel (see module docstring)."""
        if key == "dsi_over_si":
            return self.si / self.dsi
        if key == "dsi_over_nonsi":
            return self.nonsi / self.dsi
        if key == "si_over_nonsi":
            return self.nonsi / self.si
        if key == "dsi_over_min":
            return np.minimum(self.si, self.nonsi) / self.dsi
        if key == "dsi_over_si_restricted":
            return self.si_restricted / self.dsi
        raise ConfigError(f"unknown panel {key!r}; expected one of {[p for p, _ in PANELS]}")


def best_k(grid: object) -> BestK:
    """Best lookahead per cell from a ``reference.fast.grid.HeatmapGrid``."""
    valid = np.broadcast_to(grid.valid[:, None, :], grid.dsi.shape)  # type: ignore[attr-defined]
    k_values = grid.k_values  # type: ignore[attr-defined]
    si, si_k = best_lookahead(grid.si, k_values)  # type: ignore[attr-defined]
    si_r, si_r_k = best_lookahead(grid.si, k_values, valid)  # type: ignore[attr-defined]
    dsi, dsi_k = best_lookahead(grid.dsi, k_values, valid)  # type: ignore[attr-defined]
    nonsi = grid.nonsi[..., 0]  # type: ignore[attr-defined]
    return BestK(grid.model, grid.c_values, grid.a_values, nonsi, si, si_k,  # type: ignore[attr-defined]
                 si_r, si_r_k, dsi, dsi_k)


def summary_rows(best: BestK) -> list[dict[str, float | int]]:
    """One row per (c, a) cell: best latencies, chosen lookaheads and the panels."""
    rows = []
    panels = {key: best.panel(key) for key, _ in PANELS}
    restricted = best.panel("dsi_over_si_restricted")
    for ci, c in enumerate(best.c_values):
        for ai, a in enumerate(best.a_values):
            row: dict[str, float | int] = {
                "c": float(c), "a": float(a), "nonsi": float(best.nonsi[ci, ai]),
                "si": float(best.si[ci, ai]), "si_k": int(best.si_k[ci, ai]),
                "si_restricted": float(best.si_restricted[ci, ai]),
                "si_restricted_k": int(best.si_restricted_k[ci, ai]),
                "dsi": float(best.dsi[ci, ai]), "dsi_k": int(best.dsi_k[ci, ai]),
            }
            for key, values in panels.items():
                row[key] = float(values[ci, ai])
            row["dsi_over_si_restricted"] = float(restricted[ci, ai])
            rows.append(row)
    return rows


def panel_stats(best: BestK) -> dict[str, dict[str, float | int | list]]:
    """Min, max, where the min is, and the cells below 1, for every panel (and the restricted one)."""
    out: dict[str, dict[str, float | int | list]] = {}
    for key in [p for p, _ in PANELS] + ["dsi_over_si_restricted"]:
        values = best.panel(key)
        ci, ai = np.unravel_index(int(np.argmin(values)), values.shape)
        below = np.argwhere(values < 1 - TOLERANCE)
        out[key] = {
            "min": float(values.min()), "max": float(values.max()),
            "argmin_c": float(best.c_values[ci]), "argmin_a": float(best.a_values[ai]),
            "cells": int(values.size), "cells_below_1": int(below.shape[0]),
            "share_below_1": float(below.shape[0] / values.size),
            "below_1": [{"c": float(best.c_values[i]), "a": float(best.a_values[j]),
                         "value": float(values[i, j])} for i, j in below],
        }
    return out


def restriction_effect(best: BestK) -> dict[str, float | int]:
    """What restricting SI's k to DSI-valid k does to DSI/SI (the authors' choice vs ours)."""
    ours = best.panel("dsi_over_si")
    theirs = best.panel("dsi_over_si_restricted")
    diff = theirs - ours
    changed = best.si_k != best.si_restricted_k
    ci, ai = np.unravel_index(int(np.argmax(diff)), diff.shape)
    return {
        "cells_with_other_k": int(changed.sum()),
        "max_inflation": float(diff.max()),
        "max_inflation_c": float(best.c_values[ci]),
        "max_inflation_a": float(best.a_values[ai]),
        "mean_inflation": float(diff.mean()),
        "min_dsi_over_si_restricted": float(theirs.min()),
        "min_dsi_over_si_unrestricted": float(ours.min()),
    }


def model_comparison(exact_best: BestK, paper_best: BestK) -> dict[str, float | int]:
    """Best-k DSI latency of the exact model against the paper's model, cell by cell.

    SPEC §4.3: the exact model is slightly faster, because the paper's simulation drops the
    bonus position of an all-accepted window. The two models draw different random streams,
    so this is a comparison of means over 5 repeats, not pathwise.
    """
    if exact_best.dsi.shape != paper_best.dsi.shape:
        raise ConfigError("the two grids have different shapes")
    ratio = exact_best.dsi / paper_best.dsi
    ci, ai = np.unravel_index(int(np.argmax(ratio)), ratio.shape)
    return {
        "cells": int(ratio.size),
        "cells_exact_not_slower": int((ratio <= 1 + TOLERANCE).sum()),
        "max_ratio": float(ratio.max()),
        "max_ratio_c": float(exact_best.c_values[ci]),
        "max_ratio_a": float(exact_best.a_values[ai]),
        "min_ratio": float(ratio.min()),
        "mean_ratio": float(ratio.mean()),
        "exact_slower": [{"c": float(exact_best.c_values[i]), "a": float(exact_best.a_values[j]),
                          "ratio": float(ratio[i, j])} for i, j in np.argwhere(ratio > 1 + TOLERANCE)],
    }


#: repeats per model when a cell flagged by :func:`model_comparison` is measured again
RECHECK_REPEATS = 400
#: a re-measured cell counts as "exact slower" only if the excess exceeds this many standard errors
#: (one-sided z = 4: α ≈ 3e-5 per cell, so about 1e-3 over the 21 x 21 grid)
RECHECK_Z = 4.0


def recheck_exact_slower(comparison: dict, exact_best: BestK, paper_best: BestK, *, num_target_servers: int,
                         tokens: int, repeats: int = RECHECK_REPEATS, seed: int = 2025,
                         z: float = RECHECK_Z) -> list[dict[str, float | int | bool]]:
    """Measure each cell where the 5-repeat grid has exact > paper again with ``repeats`` repeats.

    Each model runs at its own grid best k on fresh streams; the excess d = mean_exact −
    mean_paper has standard error se = sqrt(s_e²/R + s_p²/R) (independent streams). A cell is
    ``significant`` when d > z·se: only those are evidence against "exact <= paper in expectation".
    """
    from reference.simulate import SimulationParams, latency_samples

    out = []
    c_index = {float(c): i for i, c in enumerate(exact_best.c_values)}
    a_index = {float(a): j for j, a in enumerate(exact_best.a_values)}
    for cell in comparison["exact_slower"]:
        i, j = c_index[cell["c"]], a_index[cell["a"]]
        samples = {}
        for model, best in (("exact", exact_best), ("paper", paper_best)):
            params = SimulationParams(model=model, c=cell["c"], a=cell["a"], k=int(best.dsi_k[i, j]),
                                      num_target_servers=num_target_servers, tokens=tokens, repeats=repeats, seed=seed)
            samples[model] = latency_samples(params)["dsi"]
        diff = float(samples["exact"].mean() - samples["paper"].mean())
        se = float(np.sqrt(samples["exact"].var(ddof=1) / repeats + samples["paper"].var(ddof=1) / repeats))
        out.append({"c": cell["c"], "a": cell["a"], "grid_ratio": cell["ratio"],
                    "k_exact": int(exact_best.dsi_k[i, j]), "k_paper": int(paper_best.dsi_k[i, j]),
                    "ratio": float(samples["exact"].mean() / samples["paper"].mean()),
                    "excess": diff, "se": se, "significant": bool(diff > z * se)})
    return out
