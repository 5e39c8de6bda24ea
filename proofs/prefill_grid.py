"""Expected cost of the prefill policies on the Figure-1 grid (exact model, event simulation).

``python -m proofs.prefill_grid [--ratio R ...] [--max-new-tokens S] [--repeats R] [--out FILE.csv]``

For each cell (c, a) of the paper's grid (SPEC §5: c, a on linspace(0, 1, 21), N = 7, seed 42)
and each prefill ratio ρ = TTFT/TPOT (target prefill P = ρ, drafter prefill Pd = ρ·c, in
target-decode units), the mean latency over the grid's acceptance paths of:

* SI and non-SI with prefill (exact closed forms of :mod:`proofs.prefill`, validated against
  the reference: SI = SI_decode + (Pd − c) + (P − 1), non-SI = S − 1 + max(P, Pd));
* DSI cold start and warm start (reference event simulation, exact), each at the DSI
  lookahead that is best in the decode-only exact model (the prefill adds a constant to SI's
  cost, so SI's best k is unchanged; for DSI this is an approximation, stated in the output);
* the switch policy: warm start when Pd ≥ 1, else cold (the S = 2 rule of Tpre).

The ratios come from the table rows' measurements (paper_repro/data/table_measurements.json,
target TTFT/TPOT) when they are measured; they are null in this repository, so the default
stand-ins are ρ = 4 and 16 (stated in the output). The best-start policy has no simulator
beyond the z3 path model, so it has no grid cost.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
from fractions import Fraction
from pathlib import Path

import numpy as np

from reference.cli_args import add_max_new_tokens
from reference.errors import ConfigError

STAND_IN_RATIOS = (4.0, 16.0)


def table_ratios(path: Path | None = None) -> list[float]:
    """Target TTFT/TPOT of the measured table rows (empty when none is measured)."""
    path = path or Path(__file__).resolve().parent.parent / "paper_repro" / "data" / "table_measurements.json"
    try:
        rows = json.loads(path.read_text())["rows"]
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError(f"cannot read the table measurements {path}: {exc}") from None
    return [row["target_ttft_ms"] / row["target_tpot_ms"] for row in rows
            if row.get("target_ttft_ms") and row.get("target_tpot_ms")]


def _fraction(value: float) -> Fraction:
    return Fraction(value).limit_denominator(10_000)


def cell_costs(c: float, a: float, ratio: float, paths: np.ndarray, k_si: int, k_dsi: int,
               si_decode: float, N: int) -> dict[str, float]:
    """Mean latencies of the policies in one cell (``paths``: acceptance paths, (R, S))."""
    from reference.generate import generate
    from reference.latency import LatencyModel
    from reference.toy_models import AcceptancePathPair

    S = paths.shape[1]
    cf, P = _fraction(c), _fraction(ratio)
    Pd = P * cf
    latency = LatencyModel.time_units(cf, target_prefill=P, drafter_prefill=Pd)
    out = {"c": c, "a": a, "ratio": ratio, "tokens": S, "k_si": k_si, "k_dsi": k_dsi,
           "si": si_decode + float(Pd - cf) + float(P - 1), "nonsi": S - 1 + float(max(P, Pd))}
    for name, warm in (("cold", False), ("warm", True)):
        total = Fraction(0)
        for row in paths:
            pair = AcceptancePathPair(row.tolist())
            total += generate(pair.target, pair.drafter, [0], S, algorithm="dsi", lookahead=k_dsi, num_target_servers=N,
                              mode="greedy", latency=latency, warm_start=warm).latency
        out[name] = float(total / len(paths))
    out["switch"] = out["warm"] if Pd >= 1 else out["cold"]
    return out


def prefill_grid(ratios: list[float], *, tokens: int = 200, repeats: int = 5, ndim: int = 20, N: int = 7,
                 seed: int = 42, max_lookahead: int = 20) -> list[dict[str, float]]:
    """Every cell and ratio (see the module docstring)."""
    from reference.fast.grid import heatmap_grid

    if tokens < 2 or repeats < 1 or not ratios or min(ratios) < 1:
        raise ConfigError(f"need tokens >= 2, repeats >= 1 and ratios >= 1, got {tokens}, {repeats}, {ratios}")
    grid = heatmap_grid("exact", ndim=ndim, num_target_servers=N, tokens=tokens, repeats=repeats, seed=seed,
                        max_lookahead=max_lookahead)
    uniforms = np.random.default_rng(seed).random((repeats, tokens))  # the grid's paths
    rows = []
    for ci, c in enumerate(grid.c_values):
        for ai, a in enumerate(grid.a_values):
            k_si = int(grid.k_values[np.argmin(grid.si[ci, ai])])
            k_dsi = int(grid.k_values[np.argmin(grid.dsi[ci, ai])])
            for ratio in ratios:
                rows.append(cell_costs(float(c), float(a), ratio, uniforms < a, k_si, k_dsi,
                                       float(grid.si[ci, ai].min()), N))
    return rows


def summary(rows: list[dict[str, float]]) -> list[str]:
    """Per ratio and policy: cells slower than SI / non-SI, worst ratios, mean time per token."""
    lines = []
    for ratio in sorted({row["ratio"] for row in rows}):
        part = [row for row in rows if row["ratio"] == ratio]
        for policy in ("cold", "warm", "switch"):
            vs_si = [row["si"] / row[policy] for row in part]
            vs_nonsi = [row["nonsi"] / row[policy] for row in part]
            lines.append(
                f"ratio {ratio:g} {policy:6s}: slower than SI in {sum(v < 1 for v in vs_si)}/{len(part)} cells "
                f"(min SI/DSI {min(vs_si):.4f}), slower than non-SI in {sum(v < 1 for v in vs_nonsi)} "
                f"(min nonSI/DSI {min(vs_nonsi):.4f}); mean time per token "
                f"{np.mean([row[policy] / row['tokens'] for row in part]):.4f}")
    return lines


def write_csv(rows: list[dict[str, float]], path: Path) -> None:
    """Atomic write (a temporary file renamed into place)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        os.replace(tmp, path)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m proofs.prefill_grid", description=__doc__.split("\n\n")[0])
    parser.add_argument("--ratio", type=float, action="append", help="TTFT/TPOT prefill ratio (repeatable)")
    add_max_new_tokens(parser, type=int, default=200, help="new tokens S (default 200)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--ndim", type=int, default=20)
    parser.add_argument("--out", type=Path, default=None, help="write every cell as CSV")
    args = parser.parse_args(argv)
    try:
        measured = table_ratios()
        ratios = args.ratio or measured or list(STAND_IN_RATIOS)
        source = "command line" if args.ratio else "table measurements" if measured else "stand-ins (table unmeasured)"
        rows = prefill_grid(ratios, tokens=args.max_new_tokens, repeats=args.repeats, ndim=args.ndim)
        if args.out is not None:
            write_csv(rows, args.out)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"prefill ratios {ratios} ({source}); S = {args.max_new_tokens}, {args.repeats} repeats, N = 7, "
          f"{(args.ndim + 1) ** 2} cells; DSI at its decode-optimal k")
    print("\n".join(summary(rows)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
