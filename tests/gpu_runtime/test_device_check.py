"""The device check: its CPU twin end to end (z3 and cvc5 blocked), the dry run of the H200
plan, and the parts whose failure the twin could hide (budget guard, synthetic forward, latency
table, a broken runtime caught)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from gpu_runtime.device_check.cli import dry_run, main
from gpu_runtime.device_check.latency_table import LatencyTable, LevelLatency, Timing, from_timings
from gpu_runtime.device_check.plan import H200, TINY, RunConfig, configs
from gpu_runtime.device_check.runs import Budget, Runner, prepare, within_budget
from gpu_runtime.models import ReferenceModelAdapter
from gpu_runtime.synthetic import SyntheticForward
from reference import generate
from reference.errors import ConfigError
from reference.latency import LatencyModel
from reference.toy_models import SyntheticAcceptancePair, TabularLM

ROOT = Path(__file__).resolve().parents[2]

#: A meta path finder that makes z3 and cvc5 unimportable, then proves it before running the check.
BLOCK_SOLVERS = """
import importlib.abc, runpy, sys
class BlockSolvers(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("z3", "cvc5"):
            raise ImportError(name + " is blocked in this test")
        return None
sys.meta_path.insert(0, BlockSolvers())
for solver in ("z3", "cvc5"):
    try:
        __import__(solver)
    except ImportError:
        print(solver, "blocked")
    else:
        raise SystemExit(solver + " imported despite the block")
sys.argv = ["gpu_runtime.device_check", *sys.argv[1:]]
try:
    runpy.run_module("gpu_runtime.device_check", run_name="__main__", alter_sys=True)
finally:
    print("solvers loaded:", sorted(m for m in sys.modules if m.split(".")[0] in ("z3", "cvc5")))
"""


def run_blocked(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """``python -m gpu_runtime.device_check ARGS`` with the project on PYTHONPATH only, solvers blocked."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", BLOCK_SOLVERS, *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_cpu_twin_runs_every_config_correctly_without_z3_or_cvc5(tmp_path: Path) -> None:
    """The CPU twin (CI): exit 0, every planned config run within 60 s, tokens equal to the
    reference's recomputed here, emulated predictions equal the reference's virtual time with
    the floors the report states, real forwards computed — with z3 and cvc5 unimportable."""
    done = run_blocked("--device", "cpu", "--tiny", "--out", str(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "z3 blocked" in done.stdout and "cvc5 blocked" in done.stdout
    assert "solvers loaded: []" in done.stdout
    doc = json.loads((tmp_path / "device_check.json").read_text())
    assert doc["status"] == "complete" and doc["verdict"]["correct"]
    assert doc["elapsed_s"] <= 60 and not doc["skipped"]
    # 2 modes × (plain, non-SI, SI + DSI for N = 1, 2, 4) at one acceptance rate
    assert len(doc["configs"]) == 12
    assert {(c["algorithm"], c["num_target_servers"]) for c in doc["configs"]} == {
        ("plain", 1), ("nonsi", 1), ("si", 1), ("dsi", 1), ("dsi", 2), ("dsi", 4)}
    floors = {level: entry["floor_ms"] for level, entry in doc["latency_table"]["levels"].items()}
    for c in doc["configs"]:
        pair = SyntheticAcceptancePair(TINY.synthetic_vocab, c["acceptance"], seed=TINY.seed, mode=c["mode"])
        options = {"algorithm": c["algorithm"], "lookahead": c["lookahead"] or 1, "mode": c["mode"], "seed": TINY.seed}
        if c["algorithm"] == "dsi":
            options["num_target_servers"] = c["num_target_servers"]
        floor = LatencyModel(**{name: Fraction(repr(ms)) for name, ms in floors[str(c["level"])].items()})
        expected = generate(pair.target, pair.drafter, TINY.prompt(), TINY.max_new_tokens, latency=floor, **options)
        assert c["tokens"] == list(expected.tokens), c["name"]
        assert c["emulated"]["predicted_s"] == pytest.approx(float(expected.latency) / 1000, abs=1e-9), c["name"]
        assert c["emulated"]["measured_s"] >= c["emulated"]["predicted_s"] - 1e-9  # observed after nominal
        assert c["forwards_computed"] > 0 and c["nonfinite_forwards"] == 0
    plain_greedy = next(c for c in doc["configs"] if c["name"] == "plain a=0.8 greedy")
    assert all(c["tokens"] == plain_greedy["tokens"] for c in doc["configs"] if c["mode"] == "greedy")
    assert (tmp_path / "device_check.md").read_text().startswith("# Device check (tiny): complete")


def test_dry_run_prints_the_h200_plan_and_fits_eight_minutes(capsys: pytest.CaptureFixture[str]) -> None:
    """The dry run of the H200 plan names every step and config with an estimate; the estimated
    total fits the plan's budget, which is under the 8 minutes the check may take."""
    assert main(["--dry-run"]) == 0
    text = capsys.readouterr().out
    for step in ("start", "build models", "latencies alone", "latencies under contention", "plan and predictions",
                 "runs", "report"):
        assert f"\n{step} " in text
    assert all(config.name in text for config in configs(H200))
    total = float(text.split("estimated total ")[1].split(" s")[0])
    assert 0 < total <= H200.budget_s < 8 * 60
    assert "(fits)" in text


def test_h200_plan_sizes() -> None:
    """The issue's model sizes: target around 1B parameters, drafter 60-160M, one vocabulary."""
    assert 0.9e9 <= H200.target.parameters() <= 1.5e9
    assert 60e6 <= H200.drafter.parameters() <= 160e6
    assert H200.target.vocab_size == H200.drafter.vocab_size
    assert H200.num_target_servers == (1, 2, 4, 7) and set(H200.acceptances) == {0.6, 0.8, 0.95}


@pytest.mark.parametrize("tied", [True, False])
def test_parameter_count_matches_the_built_model(tied: bool) -> None:
    from gpu_runtime.device_check.measure import build_model

    shape = replace(TINY.target, tie_embeddings=tied)
    model = build_model(shape, device="cpu", dtype="float32", seed=0, max_positions=32)
    assert shape.parameters() == sum(p.numel() for p in model.model.parameters())


def test_budget_guard_skips_what_does_not_fit() -> None:
    """Items run while their (scaled) estimate fits; a later cheaper item still runs."""
    now = [0.0]
    budget = Budget(10.0, clock=lambda: now[0])
    took = {"a": 3.0, "b": 6.0, "c": 1.0, "d": 2.0}  # b takes twice its estimate

    def run(item: str) -> str:
        now[0] += took[item]
        return item

    estimates = {"a": 3.0, "b": 3.0, "c": 1.0, "d": 0.5}
    ran, skipped = within_budget(["a", "b", "c", "d"], estimate=estimates.__getitem__, run=run, budget=budget,
                                 reserve_s=0.5)
    # after a (3 s) and b (6 s) one second is left, 0.5 reserved; estimates are now scaled by 9/6:
    # c needs 1.5 s (skipped), d needs 0.75 s (skipped too)
    assert ran == ["a", "b"]
    assert [note.split(":")[0] for note in skipped] == ["c", "d"]
    now[0] = 0.0
    ran, skipped = within_budget(["a", "b", "c"], estimate=estimates.__getitem__, run=run,
                                 budget=Budget(4.6, clock=lambda: now[0]), reserve_s=0.0)
    assert ran == ["a", "c"] and [note.split(":")[0] for note in skipped] == ["b"]  # 1.6 s left after a


class RecordingModel:
    """A runtime model that records the forwards asked of it; its rows are uniform."""

    def __init__(self, vocab_size: int) -> None:
        self.vocab_size = vocab_size
        self.calls: list[tuple[tuple[int, ...], int, int]] = []

    def new_cache(self) -> list[int]:
        return []

    def crop(self, cache: list[int], length: int) -> list[int]:
        del cache[length:]
        return cache

    def forward(self, cache: list[int], token_ids, start: int, *, last: int) -> np.ndarray:
        assert start == len(cache)
        cache.extend(token_ids)
        self.calls.append((tuple(token_ids), start, last))
        return np.full((last, self.vocab_size), 1.0 / self.vocab_size)


def test_synthetic_forward_pays_the_real_forward_and_returns_the_pair_rows() -> None:
    pair = SyntheticAcceptancePair(8, 0.7, seed=3)
    compute = RecordingModel(32)
    model = SyntheticForward(compute, pair.target)
    cache = model.new_cache()
    rows = model.forward(cache, [1, 2, 3, 4], 0, last=2)
    assert compute.calls == [((1, 2, 3, 4), 0, 2)]
    np.testing.assert_array_equal(rows[0], pair.target.next_token_probs([1, 2, 3]))
    np.testing.assert_array_equal(rows[1], pair.target.next_token_probs([1, 2, 3, 4]))
    cache = model.crop(cache, 2)
    rows = model.forward(cache, [5], 2, last=1)
    assert compute.calls[-1] == ((5,), 2, 1)
    np.testing.assert_array_equal(rows[0], pair.target.next_token_probs([1, 2, 5]))
    assert model.vocab_size == 8 and model.forwards == 2 and model.nonfinite == 0
    with pytest.raises(ConfigError, match="cache holds 3"):
        model.forward(cache, [6], 4, last=1)
    with pytest.raises(ConfigError, match="wider"):
        SyntheticForward(RecordingModel(4), pair.drafter)


def test_latency_table_levels_floors_and_clamp() -> None:
    def timing(role: str, kind: str, width: int, level: int | None, samples: tuple[float, ...]) -> Timing:
        return Timing(role, kind, width, 0 if kind == "prefill" else 8, level, samples)

    timings = [timing("target", "decode", 1, None, (9.0,)), timing("target", "decode", 4, None, (1, 2, 3, 4, 10)),
               timing("drafter", "decode", 1, None, (0.5,)), timing("target", "prefill", 8, None, (6.0,)),
               timing("drafter", "prefill", 8, None, (0.7,)),
               timing("target", "decode", 4, 2, (5.0, 7.0)), timing("drafter", "decode", 1, 2, (9.0,)),
               timing("target", "prefill", 8, 2, (8.0,)), timing("drafter", "prefill", 8, 2, (2.0,))]
    table = from_timings(timings, levels=(0, 2), verify_width=4)
    alone = table.at(0)
    assert alone.median["target_decode"] == 3  # the verify-width forward, not width 1
    assert alone.model("floor", 1.5).target_decode == 15  # nearest-rank p95 of five samples = 10, × 1.5
    assert alone.model("median").drafter_decode == Fraction(1, 2)
    busy = table.at(2)
    assert busy.model("median").drafter_decode == busy.model("median").target_decode == 6  # clamped
    assert busy.c == 1 and any("level 2" in note for note in table.notes)
    with pytest.raises(ConfigError, match="level 4"):
        table.at(4)


def _cheap_runner_setup(**engine_options: object) -> tuple[Runner, object]:
    """A small plan and a runner whose 'real' forwards are cheap reference-model calls."""
    plan = replace(TINY, max_new_tokens=10, prompt_length=4, runs=1, forward_timeout_s=10.0)
    level = LevelLatency(0, {"target_decode": 4.0, "drafter_decode": 1.0, "target_prefill": 5.0,
                             "drafter_prefill": 1.0}, {"target_decode": 4.0, "drafter_decode": 1.0,
                                                       "target_prefill": 5.0, "drafter_prefill": 1.0})
    table = LatencyTable({0: level, 2: replace(level, level=2)}, "test")
    compute = ReferenceModelAdapter(TabularLM(TINY.synthetic_vocab, seed=1))
    runner = Runner(plan, compute, compute, engine_options=engine_options)
    prepared = prepare(RunConfig("dsi", 2, 0.6, "sample"), table, plan, {}, {})
    return runner, prepared


def test_runner_passes_a_correct_runtime() -> None:
    runner, prepared = _cheap_runner_setup()
    row = runner.run(prepared)
    assert row["tokens_match_reference"] and row["emulated"]["schedule_agrees"] and row["emulated"]["within_tolerance"]
    assert row["real"]["counters"]["rejected_drafts"] > 0  # the case below needs a new round


def test_runner_catches_a_runtime_that_reuses_stale_results() -> None:
    """The check can fail: a worker that hands a new round an old round's output is caught."""
    from properties.runtime_mutants import _StaleResultReused

    runner, prepared = _cheap_runner_setup(worker_class=_StaleResultReused)
    row = runner.run(prepared)
    assert not (row["tokens_match_reference"] and row["emulated"]["schedule_agrees"])


def test_bad_arguments_exit_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert main(["--out", str(blocker), "--tiny", "--device", "cpu"]) == 2
    assert main(["--device", "tpu", "--dry-run"]) == 2
    assert main(["--tiny"]) == 2  # no --out
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("gpu_runtime.device_check: error:") for line in err)


def test_dry_run_from_an_earlier_report(tmp_path: Path) -> None:
    """``--estimates-from`` reads an earlier report's measured latency table."""
    level = {"median_ms": {"target_decode": 2.0, "drafter_decode": 0.5, "target_prefill": 3.0,
                           "drafter_prefill": 0.6}}
    level["p95_ms"] = dict(level["median_ms"])
    report = tmp_path / "device_check.json"
    report.write_text(json.dumps({"latency_table": {"levels": {str(m): level for m in TINY.levels}}}))
    text = dry_run(TINY, str(report))
    assert f"latencies: {report}" in text and "0.250" in text  # c = 0.5 / 2
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(ConfigError, match=r"not a device_check\.json"):
        dry_run(TINY, str(tmp_path / "bad.json"))


def test_no_cuda_is_a_one_line_error_and_a_failed_partial_report(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert main(["--device", "cuda", "--tiny", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "CUDA is not available" in err[0]
    doc = json.loads((tmp_path / "device_check.json").read_text())
    assert doc["status"] == "failed" and doc["plan"]["device"] == "cuda:0" and not doc["configs"]


def test_watchdog_marks_the_report_aborted_and_exits_3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from gpu_runtime.device_check import cli
    from gpu_runtime.device_check.report import Checkpoint

    exits: list[int] = []
    fired = threading.Event()
    monkeypatch.setattr(cli.os, "_exit", lambda code: (exits.append(code), fired.set()))
    doc = {"status": "running", "plan": TINY.as_dict(), "notes": [], "configs": []}
    watchdog = cli.Watchdog(0.01, Checkpoint(tmp_path), doc)
    watchdog.timer.start()
    assert fired.wait(10)
    assert exits == [3]
    assert json.loads((tmp_path / "device_check.json").read_text())["status"] == "aborted"
    assert "aborted" in (tmp_path / "device_check.md").read_text().splitlines()[0]
