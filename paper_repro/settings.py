"""Settings of ``dsi repro`` and the step protocol: what a step is given and what it returns.

A :class:`Step` is a name, a description and ``run(context) -> StepOutcome``. The context
says where the step writes (``context.out / <step name>``) and with which
:class:`ReproSettings`; the outcome carries the step's claim rows
(:class:`paper_repro.report.ClaimRow`), extra Markdown sections for ``REPORT.md``, the figures
it drew and a JSON-able summary. Every module that defines steps (:mod:`paper_repro.steps`,
:mod:`paper_repro.check_steps`) imports these types from here, and :mod:`paper_repro.runner`
runs them, so no step module imports another.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from paper_repro.report import ClaimRow


@dataclass(frozen=True)
class HeatmapSettings:
    """The Figure 1 protocol (SPEC §5): grid size, N, S, repeats, seed, max lookahead."""

    ndim: int = 20
    num_target_servers: int = 7
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
    """What a step returns: claim rows, Markdown sections for the report, figure files, a summary."""

    rows: list[ClaimRow]
    sections: list[str] = field(default_factory=list)
    figures: list[Path] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    """One step of ``dsi repro all``."""

    name: str
    description: str
    run: Callable[[StepContext], StepOutcome]


def progress(items: Sequence[Any], enabled: bool, desc: str) -> Sequence[Any]:
    """``items``, wrapped in a transient tqdm progress bar when ``enabled``."""
    if not enabled:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc=desc, leave=False)
