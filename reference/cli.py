"""The ``dsi`` console script: one root parser, subcommands contributed by each package.

Each package that offers commands has a module with ``register(subparsers)``; the module
adds its subparsers and sets ``func(args) -> int`` on them. Errors: any ``DSIError`` (and
argparse's own usage errors) exit with status 2 and one line on stderr.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from reference.errors import DSIError

#: Modules that contribute subcommands, in help order.
COMMAND_MODULES = (
    "reference.cli_simulate",
    "reference.cli_plan",
    "proofs.cli",
    "properties.cli",
    "gpu_runtime.cli",
    "paper_repro.cli",
)


class OneLineErrorParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    """The root parser with every available subcommand registered."""
    parser = OneLineErrorParser(
        prog="dsi",
        description="Distributed Speculative Inference: reference, proofs, properties, runtime, reproductions.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineErrorParser)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:  # a package that has not landed yet
            if exc.name != name:
                raise
            continue
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


if __name__ == "__main__":
    raise SystemExit(main())
