"""Writing results: atomic files and directories, provenance sidecars (SPEC §9 "nothing half-written").

Every result file appears complete or not at all: it is written to a temporary file in the
same directory and renamed over the target (``os.replace`` is atomic on one filesystem).
A whole output directory (``dsi repro all``) is built in a temporary sibling directory and
renamed into place at the end, so an interrupted run leaves the previous results intact.

Every figure's numbers are saved beside it (CSV or JSON) together with a provenance record:
the configuration, the seed and the git revision of the working tree (STYLE §14).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from reference.errors import PathError
from reference.files import atomic_write_bytes, check_output_dir  # the one atomic writer

#: Formats every figure is saved in.
FIGURE_FORMATS = ("png", "pdf")


def git_revision(cwd: str | Path | None = None) -> str:
    """The git revision of the working tree (``+dirty`` when it has local changes).

    Returns ``"unknown"`` outside a git checkout or without git.
    """
    where = Path(cwd) if cwd is not None else Path(__file__).resolve().parent
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True,
                             text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=where, capture_output=True, text=True, timeout=10,
                               check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return rev + ("+dirty" if dirty else "")


def provenance(config: Mapping[str, Any], *, seed: int | None) -> dict[str, Any]:
    """The record saved beside every figure and table: config, seed and git revision."""
    return {"config": dict(config), "seed": seed, "git_revision": git_revision()}


def _to_jsonable(value: Any) -> Any:
    """Convert numpy scalars/arrays, Fractions, tuples and paths for ``json.dumps``."""
    if isinstance(value, Mapping):
        return {str(k): _to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return _to_jsonable(value.tolist())
    if type(value).__name__ == "Fraction":
        return float(value)
    return value


def to_json(obj: Any) -> str:
    """Deterministic JSON text (sorted keys, indent 2) of ``obj`` (numpy, Fractions allowed)."""
    return json.dumps(_to_jsonable(obj), indent=2, sort_keys=True, allow_nan=True) + "\n"


def atomic_write_text(path: str | Path, text: str) -> Path:
    """UTF-8 text, written atomically (:func:`reference.files.atomic_write_bytes`)."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def write_json(path: str | Path, obj: Any) -> Path:
    """Atomically write ``obj`` as JSON."""
    return atomic_write_text(path, to_json(obj))


def csv_text(rows: Sequence[Mapping[str, Any]], fieldnames: Sequence[str] | None = None) -> str:
    """CSV text of a list of dicts (header from the first row unless given).

    >>> csv_text([{"c": 0.5, "a": 1}]).splitlines()
    ['c,a', '0.5,1']
    """
    if fieldnames is None:
        fieldnames = list(rows[0].keys()) if rows else []
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(fieldnames), lineterminator="\n",
                            extrasaction="raise")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _to_jsonable(v) for k, v in row.items()})
    return buffer.getvalue()


def write_csv(path: str | Path, rows: Sequence[Mapping[str, Any]],
              fieldnames: Sequence[str] | None = None) -> Path:
    """Atomically write a list of dicts as CSV."""
    return atomic_write_text(path, csv_text(rows, fieldnames))


def save_figure(fig: Any, stem: str | Path, formats: Iterable[str] = FIGURE_FORMATS) -> list[Path]:
    """Save a matplotlib figure as ``stem.<fmt>`` for each format, each file atomically."""
    stem = Path(stem)
    written = []
    for fmt in formats:
        buffer = io.BytesIO()
        fig.savefig(buffer, format=fmt, dpi=150, bbox_inches="tight",
                    metadata={"CreationDate": None} if fmt == "pdf" else None)
        written.append(atomic_write_bytes(stem.with_suffix(f".{fmt}"), buffer.getvalue()))
    return written


#: written into every directory :func:`atomic_directory` creates: only such a directory (or an
#: empty one) is ever replaced by a later run
OUTPUT_MARKER = ".dsi-output"
#: what ``dsi repro all`` wrote before the marker existed; such a directory is recognised too
LEGACY_OUTPUT = ("REPORT.md", "claims.json")


def check_replaceable(final: str | Path) -> Path:
    """Raise ``PathError`` unless ``final`` is absent, an empty directory, or an earlier output
    of this suite: a whole-directory replacement must never delete anything else (a user's
    file, their home directory, ``--out .``)."""
    final = check_output_dir(final, what="output directory")
    if not final.exists():
        return final
    try:
        entries = {p.name for p in final.iterdir()}
    except OSError as exc:
        raise PathError(f"output directory {final} cannot be read: {exc.strerror}") from None
    if entries and OUTPUT_MARKER not in entries and not set(LEGACY_OUTPUT) <= entries:
        raise PathError(f"output directory {final} exists and was not written by dsi (no {OUTPUT_MARKER}); "
                        "refusing to replace it: remove it or choose another --out")
    return final


@contextlib.contextmanager
def atomic_directory(final: str | Path) -> Iterator[Path]:
    """Yield a fresh temporary directory; on success it replaces ``final`` as a whole.

    On an exception the temporary directory is removed and ``final`` is left untouched.
    ``final`` must be replaceable (:func:`check_replaceable`), checked before and after the work.
    """
    final = check_replaceable(final).resolve()
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    except OSError as exc:
        raise PathError(f"output directory {final} cannot be written: {exc.strerror}") from None
    try:
        yield staging
        (staging / OUTPUT_MARKER).write_text("written by dsi; the whole directory is replaced on the next run\n")
        check_replaceable(final)
        old = None
        if final.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".old", dir=final.parent))
            os.replace(final, old / final.name)
        os.replace(staging, final)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise PathError(f"cannot write output directory {final}: {exc.strerror}") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
