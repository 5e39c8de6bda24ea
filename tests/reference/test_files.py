"""reference.files: typed errors for bad paths, atomic writes, staged output directories."""

from __future__ import annotations

from pathlib import Path

import pytest

from reference import files
from reference.errors import FileFormatError, PathError


def test_staged_directory_moves_every_file_in_at_the_end_and_keeps_other_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    (out / "table.csv").write_text("old")
    with files.staged_directory(out) as staging:
        (staging / "table.csv").write_text("new")
        (staging / "sub").mkdir()
        (staging / "sub" / "x.json").write_text("{}")
        assert (out / "table.csv").read_text() == "old"  # nothing visible before the end
    assert {str(p.relative_to(out)): p.read_text() for p in out.rglob("*") if p.is_file()} == {
        "mine.txt": "keep", "table.csv": "new", "sub/x.json": "{}"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no staging directory left


def test_staged_directory_writes_nothing_when_the_command_fails(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), files.staged_directory(tmp_path / "new" / "out") as staging:
        (staging / "half.csv").write_text("half")
        raise RuntimeError("the figure failed")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("path", "fragment"), [
    ("/proc/dsi/out", "cannot be written"), ("afile", "exists and is not a directory"),
    ("afile/sub", "is not a directory"), ("", "non-empty"), ("a\x00b", "NUL"), ("\ud800", "cannot be encoded")])
def test_check_output_dir_refuses_what_cannot_be_a_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               path: str, fragment: str) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("x")
    with pytest.raises(PathError, match=fragment):
        files.check_output_dir(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_check_output_file_refuses_a_directory(tmp_path: Path) -> None:
    with pytest.raises(PathError, match="is a directory"):
        files.check_output_file(tmp_path)
    assert files.check_output_file(tmp_path / "new" / "x.json") == tmp_path / "new" / "x.json"


@pytest.mark.parametrize(("data", "error", "fragment"), [
    (b'{"a": 1', FileFormatError, "not valid JSON"), (b"\xff\xfe", FileFormatError, "not UTF-8"),
    (b"[" * 100_000, FileFormatError, "not valid JSON"), (b"1" * 5000, FileFormatError, "not valid JSON")])
def test_read_json_names_what_is_wrong(tmp_path: Path, data: bytes, error: type, fragment: str) -> None:
    path = tmp_path / "x.json"
    path.write_bytes(data)
    with pytest.raises(error, match=fragment):
        files.read_json(path)


def test_read_text_of_a_missing_file_or_a_directory(tmp_path: Path) -> None:
    with pytest.raises(PathError, match="cannot read"):
        files.read_text(tmp_path / "missing")
    with pytest.raises(PathError, match="is a directory"):
        files.read_text(tmp_path)
