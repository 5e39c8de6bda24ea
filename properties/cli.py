"""``dsi mutants``: the mutation harness on the command line (properties/mutants.py)."""

from __future__ import annotations

import argparse

from properties.mutants import add_arguments, command


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``mutants [--json] [--only NAME ...] [--all-properties] [--evidence]``."""
    parser = subparsers.add_parser(
        "mutants", help="run the property suite against the catalogue of broken engines",
        description="Run the property suite against each mutant engine and print the kill table "
                    "(exit 0 iff every mutant is killed).")
    add_arguments(parser)
    parser.set_defaults(func=command)
