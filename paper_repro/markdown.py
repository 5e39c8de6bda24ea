"""The Markdown of ``REPORT.md``: the claim table, then one details section per step.

:func:`report_text` assembles the whole file: :func:`paper_repro.report.render_report` (title,
preamble, verdict counts, one table row per claim, step times), then ``## Details`` with the
sections the steps returned. The section builders of the reproduction steps live here
(:func:`panel_section` for one model's Figure 1 panels, :func:`table_section` for the table
rows), so that the steps only compute and write.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from paper_repro import heatmaps
from paper_repro.report import ClaimRow, render_report

TITLE = "DSI paper reproduction report"

PREAMBLE = """
Reproduction of "Distributed Speculative Inference (DSI)" (Timor et al., ICLR 2025): each
claim of the paper, how we established our number, our number, the paper's number where it
gives one, and the verdict (see docs/reproduction.md for the verdict vocabulary and method).
"""


def report_text(rows: Sequence[ClaimRow], sections: Sequence[str], *,
                timings: Sequence[tuple[str, float]] = (), revision: str = "") -> str:
    """The text of ``REPORT.md``: the claim table and step times, then the steps' sections."""
    text = render_report(rows, title=TITLE, preamble=PREAMBLE, timings=timings, revision=revision)
    if sections:
        text += "\n## Details\n\n" + "\n".join(sections)
    return text


def panel_section(model: str, stats: dict[str, dict[str, Any]], effect: dict[str, Any]) -> str:
    """One model's Figure 1 panels: min (and where), max, cells below 1; the SI-restriction effect."""
    lines = [f"### Heatmap panels, {model} model", "",
             "| panel | min | (c, a) of min | max | cells < 1 |", "|---|---|---|---|---|"]
    for key, title in [*heatmaps.PANELS, ("dsi_over_si_restricted", "DSI / SI (SI's k restricted to DSI-valid k)")]:
        s = stats[key]
        lines.append(f"| {title} | {s['min']:.4f} | ({s['argmin_c']:.2f}, {s['argmin_a']:.2f}) | "
                     f"{s['max']:.3f} | {s['cells_below_1']} of {s['cells']} |")
    lines += ["", f"Restricting SI's lookahead to DSI-valid k changes SI's k in "
              f"{effect['cells_with_other_k']} cells and inflates DSI/SI by up to "
              f"{effect['max_inflation']:.4f} (at c = {effect['max_inflation_c']:.2f}, "
              f"a = {effect['max_inflation_a']:.2f}).", ""]
    return "\n".join(lines)


def table_section(results: Sequence[Any], unmeasured: Sequence[Any], notes: Sequence[str] = ()) -> str:
    """The table step's rows (:class:`paper_repro.table.RowResult`), and the rows without measurements."""
    lines = ["### Table rows", "", "| row | acceptance | c | a | k SI | k DSI | N (used) | DSI/SI | "
             "DSI/non-SI | SI/non-SI |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r.row_id} | {r.kind} | {r.c:.4f} | {r.acceptance_rate:.3f} | {r.si_k} | "
                     f"{r.dsi_k} | {r.num_target_servers} ({r.dsi_servers_used}) | {r.dsi_over_si:.3f} | "
                     f"{r.dsi_over_nonsi:.3f} | {r.si_over_nonsi:.3f} |")
    if unmeasured:
        lines += ["", "Rows without measurements: " + ", ".join(r.row_id for r in unmeasured) + "."]
    lines += [f"{n}." for n in notes]
    return "\n".join(lines) + "\n"
