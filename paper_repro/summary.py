"""The compact terminal summary that ``dsi repro all`` prints (the full table is ``REPORT.md``).

About fifty claim rows with long "how established" cells wrap to hundreds of terminal lines,
so the terminal gets only what a reader acts on:

* one line of step times and one line of verdict counts;
* the failing rows (verdicts in :data:`FAILING`, which make ``dsi repro all`` exit 1), each
  with its number and note, wrapped to at most :data:`FAILURE_LINES` lines;
* the notable rows (verdicts in :data:`NOTABLE`: what differs from the paper or is not
  established here), one line each, cut to the terminal width;
* where the full report is.

Rows whose verdict is ``reproduced`` or ``beyond`` are only counted.
"""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Sequence
from pathlib import Path

from paper_repro.report import ClaimRow, verdict_counts

#: verdicts that fail the run (exit status 1)
FAILING = ("not reproduced", "error")
#: verdicts listed one line each: the paper's number is contradicted, or something is not established
NOTABLE = ("discrepancy", "finding", "not measured", "not checked")
#: lines a failing row may take
FAILURE_LINES = 3
#: width used when stdout is not a terminal
DEFAULT_WIDTH = 120


def _cut(text: str, width: int) -> str:
    """``text`` on one line, cut to ``width`` characters with an ellipsis.

    >>> _cut("abc  def\\nghi", 20), _cut("abcdefghij", 6)
    ('abc def ghi', 'abcde…')
    """
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


def _row_text(row: ClaimRow) -> str:
    text = row.claim
    if row.ours:
        text += f" — ours: {row.ours}"
    if row.paper and row.verdict in ("discrepancy", "not reproduced"):
        text += f"; paper: {row.paper}"
    return text


def terminal_summary(rows: Sequence[ClaimRow], *, report: str | Path,
                     timings: Sequence[tuple[str, float]] = (), width: int | None = None) -> str:
    """The text ``dsi repro all`` prints: times, verdict counts, failing and notable rows, the report's path."""
    width = max(60, width or DEFAULT_WIDTH)
    lines = []
    if timings:
        total = sum(seconds for _, seconds in timings)
        lines += textwrap.wrap(f"{len(rows)} claims in {total:.0f} s: "
                               + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in timings), width)
    counts = verdict_counts(rows)
    lines += textwrap.wrap("verdicts: " + (", ".join(f"{name} {n}" for name, n in counts.items() if n) or "none"),
                           width, subsequent_indent="  ")
    failing = [row for row in rows if row.verdict in FAILING]
    if failing:
        lines.append(f"FAILED ({len(failing)}):")
        for row in failing:
            text = f"[{row.verdict}] {row.step}: {_row_text(row)}" + (f" ({row.note})" if row.note else "")
            wrapped = textwrap.wrap(" ".join(text.split()), width - 2, subsequent_indent="    ")
            if len(wrapped) > FAILURE_LINES:
                wrapped = [*wrapped[: FAILURE_LINES - 1], _cut(" ".join(wrapped[FAILURE_LINES - 1:]), width - 2)]
            lines += ["  " + line for line in wrapped]
    for verdict in NOTABLE:
        selected = [row for row in rows if row.verdict == verdict]
        if selected:
            lines.append(f"{verdict} ({len(selected)}):")
            lines += ["  " + _cut(f"{row.step}: {_row_text(row)}", width - 2) for row in selected]
    lines.append(f"full table: {report}")
    return "\n".join(lines)


def print_summary(rows: Sequence[ClaimRow], *, report: str | Path, timings: Sequence[tuple[str, float]] = ()) -> None:
    """Print :func:`terminal_summary` at the terminal's width (:data:`DEFAULT_WIDTH` when not a terminal)."""
    import sys

    width = shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns if sys.stdout.isatty() else DEFAULT_WIDTH
    print(terminal_summary(rows, report=report, timings=timings, width=width))
