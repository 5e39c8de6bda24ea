"""Files the command line reads and writes: typed errors, checks before work, atomic writes.

Every path a command is given goes through here, so that a bad path is a ``PathError``, a
malformed file a ``FileFormatError`` (both ``ConfigError``: exit 2 and one line on stderr,
SPEC §9), never a traceback, and nothing is left half-written:

* :func:`check_output_dir` / :func:`check_output_file`, before any work: the path names no
  existing file of the wrong kind, and a directory can be created where it would go (tried
  for real with a temporary directory, so permissions, read-only file systems and ``/proc``
  all count);
* :func:`atomic_write_bytes` / :func:`atomic_write_text`: a temporary file in the target's
  directory, renamed over the target (complete or absent);
* :func:`staged_directory`: every file of one command is written into a staging directory and
  moved into the output directory at the end; on failure none is;
* :func:`read_text` / :func:`read_json`: a missing, unreadable, non-UTF-8 or malformed file
  names the path and what is wrong with it;
* :func:`to_json` / :func:`write_json`: deterministic JSON (numpy values and Fractions allowed);
  :func:`git_revision`: the revision stamped into result files.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from reference.errors import FileFormatError, PathError

PathLike = str | os.PathLike


def _as_path(path: PathLike, what: str) -> Path:
    text = os.fspath(path)
    if not text or "\x00" in text:
        raise PathError(f"{what} must be a non-empty path without NUL characters, got {text!r}")
    try:
        os.fsencode(text)
    except UnicodeEncodeError:
        raise PathError(f"{what} {text!r} cannot be encoded as a file name") from None
    return Path(text)


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _existing_ancestor(path: Path) -> Path:
    """``path`` or its nearest existing ancestor (``.`` for a relative path with none)."""
    for candidate in (path, *path.parents):
        if candidate.exists() or candidate.is_symlink():
            return candidate
    return Path(".")


def check_output_dir(path: PathLike, *, what: str = "output directory") -> Path:
    """Raise ``PathError`` unless ``path`` is, or can be created as, a writable directory."""
    path = _as_path(path, what)
    try:
        anchor = _existing_ancestor(path.absolute())
        if anchor == path.absolute() and not anchor.is_dir():
            raise PathError(f"{what} {path} exists and is not a directory")
        if not anchor.is_dir():
            raise PathError(f"{what} {path}: {anchor} is not a directory")
        probe = tempfile.mkdtemp(prefix=".dsi-write-check.", dir=anchor)
        os.rmdir(probe)
    except OSError as exc:
        raise PathError(f"{what} {path} cannot be written: {_reason(exc)}") from None
    return path


def check_output_file(path: PathLike, *, what: str = "output file") -> Path:
    """Raise ``PathError`` unless ``path`` can be written as a file (not a directory)."""
    path = _as_path(path, what)
    if path.is_dir():
        raise PathError(f"{what} {path} is a directory")
    check_output_dir(path.parent if str(path.parent) else Path("."), what=f"the directory of {what} {path}")
    return path


def atomic_write_bytes(path: PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temporary file in the same directory and a rename (the
    file gets the mode a plain ``open`` would give it under the current umask)."""
    path = _as_path(path, "output file")
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # as a plain open() would (mkstemp's 0600 hides results)
        os.replace(tmp, path)
    except OSError as exc:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise PathError(f"cannot write {path}: {_reason(exc)}") from None
    except BaseException:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise
    return path


def atomic_write_text(path: PathLike, text: str) -> Path:
    """UTF-8 text version of :func:`atomic_write_bytes`."""
    return atomic_write_bytes(path, text.encode("utf-8"))


@contextlib.contextmanager
def staged_directory(out: PathLike, *, what: str = "output directory") -> Iterator[Path]:
    """Yield a staging directory; on success its files move into ``out`` (created if needed,
    same-named files replaced, other files kept); on an exception none of them does."""
    out = check_output_dir(out, what=what)
    anchor = _existing_ancestor(out.absolute())
    try:
        staging = Path(tempfile.mkdtemp(prefix=".dsi-staging.", dir=anchor))
    except OSError as exc:
        raise PathError(f"{what} {out} cannot be written: {_reason(exc)}") from None
    try:
        yield staging
        for source in sorted(p for p in staging.rglob("*") if not p.is_dir()):
            target = out / source.relative_to(staging)
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(source, target)
            except OSError as exc:
                if exc.errno == errno.EXDEV:  # the staging directory is on another file system
                    atomic_write_bytes(target, source.read_bytes())
                    continue
                raise PathError(f"cannot write {target}: {_reason(exc)}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def read_text(path: PathLike, *, what: str = "input file") -> str:
    """The UTF-8 text of ``path``; typed errors for a missing, unreadable or non-UTF-8 file."""
    path = _as_path(path, what)
    try:
        return path.read_text("utf-8")
    except IsADirectoryError:
        raise PathError(f"{what} {path} is a directory") from None
    except OSError as exc:
        raise PathError(f"cannot read {what} {path}: {_reason(exc)}") from None
    except UnicodeDecodeError as exc:
        raise FileFormatError(f"{what} {path} is not UTF-8 text (byte {exc.start})") from None


def read_json(path: PathLike, *, what: str = "JSON file") -> Any:
    """The JSON value in ``path``; malformed or truncated JSON is a ``FileFormatError``."""
    text = read_text(path, what=what)
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, or an int too long to parse
        raise FileFormatError(f"{what} {path} is not valid JSON: {exc}") from None


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


def to_jsonable(value: Any) -> Any:
    """Convert numpy scalars/arrays, Fractions, tuples and paths for ``json.dumps``."""
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return to_jsonable(value.tolist())
    if type(value).__name__ == "Fraction":
        return float(value)
    return value


def to_json(obj: Any) -> str:
    """Deterministic JSON text (sorted keys, indent 2) of ``obj`` (numpy, Fractions allowed)."""
    return json.dumps(to_jsonable(obj), indent=2, sort_keys=True, allow_nan=True) + "\n"


def write_json(path: str | Path, obj: Any) -> Path:
    """Atomically write ``obj`` as JSON."""
    return atomic_write_text(path, to_json(obj))
