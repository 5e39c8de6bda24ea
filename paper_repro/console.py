"""The ``dsi`` console script: the root parser, on top of every package.

It lives here because ``paper_repro`` is the one package that depends on all the others
(reference, proofs, properties, gpu_runtime, soak): the ground floor (``reference``) knows nothing
of the floors above it. Each package offers its commands in one module with
``register(subparsers)``, which adds subparsers that set ``func(args) -> int``; they are
imported by name below, and a missing one is an error, never skipped. Errors: any
``DSIError`` (and argparse's own usage errors) exit with status 2 and one line on stderr.
``python -m paper_repro`` is the same command.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from gpu_runtime import cli as runtime_commands
from paper_repro import cli as repro_commands
from proofs import cli as proof_commands
from properties import cli as property_commands
from reference import cli_plan as plan_commands
from reference import cli_simulate as simulate_commands
from reference.cli import OneLineErrorParser
from reference.errors import DSIError
from soak import cli as soak_commands

#: Modules that contribute subcommands, in help order.
COMMAND_MODULES = (simulate_commands, plan_commands, proof_commands, property_commands, runtime_commands,
                   repro_commands, soak_commands)


def build_parser() -> argparse.ArgumentParser:
    """The root parser with every subcommand registered."""
    parser = OneLineErrorParser(
        prog="dsi",
        description="Distributed Speculative Inference: reference, proofs, properties, runtime, reproductions.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineErrorParser)
    for module in COMMAND_MODULES:
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``dsi``; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except DSIError as exc:
        message = " ".join(str(exc).split())
        sys.stderr.write(f"dsi {args.command}: error: {type(exc).__name__}: {message}\n")
        return 2
