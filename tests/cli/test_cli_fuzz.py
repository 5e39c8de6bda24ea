"""Fuzzed command-line inputs and loaded files: a typed error (exit 2, one line) or success,
never a traceback, never a half-written file (issue 16 item 4).

Hypothesis draws numbers (huge, tiny, negative, non-finite, not numbers at all), prompts,
unicode and unwritable paths, truncated and malformed measurement JSON, and corrupted model
checkpoints (safetensors and config.json). The commands run in-process in a temporary
working directory; derandomized in CI (profile ``ci``), fresh seeds under ``thorough``.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from cli_harness import BASE, assert_clean_exit, assert_refused, run, snapshot, with_flag, working_directory
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from paper_repro import artifacts
from paper_repro.measurements import TableRow, load_measurements
from properties.profiles import examples
from reference.errors import ConfigError, FileFormatError, PathError
from reference.models import parse_token_ids

FIXTURE_OK = [HealthCheck.function_scoped_fixture]

# ---------------------------------------------------------------- numbers

HUGE = st.one_of(st.integers(10**6 + 1, 10**40).map(str),
                 st.sampled_from(["1e400", "-1e400", "9" * 5000, "1" + "0" * 30]))
TINY = st.one_of(st.integers(-(10**30), 0).map(str), st.sampled_from(["-0.0", "0.0", "5e-324", "-5e-324", "1e-400"]),
                 st.floats(-1e-300, 1e-300).map(repr))
NOT_FINITE = st.sampled_from(["nan", "-nan", "inf", "-inf", "NaN", "Infinity"])
GARBAGE = st.text(max_size=12)
NUMBERS = st.one_of(HUGE, TINY, NOT_FINITE, GARBAGE)

#: the numeric flags fuzzed per command (the cheap commands; the table covers the others)
NUMERIC_FLAGS = {
    "simulate": ["--c", "--acceptance", "--a", "--lookahead", "-k", "--num-target-servers", "--sp",
                 "--max-new-tokens", "--tokens", "--repeats", "--seed"],
    "generate": ["--vocab", "--acceptance", "-a", "--max-new-tokens", "-S", "--lookahead", "--k",
                 "--num-target-servers", "-N", "--seed", "--temperature", "--top-k",
                 "--top-p", "--target-ms", "--drafter-ms", "--target-prefill-ms", "--drafter-prefill-ms"],
    "heatmap": ["--ndim", "--num-target-servers", "--sp", "--max-new-tokens", "-S", "--repeats", "--max-lookahead"],
}
COMMAND_FLAG = st.sampled_from([(command, flag) for command, flags in NUMERIC_FLAGS.items() for flag in flags])


@example(command_flag=("generate", "--temperature"), value="5e-324")
@example(command_flag=("generate", "--drafter-ms"), value="5e-324")
@example(command_flag=("simulate", "--c"), value="5e-324")
@settings(max_examples=examples(150), suppress_health_check=FIXTURE_OK)
@given(command_flag=COMMAND_FLAG, value=NUMBERS)
def test_fuzzed_numbers_are_refused_or_run(tmp_path: Path, command_flag: tuple[str, str], value: str) -> None:
    command, flag = command_flag
    workdir = tmp_path / "w"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir()
    with working_directory(workdir):
        outcome = run(with_flag(BASE[command], flag, value))
    assert_clean_exit(outcome)
    if outcome.code == 2:
        assert list(workdir.iterdir()) == []  # nothing written


# ---------------------------------------------------------------- prompts


@example(text="1,2,3")
@example(text="١,٢")  # other scripts' digits are digits to int()
@example(text="9" * 5000)
@example(text="\udcff")
@settings(max_examples=examples(200))
@given(text=st.one_of(st.text(max_size=20), st.lists(st.integers(-5, 10**20), max_size=6).map(
    lambda ids: ",".join(map(str, ids)))))
def test_parse_token_ids_returns_ints_or_a_config_error(text: str) -> None:
    try:
        ids = parse_token_ids(text)
    except ConfigError as exc:
        assert "--prompt must be comma-separated integers" in str(exc)
    else:
        assert all(isinstance(i, int) for i in ids)


@settings(max_examples=examples(40), suppress_health_check=FIXTURE_OK)
@given(text=st.one_of(st.text(max_size=12), st.lists(st.integers(-3, 12), max_size=5).map(
    lambda ids: ",".join(map(str, ids)))))
def test_fuzzed_prompts_are_refused_or_generate(tmp_path: Path, text: str) -> None:
    with working_directory(tmp_path):
        outcome = run(with_flag(BASE["generate"], "--prompt", text))
    assert_clean_exit(outcome)


# ---------------------------------------------------------------- paths

NAME = st.text(st.characters(blacklist_characters="/\x00", blacklist_categories=("Cs",)), min_size=1, max_size=40)
ODD = st.sampled_from(["\udcff", "\ud800", "a\x00b", "n" * 300, "afile/x", "/proc/dsi/out", "", ".", "..", "adir"])


@example(name="résultats ☃")
@example(name="\ud800")
@example(name="n" * 300)
@settings(max_examples=examples(40), suppress_health_check=FIXTURE_OK)
@given(name=st.one_of(NAME, ODD))
def test_fuzzed_output_directories_are_written_whole_or_not_at_all(tmp_path: Path, name: str) -> None:
    """``dsi repro all --out NAME`` (every step skipped: it still writes the report): either
    exit 0 with the whole directory in place, or a refusal with the working directory unchanged."""
    workdir = tmp_path / "w"
    shutil.rmtree(workdir, ignore_errors=True)
    (workdir / "adir").mkdir(parents=True)
    (workdir / "adir" / "notes.txt").write_text("keep")
    (workdir / "afile").write_text("keep")
    with working_directory(workdir):
        before = snapshot(workdir)
        outcome = run(with_flag(BASE["repro all"], "--out", name))
    assert_clean_exit(outcome)
    after = snapshot(workdir)
    if outcome.code == 2:
        assert after == before
        return
    out = (workdir / name).resolve()
    assert {p.name for p in out.iterdir()} == {artifacts.OUTPUT_MARKER, "REPORT.md", "claims.csv", "claims.json"}
    assert {k: v for k, v in after.items() if k in before} == before  # nothing else changed
    assert not [k for k in after if ".tmp" in k or ".dsi-staging" in k]


@settings(max_examples=examples(15), suppress_health_check=FIXTURE_OK)
@given(name=st.one_of(NAME, ODD))
def test_fuzzed_staged_output_directories(tmp_path: Path, name: str) -> None:
    """``dsi repro table --out NAME`` (staged: files move into an existing directory at the end)."""
    workdir = tmp_path / "w"
    shutil.rmtree(workdir, ignore_errors=True)
    (workdir / "adir").mkdir(parents=True)
    (workdir / "adir" / "notes.txt").write_text("keep")
    (workdir / "afile").write_text("keep")
    with working_directory(workdir):
        before = snapshot(workdir)
        outcome = run(with_flag(with_flag(BASE["repro table"], "--out", name), "--json", None))
    assert_clean_exit(outcome)
    after = snapshot(workdir)
    if outcome.code == 2:
        assert after == before
        return
    assert {k: v for k, v in after.items() if k in before} == before  # other files kept
    table = (workdir / name / "table").resolve()
    assert {p.name for p in table.iterdir()} == {"measurements_used.json", "table.csv", "table.json"}
    assert not [k for k in after if ".dsi-staging" in k or ".tmp" in k]


# ---------------------------------------------------------------- measurement files

SHIPPED = (Path(__file__).resolve().parents[2] / "paper_repro" / "data" / "table_measurements.json").read_bytes()
JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12)
ROW_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-3, 10**20), st.floats(allow_nan=True),
                       st.text(max_size=8), st.lists(st.text("01x", max_size=6), max_size=3),
                       st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
ROW = st.dictionaries(st.sampled_from([*TableRow.__dataclass_fields__, "unknown"]), ROW_VALUES, max_size=10)


MEASUREMENT_BYTES = st.one_of(
    st.integers(0, len(SHIPPED) - 1).map(lambda cut: SHIPPED[:cut]),  # truncated
    JSON_VALUES.map(lambda v: json.dumps(v).encode()),
    st.lists(ROW, max_size=3).map(lambda rows: json.dumps({"rows": rows}).encode()),
    st.binary(max_size=64),
)


@example(blob=b"")
@example(blob=b"\xff\xfe{")
@example(blob=b"[" * 100_000)
@example(blob=b'{"rows": [' + b"1" * 5000 + b"]}")
@example(blob=json.dumps({"rows": [{"row_id": "r", "target": "t", "drafter": "d", "dataset": "x",
                                   "agreement_traces": ["10", 5]}]}).encode())
@settings(max_examples=examples(300), suppress_health_check=FIXTURE_OK)
@given(blob=MEASUREMENT_BYTES)
def test_fuzzed_measurement_files_load_or_raise_a_typed_error(tmp_path: Path, blob: bytes) -> None:
    path = tmp_path / "m.json"
    path.write_bytes(blob)
    try:
        rows = load_measurements(path)
    except ConfigError as exc:  # FileFormatError, PathError, or a row's own ConfigError: exit 2 in the CLI
        event(f"refused: {type(exc).__name__}")
        return
    event("loaded")
    assert all(isinstance(r, TableRow) for r in rows)


@settings(max_examples=examples(10), suppress_health_check=FIXTURE_OK)
@given(blob=MEASUREMENT_BYTES)
def test_fuzzed_measurement_files_on_the_command_line(tmp_path: Path, blob: bytes) -> None:
    workdir = tmp_path / "w"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir()
    (workdir / "m.json").write_bytes(blob)
    with working_directory(workdir):
        before = snapshot(workdir)
        outcome = run([*BASE["repro table"], "--measurements", "m.json", "--json"])
    assert_clean_exit(outcome)
    if outcome.code == 2:
        assert snapshot(workdir) == before


# ---------------------------------------------------------------- model files


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=20, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                         num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=64,
                                         eos_token_id=None, bos_token_id=None))
    path = tmp_path_factory.mktemp("checkpoint") / "tiny"
    model.save_pretrained(path)
    return path


CORRUPTION = st.tuples(
    st.sampled_from(["model.safetensors", "config.json"]),
    st.sampled_from(["truncate", "overwrite", "replace", "delete"]),
    st.integers(0, 2**31), st.binary(min_size=1, max_size=32))


def _corrupt(checkpoint: Path, where: Path, corruption: tuple[str, str, int, bytes]) -> None:
    name, how, offset, junk = corruption
    shutil.rmtree(where, ignore_errors=True)
    shutil.copytree(checkpoint, where)
    target = where / name
    data = target.read_bytes()
    offset %= max(len(data), 1)
    if how == "truncate":
        target.write_bytes(data[:offset])
    elif how == "overwrite":
        target.write_bytes(data[:offset] + junk + data[offset + len(junk):])
    elif how == "replace":
        target.write_bytes(junk)
    else:
        target.unlink()


@example(corruption=("model.safetensors", "overwrite", 0, b"\xff" * 8))  # header length 2**64 - 1
@example(corruption=("model.safetensors", "overwrite", 8, b"[]"))  # header that is not an object
@example(corruption=("config.json", "replace", 0, b'{"model_type": "llama", "vocab_size": -4}'))
@settings(max_examples=examples(15), suppress_health_check=FIXTURE_OK)
@given(corruption=CORRUPTION)
def test_corrupted_checkpoints_load_or_raise_a_typed_error(tiny_checkpoint: Path, tmp_path: Path,
                                                           corruption: tuple[str, str, int, bytes]) -> None:
    from gpu_runtime.hf import HFCausalLM, load_pretrained

    where = tmp_path / "corrupt"
    _corrupt(tiny_checkpoint, where, corruption)
    try:
        model = load_pretrained(str(where), dtype="float32")
    except (FileFormatError, PathError) as exc:
        event(f"refused: {type(exc).__name__}")
        return
    event("loaded")
    assert isinstance(model, HFCausalLM)  # a corruption inside tensor data loads other weights


@pytest.mark.parametrize("corruption", [("model.safetensors", "truncate", 100, b"x"),
                                        ("config.json", "replace", 0, b"{"),
                                        ("model.safetensors", "delete", 0, b"x")])
def test_gpu_bench_refuses_a_corrupted_checkpoint_with_one_line(tiny_checkpoint: Path, tmp_path: Path,
                                                                corruption: tuple[str, str, int, bytes]) -> None:
    from gpu_runtime import hf_bench as gpu_bench

    _corrupt(tiny_checkpoint, tmp_path / "target", corruption)
    with working_directory(tmp_path):
        before = snapshot(tmp_path)
        outcome = run(["--target", "target", "--drafter", str(tiny_checkpoint), "--target-devices", "cpu",
                       "--drafter-device", "cpu", "--dtype", "float32", "--prompt-ids", "1,2", "--tokens", "3",
                       "--runs", "1", "--out", "bench.json"], entry=gpu_bench.main)
    assert_refused(outcome, "Error")
    assert snapshot(tmp_path) == before  # no bench.json


def test_nothing_is_left_behind_by_a_write_that_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A write interrupted by the disk (ENOSPC here) raises PathError and leaves no temporary file."""
    from reference import files

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(28, os.strerror(28))

    monkeypatch.setattr(files.os, "replace", full)
    with pytest.raises(PathError, match="No space left"):
        files.atomic_write_text(tmp_path / "x.json", "{}")
    assert list(tmp_path.iterdir()) == []


def test_names_are_printable_in_one_line() -> None:
    """The one-line contract holds for names with newlines too: messages are collapsed."""
    outcome = run(with_flag(BASE["repro all"], "--out", "/proc/a\nb"))
    assert_refused(outcome, "PathError")

