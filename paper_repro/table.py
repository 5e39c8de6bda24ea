"""The paper's table: SI and DSI simulated from measured TTFT, TPOT and acceptance (SPEC §5, §10).

Per measured row, in time units of the target's TPOT (target decode = 1):

    c = drafter TPOT / target TPOT,   target prefill = target TTFT / target TPOT,
    drafter prefill = drafter TTFT / target TPOT   (each rounded to 1e-4, exact rationals).

Acceptance paths (R repeats of S positions) are either i.i.d. with the measured â
(``kind="iid"``, the paper's assumption) or built from the real agreement traces
(``kind="trace"``, :func:`paper_repro.acceptance.trace_paths`; a reviewer's request): the path
itself drives the exact model through :class:`~reference.toy_models.AcceptancePathPair`.

Best lookahead per algorithm, k in 1..20, in two stages (both the exact model, N = 7, S = 1000):
1. every k with the vectorised decode-only simulator (``reference.fast.exact``), which ranks
   the lookaheads;
2. the ``refine`` best of them again through the event simulation with TTFT as each server's
   prefill (SPEC §10); the least mean latency wins (ties: smaller k). Prefill adds a nearly
   constant offset, so the ranking of stage 1 carries over; stage 2 makes the reported
   latencies exact under the prefill model.

Reported per row and kind: c, â, the share of accepted positions on the simulated paths,
the chosen k of SI and DSI, N, the peak number of target servers DSI used, mean latencies
(time units and milliseconds), and the speedups
DSI/SI = T_SI / T_DSI, DSI/non-SI, SI/non-SI.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from paper_repro.acceptance import trace_paths
from paper_repro.measurements import TableRow
from paper_repro.report import ClaimRow
from reference.errors import ConfigError, check_count
from reference.fast import exact
from reference.generate import generate
from reference.latency import LatencyModel
from reference.plan import iid_paths
from reference.results import max_concurrent_target_tasks
from reference.toy_models import AcceptancePathPair

KINDS = ("iid", "trace")
#: The paper's reported range of DSI/SI speedups over its 10 rows.
PAPER_SPEEDUP_RANGE = (1.29, 1.92)


@dataclass(frozen=True)
class TableConfig:
    """Simulation settings of the table (defaults: SPEC §10 table protocol)."""

    num_target_servers: int = 7
    tokens: int = 1000
    max_lookahead: int = 20
    repeats: int = 5
    seed: int = 42
    refine: int = 2

    def __post_init__(self) -> None:
        for name in ("num_target_servers", "tokens", "max_lookahead", "repeats", "refine"):
            check_count(getattr(self, name), f"table {name}")


def _ratio(value: float, unit: float) -> Fraction:
    """``value / unit`` rounded to 1e-4 as an exact rational (at least 1e-4).

    >>> _ratio(2.0, 8.0)
    Fraction(1, 4)
    """
    return Fraction(max(round(value / unit * 10_000), 1), 10_000)


def latency_model(row: TableRow) -> LatencyModel:
    """The row's latencies in target-TPOT units (decode and prefill of both models)."""
    if not row.is_measured:
        raise ConfigError(f"row {row.row_id} lacks measurements: {', '.join(row.missing)}")
    unit = float(row.target_tpot_ms)  # type: ignore[arg-type]
    return LatencyModel(target_decode=Fraction(1), drafter_decode=_ratio(row.drafter_tpot_ms, unit),  # type: ignore[arg-type]
                        target_prefill=_ratio(row.target_ttft_ms, unit),  # type: ignore[arg-type]
                        drafter_prefill=_ratio(row.drafter_ttft_ms, unit))  # type: ignore[arg-type]


def acceptance_paths(row: TableRow, kind: str, config: TableConfig) -> np.ndarray:
    """(repeats, tokens) acceptance paths of a row: i.i.d. with â, or from its traces."""
    if kind == "iid":
        return iid_paths(float(row.acceptance_rate), config.tokens, config.repeats, config.seed)  # type: ignore[arg-type]
    if kind == "trace":
        if not row.agreement_traces:
            raise ConfigError(f"row {row.row_id} has no agreement traces for the trace-driven simulation")
        return trace_paths(row.traces, config.tokens, config.repeats, config.seed)
    raise ConfigError(f"kind must be one of {KINDS}, got {kind!r}")


def _event_latencies(paths: np.ndarray, algorithm: str, k: int, num_target_servers: int | None,
                     latency: LatencyModel) -> tuple[float, int]:
    """Mean event-simulation latency over paths and the peak number of busy target servers."""
    total, peak = 0.0, 0
    for path in paths:
        pair = AcceptancePathPair(path.tolist())
        result = generate(pair.target, pair.drafter, [0], paths.shape[1], algorithm=algorithm,
                          lookahead=k, num_target_servers=num_target_servers, mode="greedy", latency=latency)
        total += float(result.latency)
        peak = max(peak, max_concurrent_target_tasks(result.trace))
    return total / len(paths), peak


@dataclass(frozen=True)
class RowResult:
    """Simulated table row (latencies in target-TPOT units; *_ms in milliseconds)."""

    row_id: str
    kind: str
    c: float
    acceptance_rate: float
    path_acceptance_share: float
    si_k: int
    dsi_k: int
    num_target_servers: int
    dsi_servers_used: int
    nonsi: float
    si: float
    dsi: float
    nonsi_ms: float
    si_ms: float
    dsi_ms: float
    dsi_over_si: float
    dsi_over_nonsi: float
    si_over_nonsi: float
    si_decode_only_by_k: tuple[float, ...]
    dsi_decode_only_by_k: tuple[float, ...]

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["si_decode_only_by_k"] = list(self.si_decode_only_by_k)
        out["dsi_decode_only_by_k"] = list(self.dsi_decode_only_by_k)
        return out


def simulate_row(row: TableRow, kind: str = "iid", config: TableConfig = TableConfig()) -> RowResult:
    """Best-k SI and DSI latencies of one measured row (module docstring)."""
    latency = latency_model(row)
    c = latency.c  # exact: the fast model decides its case on it, as the event simulation does
    paths = acceptance_paths(row, kind, config)
    ks = range(1, config.max_lookahead + 1)
    si_fast = [float(exact.si_latency(paths, k, c).mean()) for k in ks]
    dsi_fast = [float(exact.dsi_latency(paths, k, c, config.num_target_servers).mean()) for k in ks]

    def refine(algorithm: str, ranking: list[float]) -> tuple[int, float, int]:
        order = sorted(range(len(ranking)), key=lambda i: (ranking[i], i))[: config.refine]
        best = None
        for index in sorted(order):
            k = index + 1
            mean, peak = _event_latencies(paths, algorithm, k, config.num_target_servers, latency)
            if best is None or mean < best[1]:
                best = (k, mean, peak)
        assert best is not None
        return best

    si_k, si_mean, _ = refine("si", si_fast)
    dsi_k, dsi_mean, peak = refine("dsi", dsi_fast)
    nonsi_mean, _ = _event_latencies(paths[:1], "nonsi", 1, None, latency)
    unit = float(row.target_tpot_ms)  # type: ignore[arg-type]
    return RowResult(
        row_id=row.row_id, kind=kind, c=float(c), acceptance_rate=float(row.acceptance_rate),  # type: ignore[arg-type]
        path_acceptance_share=float(paths.mean()),
        si_k=si_k, dsi_k=dsi_k, num_target_servers=config.num_target_servers, dsi_servers_used=peak,
        nonsi=nonsi_mean, si=si_mean, dsi=dsi_mean,
        nonsi_ms=nonsi_mean * unit, si_ms=si_mean * unit, dsi_ms=dsi_mean * unit,
        dsi_over_si=si_mean / dsi_mean, dsi_over_nonsi=nonsi_mean / dsi_mean,
        si_over_nonsi=nonsi_mean / si_mean,
        si_decode_only_by_k=tuple(si_fast), dsi_decode_only_by_k=tuple(dsi_fast),
    )


def simulate_rows(rows: list[TableRow], config: TableConfig = TableConfig(), *,
                  progress: bool = False) -> tuple[list[RowResult], list[TableRow]]:
    """Simulate every measured row (both kinds where traces exist); return (results, unmeasured rows)."""
    measured = [r for r in rows if r.is_measured]
    jobs = [(r, kind) for r in measured for kind in KINDS if kind == "iid" or r.agreement_traces]
    if progress:
        from tqdm.auto import tqdm

        jobs = tqdm(jobs, desc="table rows", leave=False)  # type: ignore[assignment]
    results = [simulate_row(r, kind, config) for r, kind in jobs]
    return results, [r for r in rows if not r.is_measured]


def table_claims(results: list[RowResult], unmeasured: list[TableRow], *, step: str = "table",
                 paper_rows: set[str] | None = None) -> list[ClaimRow]:
    """Claim rows: the paper's 1.29-1.92x range over the paper's rows, and the unmeasured rows."""
    paper_rows = paper_rows or set()
    how = ("exact model, measured TTFT (prefill) and TPOT, best k in 1..20 per algorithm, N = 7, "
           "S = 1000")
    claims: list[ClaimRow] = []
    low, high = PAPER_SPEEDUP_RANGE
    ours = [r for r in results if r.row_id in paper_rows and r.kind == "iid"]
    if ours:
        speedups = [r.dsi_over_si for r in ours]
        inside = all(low - 0.005 <= s <= high + 0.005 for s in speedups)
        claims.append(ClaimRow(
            claim="Table: DSI over SI on off-the-shelf pairs, 1.29x-1.92x",
            how=how + f"; i.i.d. acceptance; {len(ours)} of 10 rows measured",
            ours=f"{min(speedups):.2f}x-{max(speedups):.2f}x", paper=f"{low}x-{high}x",
            verdict="reproduced" if inside and len(ours) == 10 else
            ("not reproduced" if not inside else "not measured"),
            step=step, note="" if len(ours) == 10 else "partial: some rows lack measurements"))
    for r in results:
        claims.append(ClaimRow(
            claim=f"Table row {r.row_id} ({r.kind} acceptance): DSI over SI",
            how=how + f"; c = {r.c:.4f}, a = {r.acceptance_rate:.3f}, k_SI = {r.si_k}, "
                      f"k_DSI = {r.dsi_k}, N = {r.num_target_servers} (DSI used {r.dsi_servers_used})",
            ours=f"{r.dsi_over_si:.3f}x (vs non-SI {r.dsi_over_nonsi:.3f}x)", paper="",
            verdict="finding", step=step,
            note="the paper's per-row number is not available to this project; the range claim above "
                 "judges the rows together" if r.row_id in paper_rows
            else "not a paper row (pipeline run on tiny random-init models)"))
    if unmeasured:
        claims.append(ClaimRow(
            claim="Table: per-row measurements of the paper's pairs",
            how="needs the Hugging Face models and a GPU: `dsi repro table --measure`",
            ours=f"{len(unmeasured)} rows lack measurements: " + ", ".join(r.row_id for r in unmeasured),
            paper="", verdict="not measured", step=step))
    return claims


# ------------------------------------------------------------------ measured here (CPU)

#: How the "measured here" rows were made (the command that re-measures them).
MEASURED_HERE_COMMAND = ("dsi repro table --measure humaneval-smollm2 "
                         "--save-measurements docs/measurements/humaneval-smollm2.json")


def measured_here(data: dict[str, Any], *, step: str = "table") -> tuple[list[ClaimRow], list[str]]:
    """Claim rows and report lines of the real-model measurement (``paper_repro.real_measure``).

    One line per drafter beside the paper's rows: c, held-out â and Σ min(p, q), the chosen k,
    predicted DSI/SI and DSI/non-SI at N = 7 and N = 2 and SI/non-SI. The claim rows are
    findings (a CPU pair outside the paper's table; prefill and cost by positions are outside
    the theorems' unit-cost model), with the smallest DSI/SI and DSI/non-SI over drafters.
    """
    machine = data.get("machine", {})
    target = data["target"]
    cost = data["positions_cost"]["fitted"]
    loaded = f"load average {machine.get('load_average_before')} → {machine.get('load_average_after')}"
    lines = ["", "#### Measured here (CPU): SmolLM2-135M-Instruct on HumanEval", "",
             f"Target TTFT {target['ttft_ms']:.1f} ms, TPOT {target['tpot_ms']:.1f} ms (one thread, "
             f"{target['prompts']} prompts, {loaded}); a target forward over s positions costs "
             + ", ".join(f"{cost[s - 1]:.2f}× at s = {s}" for s in (2, 4, 8, len(cost)) if s <= len(cost))
             + f" one over 1 (isotonic fit). Command: `{MEASURED_HERE_COMMAND}`.", "",
             "| row | c | â held-out | greedy match | Σmin(p,q) | k SI | k DSI N=7 / N=2 | DSI/SI N=7 | "
             "DSI/SI N=2 | DSI/non-SI N=7 | DSI/non-SI N=2 | SI/non-SI |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    ratios: dict[str, list[float]] = {"dsi_over_si": [], "dsi_over_nonsi": []}
    for name, entry in data["drafters"].items():
        pred, acc = entry["prediction"], entry["acceptance"]["held_out"]
        nonsi, si = pred["nonsi"]["latency"], pred["si"]["latency"]
        d7, d2 = pred["dsi_N7"], pred["dsi_N2"]
        for dsi in (d7, d2):
            ratios["dsi_over_si"].append(si / dsi["latency"])
            ratios["dsi_over_nonsi"].append(nonsi / dsi["latency"])
        lines.append(
            f"| smollm2-humaneval, {name} (measured here, CPU) | {entry['c']:.4f} | {acc['table_estimate']:.3f} | "
            f"{acc['greedy_match_rate']:.3f} | {acc['sum_min_pq']:.3f} | {pred['si']['lookahead']} | "
            f"{d7['lookahead']} / {d2['lookahead']} | {si / d7['latency']:.3f} | {si / d2['latency']:.3f} | "
            f"{nonsi / d7['latency']:.3f} | {nonsi / d2['latency']:.3f} | {nonsi / si:.3f} |")
    how = ("real model on this CPU: measured TTFT, TPOT, cost by positions and held-out â; exact model "
           "(reference.plan), S = 1000, best k in 1..20, cold-start prefill")
    claims = [ClaimRow(
        claim="Table, measured here (CPU): DSI vs SI and non-SI for SmolLM2-135M on HumanEval",
        how=how + f"; drafters {', '.join(data['drafters'])}; N = 7 and N = 2",
        ours=f"DSI/SI {min(ratios['dsi_over_si']):.3f}x-{max(ratios['dsi_over_si']):.3f}x, DSI/non-SI "
             f"{min(ratios['dsi_over_nonsi']):.3f}x-{max(ratios['dsi_over_nonsi']):.3f}x",
        paper="1.29x-1.92x DSI/SI on the paper's GPU pairs", verdict="finding", step=step,
        note=f"not a paper row; timings taken with {loaded}; re-measure with `{MEASURED_HERE_COMMAND}`")]
    return claims, lines
