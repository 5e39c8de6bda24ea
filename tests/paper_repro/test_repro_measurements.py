"""The table's measurements file: the shipped rows and validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from paper_repro.measurements import TableRow, load_measurements, save_measurements
from reference.errors import ConfigError

MEASURED = dict(row_id="r", target="t", drafter="d", dataset="mbpp", target_ttft_ms=20.0,
                target_tpot_ms=10.0, drafter_ttft_ms=4.0, drafter_tpot_ms=2.0, acceptance_rate=0.5)


def test_shipped_file_lists_the_papers_ten_rows_unmeasured() -> None:
    rows = load_measurements()
    assert len(rows) == 10
    pairs = {(r.target, r.drafter) for r in rows}
    assert pairs == {
        ("lmsys/vicuna-13b-v1.3", "double7/vicuna-68m"), ("lmsys/vicuna-7b-v1.3", "double7/vicuna-68m"),
        ("bigcode/starcoder", "bigcode/tiny_starcoder_py"),
        ("microsoft/Phi-3-medium-128k-instruct", "microsoft/Phi-3-mini-128k-instruct")}
    datasets = sorted(r.dataset for r in rows)
    assert datasets.count("cnn_dailymail") == 3 and datasets.count("danielkorat/alpaca") == 3
    assert datasets.count("openai/openai_humaneval") == 2 and datasets.count("mbpp") == 2
    assert all(not r.is_measured and len(r.missing) == 5 for r in rows)


@pytest.mark.parametrize("field,value,match", [
    ("target_tpot_ms", 0.0, "must be > 0"),
    ("drafter_ttft_ms", float("nan"), "finite"),
    ("acceptance_rate", 1.2, r"\[0, 1\]"),
    ("acceptance_rate", True, "finite number"),
    ("drafter_tpot_ms", 11.0, "exceeds target TPOT"),
    ("agreement_traces", ("012",), "0 and 1"),
    ("row_id", "", "row_id"),
])
def test_invalid_rows_raise(field: str, value: object, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        TableRow(**{**MEASURED, field: value})


def test_save_then_load_round_trips(tmp_path: Path) -> None:
    row = TableRow(**MEASURED, agreement_traces=("0110", "1"))
    path = save_measurements(tmp_path / "m.json", [row])
    assert load_measurements(path) == [row]
    assert load_measurements(path)[0].traces == [(False, True, True, False), (True,)]


def test_loading_rejects_unknown_keys_and_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text('{"rows": [{"row_id": "a", "target": "t", "drafter": "d", "dataset": "x", "tpot": 1}]}')
    with pytest.raises(ConfigError, match="unknown keys"):
        load_measurements(path)
    path.write_text('{"rows": [{"row_id": "a", "target": "t", "drafter": "d", "dataset": "x"},'
                    ' {"row_id": "a", "target": "t", "drafter": "d", "dataset": "x"}]}')
    with pytest.raises(ConfigError, match="duplicate"):
        load_measurements(path)
    path.write_text("not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_measurements(path)
