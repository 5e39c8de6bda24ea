"""``dsi soak`` itself: the report's shape and numbers, a failing property reported with its replay,
the determinism runs (and that they catch a broken runtime), bad input."""

from __future__ import annotations

import ast
import importlib.util
import json
import re
import time
from pathlib import Path

import pytest
from hypothesis import given, reproduce_failure
from hypothesis import strategies as st

from paper_repro.console import main
from properties.runtime_mutants import RUNTIME_MUTANTS
from soak import runner
from soak.determinism import MODES, draw_case, run_jitter
from soak.packages import ROOT, Package, default_packages
from soak.pytest_runs import PackageRun, read_events, running_test
from soak.report import markdown, report

FIXTURE = "tests/soak/data/failing_property.py"


def _fixture_module() -> object:
    spec = importlib.util.spec_from_file_location("soak_failing_property", ROOT / FIXTURE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_soak_reports_a_failing_property_with_a_blob_that_replays_it(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    calls = tmp_path / "calls"
    monkeypatch.setenv("SOAK_FIXTURE_CALLS", str(calls))
    out = tmp_path / "report"
    status = main(["soak", "--minutes", "0", "--package", FIXTURE, "--jitter-runs", "4", "--workers", "1",
                   "--seed", "11", "--out", str(out)])
    assert status == 1  # the property fails on purpose
    data = json.loads((out / "soak.json").read_text())
    assert set(data) >= {"command", "config", "machine", "seconds", "ok", "totals", "packages", "failures",
                         "jitter", "runs"}
    assert data["ok"] is False and data["config"]["seed"] == 11 and data["config"]["profile"] == "thorough"
    totals = data["totals"]
    assert (totals["tests"], totals["passed"], totals["failed"], totals["failures"]) == (3, 2, 1, 1)
    # the Hypothesis examples counted equal the property bodies' own record of their calls
    recorded = calls.read_text().split()
    run = data["runs"][0]
    assert run["examples_by_status"] == {"passed": recorded.count("pass"), "failed": recorded.count("fail")}
    assert totals["examples"] == len(recorded)
    assert data["packages"][FIXTURE]["runs"] == totals["package_runs"] == 1  # --minutes 0: one round

    [failure] = data["failures"]
    assert failure["nodeid"] == f"{FIXTURE}::test_values_stay_at_most_the_limit"
    assert f"--hypothesis-seed={run['seed']}" in failure["replay"] and failure["nodeid"] in failure["replay"]
    assert (out / run["log"]).exists()
    # the blob replays the very counterexample the report names, and it breaks the property
    version, blob = re.fullmatch(r"@reproduce_failure\((.*), (b'.*')\)", failure["blob"]).groups()
    reported = int(re.search(r"value=(\d+)", failure["message"]).group(1))
    module = _fixture_module()
    seen = []

    def spy(value: int) -> None:
        seen.append(value)
        assert value <= module.LIMIT

    replay = reproduce_failure(ast.literal_eval(version), ast.literal_eval(blob))(
        given(st.integers(0, 10_000))(spy))
    with pytest.raises(AssertionError):
        replay()
    assert seen[-1] == reported > module.LIMIT

    assert data["jitter"]["runs"] == totals["runtime_runs_under_jitter"] == 4
    assert data["jitter"]["failed"] == 0
    markdown = (out / "soak.md").read_text()
    assert failure["blob"] in markdown and failure["replay"] in markdown and "4 runtime runs" in markdown


def test_rounds_repeat_until_the_minutes_are_up_each_run_with_its_own_seed(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    def fake_run(package: Package, *, round_: int, seed: int, **kwargs: object) -> PackageRun:
        time.sleep(0.05)
        return PackageRun(package.name, round_, seed, tests=1, passed=1)

    monkeypatch.setattr(runner, "run_package", fake_run)
    packages = tuple(Package(name, (name,)) for name in ("a", "b", "c"))
    config = runner.SoakConfig(minutes=1 / 60, profile="thorough", load=0, seed=5, jitter_runs=0, workers=1,
                               package_timeout_s=1, packages=packages)
    data = runner.run_soak(config, tmp_path / "out", command="test")
    runs = data["runs"]
    assert [run["package"] for run in runs[:3]] == ["a", "b", "c"]  # the first round whole
    assert data["seconds"] >= 1.0
    assert len(runs) <= 1.0 / 0.05 + 1  # no package starts after the deadline (each run takes >= 0.05 s)
    assert data["totals"]["rounds"] == runs[-1]["round"] >= 2
    assert len({run["seed"] for run in runs}) == len(runs)


def test_bad_input_is_one_line_and_exit_2_with_nothing_written(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "report"
    assert main(["soak", "--package", "no-such-package", "--out", str(out)]) == 2
    assert main(["soak", "--minutes", "-1", "--out", str(out)]) == 2
    assert main(["soak", "--workers", "0", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("dsi soak: error: ConfigError") for line in err)
    assert not out.exists()


def test_every_test_directory_and_testpath_is_in_a_package() -> None:
    packages = default_packages()
    covered = {path for package in packages for path in package.paths}
    tests = {f"tests/{p.name}" for p in (ROOT / "tests").iterdir()
             if (p.is_dir() and not p.name.startswith(("_", "."))) or p.name.startswith("test_")}
    assert tests <= covered
    assert {"reference", "proofs", "properties", "gpu_runtime", "paper_repro", "soak"} <= covered
    runtime = {p.name: p for p in packages}["properties-runtime"]
    assert runtime.env == {"DSI_ENGINE": "runtime"}


def test_events_of_a_killed_process_name_the_running_test_and_every_failure(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    lines = [
        {"event": "collect-error", "nodeid": "tests/x/test_broken.py", "longrepr": "E   ImportError: nope"},
        {"event": "start", "nodeid": "t::a"},
        {"event": "report", "nodeid": "t::a", "when": "setup", "outcome": "failed", "duration": 0.1,
         "longrepr": "E   RuntimeError: fixture"},
        {"event": "end", "nodeid": "t::a", "examples": {}, "blob": None},
        {"event": "start", "nodeid": "t::b"},
        {"event": "report", "nodeid": "t::b", "when": "call", "outcome": "failed", "duration": 0.1,
         "longrepr": "E   assert 0"},
        {"event": "end", "nodeid": "t::b", "examples": {"passed": 3, "failed": 2},
         "blob": "@reproduce_failure('1', b'x')"},
        {"event": "start", "nodeid": "t::c"},
    ]
    events.write_text("\n".join(json.dumps(line) for line in lines) + '\n{"event": "rep')  # cut at the kill
    run = PackageRun("p", 1, 5)
    read_events(run, Package("p", ("t",)), events, "thorough")
    assert (run.tests, run.failed, run.passed, run.examples) == (3, 2, 1, 5)
    assert [(f.nodeid, f.when) for f in run.failures] == [("tests/x/test_broken.py", "collect"), ("t::a", "setup"),
                                                          ("t::b", "call")]
    assert run.failures[2].blob == "@reproduce_failure('1', b'x')" and run.failures[2].message == "assert 0"
    assert running_test(events) == "t::c"


def test_jitter_runs_pass_on_the_runtime_and_cover_every_mode() -> None:
    summary = run_jitter(3, 6)
    assert (summary.runs, summary.failed, sum(summary.by_mode.values())) == (6, 0, 6)
    assert {draw_case(3, i).mode for i in range(40)} == set(MODES)
    assert draw_case(3, 5) == draw_case(3, 5)  # a case replays from (seed, index)


def test_jitter_runs_catch_a_runtime_that_reuses_stale_results() -> None:
    factory = {name: factory for name, *_, factory in RUNTIME_MUTANTS}["runtime_stale_result_reused"]
    summary = run_jitter(11, 6, runtime=factory().runtime)
    assert summary.failed >= 1 and summary.failed_by_kind.get("tokens", 0) >= 1
    assert all("--seed 11 --case" in failure["replay"] for failure in summary.failures)
    machine = {"cpus": 2, "loadavg_start": 1.0, "loadavg_end": 1.0, "git_revision": "x"}
    data = report(command="dsi soak", config={"profile": "ci", "load": 0, "seed": 11}, machine=machine,
                  seconds=1.0, runs=[], jitter=summary)
    assert not data["ok"] and data["totals"]["runtime_runs_failed"] == summary.failed
    assert summary.failures[0]["replay"] in markdown(data)
