"""Running the command line in-process and checking the contract of a refused input (SPEC §9).

A refused input: exit status 2, nothing on stdout, exactly one line on stderr naming the
error, no traceback, and no file created or changed under the working directory.

The tables are data: one base command line per command (valid and cheap) and the rows that
set one flag to a bad value. When a flag is renamed, only these strings change.
"""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from paper_repro.console import main as dsi_main

#: every step of ``dsi repro all`` (skipping them all still writes REPORT.md and the claims)
ALL_STEPS = ("proofs", "properties", "mutants", "runtime", "illustration", "heatmaps", "table", "open")

#: a valid, cheap command line per command; rows override one flag
BASE: dict[str, list[str]] = {
    "simulate": ["simulate", "--c", "0.5", "--acceptance", "0.5", "--lookahead", "2", "--max-new-tokens", "40",
                 "--repeats", "2"],
    "generate": ["generate", "--engine", "reference", "--max-new-tokens", "4", "--lookahead", "2", "--target-ms", "1",
                 "--drafter-ms", "0.5", "--vocab", "8"],
    "generate-runtime": ["generate", "--engine", "runtime", "--max-new-tokens", "4", "--lookahead", "2",
                         "--num-target-servers", "2", "--target-ms", "1", "--drafter-ms", "0.5", "--vocab", "8"],
    "bench": ["bench", "--max-new-tokens", "4", "--runs", "1", "--lookahead", "2", "--target-ms", "1",
              "--drafter-ms", "0.5", "--vocab", "8"],
    "heatmap": ["heatmap", "--model", "exact", "--out", "out", "--ndim", "1", "--max-new-tokens", "4",
                "--repeats", "1", "--max-lookahead", "1"],
    "repro heatmaps": ["repro", "heatmaps", "--model", "exact", "--out", "out", "--ndim", "1", "--max-new-tokens",
                       "4", "--repeats", "1", "--max-lookahead", "1"],
    "repro illustration": ["repro", "illustration", "--out", "out"],
    "repro table": ["repro", "table", "--out", "out", "--no-demo"],
    "repro all": ["repro", "all", "--out", "out", "--no-progress", *[x for s in ALL_STEPS for x in ("--skip", s)]],
    "prove": ["prove", "--list"],
    "mutants": ["mutants", "--only", "always_accept"],
}


def with_flag(argv: Sequence[str], flag: str, value: str | None) -> list[str]:
    """``argv`` with ``flag`` set to ``value`` as ``flag=value`` (so that a value starting with
    "-" stays a value), replacing the flag's first occurrence; None: the bare flag."""
    out = list(argv)
    if flag in out:
        i = out.index(flag)
        if value is None:
            return out
        del out[i : i + 2]
    return [*out, flag] if value is None else [*out, f"{flag}={value}"]


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str


def run(argv: Sequence[str], entry: Callable[[Sequence[str]], int] = dsi_main) -> Outcome:
    """Run a command line in-process; argparse's SystemExit is an exit status like any other.

    Python warnings are written to the captured stderr, as a terminal would show them."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), \
            warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            code = entry(list(argv))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 2
    shown = "".join(f"{w.category.__name__}: {w.message}\n" for w in caught)
    return Outcome(int(code), out.getvalue(), err.getvalue() + shown)


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every file (content) and directory (None) under ``root``."""
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))}


def assert_refused(outcome: Outcome, fragment: str = "") -> None:
    """Exit 2, nothing on stdout, one stderr line naming the error (and ``fragment``), no traceback."""
    lines = outcome.err.splitlines()
    assert outcome.code == 2, (outcome.code, outcome.err[-2000:])
    assert len(lines) == 1 and outcome.err.endswith("\n"), outcome.err[-2000:]
    assert "error" in lines[0] and "Traceback" not in outcome.err, lines[0]
    assert fragment in lines[0], (fragment, lines[0])
    assert outcome.out == "", outcome.out[-500:]


def assert_clean_exit(outcome: Outcome) -> None:
    """Exit 0, or a refusal that satisfies :func:`assert_refused`: never a traceback or exit 1."""
    if outcome.code != 0:
        assert_refused(outcome)
    assert "Traceback" not in outcome.err and "Warning:" not in outcome.err, outcome.err[-2000:]


@contextlib.contextmanager
def working_directory(path: Path):
    """Run with ``path`` as the working directory (relative --out paths land there)."""
    before = Path.cwd()
    os.chdir(path)
    try:
        yield path
    finally:
        os.chdir(before)
