"""The soak itself: the determinism runs, then rounds of every package with fresh seeds until the time is up.

Order (module ``soak``): CPU-burning processes start if asked (:class:`gpu_runtime.jitter.CpuLoad`);
``jitter_runs`` runtime runs under random delays (:mod:`soak.determinism`) on ``workers``
processes; then rounds: each round runs every package once in its own pytest process
(:mod:`soak.pytest_runs`) with a seed of its own. The first round always runs whole; after it a
package starts only while the soak's minutes are not used up, so a soak lasts its minutes plus
at most one package run (and at least one round and the determinism runs). Seeds derive from
one soak seed (fresh unless given), recorded in the report.
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from gpu_runtime.jitter import CpuLoad
from reference.errors import ConfigError
from reference.files import git_revision
from soak.determinism import JitterSummary, run_jitter
from soak.packages import Package
from soak.pytest_runs import PackageRun, run_package
from soak.report import report, write_report

PROFILES = ("thorough", "ci")


@dataclass(frozen=True)
class SoakConfig:
    """What ``dsi soak`` was asked to do."""

    minutes: float
    profile: str
    load: int  # CPU-burning processes beside the soak
    seed: int
    jitter_runs: int
    workers: int  # processes of the determinism runs
    package_timeout_s: float
    packages: tuple[Package, ...]

    def __post_init__(self) -> None:
        if not self.minutes >= 0:
            raise ConfigError(f"minutes must be >= 0, got {self.minutes!r}")
        if self.profile not in PROFILES:
            raise ConfigError(f"profile must be one of {PROFILES}, got {self.profile!r}")
        for name in ("load", "jitter_runs"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name.replace('_', '-')} must be >= 0, got {getattr(self, name)}")
        if self.workers < 1:
            raise ConfigError(f"workers must be >= 1, got {self.workers}")
        if not self.package_timeout_s > 0:
            raise ConfigError(f"package timeout must be > 0, got {self.package_timeout_s!r}")
        if not self.packages:
            raise ConfigError("no package to soak")
        if not 0 <= self.seed < 2**63:
            raise ConfigError(f"seed must be in [0, 2**63), got {self.seed}")

    def as_dict(self) -> dict:
        out = asdict(self)
        out["packages"] = {package.name: list(package.paths) for package in self.packages}
        return out


def run_seed(soak_seed: int, round_: int, index: int) -> int:
    """The Hypothesis seed of package ``index`` in round ``round_`` (a pure function of the soak seed)."""
    return int(np.random.SeedSequence([soak_seed, round_, index]).generate_state(1)[0])


def run_soak(config: SoakConfig, out: Path, *, command: str,
             progress: Callable[[str], None] = lambda line: None) -> dict:
    """Run the soak and write its report to ``out`` (:func:`soak.report.write_report`); the report."""
    began = time.perf_counter()
    deadline = began + 60 * config.minutes
    loadavg_start = os.getloadavg()[0]
    runs: list[PackageRun] = []
    jitter: JitterSummary | None = None
    with tempfile.TemporaryDirectory(prefix="dsi-soak-") as scratch, CpuLoad(config.load):
        progress(f"soak seed {config.seed}, profile {config.profile}, {config.load} load processes")
        if config.jitter_runs:
            progress(f"determinism under jitter: {config.jitter_runs} runtime runs on {config.workers} processes")
            jitter = run_jitter(config.seed, config.jitter_runs, workers=config.workers)
            progress(f"  {jitter.runs} runs, {jitter.failed} failed {jitter.failed_by_kind or ''}, "
                     f"{jitter.seconds:.0f} s")
            for failure in jitter.failures:
                progress(f"  FAILED {failure['replay']}: {' | '.join(failure['problems'])[:300]}")
        round_ = 0
        while round_ == 0 or time.perf_counter() < deadline:
            round_ += 1
            for index, package in enumerate(config.packages):
                if round_ > 1 and time.perf_counter() >= deadline:
                    break
                run = run_package(package, round_=round_, seed=run_seed(config.seed, round_, index),
                                  profile=config.profile, scratch=Path(scratch),
                                  timeout_s=config.package_timeout_s)
                runs.append(run)
                progress(f"round {round_} {package.name}: {run.passed} passed, {run.failed} failed, "
                         f"{run.skipped} skipped, {run.examples} examples, {len(run.failures)} failures, "
                         f"{run.seconds:.0f} s")
        machine = {"cpus": os.cpu_count(), "loadavg_start": loadavg_start, "loadavg_end": os.getloadavg()[0],
                   "python": platform.python_version(), "hypothesis": _version("hypothesis"),
                   "git_revision": git_revision(), "platform": sys.platform}
        data = report(command=command, config=config.as_dict(), machine=machine,
                      seconds=time.perf_counter() - began, runs=runs, jitter=jitter)
        write_report(out, data, runs)  # before the scratch directory (the logs) goes
        return data


def _version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"
