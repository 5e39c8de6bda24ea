"""One package under pytest, in a process of its own, with a Hypothesis profile and a seed.

The process runs ``python -m pytest PATHS -p soak.plugin --hypothesis-seed=SEED`` in the
repository root with ``DSI_HYPOTHESIS_PROFILE`` set. Under the ``thorough`` profile (not
derandomized) every ``@given`` test, the property suite's nested ones included, draws from
``Random(SEED)`` (Hypothesis's ``--hypothesis-seed``), so a failure replays alone with the same
seed: :attr:`TestFailure.replay`. The Hypothesis example database lives in a scratch directory
(``HYPOTHESIS_STORAGE_DIRECTORY``), so runs are independent and the worktree is untouched.
Counts, failures and ``@reproduce_failure`` blobs come from the event lines of
:mod:`soak.plugin`; the process's output is kept in a log file.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from soak.packages import ROOT, Package
from soak.plugin import EVENTS_VARIABLE

PROFILE_VARIABLE = "DSI_HYPOTHESIS_PROFILE"  # properties/profiles.py reads it
_BLOB = re.compile(r"@reproduce_failure\([^)]*\)")


@dataclass
class TestFailure:
    """A failed test (or setup, teardown, collection, timeout) and how to replay it."""

    __test__ = False  # not a pytest test class

    package: str
    round: int
    nodeid: str
    when: str  # call, setup, teardown, collect, timeout, exit
    seed: int
    replay: str
    blob: str | None
    message: str
    longrepr: str = ""


@dataclass
class PackageRun:
    """One pytest process: counts, examples, time and failures."""

    package: str
    round: int
    seed: int
    seconds: float = 0.0
    returncode: int | None = None
    tests: int = 0
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    examples: int = 0  # Hypothesis test cases run (every status)
    examples_by_status: dict[str, int] = field(default_factory=dict)  # passed, failed, gave_up
    timed_out: bool = False
    log: str = ""
    failures: list[TestFailure] = field(default_factory=list)


def replay_command(package: Package, nodeid: str, seed: int, profile: str) -> str:
    """The shell command that reruns one test with the run's profile and seed."""
    return (f"{package.env_prefix()}{PROFILE_VARIABLE}={profile} python -m pytest '{nodeid}' -q "
            f"--hypothesis-seed={seed}")


def run_package(package: Package, *, round_: int, seed: int, profile: str, scratch: Path,
                timeout_s: float, root: Path = ROOT) -> PackageRun:
    """Run ``package`` once; ``scratch`` receives its event file, log and Hypothesis storage."""
    stem = f"round{round_}-{package.name.replace('/', '_')}"
    events, log = scratch / f"{stem}.jsonl", scratch / f"{stem}.log"
    env = {**os.environ, PROFILE_VARIABLE: profile, EVENTS_VARIABLE: str(events),
           "HYPOTHESIS_STORAGE_DIRECTORY": str(scratch / "hypothesis"), **package.env}
    command = [sys.executable, "-m", "pytest", *package.paths, "-q", "-p", "soak.plugin",
               f"--hypothesis-seed={seed}"]
    run = PackageRun(package.name, round_, seed, log=str(log))
    began = time.perf_counter()
    with open(log, "w", encoding="utf-8") as out:
        process = subprocess.Popen(command, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)  # its own group: a timeout ends all of it
        try:
            run.returncode = process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            run.timed_out = True
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        except BaseException:  # interrupted: the process is in a session of its own, end it too
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise
    run.seconds = time.perf_counter() - began
    read_events(run, package, events, profile)
    if run.timed_out:
        running = running_test(events)
        run.failures.append(TestFailure(package.name, round_, running or package.name, "timeout", seed,
                                        replay_command(package, running, seed, profile) if running else "",
                                        None, f"still running after the package's timeout of {timeout_s:.0f} s"))
    elif run.returncode not in (0, 1) or (run.returncode == 1 and not run.failures):
        run.failures.append(TestFailure(package.name, round_, package.name, "exit", seed, "", None,
                                        f"pytest exited with status {run.returncode}: {_tail(log)}"))
    return run


def _events(path: Path) -> list[dict]:
    if not path.exists():
        return []
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            lines.append(json.loads(line))
        except json.JSONDecodeError:  # the last line of a killed process may be cut
            continue
    return lines


def read_events(run: PackageRun, package: Package, path: Path, profile: str) -> None:
    outcomes: dict[str, str] = {}
    blobs: dict[str, str | None] = {}
    failed_reports = []
    for event in _events(path):
        kind, nodeid = event["event"], event["nodeid"]
        if kind == "start":
            run.tests += 1
            outcomes.setdefault(nodeid, "passed")
        elif kind == "end":
            run.examples += sum(event["examples"].values())
            for status, count in event["examples"].items():
                run.examples_by_status[status] = run.examples_by_status.get(status, 0) + count
            blobs[nodeid] = event["blob"]
        elif kind == "report":
            if event["outcome"] == "failed":
                outcomes[nodeid] = "failed"
                failed_reports.append(event)
            elif event["outcome"] == "skipped" and outcomes.get(nodeid) != "failed":
                outcomes[nodeid] = "skipped"
        elif kind == "collect-error":
            failed_reports.append({**event, "when": "collect"})
    for name in ("passed", "failed", "skipped"):
        setattr(run, name, sum(outcome == name for outcome in outcomes.values()))
    for event in failed_reports:
        nodeid, longrepr = event["nodeid"], event.get("longrepr") or ""
        printed = _BLOB.findall(longrepr)
        run.failures.append(TestFailure(
            package.name, run.round, nodeid, event["when"], run.seed,
            replay_command(package, nodeid, run.seed, profile),
            printed[-1] if printed else blobs.get(nodeid), _message(longrepr), longrepr))


def running_test(path: Path) -> str | None:
    """The test that started and never ended (a process killed at its timeout)."""
    running = None
    for event in _events(path):
        if event["event"] == "start":
            running = event["nodeid"]
        elif event["event"] == "end":
            running = None
    return running


def _message(longrepr: str) -> str:
    """The error lines of a pytest failure text (``E   ...``), else its last line."""
    errors = [line[1:].strip() for line in longrepr.splitlines() if line.startswith("E ")]
    if errors:
        return " | ".join(error for error in errors[:16] if error)[:1200]
    lines = [line for line in longrepr.splitlines() if line.strip()]
    return lines[-1][:600] if lines else ""


def _tail(path: Path, lines: int = 5) -> str:
    text = path.read_text(encoding="utf-8", errors="replace").splitlines() if path.exists() else []
    return " | ".join(line.strip() for line in text[-lines:] if line.strip())[:600]
