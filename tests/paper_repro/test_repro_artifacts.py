"""Atomic writes, atomic directories and provenance."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from paper_repro import artifacts
from reference.errors import PathError
from reference.files import write_json


def test_atomic_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "x.json"
    write_json(target, {"a": np.float64(0.5), "b": Fraction(1, 4), "c": np.arange(2)})
    assert json.loads(target.read_text()) == {"a": 0.5, "b": 0.25, "c": [0, 1]}
    assert [p.name for p in target.parent.iterdir()] == ["x.json"]


def test_csv_with_no_rows_but_fieldnames_writes_the_header(tmp_path: Path) -> None:
    path = artifacts.write_csv(tmp_path / "t.csv", [], ["row_id", "c"])
    assert path.read_text() == "row_id,c\n"


def test_atomic_directory_replaces_the_old_directory_on_success(tmp_path: Path) -> None:
    final = tmp_path / "results"
    final.mkdir()
    (final / "old.txt").write_text("old")
    (final / artifacts.OUTPUT_MARKER).write_text("")  # an earlier run's output
    with artifacts.atomic_directory(final) as staging:
        (staging / "new.txt").write_text("new")
        assert not (final / "new.txt").exists()  # nothing visible before the rename
    assert sorted(p.name for p in final.iterdir()) == sorted([artifacts.OUTPUT_MARKER, "new.txt"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results"]


@pytest.mark.parametrize("kind", ["file", "foreign directory"])
def test_atomic_directory_never_replaces_what_dsi_did_not_write(tmp_path: Path, kind: str) -> None:
    """``dsi repro all --out ~`` (or a file) used to move the old one away and delete it."""
    final = tmp_path / "precious"
    if kind == "file":
        final.write_text("keep")
    else:
        final.mkdir()
        (final / "notes.txt").write_text("keep")
    before = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    with pytest.raises(PathError, match=r"not a directory|not written by dsi"), artifacts.atomic_directory(final):
        raise AssertionError("the body must not run")
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == before


def test_atomic_directory_accepts_the_legacy_report_layout(tmp_path: Path) -> None:
    final = tmp_path / "results"
    final.mkdir()
    for name in artifacts.LEGACY_OUTPUT:
        (final / name).write_text("old")
    with artifacts.atomic_directory(final) as staging:
        (staging / "REPORT.md").write_text("new")
    assert (final / "REPORT.md").read_text() == "new" and not (final / "claims.json").exists()


def test_atomic_directory_keeps_the_old_directory_on_failure(tmp_path: Path) -> None:
    final = tmp_path / "results"
    final.mkdir()
    (final / "old.txt").write_text("old")
    (final / artifacts.OUTPUT_MARKER).write_text("")
    with pytest.raises(RuntimeError), artifacts.atomic_directory(final) as staging:
        (staging / "half.txt").write_text("half")
        raise RuntimeError("interrupted")
    assert sorted(p.name for p in final.iterdir()) == sorted([artifacts.OUTPUT_MARKER, "old.txt"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results"]


def test_provenance_records_config_seed_and_revision() -> None:
    record = artifacts.provenance({"ndim": 20}, seed=42)
    assert record["config"] == {"ndim": 20}
    assert record["seed"] == 42
    assert isinstance(record["git_revision"], str) and record["git_revision"]


def test_save_figure_writes_png_and_pdf(tmp_path: Path) -> None:
    from matplotlib.figure import Figure

    fig = Figure()
    fig.add_subplot().plot([0, 1], [0, 1])
    paths = artifacts.save_figure(fig, tmp_path / "f")
    assert [p.name for p in paths] == ["f.png", "f.pdf"]
    assert paths[0].read_bytes()[:4] == b"\x89PNG"
    assert paths[1].read_bytes()[:4] == b"%PDF"
