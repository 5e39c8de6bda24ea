"""Argument types of the command line: numbers parsed into what a command can hold (SPEC §9).

argparse calls these on the text of a flag; a ``ValueError`` becomes argparse's usage error,
which the root parser prints as one line on stderr with exit status 2. They check only that
a value is a number of the right kind and below a size the command can hold in memory and
finish: the model's own rules (k >= 1, c in (0, 1], ...) stay with the library, which
raises ``ConfigError`` (also exit 2) and is the one place each rule lives.

The caps are far above the paper's protocols (S = 1000, 5 repeats, k <= 20, N = 7) and below
sizes that would exhaust memory or threads on a workstation instead of failing cleanly.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from fractions import Fraction

from reference.errors import ConfigError

#: tokens S of one generation or simulated path
MAX_TOKENS = 100_000
#: lookahead k (any k >= S behaves as k = S)
MAX_LOOKAHEAD = 100_000
#: target servers N in a simulation (any N > S + S/k behaves as unlimited)
MAX_SERVERS = 1_000_000
#: target servers N of the runtime: one thread each
MAX_RUNTIME_SERVERS = 256
#: vocabulary size V of a toy model
MAX_VOCAB = 1_000_000
#: repeats, runs, prompts, grid intervals
MAX_COUNT = 1_000_000
#: elements of the largest array a command may allocate (S x repeats, or the whole grid)
MAX_WORK = 30_000_000


def integer(maximum: int, minimum: int | None = None) -> Callable[[str], int]:
    """An integer flag of at most ``maximum``; ``minimum`` for counts whose lower bound must be
    checked before expensive work (else the library's rule applies later)."""

    def parse(text: str) -> int:
        try:
            value = int(text)  # refuses "x", "1.5", and more than 4300 digits
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text[:40]!r}") from None
        if value > maximum:
            raise argparse.ArgumentTypeError(f"{text[:40]} exceeds the limit {maximum}")
        if minimum is not None and value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {value}")
        return value

    return parse


def real(text: str) -> float:
    """A finite float flag (nan, inf and 1e400 are refused here, not deep in a computation)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text[:40]!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text[:40]!r}")
    return value


def rational(text: str) -> Fraction:
    """An exact rational flag: ``1/3``, ``0.1`` (exactly 1/10) or ``1e-2``."""
    try:
        value = Fraction(text.strip())
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(f"expected a number or a fraction p/q, got {text[:40]!r}") from None
    if abs(value.numerator) > 10**18 or value.denominator > 10**18:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} needs more than 18 digits")
    return value


def check_work(what: str, size: int, limit: int = MAX_WORK) -> None:
    """Refuse a command whose largest array would hold more than ``limit`` elements."""
    if size > limit:
        raise ConfigError(f"{what} = {size} exceeds {limit}; use fewer tokens, repeats or grid points")


# ---------------------------------------------------------------- one flag per parameter (SPEC §9)
#: The flags of the generation parameters, the same in every command: (option strings, dest,
#: metavar). The first is the name; the others are aliases (older spellings kept working).
LOOKAHEAD_FLAGS = ("--lookahead", "-k", "--k")
NUM_TARGET_SERVERS_FLAGS = ("--num-target-servers", "-N", "--sp")
ACCEPTANCE_FLAGS = ("--acceptance", "-a", "--a")
MAX_NEW_TOKENS_FLAGS = ("--max-new-tokens", "-S", "--tokens")


def add_lookahead(parser: argparse.ArgumentParser, **options: object) -> None:
    """``--lookahead/-k`` (alias ``--k``) into ``args.lookahead``."""
    parser.add_argument(*LOOKAHEAD_FLAGS, dest="lookahead", metavar="K", **options)  # type: ignore[arg-type]


def add_num_target_servers(parser: argparse.ArgumentParser, **options: object) -> None:
    """``--num-target-servers/-N`` (alias ``--sp``) into ``args.num_target_servers``."""
    parser.add_argument(*NUM_TARGET_SERVERS_FLAGS, dest="num_target_servers", metavar="N",
                        **options)  # type: ignore[arg-type]


def add_acceptance(parser: argparse.ArgumentParser, **options: object) -> None:
    """``--acceptance/-a`` (alias ``--a``) into ``args.acceptance``."""
    parser.add_argument(*ACCEPTANCE_FLAGS, dest="acceptance", metavar="A", **options)  # type: ignore[arg-type]


def add_max_new_tokens(parser: argparse.ArgumentParser, **options: object) -> None:
    """``--max-new-tokens/-S`` (alias ``--tokens``) into ``args.max_new_tokens``."""
    parser.add_argument(*MAX_NEW_TOKENS_FLAGS, dest="max_new_tokens", metavar="S", **options)  # type: ignore[arg-type]
