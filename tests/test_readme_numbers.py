"""Every number README.md quotes has a command, and the deterministic ones are recomputed here.

A *number* is a token with a decimal point, a percent sign, an exponent, a slash between digits
(``15/15``, ``8/26/50/58``) or at least three digits; small integers in formulas (N ≥ 2, S ≤ 8)
are not numbers in this sense. Code blocks, HTML comments and image links are skipped. Each
number must stand in a row of a Markdown table whose last cell names a command (`` `dsi ...` ``
or `` `python -m ...` ``), or be listed in :data:`NOT_MEASURED` with the reason. The Figure 1,
illustration, mutant-count and statistics numbers are then recomputed (about 3 s) and compared
with the text; the runtime's (wall-clock) and the prefill search's (80 s, run by its command and,
on 2000 cases, by ``dsi repro all``) are not.
"""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"

#: numbers that are not measurements, and why
NOT_MEASURED = {"3.11": "the Python version of the install command", "2025": "the paper's year (ICLR 2025)",
                "135": "the model's name (SmolLM2-135M)"}

NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?:e-\d+)?(?:/\d+)*%?")
COMMAND = re.compile(r"`(?:dsi |python -m )[^`]+`")


def prose_lines(text: str) -> list[str]:
    """README lines outside code fences, without HTML comments, images and link targets."""
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    lines, fenced = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
            continue
        if fenced or line.startswith("!["):
            continue
        lines.append(re.sub(r"\]\([^)]*\)", "]", line))
    return lines


def is_number(token: str) -> bool:
    """Whether a token counts as a quoted number.

    >>> [is_number(t) for t in ("2", "441", "0.2%", "2e-7", "15/15", "49.2%", "8")]
    [False, True, True, True, True, True, False]
    """
    return any(mark in token for mark in ".%/e") or len(token) >= 3


def unsourced_numbers(lines: list[str]) -> list[str]:
    """Numbers that stand neither in a table row with a command cell nor in NOT_MEASURED."""
    problems = []
    for line in lines:
        numbers = [t for t in NUMBER.findall(line) if is_number(t) and t not in NOT_MEASURED]
        if not numbers:
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.lstrip().startswith("|") else []
        if not (len(cells) >= 2 and COMMAND.search(cells[-1])):
            problems += [f"{n!r} in: {line.strip()[:100]}" for n in numbers]
    return problems


def _row(lines: list[str], claim: str) -> str:
    rows = [line for line in lines if line.startswith(f"| {claim} |")]
    assert len(rows) == 1, f"README has no single row for {claim!r}"
    return rows[0]


LINES = prose_lines(README.read_text(encoding="utf-8"))


def test_the_number_scan_flags_a_number_without_a_command() -> None:
    assert unsourced_numbers(["DSI is 1.93x faster than SI."]) == ["'1.93' in: DSI is 1.93x faster than SI."]
    assert unsourced_numbers(["| claim | 1.93x | |"]) != []
    assert unsourced_numbers(["| claim | 1.93x | `dsi repro all` |", "Python 3.11 or newer"]) == []


def test_every_number_in_the_readme_names_its_command() -> None:
    assert unsourced_numbers(LINES) == []


def test_figure_1_numbers_are_what_the_heatmap_command_computes() -> None:
    """`dsi repro heatmaps` at its defaults (the paper's protocol, SPEC §5)."""
    from paper_repro import heatmaps
    from paper_repro.settings import HeatmapSettings
    from reference.fast.grid import heatmap_grid

    settings = HeatmapSettings()
    stats = {}
    for model in ("exact", "paper"):
        grid = heatmap_grid(model, ndim=settings.ndim, num_target_servers=settings.num_target_servers,
                            tokens=settings.tokens, repeats=settings.repeats, seed=settings.seed,
                            max_lookahead=settings.max_lookahead)
        stats[model] = heatmaps.panel_stats(heatmaps.best_k(grid))
    exact, paper = stats["exact"], stats["paper"]
    row = _row(LINES, "Figure 1")
    assert exact["dsi_over_si"]["cells_below_1"] == exact["dsi_over_nonsi"]["cells_below_1"] == 0
    assert exact["dsi_over_nonsi"]["min"] >= 1
    below = paper["dsi_over_si"]["below_1"]
    assert {round(cell["c"], 2) for cell in below} == {0.01}
    for phrase in (f"DSI/SI ≥ {exact['dsi_over_si']['min']:.4f}", "DSI/non-SI ≥ 1.0",
                   f"in all {exact['dsi_over_si']['cells']} cells",
                   f"SI slower than non-SI in {100 * exact['si_over_nonsi']['share_below_1']:.1f}% of cells",
                   f"{len(below)} cells at c = 0.01 with DSI/SI down to {paper['dsi_over_si']['min']:.4f}",
                   f"≥ {paper['dsi_over_si_restricted']['min']:.4f} with the authors' restriction"):
        assert phrase in row, phrase


def test_illustration_numbers_are_what_the_illustration_command_computes() -> None:
    from paper_repro import illustration

    counts = illustration.token_counts(illustration.run_illustration(illustration.IllustrationConfig()))
    row = _row(LINES, "illustration")

    def text(values: object) -> str:
        return "/".join(str(v) for v in values)  # type: ignore[union-attr]

    assert f"DSI best {text(counts['best']['dsi'])} and worst {text(counts['worst']['dsi'])}" in row
    assert f"SI worst case {text(counts['worst']['si'])} vs the paper's " \
           f"{text(illustration.PAPER_COUNTS['worst']['si'])}" in row
    assert text(counts["best"]["dsi"]) == text(illustration.PAPER_COUNTS["best"]["dsi"])


def test_mutant_and_statistics_numbers_match_the_catalogue_and_the_suite() -> None:
    from properties.distribution import plan_for
    from properties.mutants import MUTANTS
    from properties.statistical_suite import STATISTICAL_ALPHA

    assert f"{len(MUTANTS)}/{len(MUTANTS)} broken engines killed" in _row(LINES, "mutants")
    row = _row(LINES, "DSI is lossless")
    alpha = re.search(r"α = (\S+),", row)
    digits = len(alpha.group(1).split("e")[0].replace(".", "")) if alpha else 0
    assert alpha and float(alpha.group(1)) == float(f"{STATISTICAL_ALPHA:.{digits}g}")  # as printed
    plan = plan_for({(0,): 0.5, (1,): 0.5}, STATISTICAL_ALPHA)
    assert f"power {plan.power} at TV {plan.effect_tv}" in row


def test_the_prefill_command_defaults_to_the_quoted_case_count() -> None:
    import inspect

    from paper_repro import prefill_search

    row = _row(LINES, "prefill (outside the paper's model)")
    cases = re.search(r"of (\d+) random cases", row)
    assert cases and f"default={cases.group(1)}" in inspect.getsource(prefill_search.main)
