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
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from reference.errors import PathError
from reference.files import (  # the one atomic writer, JSON form and revision stamp
    atomic_write_bytes,
    atomic_write_text,
    check_output_dir,
    git_revision,
    to_jsonable,
)

#: Formats every figure is saved in.
FIGURE_FORMATS = ("png", "pdf")


def provenance(config: Mapping[str, Any], *, seed: int | None) -> dict[str, Any]:
    """The record saved beside every figure and table: config, seed and git revision."""
    return {"config": dict(config), "seed": seed, "git_revision": git_revision()}


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
        writer.writerow({k: to_jsonable(v) for k, v in row.items()})
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
