"""``dsi soak``: the suite with fresh seeds, repeatedly, optionally on a busy machine (soak/runner.py)."""

from __future__ import annotations

import argparse
import os
import secrets
import shlex
import sys
from pathlib import Path

from soak.packages import default_packages, select_packages
from soak.runner import PROFILES, SoakConfig, run_soak

DEFAULT_OUT = "results/soak"
DEFAULT_JITTER_RUNS = 10_000
DEFAULT_PACKAGE_TIMEOUT_MIN = 30.0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``soak [--minutes M] [--profile thorough|ci] [--load [P]] [--out DIR] ...``."""
    cpus = os.cpu_count() or 1
    parser = subparsers.add_parser(
        "soak", help="run the tests and the property suite with fresh seeds, repeatedly, and report",
        description="Runtime runs under random delays checked against the reference, then rounds of every "
                    "test package (property suite against the reference and the runtime included) with fresh "
                    "Hypothesis seeds until the minutes are up; writes soak.md and soak.json (failures with "
                    "their replay command and @reproduce_failure blob). Exit 1 on any failure.")
    parser.add_argument("--minutes", type=float, default=30.0, help="rounds start until then (default 30)")
    parser.add_argument("--profile", choices=PROFILES, default="thorough",
                        help="Hypothesis profile (default thorough: fresh seeds, 10x examples; ci is derandomized)")
    parser.add_argument("--load", type=int, nargs="?", const=cpus, default=0, metavar="P",
                        help=f"P CPU-burning processes beside the soak (--load alone: {cpus}, one per CPU)")
    parser.add_argument("--out", default=DEFAULT_OUT, help=f"report directory (default {DEFAULT_OUT})")
    parser.add_argument("--seed", type=int, help="soak seed (default: fresh; every run's seed derives from it)")
    parser.add_argument("--jitter-runs", type=int, default=DEFAULT_JITTER_RUNS,
                        help=f"runtime runs under random delays (default {DEFAULT_JITTER_RUNS}; 0 skips them)")
    parser.add_argument("--workers", type=int,
                        help="processes for those runs (default: the CPUs the load leaves, at least 1)")
    parser.add_argument("--package", action="append", metavar="NAME",
                        help="soak only these (repeatable): " + ", ".join(p.name for p in default_packages())
                             + ", or a test path")
    parser.add_argument("--package-timeout-minutes", type=float, default=DEFAULT_PACKAGE_TIMEOUT_MIN,
                        help=f"a package run still going after this is a failure (default "
                             f"{DEFAULT_PACKAGE_TIMEOUT_MIN:g})")
    parser.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    config = SoakConfig(minutes=args.minutes, profile=args.profile, load=args.load,
                        seed=args.seed if args.seed is not None else secrets.randbits(63),
                        jitter_runs=args.jitter_runs, workers=args.workers if args.workers is not None
                        else max(1, (os.cpu_count() or 1) - args.load),
                        package_timeout_s=60 * args.package_timeout_minutes,
                        packages=tuple(select_packages(args.package)))
    words = ["dsi", "soak", "--minutes", f"{config.minutes:g}", "--profile", config.profile, "--load",
             str(config.load), "--seed", str(config.seed), "--jitter-runs", str(config.jitter_runs),
             "--workers", str(config.workers), "--out", args.out]
    for name in args.package or ():
        words += ["--package", name]
    data = run_soak(config, Path(args.out), command=shlex.join(words),
                    progress=lambda line: print(line, file=sys.stderr, flush=True))
    totals = data["totals"]
    print(f"soak: {totals['failures']} failures; {totals['package_runs']} package runs in {totals['rounds']} "
          f"round(s), {totals['tests']} tests, {totals['examples']} examples, {totals['runtime_runs_under_jitter']} "
          f"runtime runs under jitter; {data['seconds']:.0f} s; report in {args.out}/soak.md")
    for failure in data["failures"]:
        print(f"  FAILED {failure['package']}: {failure['nodeid']} — replay: {failure['replay']}")
    if data["jitter"] is not None:
        for failure in data["jitter"]["failures"]:
            print(f"  FAILED runtime run {failure['case']} ({failure['mode']}) — replay: {failure['replay']}")
    return 0 if data["ok"] else 1
