"""argparse with the project's error contract: a usage error is one line on stderr, exit 2.

The ``dsi`` root parser itself is :mod:`paper_repro.console` (on top of every package);
commands and ``python -m`` entry points of every package build their parsers with
:class:`OneLineErrorParser`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from reference.errors import DSIError


class OneLineErrorParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)


def run_standalone(prog: str, description: str, add_arguments: Callable[[argparse.ArgumentParser], None],
                   execute: Callable[[argparse.Namespace], int], argv: Sequence[str] | None = None) -> int:
    """A ``python -m package`` entry point with the same contract as the ``dsi`` subcommand:
    parse with :class:`OneLineErrorParser`, run, turn a ``DSIError`` into exit 2 and one line."""
    parser = OneLineErrorParser(prog=prog, description=description)
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return int(execute(args) or 0)
    except DSIError as exc:
        sys.stderr.write(f"{prog}: error: {type(exc).__name__}: {' '.join(str(exc).split())}\n")
        return 2
