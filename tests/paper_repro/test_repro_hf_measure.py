"""The Hugging Face measurement pipeline on tiny random-init models (no downloads)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from paper_repro import hf_measure
from paper_repro.measurements import TableRow, load_measurements
from paper_repro.tiny_models import char_tokenizer, save_tiny_pair, tiny_pair
from reference.errors import ConfigError, VocabularyMismatchError

ROW = TableRow(row_id="tiny", target="t", drafter="d", dataset="mbpp")


@pytest.fixture(scope="module")
def pair() -> tuple:
    return tiny_pair(target_layers=2, width=32)


def test_tpot_follows_the_authors_formula() -> None:
    assert hf_measure.tpot_from_times(0.5, 2.4, 20) == pytest.approx(0.1)
    with pytest.raises(ConfigError, match="at least 2"):
        hf_measure.tpot_from_times(0.1, 0.2, 1)


def test_a_model_always_agrees_with_itself(pair: tuple) -> None:
    target, _, tokenizer = pair
    traces = hf_measure.agreement_traces(target, target, tokenizer, ["abc", "def(x):"], new_tokens=5)
    assert traces == [(True,) * 5, (True,) * 5]


def test_measure_pair_fills_every_number_and_the_traces(pair: tuple, monkeypatch: pytest.MonkeyPatch) -> None:
    """Wall-clock timing is replaced by fixed (TTFT, generate time) per model, so the numbers are
    exact: target TTFT 10 ms, TPOT (40 − 10) / (4 − 1) = 10 ms; drafter 2 ms and (8 − 2) / 3 = 2 ms."""
    target, drafter, tokenizer = pair
    times = {id(target): (0.010, 0.040), id(drafter): (0.002, 0.008)}
    monkeypatch.setattr(hf_measure, "time_prompt", lambda model, ids, n: times[id(model)])
    prompts = ["abc", "x = 1\n", "def f(y):", "hello"]
    measured = hf_measure.measure_pair(ROW, target, tokenizer, drafter, tokenizer, prompts, new_tokens=4)
    assert measured.row_id == "tiny"
    assert measured.agreement_traces is not None and len(measured.agreement_traces) == 4
    assert all(len(t) == 4 for t in measured.agreement_traces)
    assert (measured.target_ttft_ms, measured.target_tpot_ms) == (pytest.approx(10.0), pytest.approx(10.0))
    assert (measured.drafter_ttft_ms, measured.drafter_tpot_ms) == (pytest.approx(2.0), pytest.approx(2.0))


def test_a_tokenizer_with_another_vocabulary_is_refused(pair: tuple) -> None:
    target, drafter, tokenizer = pair
    other = char_tokenizer()
    other.add_tokens(["<extra>"])
    with pytest.raises(VocabularyMismatchError, match="tokenizers differ"):
        hf_measure.measure_pair(ROW, target, tokenizer, drafter, other, ["abc"], new_tokens=3)


def test_prompts_longer_than_the_context_keep_their_end(pair: tuple) -> None:
    _, _, tokenizer = pair
    ids = hf_measure.encode(tokenizer, "abcdef", max_tokens=3, device="cpu")
    assert tokenizer.decode(ids[0]).replace(" ", "") == "def"


def test_load_causal_lm_reads_saved_models(tmp_path: Path) -> None:
    target_dir, _ = save_tiny_pair(tmp_path, target_layers=1, width=16)
    model, tokenizer = hf_measure.load_causal_lm(str(target_dir), dtype="float32", device="cpu")
    assert type(model).__name__ == "GPT2LMHeadModel" and not model.training
    assert tokenizer.get_vocab() == char_tokenizer().get_vocab()


def test_missing_model_is_a_typed_error(tmp_path: Path) -> None:
    with pytest.raises(hf_measure.MeasurementUnavailable, match="cannot load model"):
        hf_measure.load_causal_lm(str(tmp_path / "nowhere"), dtype="float32")
    with pytest.raises(ConfigError, match="dtype"):
        hf_measure.load_causal_lm(str(tmp_path / "nowhere"), dtype="not_a_dtype")


def test_load_prompts_without_the_datasets_package_is_a_typed_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "datasets", None)
    with pytest.raises(hf_measure.MeasurementUnavailable, match="datasets"):
        hf_measure.load_prompts("mbpp")
    with pytest.raises(ConfigError, match="unknown dataset"):
        hf_measure.load_prompts("imagenet")


def test_every_table_dataset_has_builtin_prompts_and_a_hub_spec() -> None:
    for row in load_measurements():
        assert row.dataset in hf_measure.DATASETS
        assert len(hf_measure.builtin_prompts(row.dataset)) >= 3


def test_prompt_formats_use_the_dataset_fields() -> None:
    fmt = hf_measure.DATASETS
    mbpp = fmt["mbpp"].format({"text": "sum two", "test_list": ["assert f(1) == 2"]})
    assert "Task: sum two\nTest: assert f(1) == 2" in mbpp
    assert "### Input:" not in fmt["danielkorat/alpaca"].format({"instruction": "Do", "input": " "})
    assert "### Input:\nthis" in fmt["danielkorat/alpaca"].format({"instruction": "Do", "input": "this"})
    assert fmt["openai/openai_humaneval"].format({"prompt": "def f():\n"}) == "def f():\n"
