"""The runner of ``dsi repro all``: which steps, in which order, into one atomic results directory.

:data:`DEFAULT_STEPS` is the checking steps of :mod:`paper_repro.check_steps` (proofs, property
sweep, mutants, runtime), the reproductions of :mod:`paper_repro.steps` (illustration,
heatmaps, table) and the list of open claims; ``--skip NAME`` leaves steps out
(:func:`select_steps`). :func:`run_steps` runs each step into a staging directory (a step that
raises becomes one ``error`` row and the others still run), writes ``REPORT.md``
(:mod:`paper_repro.markdown`), ``claims.csv`` and ``claims.json``, and renames the directory
into place at the end, so an interrupted run leaves the previous results untouched.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from paper_repro.artifacts import atomic_directory, write_csv
from paper_repro.check_steps import CHECK_STEPS, OPEN_STEP
from paper_repro.markdown import report_text
from paper_repro.report import ClaimRow
from paper_repro.settings import ReproSettings, Step, StepContext, StepOutcome, progress
from paper_repro.steps import REPRODUCTION_STEPS
from reference.errors import ConfigError
from reference.files import git_revision, write_json

#: what ``dsi repro all`` runs: theorems and properties first, then the paper's figures and
#: table, then the explicit list of what is not established
DEFAULT_STEPS: list[Step] = [*CHECK_STEPS, *REPRODUCTION_STEPS, OPEN_STEP]

STEP_NAMES: tuple[str, ...] = tuple(step.name for step in DEFAULT_STEPS)


def select_steps(skip: Sequence[str] = ()) -> list[Step]:
    """:data:`DEFAULT_STEPS` without the named ones (unknown names are a ConfigError)."""
    unknown = sorted(set(skip) - set(STEP_NAMES))
    if unknown:
        raise ConfigError(f"unknown step(s) {unknown}; steps: {', '.join(STEP_NAMES)}")
    return [step for step in DEFAULT_STEPS if step.name not in set(skip)]


@dataclass(frozen=True)
class RunSummary:
    """What :func:`run_steps` returns: the results directory, every claim row, step times, figures."""

    out: Path
    rows: list[ClaimRow]
    timings: list[tuple[str, float]]
    figures: list[Path]
    data: dict[str, Any]

    @property
    def report(self) -> Path:
        return self.out / "REPORT.md"


def _run_one(step: Step, context: StepContext) -> StepOutcome:
    try:
        return step.run(context)
    except Exception as exc:  # a failing step is reported as an error row, not fatal
        return StepOutcome([ClaimRow(claim=f"step {step.name}", how=step.description,
                                     ours=f"{type(exc).__name__}: {exc}", paper="", verdict="error",
                                     step=step.name)])


def run_steps(steps: Sequence[Step], out: str | Path, settings: ReproSettings | None = None,
              *, figures_dir: str | Path | None = None) -> RunSummary:
    """Run every step into a staging directory, write REPORT.md and claims, rename into ``out``.

    ``settings``: :class:`paper_repro.settings.ReproSettings` (``None``: the defaults, the paper's protocols).
    """
    settings = settings if settings is not None else ReproSettings()
    rows: list[ClaimRow] = []
    sections: list[str] = []
    figures: list[Path] = []
    timings: list[tuple[str, float]] = []
    data: dict[str, Any] = {}
    final = Path(out).resolve()
    with atomic_directory(final) as staging:
        context = StepContext(out=staging, settings=settings)
        for step in progress(list(steps), settings.progress, "repro all"):
            start = time.perf_counter()
            outcome = _run_one(step, context)
            timings.append((step.name, time.perf_counter() - start))
            rows += outcome.rows
            sections += outcome.sections
            figures += [final / p.relative_to(staging) for p in outcome.figures]
            data[step.name] = outcome.data
        revision = git_revision()
        (staging / "REPORT.md").write_text(report_text(rows, sections, timings=timings, revision=revision),
                                           encoding="utf-8")
        write_csv(staging / "claims.csv", [r.as_dict() for r in rows])
        write_json(staging / "claims.json", {"claims": [r.as_dict() for r in rows],
                                             "timings": dict(timings), "git_revision": revision,
                                             "settings": asdict(settings)})
    if figures_dir is not None:
        copy_pngs(figures, final, Path(figures_dir))
    return RunSummary(final, rows, timings, figures, data)


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
