"""``dsi repro all`` as a list of steps; each computes, writes its files and returns claim rows.

A :class:`Step` is a name, a description and ``run(context) -> StepOutcome`` (claim rows, extra
Markdown sections for ``REPORT.md``, and the figures it drew). :data:`DEFAULT_STEPS` is what
``dsi repro all`` runs: the checking steps of :mod:`paper_repro.check_steps` (proofs, property
sweep, mutants, runtime), the reproductions of this module (:data:`REPRODUCTION_STEPS`:
illustration, heatmaps, table) and the list of open claims; ``--skip NAME`` leaves steps out.
A step that raises becomes one ``error`` row, and the other steps still run.

Every step writes into ``context.out / <step name>``; :func:`run_steps` builds the whole
result directory in a temporary sibling and renames it into place at the end (atomic).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from paper_repro import heatmaps, illustration
from paper_repro.artifacts import (
    atomic_directory,
    git_revision,
    provenance,
    save_figure,
    write_csv,
    write_json,
)
from paper_repro.report import ClaimRow, render_report
from reference.errors import ConfigError


@dataclass(frozen=True)
class HeatmapSettings:
    """The Figure 1 protocol (SPEC §5): grid size, N, S, repeats, seed, max lookahead."""

    ndim: int = 20
    sp_degree: int = 7
    tokens: int = 1000
    repeats: int = 5
    seed: int = 42
    max_lookahead: int = 20


@dataclass(frozen=True)
class ReproSettings:
    """Settings of ``dsi repro all`` (defaults: the paper's protocols)."""

    heatmap: HeatmapSettings = HeatmapSettings()
    heatmap_models: tuple[str, ...] = ("exact", "paper")
    measurements: str | None = None  # None: the shipped file
    table_repeats: int = 5
    table_demo: bool = True  # run the measurement pipeline on tiny random-init models
    progress: bool = True
    real_measurements: str | None = None  # the real-model JSONs' folder (None: docs/measurements)


@dataclass(frozen=True)
class StepContext:
    """Where a step writes and with which settings."""

    out: Path
    settings: ReproSettings = ReproSettings()


@dataclass(frozen=True)
class StepOutcome:
    """What a step returns: claim rows, Markdown sections for the report, figure files."""

    rows: list[ClaimRow]
    sections: list[str] = field(default_factory=list)
    figures: list[Path] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    name: str
    description: str
    run: Callable[[StepContext], StepOutcome]


# ------------------------------------------------------------------ illustration


def illustration_step(context: StepContext) -> StepOutcome:
    """Timelines and token counts of the paper's illustration (event simulation traces)."""
    from paper_repro.illustration_plot import illustration_figure

    out = context.out / "illustration"
    config = illustration.IllustrationConfig()
    results = illustration.run_illustration(config)
    counts = illustration.token_counts(results)
    bars = {case: {alg: illustration.gantt_bars(r, 64) for alg, r in by_alg.items()}
            for case, by_alg in results.items()}
    figures = save_figure(illustration_figure(bars, counts), out / "illustration")
    data = illustration.illustration_json(counts)
    write_json(out / "illustration.json", {
        **data, "paper": {case: {a: list(v) for a, v in algs.items()}
                          for case, algs in illustration.PAPER_COUNTS.items()},
        "provenance": provenance(config.as_dict(), seed=config.seed)})
    write_csv(out / "token_counts.csv", illustration.comparison_rows(counts))
    return StepOutcome(illustration.findings(counts, config), figures=figures, data=data)


# ------------------------------------------------------------------ heatmaps


def _panel_section(model: str, stats: dict[str, dict[str, Any]], effect: dict[str, Any]) -> str:
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


def heatmap_claims(model: str, stats: dict[str, dict[str, Any]], effect: dict[str, Any],
                   settings: HeatmapSettings, excluded_rows: int) -> list[ClaimRow]:
    """Claim rows of one model's heatmaps (pure: from the panel statistics)."""
    how = (f"{model} model, grid {settings.ndim + 1}x{settings.ndim + 1}, k in 1..{settings.max_lookahead}, "
           f"N = {settings.sp_degree}, S = {settings.tokens}, {settings.repeats} repeats, seed {settings.seed}; "
           "each algorithm at its best k per cell")
    if model == "paper":
        how += f"; {excluded_rows} (c, a, k) rows excluded for DSI by N >= ceil(1/(kc))"

    def span(key: str) -> str:
        s = stats[key]
        return f"min {s['min']:.4f} at (c={s['argmin_c']:.2f}, a={s['argmin_a']:.2f}), max {s['max']:.3f}"

    def never_below(key: str) -> str:
        return "reproduced" if stats[key]["cells_below_1"] == 0 else (
            "finding" if model == "paper" else "not reproduced")

    rows = []
    si_key = "dsi_over_si_restricted" if model == "paper" else "dsi_over_si"
    rows.append(ClaimRow(
        claim="Figure 1: DSI is never slower than SI (DSI/SI >= 1 in every cell)",
        how=how + ("; SI's k restricted to DSI-valid k, as the authors' code" if model == "paper"
                   else "; every k allowed for both, waiting modelled"),
        ours=span(si_key), paper=">= 1 everywhere", verdict=never_below(si_key), step=f"heatmaps-{model}"))
    if model == "paper":
        s = stats["dsi_over_si"]
        cells = "; ".join(f"(c={x['c']:.2f}, a={x['a']:.2f}): {x['value']:.4f}" for x in s["below_1"])
        rows.append(ClaimRow(
            claim="Figure 1 with SI's best k over every k (not only DSI-valid k)",
            how=how, ours=f"{s['cells_below_1']} cells below 1: {cells}" if cells else "no cell below 1",
            paper=">= 1 everywhere (with SI restricted)",
            verdict="finding" if s["cells_below_1"] else "reproduced", step=f"heatmaps-{model}",
            note=f"restricting SI's k inflates DSI/SI by up to {effect['max_inflation']:.4f} "
                 f"(c={effect['max_inflation_c']:.2f}, a={effect['max_inflation_a']:.2f}), "
                 f"SI's k differs in {effect['cells_with_other_k']} cells"))
    rows.append(ClaimRow(
        claim="Figure 1: DSI is never slower than non-SI", how=how, ours=span("dsi_over_nonsi"),
        paper=">= 1 everywhere", verdict=never_below("dsi_over_nonsi"), step=f"heatmaps-{model}"))
    rows.append(ClaimRow(
        claim="Figure 1: DSI is never slower than the faster of SI and non-SI", how=how + "; SI at every k",
        ours=span("dsi_over_min"), paper=">= 1 everywhere", verdict=never_below("dsi_over_min"),
        step=f"heatmaps-{model}"))
    s = stats["si_over_nonsi"]
    rows.append(ClaimRow(
        claim="Figure 1: SI is slower than non-SI over a large region", how=how,
        ours=f"{s['cells_below_1']} of {s['cells']} cells ({100 * s['share_below_1']:.1f}%); "
             f"SI/non-SI {span('si_over_nonsi')}",
        paper="a large pink region (no number given)",
        verdict="reproduced" if s["share_below_1"] > 0 else "not reproduced", step=f"heatmaps-{model}"))
    return rows


def _heatmaps(model: str, settings: HeatmapSettings, out: Path) -> tuple[StepOutcome, heatmaps.BestK]:
    from paper_repro.heatmaps_plot import lookahead_figure, panels_figure
    from reference.fast.grid import heatmap_grid

    grid = heatmap_grid(model, ndim=settings.ndim, sp_degree=settings.sp_degree, tokens=settings.tokens,
                        repeats=settings.repeats, seed=settings.seed, max_lookahead=settings.max_lookahead)
    best = heatmaps.best_k(grid)
    stats = heatmaps.panel_stats(best)
    effect = heatmaps.restriction_effect(best)
    write_csv(out / "rows.csv", grid.rows())
    write_csv(out / "best_k.csv", heatmaps.summary_rows(best))
    figures = save_figure(panels_figure(best), out / "panels")
    figures += save_figure(lookahead_figure(best), out / "lookahead")
    write_json(out / "summary.json", {
        "panels": stats, "si_restriction_effect": effect, "excluded_rows": grid.excluded_rows,
        "provenance": provenance({"model": model, **settings.__dict__}, seed=settings.seed)})
    outcome = StepOutcome(heatmap_claims(model, stats, effect, settings, grid.excluded_rows),
                          sections=[_panel_section(model, stats, effect)], figures=figures,
                          data={"panels": {k: {x: v[x] for x in ("min", "max", "cells_below_1", "share_below_1")}
                                           for k, v in stats.items()},
                                "si_restriction_effect": effect, "excluded_rows": grid.excluded_rows})
    return outcome, best


def write_heatmaps(model: str, settings: HeatmapSettings, out: Path) -> StepOutcome:
    """Compute one model's grid, write CSVs, figures and summary, return its claims."""
    return _heatmaps(model, settings, out)[0]


def comparison_claim(comparison: dict[str, Any]) -> ClaimRow:
    """SPEC §4.3: the exact model's best DSI latency is at most the paper model's (in expectation).

    ``comparison`` is :func:`paper_repro.heatmaps.model_comparison` plus ``"recheck"``: the
    cells where the 5-repeat grid has exact > paper, measured again with many repeats
    (:func:`paper_repro.heatmaps.recheck_exact_slower`). Only significant excesses count.
    """
    recheck = comparison.get("recheck", [])
    significant = [x for x in recheck if x["significant"]]
    flagged = comparison["cells"] - comparison["cells_exact_not_slower"]
    repeats = heatmaps.RECHECK_REPEATS
    return ClaimRow(
        claim="The exact model is slightly faster than the paper's simulation (DSI, best k per cell)",
        how="mean best-k DSI latency per cell, exact / paper model (independent streams, 5 repeats); "
            f"cells with exact > paper measured again with {repeats} repeats per model, "
            f"one-sided z > {heatmaps.RECHECK_Z:g} counts",
        ours=f"exact <= paper in {comparison['cells_exact_not_slower']} of {comparison['cells']} cells "
             f"(ratio {comparison['min_ratio']:.4f} .. {comparison['max_ratio']:.4f}, mean "
             f"{comparison['mean_ratio']:.4f}); of the {flagged} others, {len(significant)} significant "
             f"after {repeats} repeats",
        paper="", verdict="finding" if significant else "beyond", step="heatmaps",
        note="SPEC claim (the paper's simulation drops the bonus position); re-measured: "
             + ("; ".join(f"(c={x['c']:.2f}, a={x['a']:.2f}, k {x['k_exact']}/{x['k_paper']}): ratio "
                          f"{x['ratio']:.4f}, excess {x['excess']:.3f} ± {x['se']:.3f}" for x in recheck)
                or "no cell"))


def heatmaps_step(context: StepContext) -> StepOutcome:
    """Figure 1 for each model in ``settings.heatmap_models`` (and the exact-vs-paper comparison)."""
    rows, sections, figures, data, bests = [], [], [], {}, {}
    models = context.settings.heatmap_models
    for model in _progress(models, context.settings.progress, "heatmaps"):
        outcome, bests[model] = _heatmaps(model, context.settings.heatmap, context.out / "heatmaps" / model)
        rows += outcome.rows
        sections += outcome.sections
        figures += outcome.figures
        data[model] = outcome.data
    if {"exact", "paper"} <= set(bests):
        comparison = heatmaps.model_comparison(bests["exact"], bests["paper"])
        hs = context.settings.heatmap
        comparison["recheck"] = heatmaps.recheck_exact_slower(comparison, bests["exact"], bests["paper"],
                                                              sp_degree=hs.sp_degree, tokens=hs.tokens)
        write_json(context.out / "heatmaps" / "exact_vs_paper.json", comparison)
        rows.append(comparison_claim(comparison))
        data["exact_vs_paper"] = comparison
    return StepOutcome(rows, sections, figures, data)


# ------------------------------------------------------------------ table


def tiny_demo_row(*, new_tokens: int = 20) -> Any:
    """Run the measurement pipeline on a tiny random-init pair and the built-in MBPP prompts."""
    from paper_repro.hf_measure import builtin_prompts, measure_pair
    from paper_repro.measurements import TableRow
    from paper_repro.tiny_models import tiny_pair

    target, drafter, tokenizer = tiny_pair()
    row = TableRow(row_id="tiny-random-init-demo", target="tiny GPT-2 (4 layers, random init)",
                   drafter="its first layer (early exit)", dataset="mbpp")
    return measure_pair(row, target, tokenizer, drafter, tokenizer, builtin_prompts("mbpp"),
                        new_tokens=new_tokens, source="CPU, float32, built-in prompts; a pipeline check, "
                                                      "not a paper number")


#: measurements of the tiny demo pair tried before giving up (wall-clock noise on a shared CPU can
#: make the 1-layer drafter look slower than its 4-layer target, which a table row refuses)
DEMO_ATTEMPTS = 3


def measured_demo_row() -> Any:
    """:func:`tiny_demo_row`, measured again (up to :data:`DEMO_ATTEMPTS` times) while CPU noise
    makes the drafter's TPOT exceed the target's; the last ConfigError propagates."""
    for _ in range(DEMO_ATTEMPTS - 1):
        try:
            return tiny_demo_row()
        except ConfigError:
            continue
    return tiny_demo_row()


def table_step(context: StepContext) -> StepOutcome:
    """Simulate measured rows (shipped file or ``settings.measurements``) and the tiny demo row."""
    from paper_repro.measurements import load_measurements, save_measurements
    from paper_repro.table import RowResult, TableConfig, simulate_rows, table_claims

    out = context.out / "table"
    rows = load_measurements(context.settings.measurements)
    paper_ids = {r.row_id for r in rows}
    notes: list[str] = []
    demo_rows: list[ClaimRow] = []
    if context.settings.table_demo:
        try:
            rows = [*rows, measured_demo_row()]
        except ImportError as exc:
            notes.append(f"tiny demo skipped: {exc}")
        except ConfigError as exc:  # CPU timing noise made the toy drafter slower than its target
            demo_rows.append(ClaimRow(
                claim="Table pipeline on the tiny random-init pair", how="wall-clock TTFT/TPOT on this CPU",
                ours=str(exc), paper="", verdict="not measured", step="table",
                note=f"{DEMO_ATTEMPTS} attempts on a busy CPU; the pipeline itself is tested in tests/paper_repro"))
    config = TableConfig(repeats=context.settings.table_repeats)
    results, unmeasured = simulate_rows(rows, config, progress=context.settings.progress)
    columns = [name for name in RowResult.__dataclass_fields__ if not name.endswith("_by_k")]
    write_csv(out / "table.csv", [{k: r.as_dict()[k] for k in columns} for r in results], columns)
    write_json(out / "table.json", {"results": [r.as_dict() for r in results],
                                    "unmeasured": [r.row_id for r in unmeasured],
                                    "provenance": provenance(config.__dict__, seed=config.seed)})
    save_measurements(out / "measurements_used.json", rows)
    claims = table_claims(results, unmeasured, paper_rows=paper_ids) + demo_rows
    section = ["### Table rows", "", "| row | acceptance | c | a | k SI | k DSI | N (used) | DSI/SI | "
               "DSI/non-SI | SI/non-SI |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        section.append(f"| {r.row_id} | {r.kind} | {r.c:.4f} | {r.acceptance_rate:.3f} | {r.si_k} | "
                       f"{r.dsi_k} | {r.sp_degree} ({r.dsi_servers_used}) | {r.dsi_over_si:.3f} | "
                       f"{r.dsi_over_nonsi:.3f} | {r.si_over_nonsi:.3f} |")
    if unmeasured:
        section += ["", "Rows without measurements: " + ", ".join(r.row_id for r in unmeasured) + "."]
    section += [f"{n}." for n in notes]
    real_claims, real_lines = real_model_rows(context.settings.real_measurements)  # measured here (CPU)
    claims += real_claims
    section += real_lines
    return StepOutcome(claims, sections=["\n".join(section) + "\n"],
                       data={"results": [r.as_dict() for r in results],
                             "unmeasured": [r.row_id for r in unmeasured]})


def real_model_rows(folder: str | None) -> tuple[list[ClaimRow], list[str]]:
    """The committed real-model measurement and run (read, never re-measured), if present."""
    import json

    from paper_repro.real_run import MEASUREMENTS_DIR, run_section
    from paper_repro.table import measured_here

    base = Path(folder) if folder else MEASUREMENTS_DIR
    claims: list[ClaimRow] = []
    lines: list[str] = []
    for name, render in (("humaneval-smollm2.json", measured_here), ("humaneval-smollm2-run.json", run_section)):
        path = base / name
        if path.is_file():
            more_claims, more_lines = render(json.loads(path.read_text("utf-8")))
            claims += more_claims
            lines += more_lines
    return claims, lines


# ------------------------------------------------------------------ the step lists


REPRODUCTION_STEPS: list[Step] = [
    Step("illustration", "the paper's timeline figure and token-count table", illustration_step),
    Step("heatmaps", "Figure 1 in the exact and the paper's model", heatmaps_step),
    Step("table", "the off-the-shelf pairs table (measured rows) and the tiny pipeline demo", table_step),
]


def _check_steps() -> list[Step]:
    from paper_repro import check_steps as cs

    return [
        Step("proofs", "machine-checked theorems (dsi prove)", cs.proofs_step),
        Step("properties", "the property suite on the reference and the runtime (quick sweep)", cs.properties_step),
        Step("mutants", "the mutant catalogue: kill rate of the property suite", cs.mutants_step),
        Step("runtime", "the runtime against the reference: tokens and wall-time speedups", cs.runtime_step),
    ]


def _open_step() -> Step:
    from paper_repro.check_steps import open_step

    return Step("open", "claims not (fully) established here, and schedule-variant findings", open_step)


#: what ``dsi repro all`` runs: theorems and properties first, then the paper's figures and
#: table, then the explicit list of what is not established
DEFAULT_STEPS: list[Step] = [*_check_steps(), *REPRODUCTION_STEPS, _open_step()]

STEP_NAMES: tuple[str, ...] = tuple(step.name for step in DEFAULT_STEPS)


def select_steps(skip: Sequence[str] = ()) -> list[Step]:
    """:data:`DEFAULT_STEPS` without the named ones (unknown names are a ConfigError)."""
    unknown = sorted(set(skip) - set(STEP_NAMES))
    if unknown:
        raise ConfigError(f"unknown step(s) {unknown}; steps: {', '.join(STEP_NAMES)}")
    return [step for step in DEFAULT_STEPS if step.name not in set(skip)]


# ------------------------------------------------------------------ runner


def _progress(items: Sequence[Any], enabled: bool, desc: str) -> Sequence[Any]:
    if not enabled:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc=desc, leave=False)


@dataclass(frozen=True)
class RunSummary:
    out: Path
    rows: list[ClaimRow]
    timings: list[tuple[str, float]]
    figures: list[Path]
    data: dict[str, Any]


PREAMBLE = """
Reproduction of "Distributed Speculative Inference (DSI)" (Timor et al., ICLR 2025): each
claim of the paper, how we established our number, our number, the paper's number where it
gives one, and the verdict (see docs/reproduction.md for the verdict vocabulary and method).
"""


def run_steps(steps: Sequence[Step], out: str | Path, settings: ReproSettings = ReproSettings(),
              *, figures_dir: str | Path | None = None) -> RunSummary:
    """Run every step into a staging directory, write REPORT.md and claims, rename into ``out``."""
    rows: list[ClaimRow] = []
    sections: list[str] = []
    figures: list[Path] = []
    timings: list[tuple[str, float]] = []
    data: dict[str, Any] = {}
    final = Path(out).resolve()
    with atomic_directory(final) as staging:
        context = StepContext(out=staging, settings=settings)
        for step in _progress(list(steps), settings.progress, "repro all"):
            start = time.perf_counter()
            try:
                outcome = step.run(context)
            except Exception as exc:  # a failing step is reported as an error row, not fatal
                outcome = StepOutcome([ClaimRow(claim=f"step {step.name}", how=step.description,
                                                ours=f"{type(exc).__name__}: {exc}", paper="",
                                                verdict="error", step=step.name)])
            timings.append((step.name, time.perf_counter() - start))
            rows += outcome.rows
            sections += outcome.sections
            figures += [final / p.relative_to(staging) for p in outcome.figures]
            data[step.name] = outcome.data
        revision = git_revision()
        report = render_report(rows, title="DSI paper reproduction report", preamble=PREAMBLE,
                               timings=timings, revision=revision)
        if sections:
            report += "\n## Details\n\n" + "\n".join(sections)
        (staging / "REPORT.md").write_text(report, encoding="utf-8")
        write_csv(staging / "claims.csv", [r.as_dict() for r in rows])
        write_json(staging / "claims.json", {"claims": [r.as_dict() for r in rows],
                                             "timings": dict(timings), "git_revision": revision,
                                             "settings": _settings_dict(settings)})
    if figures_dir is not None:
        copy_pngs(figures, final, Path(figures_dir))
    return RunSummary(final, rows, timings, figures, data)


def _settings_dict(settings: ReproSettings) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(settings)


def copy_pngs(figures: Sequence[Path], root: Path, target: Path) -> list[Path]:
    """Copy the PNG figures into ``target`` with flat names (``heatmaps-exact-panels.png``, ``illustration.png``)."""
    target.mkdir(parents=True, exist_ok=True)
    copied = []
    for path in figures:
        if path.suffix != ".png":
            continue
        parts = path.relative_to(root).with_suffix("").parts
        parts = tuple(p for i, p in enumerate(parts) if i == 0 or p != parts[i - 1])  # no "x-x"
        name = "-".join(parts) + ".png"
        destination = target / name
        tmp = destination.with_suffix(".png.tmp")
        shutil.copyfile(path, tmp)
        tmp.replace(destination)
        copied.append(destination)
    return copied
