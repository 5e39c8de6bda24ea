"""``dsi check``: the conformance kit — every applicable property against one engine, a report.

``dsi check --engine module:factory [--quick | --thorough] [--report report.md] [--json]``
builds the engine (``module:factory`` is a zero-argument factory; ``reference``, ``runtime``
and ``mutant:NAME`` also work), runs each property of :data:`properties.suite.SUITE` whose
capabilities the engine declares, with shrinking, and states per property:

* the verdict: ``pass``, ``fail`` (the engine broke the property), ``error`` (the engine
  raised something else under it: also a failure) or ``not applicable`` (with the capability
  the engine does not declare);
* the evidence of a failure: the violation message and Hypothesis' shrunk falsifying example;
* α, power, effect and sample size of each statistical test (and the statistic and p-value
  when it ran to the end);
* the seconds it took.

Exit status 0 only if every applicable property passes (1 otherwise; 2 for bad arguments, an
engine that cannot be built, or a report that cannot be written). The report (Markdown, or
JSON when the path ends in ``.json``) is written atomically: complete or not at all.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from properties.engines import Engine
from properties.profiles import PROFILES, active_profile, using_profile
from properties.selection import get_engine
from properties.suite import PROPERTIES, SUITE, Outcome, evaluate
from reference.errors import ConfigError
from reference.files import atomic_write_text

#: Capabilities, in words, for "not applicable" lines.
CAPABILITY_WORDS = {
    "canonical": "canonical (token i is a function of the prefix and u(seed, i, ·))",
    "virtual_time": "virtual_time (exact virtual resolution times)",
    "uniform_injection": "uniform_injection (accepts EngineRequest.uniforms)",
    "batching": "batching (has generate_batch)",
    "any_model": "any_model (runs the suite's own models)",
}


@dataclass(frozen=True)
class CheckReport:
    """The outcome of ``dsi check``: one :class:`~properties.suite.Outcome` per property."""

    engine: str
    spec: str
    profile: str
    outcomes: tuple[Outcome, ...]
    seconds: float

    @property
    def passed(self) -> bool:
        """True when no applicable property failed (and at least one ran)."""
        ran = [o for o in self.outcomes if o.verdict != "not applicable"]
        return bool(ran) and not any(o.failed for o in ran)

    def counts(self) -> dict[str, int]:
        """How many properties got each verdict."""
        out: dict[str, int] = {}
        for o in self.outcomes:
            out[o.verdict] = out.get(o.verdict, 0) + 1
        return out

    def as_json(self) -> dict[str, object]:
        """One JSON object: engine, profile, passed, counts, seconds, and one entry per property."""
        return {"engine": self.engine, "spec": self.spec, "profile": self.profile, "passed": self.passed,
                "counts": self.counts(), "seconds": round(self.seconds, 2),
                "properties": [_outcome_json(o) for o in self.outcomes]}

    def markdown(self) -> str:
        """The report as Markdown (summary table, then evidence and statistics per property)."""
        verdict = "PASS" if self.passed else "FAIL"
        lines = [f"# Conformance report: {self.engine}", "",
                 f"`dsi check --engine {self.spec}` (profile `{self.profile}`): **{verdict}** — "
                 + ", ".join(f"{n} {v}" for v, n in sorted(self.counts().items()))
                 + f", {self.seconds:.1f} s.", "",
                 "| property | verdict | seconds | what it checks |", "|---|---|---|---|"]
        for o in self.outcomes:
            cell = o.verdict if o.verdict != "not applicable" else f"n/a: needs {', '.join(o.missing)}"
            lines.append(f"| `{o.name}` | {cell} | {o.seconds:.2f} | {PROPERTIES[o.name].description} |")
        for o in self.outcomes:
            if o.failed:
                lines += ["", f"## `{o.name}`: {o.verdict}", "", "```", o.evidence.strip(), "```"]
        stats = [o for o in self.outcomes if o.plans or o.records]
        if stats:
            lines += ["", "## Statistical tests", "",
                      "| test | α | power | against | n | result |", "|---|---|---|---|---|---|"]
            for o in stats:
                done = {str(r["test"]): r for r in o.records}
                for plan in o.plans:
                    record = done.get(str(plan["test"]))
                    lines.append(f"| {plan['test']} | {float(plan['alpha']):.3g} | {plan['power']} | "  # type: ignore[arg-type]
                                 f"{plan['effect']} | {plan['n']} | {_result_cell(record, o)} |")
        missing = [o for o in self.outcomes if o.verdict == "not applicable"]
        if missing:
            lines += ["", "## Not applicable", ""]
            lines += [f"* `{o.name}`: the engine does not declare "
                      + "; ".join(CAPABILITY_WORDS.get(c, c) for c in o.missing) for o in missing]
        return "\n".join(lines) + "\n"


def _outcome_json(o: Outcome) -> dict[str, object]:
    out: dict[str, object] = {"name": o.name, "verdict": o.verdict, "seconds": round(o.seconds, 3)}
    if o.missing:
        out["missing_capabilities"] = list(o.missing)
    if o.evidence:
        out["evidence"] = o.evidence
    if o.plans or o.records:
        done = {str(r["test"]): r for r in o.records}
        out["statistics"] = [{**plan, **done.get(str(plan["test"]), {})} for plan in o.plans]
    return out


def _result_cell(record: dict[str, object] | None, outcome: Outcome) -> str:
    if record is None:
        return "not reached" if outcome.failed else "-"
    if "p_value" in record:
        return f"χ² = {record['statistic']} (df {record['df']}), p = {record['p_value']}"
    return f"mean {record['mean']} vs E = {record['expected']} ± {record['half_width']}"


def run_check(engine: Engine, *, spec: str = "", profile: str = "ci", names: Sequence[str] | None = None,
              shrink: bool = True, fail_fast: bool = False) -> CheckReport:
    """Run the suite (or ``names``) on ``engine`` under ``profile``; every property, in order."""
    unknown = [n for n in names or () if n not in PROPERTIES]
    if unknown:
        raise ConfigError(f"unknown properties {unknown}; known: {[p.name for p in SUITE]}")
    start = time.perf_counter()
    outcomes = []
    with using_profile(profile):
        for prop in SUITE:
            if names and prop.name not in names:
                continue
            outcome = evaluate(prop, engine, shrink=shrink)
            outcomes.append(outcome)
            if fail_fast and outcome.failed:
                break
    return CheckReport(engine.name, spec or engine.name, profile, tuple(outcomes), time.perf_counter() - start)


def write_report(report: CheckReport, path: str | Path) -> Path:
    """Write the report (Markdown, or JSON for a ``.json`` path) atomically."""
    path = Path(path)
    text = json.dumps(report.as_json(), indent=1) + "\n" if path.suffix == ".json" else report.markdown()
    return atomic_write_text(path, text)


def summary_lines(report: CheckReport) -> list[str]:
    """One line per property, then the verdict (the text mode of ``dsi check``)."""
    width = max(len(o.name) for o in report.outcomes) if report.outcomes else 10
    lines = []
    for o in report.outcomes:
        detail = f"needs {', '.join(o.missing)}" if o.missing else o.evidence.splitlines()[0][:150] if o.failed else ""
        lines.append(f"{o.name.ljust(width)}  {o.verdict:<14}  {o.seconds:7.2f} s  {detail}".rstrip())
    counts = ", ".join(f"{n} {v}" for v, n in sorted(report.counts().items()))
    lines.append(f"{report.engine}: {'PASS' if report.passed else 'FAIL'} ({counts}) in {report.seconds:.1f} s")
    return lines


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``dsi check``."""
    parser.add_argument("--engine", required=True, metavar="MODULE:FACTORY",
                        help="the engine: module:factory (a zero-argument factory), reference, runtime "
                             "or mutant:NAME")
    level = parser.add_mutually_exclusive_group()
    level.add_argument("--quick", dest="profile", action="store_const", const="quick",
                       help="half the examples, statistical tests at twice the effect (CI)")
    level.add_argument("--thorough", dest="profile", action="store_const", const="thorough",
                       help="fresh seeds and ten times the examples")
    level.add_argument("--profile", dest="profile", choices=PROFILES, help="the profile by name")
    parser.add_argument("--only", nargs="+", metavar="PROPERTY", help="run only these properties")
    parser.add_argument("--report", metavar="PATH", help="write the report here (Markdown; JSON if PATH ends in .json)")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")
    parser.add_argument("--no-shrink", action="store_true", help="report the first counterexample found, unshrunk")
    parser.add_argument("-x", "--fail-fast", action="store_true", help="stop at the first failing property")


def command(args: argparse.Namespace) -> int:
    """Run ``dsi check``; 0 iff every applicable property passed."""
    if args.report and not Path(args.report).parent.is_dir():
        raise ConfigError(f"cannot write the report {args.report!r}: no directory {str(Path(args.report).parent)!r}")
    if os.getcwd() not in sys.path:  # module:factory may name a module of the current directory
        sys.path.insert(0, os.getcwd())
    engine = get_engine(args.engine)
    report = run_check(engine, spec=args.engine, profile=args.profile or active_profile(), names=args.only,
                       shrink=not args.no_shrink, fail_fast=args.fail_fast)
    if args.report:
        write_report(report, args.report)
    if args.json:
        print(json.dumps(report.as_json()))
    else:
        print("\n".join(summary_lines(report)))
    return 0 if report.passed else 1


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m properties.check``."""
    from reference.cli import OneLineErrorParser
    from reference.errors import DSIError

    parser = OneLineErrorParser(prog="python -m properties.check", description=__doc__.splitlines()[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return command(args)
    except DSIError as exc:
        sys.stderr.write(f"check: error: {type(exc).__name__}: {' '.join(str(exc).split())}\n")
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
