"""Every command-line input and path, one bad value per row: exit 2, one line, nothing written.

In the style of Hypothesis's own invalid-argument tests: a table of (command, flag, bad
value, a fragment the one-line error must contain). Each row runs in-process in a fresh
working directory holding a regular file ``afile``, a foreign directory ``adir`` and a few
broken measurement files; the directory must be unchanged afterwards (nothing half-written,
nothing replaced). The base command lines are valid (the last test runs each of them), so a
refusal is due to the row's value. Flag names live in strings only: a rename edits the rows.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_harness import BASE, Outcome, assert_clean_exit, assert_refused, run, snapshot, with_flag, working_directory

from gpu_runtime import hf_bench as gpu_bench

LONG_NAME = "n" * 300  # longer than NAME_MAX (255)

#: (command, flag, bad value, fragment of the error line)
ROWS: list[tuple[str, str, str, str]] = [
    # dsi simulate: numbers
    ("simulate", "--c", "x", "--c"),
    ("simulate", "--c", "nan", "--c"),
    ("simulate", "--c", "inf", "--c"),
    ("simulate", "--c", "1/0", "--c"),
    ("simulate", "--c", "1e-400", "--c"),
    ("simulate", "--c", "0", "c must be in (0, 1]"),
    ("simulate", "--c", "-0.5", "c must be in (0, 1]"),
    ("simulate", "--c", "1.01", "c must be in (0, 1]"),
    ("simulate", "--c", "4/3", "c must be in (0, 1]"),
    ("simulate", "--a", "nan", "--a"),
    ("simulate", "--a", "-1e-300", "acceptance rate a"),
    ("simulate", "--a", "1.5", "acceptance rate a"),
    ("simulate", "--a", "١٫٥", "--a"),
    ("simulate", "--k", "0", "k must be an integer >= 1"),
    ("simulate", "--k", "-3", "k must be an integer >= 1"),
    ("simulate", "--k", "2.5", "--k"),
    ("simulate", "--k", "9" * 30, "exceeds the limit"),
    ("simulate", "--k", "9" * 5000, "--k"),
    ("simulate", "--sp", "0", "num_target_servers must be an integer >= 1"),
    ("simulate", "--sp", "9" * 30, "exceeds the limit"),
    ("simulate", "--tokens", "0", "tokens must be an integer >= 1"),
    ("simulate", "--tokens", "10000000000", "exceeds the limit"),
    ("simulate", "--repeats", "0", "repeats must be an integer >= 1"),
    ("simulate", "--repeats", "1000000", "tokens x repeats"),
    ("simulate", "--seed", "-1", "seed must be in [0, 2**32)"),
    ("simulate", "--seed", "4294967296", "seed must be in [0, 2**32)"),
    ("simulate", "--model", "other", "--model"),
    ("simulate", "--model", "paper", "N >= ceil(1/(k*c)) = 1"),  # k = 2, c = 1/2 needs N >= 1: see below
    # one flag per generation parameter in every command (SPEC §9): the name, its short form and
    # the older spelling all reach the same check
    *[("simulate", flag, "0", "k must be an integer >= 1") for flag in ("--lookahead", "-k")],
    *[("simulate", flag, "1.5", "acceptance rate a") for flag in ("--acceptance", "-a")],
    *[("simulate", flag, "0", "num_target_servers must be an integer >= 1") for flag in ("--num-target-servers", "-N")],
    *[("simulate", flag, "0", "tokens must be an integer >= 1") for flag in ("--max-new-tokens", "-S")],
    *[("generate", flag, "0", "lookahead k") for flag in ("--lookahead", "-k")],
    *[("generate", flag, "0", "num_target_servers N") for flag in ("--num-target-servers", "-N")],
    *[("generate", flag, "0", "max_new_tokens (S)") for flag in ("--max-new-tokens", "-S")],
    *[("generate", flag, "1.5", "acceptance must be in [0, 1]") for flag in ("-a", "--a")],
    *[("bench", flag, "0", "lookahead k must be an integer >= 1") for flag in ("--lookahead", "-k")],
    *[("bench", flag, "0", "num_target_servers N must be an integer >= 1") for flag in ("--num-target-servers", "-N")],
    *[("bench", flag, "0", "max_new_tokens (S) must be an integer >= 1") for flag in ("--max-new-tokens", "-S")],
    *[("bench", flag, "-0.1", "acceptance must be in [0, 1]") for flag in ("-a", "--a")],
    *[("heatmap", flag, "9" * 30, "exceeds the limit") for flag in ("--num-target-servers", "-N")],
    *[("heatmap", flag, "-5", "--max-new-tokens") for flag in ("--max-new-tokens", "-S")],
    *[("repro heatmaps", flag, "0", "--max-new-tokens") for flag in ("--max-new-tokens", "-S", "--tokens")],
    # dsi generate / dsi bench: numbers, prompts
    ("generate", "--tokens", "0", "max_new_tokens (S)"),
    ("generate", "--tokens", "1" + "0" * 20, "exceeds the limit"),
    ("generate", "--k", "0", "lookahead k"),
    ("generate", "--sp", "0", "num_target_servers N"),
    ("generate", "--vocab", "1", "--vocab must be >= 2"),
    ("generate", "--vocab", "99999999999999", "exceeds the limit"),
    ("generate", "--acceptance", "1.5", "acceptance must be in [0, 1]"),
    ("generate", "--acceptance", "nan", "--acceptance"),
    ("generate", "--temperature", "0", "temperature must be > 0"),
    ("generate", "--temperature", "-inf", "--temperature"),
    ("generate", "--top-k", "0", "top_k must be an integer >= 1"),
    ("generate", "--top-p", "1.5", "top_p"),
    ("generate", "--top-p", "nan", "--top-p"),
    ("generate", "--seed", "-1", "seed must be an integer in [0, 2**64)"),
    ("generate", "--seed", "9" * 30, "exceeds the limit"),
    ("generate", "--target-ms", "0", "target_decode must be > 0"),
    ("generate", "--target-ms", "1e400", "--target-ms"),
    ("generate", "--drafter-ms", "30", "exceeds 1"),
    ("generate", "--drafter-ms", "-1", "drafter_decode must be > 0"),
    ("generate", "--target-prefill-ms", "-1", "target_prefill must be > 0"),
    ("generate", "--drafter-prefill-ms", "nan", "--drafter-prefill-ms"),
    ("generate", "--prompt", "a,b", "--prompt must be comma-separated integers"),
    ("generate", "--prompt", "1,2.5", "--prompt must be comma-separated integers"),
    ("generate", "--prompt", "", "prompt is empty"),
    ("generate", "--prompt", " , ,", "prompt is empty"),
    ("generate", "--prompt", "-1", "outside [0, 8)"),
    ("generate", "--prompt", "8", "outside [0, 8)"),
    ("generate", "--prompt", "9" * 5000, "--prompt must be comma-separated integers"),
    ("generate", "--prompt", "1,\x00", "--prompt must be comma-separated integers"),
    ("generate", "--engine", "gpu", "--engine"),
    ("generate", "--algorithm", "beam", "--algorithm"),
    ("generate", "--model", "llama", "--model"),
    ("generate", "--mode", "argmax", "--mode"),
    ("generate", "--warm-start", None, "warm_start needs a finite"),  # type: ignore[list-item]
    ("generate-runtime", "--sp", "300", "exceeds the limit"),
    ("generate-runtime", "--sp", "0", "num_target_servers N"),
    ("generate-runtime", "--drafter-ms", "2", "exceeds 1"),
    ("bench", "--runs", "0", "runs must be >= 1"),
    ("bench", "--runs", "x", "--runs"),
    ("bench", "--sp", "0", "num_target_servers N must be an integer >= 1"),
    ("bench", "--sp", "257", "exceeds the limit"),
    ("bench", "--k", "0", "lookahead k must be an integer >= 1"),
    ("bench", "--tokens", "0", "max_new_tokens (S) must be an integer >= 1"),
    ("bench", "--acceptance", "-0.1", "acceptance must be in [0, 1]"),
    ("bench", "--vocab", "1", "vocab_size must be >= 2"),
    ("bench", "--target-ms", "nan", "--target-ms"),
    ("bench", "--drafter-ms", "0", "drafter_decode must be > 0"),
    # grids: numbers and sizes
    ("heatmap", "--ndim", "0", "--ndim"),
    ("heatmap", "--ndim", "1000000", "grid cells"),
    ("heatmap", "--tokens", "-5", "--tokens"),
    ("heatmap", "--repeats", "1e3", "--repeats"),
    ("heatmap", "--max-lookahead", "0", "--max-lookahead"),
    ("heatmap", "--sp", "9" * 30, "exceeds the limit"),
    ("heatmap", "--seed", "-1", "seed must be >= 0"),
    ("heatmap", "--model", "both", "--model"),
    ("repro heatmaps", "--ndim", "10000", "grid cells"),
    ("repro heatmaps", "--model", "exactly", "--model"),
    ("repro table", "--repeats", "1000000", "table repeats x tokens"),
    ("repro table", "--prompts", "0", "--prompts"),
    ("repro table", "--measure", "no-such-row", "unknown row ids"),
    ("repro all", "--skip", "everything", "unknown step"),
    ("prove", "--only", "T99", "unknown theorem id"),
    ("mutants", "--only", "no_such_mutant", "unknown mutant"),
    # output paths: cannot be created, exist as a file, foreign, odd names
    ("heatmap", "--out", "/proc/dsi/out", "PathError"),
    ("heatmap", "--out", "afile", "exists and is not a directory"),
    ("heatmap", "--out", "afile/sub", "is not a directory"),
    ("heatmap", "--out", "", "PathError"),
    ("heatmap", "--out", "a\x00b", "without NUL"),
    ("repro heatmaps", "--out", "/proc/dsi", "PathError"),
    ("repro heatmaps", "--out", "afile", "PathError"),
    ("repro illustration", "--out", "/proc/dsi", "PathError"),
    ("repro illustration", "--out", "afile", "PathError"),
    ("repro table", "--out", "/proc/dsi", "PathError"),
    ("repro table", "--out", "afile", "PathError"),
    ("repro all", "--out", "/proc/dsi", "PathError"),
    ("repro all", "--out", "afile", "exists and is not a directory"),
    ("repro all", "--out", "adir", "not written by dsi"),  # never replaces a foreign directory
    ("repro all", "--out", ".", "not written by dsi"),
    ("repro all", "--figures", "/proc/dsi", "--figures directory"),
    ("repro all", "--figures", "afile", "--figures directory"),
    # input files: measurements
    ("repro table", "--measurements", "missing.json", "cannot read measurements file"),
    ("repro table", "--measurements", "adir", "is a directory"),
    ("repro table", "--measurements", "truncated.json", "not valid JSON"),
    ("repro table", "--measurements", "latin1.json", "not UTF-8"),
    ("repro table", "--measurements", "list.json", "a JSON object with a list 'rows'"),
    ("repro table", "--measurements", "badrow.json", "table row field target must be a string"),
    ("repro table", "--measurements", "nanrow.json", "must be a finite number"),
    ("repro table", "--measurements", "slowdrafter.json", "exceeds target TPOT"),
    ("repro table", "--measurements", "\x00", "without NUL"),
    ("repro all", "--measurements", "truncated.json", "not valid JSON"),
    ("repro table", "--save-measurements", "adir", "is a directory"),  # with --measure: checked before measuring
]

_ROW = {"row_id": "r", "target": "t", "drafter": "d", "dataset": "x"}
FILES: dict[str, bytes] = {
    "afile": b"keep me\n",
    "adir/notes.txt": b"keep me too\n",
    "truncated.json": b'{"rows": [{"row_id": "r", "tar',
    "latin1.json": '{"rows": [{"row_id": "caf\u00e9"}]}'.encode("latin-1"),
    "list.json": b"[1, 2, 3]",
    "badrow.json": json.dumps({"rows": [{**_ROW, "target": 7}]}).encode(),
    "nanrow.json": b'{"rows": [{"row_id": "r", "target": "t", "drafter": "d", "dataset": "x", "target_tpot_ms": NaN}]}',
    "slowdrafter.json": json.dumps({"rows": [{**_ROW, "target_ttft_ms": 5, "target_tpot_ms": 1, "drafter_ttft_ms": 1,
                                             "drafter_tpot_ms": 2, "acceptance_rate": 0.5}]}).encode(),
}


@pytest.fixture
def workdir(tmp_path: Path):
    for name, data in FILES.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    with working_directory(tmp_path):
        yield tmp_path


def _argv(command: str, flag: str, value: str | None) -> list[str]:
    argv = with_flag(BASE[command], flag, value)
    if flag == "--save-measurements":
        argv = with_flag(argv, "--measure", "vicuna13b-cnndm")
    if command == "simulate" and flag == "--model":
        argv = with_flag(with_flag(argv, "--c", "0.01"), "--sp", "1")  # needs ceil(1/(2/100)) = 50 servers
    return argv


@pytest.mark.parametrize(("command", "flag", "value", "fragment"), ROWS,
                         ids=[f"{c}|{f}={v!r:.24}" for c, f, v, _ in ROWS])
def test_bad_input_is_refused_with_one_line_and_nothing_written(workdir: Path, command: str, flag: str,
                                                                value: str | None, fragment: str) -> None:
    if command == "simulate" and flag == "--model" and value == "paper":
        fragment = "N >= ceil(1/(k*c)) = 50"
    before = snapshot(workdir)
    outcome = run(_argv(command, flag, value))
    assert_refused(outcome, fragment)
    assert snapshot(workdir) == before


#: ``python -m gpu_runtime.hf_bench``: (flag, bad value, fragment); the models need not exist, since
#: every row is refused before anything loads
BENCH_BASE = ["--target", "./no-such-target", "--drafter", "./no-such-drafter", "--target-devices", "cpu",
              "--drafter-device", "cpu", "--dtype", "float32", "--prompt-ids", "1,2", "--runs", "1"]
BENCH_ROWS: list[tuple[str, str, str]] = [
    ("--runs", "0", "--runs: expected an integer >= 1"),
    ("--runs", "two", "--runs"),
    ("--k", "9" * 30, "exceeds the limit"),
    ("--sp", "1000", "exceeds the limit"),
    ("--tokens", "-1", "--tokens"),
    ("--lookahead", "0", "--lookahead"),
    ("-k", "-2", "--lookahead"),
    ("--num-target-servers", "1000", "exceeds the limit"),
    ("-N", "0", "--num-target-servers"),
    ("--max-new-tokens", "-1", "--max-new-tokens"),
    ("-S", "x", "--max-new-tokens"),
    ("--seed", "1e3", "--seed"),
    ("--algorithms", "dsi,beam", "--algorithms must list"),
    ("--algorithms", ",", "--algorithms must list"),
    ("--target-devices", " , ", "--target-devices must name"),
    ("--target-devices", "tpu:0", "device must be 'cpu' or 'cuda[:i]'"),
    ("--drafter-device", "gpu", "device must be 'cpu' or 'cuda[:i]'"),
    ("--dtype", "float128", "unknown dtype"),
    ("--prompt-ids", "1,x", "--prompt-ids must be comma-separated integers"),
    ("--out", "adir", "is a directory"),
    ("--out", "/proc/dsi/bench.json", "PathError"),
    ("--target", "/no/such/dir", "model directory /no/such/dir does not exist"),
    ("--mode", "beam", "--mode"),
]


@pytest.mark.parametrize(("flag", "value", "fragment"), BENCH_ROWS, ids=[f"{f}={v!r}" for f, v, _ in BENCH_ROWS])
def test_gpu_bench_bad_input_is_refused_before_any_model_loads(workdir: Path, flag: str, value: str,
                                                               fragment: str) -> None:
    before = snapshot(workdir)
    outcome = run(with_flag(BENCH_BASE, flag, value), entry=gpu_bench.main)
    assert_refused(outcome, fragment)
    assert snapshot(workdir) == before


@pytest.mark.parametrize("command", ["simulate", "generate", "generate-runtime", "bench", "repro all", "prove"])
def test_the_base_command_lines_are_valid(workdir: Path, command: str) -> None:
    """The other side of each row: the same command line without the bad value succeeds
    (the bases of the commands that draw figures or run the suite are exercised by their own tests)."""
    outcome: Outcome = run(BASE[command])
    assert_clean_exit(outcome)
    assert outcome.code == 0
