"""The kill matrix: which property fails which mutant (``dsi mutants --all-properties``).

A row per mutant, a column per property of the suite (numbered, with a legend): ``x`` the
property fails the mutant, ``.`` it passes, ``-`` it does not apply (a capability the mutant's
engine lacks). Two summary rows make weak properties visible: how many mutants each property
kills, and how many it kills *alone* (no other property fails them). ``--write-docs PATH``
replaces the block between the markers below in PATH (docs/mutants.md), atomically.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reference.errors import ConfigError

START = "<!-- kill-matrix:start -->"
END = "<!-- kill-matrix:end -->"


def sole_killers(outcomes: Sequence[Any]) -> dict[str, list[str]]:
    """Property -> the mutants it is the only property to fail.

    >>> from types import SimpleNamespace as O
    >>> sole_killers([O(name="m1", failed_properties=("a",)), O(name="m2", failed_properties=("a", "b"))])
    {'a': ['m1']}
    """
    out: dict[str, list[str]] = {}
    for o in outcomes:
        if len(o.failed_properties) == 1:
            out.setdefault(o.failed_properties[0], []).append(o.name)
    return out


def matrix_markdown(outcomes: Sequence[Any], properties: Sequence[str]) -> str:
    """The matrix as a Markdown table with a legend (outcomes of ``run_mutant(all_properties=True)``)."""
    index = {name: i + 1 for i, name in enumerate(properties)}
    header = "| mutant | engine | " + " | ".join(str(index[p]) for p in properties) + " | failing |"
    lines = [header, "|" + "---|" * (len(properties) + 3)]
    for o in outcomes:
        cells = ["x" if p in o.failed_properties else ("." if p in o.applicable else "-") for p in properties]
        lines.append(f"| {o.name} | {o.engine} | " + " | ".join(cells) + f" | {len(o.failed_properties)} |")
    kills = [sum(p in o.failed_properties for o in outcomes) for p in properties]
    alone = sole_killers(outcomes)
    lines.append("| **kills** | | " + " | ".join(str(k) for k in kills) + " | |")
    lines.append("| **kills alone** | | " + " | ".join(str(len(alone.get(p, []))) for p in properties) + " | |")
    legend = ", ".join(f"{index[p]} `{p}`" for p in properties)
    weak = [p for p, k in zip(properties, kills, strict=True) if k == 0]
    survivors = [o.name for o in outcomes if not o.failed_properties]
    notes = [f"Columns: {legend}.", "",
             "`x`: the property fails the mutant; `.`: it passes; `-`: not applicable (a capability the "
             "mutant's engine lacks). **kills alone**: mutants no other property fails."]
    notes.append("")
    notes.append(f"Properties that kill no mutant: {', '.join(f'`{p}`' for p in weak) if weak else 'none'}. "
                 f"Properties that are some mutant's only killer: "
                 + (", ".join(f"`{p}` ({', '.join(ms)})" for p, ms in sorted(alone.items())) or "none") + ".")
    if survivors:
        notes.append(f"Surviving mutants: {', '.join(survivors)}.")
    return "\n".join([*lines, "", *notes]) + "\n"


def replace_block(text: str, block: str) -> str:
    """``text`` with the part between :data:`START` and :data:`END` replaced by ``block``.

    >>> replace_block(f"a\\n{START}\\nold\\n{END}\\nb", "new\\n")
    'a\\n<!-- kill-matrix:start -->\\nnew\\n<!-- kill-matrix:end -->\\nb'
    """
    if text.count(START) != 1 or text.count(END) != 1 or text.index(START) > text.index(END):
        raise ConfigError(f"expected one {START} ... {END} block")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{block}{END}{tail}"
