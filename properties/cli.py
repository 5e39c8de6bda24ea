"""``dsi mutants`` and ``dsi check`` on the command line (properties/mutants.py, properties/check.py)."""

from __future__ import annotations

import argparse

from properties import check, mutants


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``mutants [--json] [--only NAME ...] [--all-properties] [--evidence]`` and
    ``check --engine MODULE:FACTORY [--quick|--thorough] [--report PATH] [--json]``."""
    parser = subparsers.add_parser(
        "mutants", help="run the property suite against the catalogue of broken engines",
        description="Run the property suite against each mutant engine and print the kill table "
                    "(exit 0 iff every mutant is killed).")
    mutants.add_arguments(parser)
    parser.set_defaults(func=mutants.command)
    parser = subparsers.add_parser(
        "check", help="run every applicable property against an engine and report (the conformance kit)",
        description="Run every property the engine's capabilities allow, with shrinking; print or write "
                    "the verdict, evidence, α and power, and time of each (exit 0 iff all applicable pass).")
    check.add_arguments(parser)
    parser.set_defaults(func=check.command)
