"""``dsi repro ...`` and ``dsi heatmap`` through the root parser."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from paper_repro.console import main


def run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_illustration_json_is_the_documented_object(capsys: pytest.CaptureFixture) -> None:
    code, out, _ = run(capsys, "repro", "illustration", "--json")
    assert code == 0
    assert json.loads(out) == {
        "times": [14, 32, 56, 64],
        "best": {"nonsi": [2, 4, 8, 9], "si": [2, 8, 14, 16], "dsi": [8, 26, 50, 58]},
        "worst": {"nonsi": [2, 4, 8, 9], "si": [1, 4, 7, 8], "dsi": [2, 4, 8, 9]},
    }
    assert out.count("\n") == 1


def test_table_names_the_rows_that_lack_measurements(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    code, out, _ = run(capsys, "repro", "table", "--no-demo", "--out", str(tmp_path))
    assert code == 0
    assert "rows lacking measurements" in out and "phi3-alpaca" in out
    code, out, _ = run(capsys, "repro", "table", "--no-demo", "--out", str(tmp_path), "--json")
    assert len(json.loads(out)["unmeasured"]) == 10
    assert (tmp_path / "table" / "table.csv").read_text().startswith("row_id,kind,")


def test_heatmap_writes_csvs_and_figures(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    code, out, _ = run(capsys, "heatmap", "--model", "exact", "--ndim", "2", "--tokens", "30",
                       "--repeats", "1", "--max-lookahead", "3", "--out", str(tmp_path), "--json")
    assert code == 0
    data = json.loads(out)
    assert data["model"] == "exact" and data["panels"]["dsi_over_si"]["min"] >= 1 - 1e-9
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["best_k.csv", "lookahead.pdf", "lookahead.png", "panels.pdf", "panels.png",
                     "rows.csv", "summary.json"]
    assert len((tmp_path / "rows.csv").read_text().splitlines()) == 1 + 3 * 3 * 3


@pytest.mark.parametrize("argv,fragment", [
    (["heatmap", "--model", "exact", "--out", "x", "--ndim", "0"], "--ndim"),
    (["heatmap", "--model", "fast", "--out", "x"], "--model"),
    (["heatmap", "--model", "exact"], "--out"),
    (["repro", "heatmaps", "--tokens", "-3"], "--tokens"),
    (["repro", "heatmaps", "--seed", "-1", "--out", "x"], "seed"),
    (["repro", "table", "--measurements", "/nonexistent.json"], "cannot read"),
    (["repro", "all", "--skip", "astrology", "--out", "x"], "unknown step"),
    (["repro", "all", "--measurements", "/nonexistent.json", "--out", "x"], "cannot read"),
    (["repro", "nothing"], "invalid choice"),
])
def test_invalid_input_exits_2_with_one_line(argv: list, fragment: str, capsys: pytest.CaptureFixture,
                                             tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse usage errors
        code = exc.code
    _, err = capsys.readouterr()
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and fragment in err
