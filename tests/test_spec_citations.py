"""Every "SPEC §x" citation in the code and the docs resolves to a heading of docs/spec.md.

A citation is "SPEC" followed by one or more section references: ``§4.3``, ranges
(``§4.1-4.3``, ``§3–§4``), lists (``§9, §10``, ``§3 and §10``), and optionally a numbered item
of the section (``§4.3 step 6``, ``§3 consequence 1``, ``§3, note 5``) or theorem ids of §6
(``§6 T4, T9``). A section resolves when docs/spec.md has a heading ``§<number> ...``; a
numbered item when that section's body (up to the next heading of the same or a higher level)
has a list item ``<n>. ``; a theorem id when §6's table has a row for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "docs" / "spec.md"

_REF = r"\d+(?:\.\d+)*"
_ITEM = r"(?:,?\s+(?P<word>steps?|consequences?|notes?|items?)\s+(?P<n>\d+)(?:\s*[–-]\s*(?P<n2>\d+))?)?"
_THEOREMS = r"(?:\s+(?P<theorems>T\d\w*(?:\s*[,/]\s*T\d\w*)*))?"
#: one section reference, with named parts
ONE_REFERENCE = re.compile(rf"§(?P<a>{_REF})(?:\s*[–-]\s*§?(?P<b>{_REF}))?{_ITEM}{_THEOREMS}")
_ONE = re.sub(r"\?P<\w+>", "?:", ONE_REFERENCE.pattern)  # the same without group names
#: "SPEC" and a list of references
CITATION = re.compile(rf"SPEC\s+(?P<refs>{_ONE}(?:\s*(?:,|and)\s*{_ONE})*)")


@dataclass(frozen=True)
class Section:
    number: str
    level: int
    title: str
    body: str


def spec_sections(text: str) -> dict[str, Section]:
    """``{number: Section}`` for every Markdown heading ``#... §<number> title``."""
    headings = [(m.start(), len(m.group(1)), m.group(2), m.group(3))
                for m in re.finditer(rf"^(#+)\s+§({_REF})\s+(.*)$", text, flags=re.M)]
    all_headings = [(m.start(), len(m.group(1))) for m in re.finditer(r"^(#+)\s", text, flags=re.M)]
    sections = {}
    for start, level, number, title in headings:
        end = next((s for s, lv in all_headings if s > start and lv <= level), len(text))
        sections[number] = Section(number, level, title, text[start:end])
    return sections


def unresolved(text: str, sections: dict[str, Section]) -> list[str]:
    """The citations in ``text`` that do not resolve, each as the cited text."""
    problems = []
    for match in CITATION.finditer(text):
        for ref in ONE_REFERENCE.finditer(match.group("refs")):
            numbers = [ref.group("a")] + ([ref.group("b")] if ref.group("b") else [])
            for number in numbers:
                if number not in sections:
                    problems.append(f"§{number} (in {match.group(0)!r})")
            section = sections.get(ref.group("a"))
            if section is None:
                continue
            if ref.group("n"):
                last = int(ref.group("n2") or ref.group("n"))
                for n in range(int(ref.group("n")), last + 1):
                    if not re.search(rf"^\s*{n}\.\s", section.body, flags=re.M):
                        problems.append(f"§{section.number} {ref.group('word')} {n} (in {match.group(0)!r})")
            if ref.group("theorems"):
                for theorem in re.split(r"\s*[,/]\s*", ref.group("theorems")):
                    if not re.search(rf"^\|\s*{re.escape(theorem)}\b", section.body, flags=re.M):
                        problems.append(f"§{section.number} {theorem} (in {match.group(0)!r})")
    return problems


def cited_files() -> list[Path]:
    """Every Python and Markdown file of the repository (hidden directories excluded)."""
    files = []
    for pattern in ("**/*.py", "**/*.md"):
        for path in ROOT.glob(pattern):
            if any(part.startswith(".") for part in path.relative_to(ROOT).parts) or path == Path(__file__):
                continue  # (this file holds made-up citations on purpose)
            files.append(path)
    return sorted(files)


SECTIONS = spec_sections(SPEC.read_text(encoding="utf-8"))


def test_the_spec_keeps_the_numbering_of_the_brief() -> None:
    expected = {str(n) for n in range(1, 12)} | {"4.1", "4.2", "4.3", "4.4"}
    assert expected <= set(SECTIONS)
    steps = [n for n in range(1, 10) if re.search(rf"^{n}\. \*\*", SECTIONS["4.3"].body, flags=re.M)]
    assert steps == list(range(1, 10))


def test_the_parser_finds_each_form_of_citation() -> None:
    text = ("SPEC §4.3 step 6; (SPEC §3, consequence 4); SPEC §9, §10; SPEC §4.1-4.3 and SPEC §3–§4, §9–§10; "
            "SPEC §6 T5/T6/T9, SPEC\n    §10.")
    cited = [ref.group(0) for m in CITATION.finditer(text) for ref in ONE_REFERENCE.finditer(m.group("refs"))]
    assert cited == ["§4.3 step 6", "§3, consequence 4", "§9", "§10", "§4.1-4.3", "§3–§4", "§9–§10",
                     "§6 T5/T6/T9", "§10"]
    assert unresolved(text, SECTIONS) == []


@pytest.mark.parametrize("made_up", ["SPEC §4.7", "SPEC §17", "SPEC §4.3 step 12", "SPEC §3 consequence 9",
                                     "SPEC §6 T42", "SPEC §9, §4.9", "SPEC §3–§25"])
def test_a_made_up_citation_does_not_resolve(made_up: str) -> None:
    assert len(unresolved(f"see {made_up} for details", SECTIONS)) == 1


def test_every_citation_in_the_repository_resolves() -> None:
    problems, count = [], 0
    for path in cited_files():
        text = path.read_text(encoding="utf-8")
        count += len(CITATION.findall(text))
        problems += [f"{path.relative_to(ROOT)}: {p}" for p in unresolved(text, SECTIONS)]
    assert count > 100  # the code cites the spec about 130 times; a broken pattern would find none
    assert problems == [], "\n".join(problems)
