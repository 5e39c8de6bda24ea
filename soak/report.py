"""The soak's report: one JSON object and its Markdown rendering, written together, atomically.

``report(...)`` gathers the package runs and the jitter summary into a dict (the JSON file);
``markdown(report)`` renders it; ``write_report`` puts ``soak.json``, ``soak.md`` and the logs
of the package runs that failed into the output directory, all or nothing
(:func:`reference.files.staged_directory`).
"""

from __future__ import annotations

import shutil
from dataclasses import asdict
from pathlib import Path

from reference.files import atomic_write_text, staged_directory, to_json
from soak.determinism import JitterSummary
from soak.pytest_runs import PackageRun

#: Characters of a failure's pytest text kept in the JSON (the full text is in its log).
KEPT_LONGREPR = 4000


def report(*, command: str, config: dict, machine: dict, seconds: float, runs: list[PackageRun],
           jitter: JitterSummary | None) -> dict:
    """The soak's numbers: totals, per package, per run, every failure with its replay."""
    failures = [{**asdict(failure), "longrepr": failure.longrepr[-KEPT_LONGREPR:]}
                for run in runs for failure in run.failures]
    packages: dict[str, dict] = {}
    for run in runs:
        row = packages.setdefault(run.package, {"runs": 0, "tests": 0, "examples": 0, "failures": 0,
                                                "seconds_total": 0.0, "seconds_max": 0.0})
        row["runs"] += 1
        row["tests"] += run.tests
        row["examples"] += run.examples
        row["failures"] += len(run.failures)
        row["seconds_total"] += run.seconds
        row["seconds_max"] = max(row["seconds_max"], run.seconds)
    for row in packages.values():
        row["seconds_mean"] = row["seconds_total"] / row["runs"]
    jitter_failed = jitter.failed if jitter is not None else 0
    totals = {
        "rounds": max((run.round for run in runs), default=0),
        "package_runs": len(runs),
        "tests": sum(run.tests for run in runs),
        "passed": sum(run.passed for run in runs),
        "failed": sum(run.failed for run in runs),
        "skipped": sum(run.skipped for run in runs),
        "examples": sum(run.examples for run in runs),
        "failures": len(failures) + jitter_failed,
        "runtime_runs_under_jitter": jitter.runs if jitter is not None else 0,
        "runtime_runs_failed": jitter_failed,
    }
    return {"command": command, "config": config, "machine": machine, "seconds": seconds, "ok": totals["failures"] == 0,
            "totals": totals, "packages": packages, "failures": failures,
            "jitter": jitter.as_dict() if jitter is not None else None,
            "runs": [{key: value for key, value in asdict(run).items() if key not in ("failures", "log")}
                     | {"failures": len(run.failures), "log": log_name(run) if run.failures else None}
                     for run in runs]}


def log_name(run: PackageRun) -> str:
    """Where a failed run's log lies in the report directory."""
    return f"logs/{Path(run.log).name}"


def markdown(data: dict) -> str:
    """The report as Markdown."""
    totals, config, machine = data["totals"], data["config"], data["machine"]
    verdict = f"**{_plural(totals['failures'], 'failure')}**"
    lines = [
        "# Soak report", "",
        f"`{data['command']}` — profile `{config['profile']}`, {config['load']} CPU-burning processes beside it, "
        f"seed {config['seed']}, {data['seconds']:.0f} s on {machine['cpus']} CPUs (load average "
        f"{machine['loadavg_start']:.1f} at the start, {machine['loadavg_end']:.1f} at the end), revision "
        f"`{machine['git_revision']}`.", "",
        f"{verdict}: {totals['package_runs']} package runs in {_plural(totals['rounds'], 'round')}, "
        f"{totals['tests']} tests "
        f"({totals['passed']} passed, {totals['failed']} failed, {totals['skipped']} skipped), "
        f"{totals['examples']} Hypothesis examples; {totals['runtime_runs_under_jitter']} runtime runs under "
        f"jitter ({totals['runtime_runs_failed']} failed).", "",
        "## Packages", "",
        "| package | runs | tests | examples | failures | seconds (mean) | seconds (max) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in data["packages"].items():
        lines.append(f"| {name} | {row['runs']} | {row['tests']} | {row['examples']} | {row['failures']} | "
                     f"{row['seconds_mean']:.1f} | {row['seconds_max']:.1f} |")
    lines += ["", "## Failures", ""]
    if not data["failures"]:
        lines.append("None.")
    for failure in data["failures"]:
        lines += [f"### {failure['package']}: `{failure['nodeid']}` ({failure['when']}, round {failure['round']}, "
                  f"seed {failure['seed']})", "", failure["message"] or "(no message)", ""]
        if failure["replay"]:
            lines += [f"Replay: `{failure['replay']}`", ""]
        if failure["blob"]:
            lines += [f"Blob: `{failure['blob']}`", ""]
    lines += _jitter_lines(data["jitter"])
    lines += ["", "## Runs", "", "| round | package | seed | tests | passed | failed | skipped | examples | seconds |",
              "|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    for run in data["runs"]:
        lines.append(f"| {run['round']} | {run['package']} | {run['seed']} | {run['tests']} | {run['passed']} | "
                     f"{run['failed']} | {run['skipped']} | {run['examples']} | {run['seconds']:.1f} |")
    return "\n".join(lines) + "\n"


def _jitter_lines(jitter: dict | None) -> list[str]:
    lines = ["", "## Determinism under jitter (soak/determinism.py)", ""]
    if jitter is None:
        return [*lines, "Not run (`--jitter-runs 0`)."]
    modes = ", ".join(f"{mode} {count}" for mode, count in jitter["by_mode"].items())
    algorithms = ", ".join(f"{name} {count}" for name, count in jitter["by_algorithm"].items())
    lines += [
        f"{jitter['runs']} runtime runs ({modes}; {algorithms}) on {jitter['workers']} worker processes in "
        f"{jitter['seconds']:.0f} s: **{jitter['failed']} failed**{_kinds(jitter['failed_by_kind'])}. Compared "
        f"with the reference: the tokens in every run, the whole schedule (exactly) in the "
        f"{jitter['trace_compared']} runs with emulated latency.",
        "",
        f"Timed runs ({jitter['timed']}, {jitter['timed_unit_s'] * 1e3:g} ms per latency unit): worst lag "
        f"{jitter['worst_lag_ms']:.1f} ms, worst lag beyond 3 × the wake-up probe "
        f"{_ms(jitter['worst_lag_beyond_probe_ms'])} (declared tolerance {jitter['tolerance_ms']:.0f} ms), "
        f"worst probe delay {jitter['worst_probe_ms']:.1f} ms. "
        f"Other runs ({jitter['time_unit_s'] * 1e3:g} ms per unit, floors below this machine's overhead per "
        f"forward): lags not checked, worst {jitter['worst_untimed_lag_ms']:.1f} ms.",
    ]
    for failure in jitter["failures"]:
        lines += ["", f"- case {failure['case']} ({failure['request']}): {' | '.join(failure['problems'])} "
                      f"(load average {failure['loadavg']:.1f}, probe {failure['probe_worst_ms']:.1f} ms); "
                      f"replay: `{failure['replay']}`"]
    return lines


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _kinds(counts: dict) -> str:
    return " (" + ", ".join(f"{kind} {count}" for kind, count in counts.items()) + ")" if counts else ""


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} ms"


def write_report(out: Path, data: dict, runs: list[PackageRun]) -> Path:
    """Write ``soak.json``, ``soak.md`` and ``logs/`` (failed runs): each file replaced atomically, none
    written if the run fails."""
    with staged_directory(out, what="soak report directory") as staging:
        atomic_write_text(staging / "soak.json", to_json(data))
        atomic_write_text(staging / "soak.md", markdown(data))
        for run in runs:
            if run.failures and Path(run.log).exists():
                (staging / "logs").mkdir(exist_ok=True)
                shutil.copy(run.log, staging / log_name(run))
    return out
