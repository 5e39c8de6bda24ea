"""``dsi prove [--only ID] [--json]``: the proof-check CI of the project (SPEC §9).

Exit status 0 iff every selected theorem is ``proved``; 1 otherwise; 2 for bad input.
"""

from __future__ import annotations

import argparse
import json
import sys

from proofs import runner


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--only", action="append", metavar="ID",
                        help="run only these theorem ids (repeatable or comma-separated)")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument("--list", action="store_true", help="list theorem ids and statements")
    parser.add_argument("--deep", action="store_true",
                        help="run the longer checks where a theorem has one (bounded model checking "
                             "of T5/T6 to larger rounds; outside the per-theorem budget)")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="print each theorem's detail (scope, solver agreement, witnesses)")


def execute(args: argparse.Namespace) -> int:
    if args.list:
        for thm in runner.select(args.only):
            print(f"{thm.id}\t{thm.title}\t{thm.statement}")
        return 0
    selected = runner.select(args.only)  # validates ids before any work starts
    results = runner.run([thm.id for thm in selected], deep=args.deep)
    if args.json:
        sys.stdout.write(json.dumps(runner.as_json(results)) + "\n")
    else:
        print(runner.table(results, verbose=args.verbose))
    return 0 if runner.all_proved(results) else 1


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``prove`` to the root ``dsi`` parser."""
    parser = subparsers.add_parser("prove", help="run the symbolic and SMT proof checks (T1-T9)",
                                   description=__doc__)
    add_arguments(parser)
    parser.set_defaults(func=execute)
