"""Claim rows and ``REPORT.md``: each claim of the paper, our number, the paper's, the verdict.

A *claim row* is what every step of ``dsi repro all`` returns (see :mod:`paper_repro.settings`).
Verdicts are one of :data:`VERDICTS` so a reader (and a test) can count them:

* ``reproduced`` — our number agrees with the paper's (exactly, or within the stated tolerance);
* ``not reproduced`` — it does not;
* ``discrepancy`` — the paper's number contradicts the paper's own model; ours follows the model;
* ``finding`` — something the paper does not report (or gets wrong by its method), measured here;
* ``beyond`` — a check past the paper (for example a sharpened claim) that holds;
* ``not measured`` — inputs are missing (for example measurements that need models and a GPU);
* ``not checked`` — a claim this project does not (fully) establish; the note says why;
* ``error`` — the step failed; the message is in ``ours``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

from reference.errors import ConfigError

VERDICTS = ("reproduced", "not reproduced", "discrepancy", "finding", "beyond", "not measured", "not checked",
            "error")


@dataclass(frozen=True)
class ClaimRow:
    """One line of the report.

    claim: the paper's statement (or ours, for findings); how: how we established our number;
    ours / paper: the numbers as text ("" when the paper gives none); verdict: one of VERDICTS;
    step: the step that produced the row; note: free text (the reason for the verdict).
    """

    claim: str
    how: str
    ours: str
    paper: str
    verdict: str
    step: str = ""
    note: str = ""

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ConfigError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def _cell(text: str) -> str:
    """Escape a table cell for Markdown (pipes and newlines).

    >>> _cell("a|b\\nc")
    'a\\\\|b c'
    """
    return " ".join(str(text).replace("|", "\\|").split())


def verdict_counts(rows: Iterable[ClaimRow]) -> dict[str, int]:
    """Number of rows per verdict (every verdict present, zeros included)."""
    counts = dict.fromkeys(VERDICTS, 0)
    for row in rows:
        counts[row.verdict] += 1
    return counts


def render_report(rows: Sequence[ClaimRow], *, title: str, preamble: str = "",
                  timings: Sequence[tuple[str, float]] = (), revision: str = "") -> str:
    """Markdown text of ``REPORT.md``: a summary, one table of claim rows, step timings."""
    lines = [f"# {title}", ""]
    if preamble:
        lines += [preamble.strip(), ""]
    if revision:
        lines += [f"git revision: `{revision}`", ""]
    counts = verdict_counts(rows)
    lines.append("Verdicts: " + ", ".join(f"{name} {n}" for name, n in counts.items() if n) + ".")
    lines.append("")
    lines.append("| step | claim | how established | ours | paper | verdict | note |")
    lines.append("|---|---|---|---|---|---|---|")
    for row in rows:
        lines.append("| " + " | ".join(_cell(x) for x in (row.step, row.claim, row.how, row.ours,
                                                           row.paper, row.verdict, row.note)) + " |")
    if timings:
        lines += ["", "## Step times", "", "| step | seconds |", "|---|---|"]
        lines += [f"| {name} | {seconds:.1f} |" for name, seconds in timings]
    return "\n".join(lines) + "\n"
