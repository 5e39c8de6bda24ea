"""Acceptance rate from drafter/target agreement traces, and acceptance paths from traces (SPEC §5, §10).

An *agreement trace* of one prompt is the sequence ``agree[i] = (argmax q(·|x_<i) == x_i)``
over the target's greedy continuation ``x`` under teacher forcing (the drafter reads the
target's tokens). In greedy mode a draft is accepted iff it equals the target's token, so the
trace is exactly the acceptance path of that prompt.

Estimator of the table protocol: with ``n̄`` the mean number of agreements before each
disagreement (zeros included; the trailing run of a prompt, not ended by a disagreement, is
censored and dropped),

    â = 1 − 1 / (1 + n̄),

the acceptance rate whose geometric run length has mean n̄ (mean of Geom − 1 on {0, 1, ...}
with success 1 − a is a / (1 − a) = n̄).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from reference.errors import ConfigError


def parse_trace(text: str) -> tuple[bool, ...]:
    """A trace stored as a string of ``0``/``1``.

    >>> parse_trace("1101")
    (True, True, False, True)
    """
    if any(ch not in "01" for ch in text):
        raise ConfigError(f"an agreement trace is a string of 0 and 1, got {text!r}")
    return tuple(ch == "1" for ch in text)


def format_trace(agree: Iterable[bool]) -> str:
    """Inverse of :func:`parse_trace`.

    >>> format_trace([True, False])
    '10'
    """
    return "".join("1" if a else "0" for a in agree)


def agreement_runs(agree: Sequence[bool]) -> list[int]:
    """Lengths of the agreement runs ended by a disagreement (the trailing run is dropped).

    >>> agreement_runs([True, True, False, False, True, False, True, True])
    [2, 0, 1]
    """
    runs, current = [], 0
    for value in agree:
        if value:
            current += 1
        else:
            runs.append(current)
            current = 0
    return runs


def mean_run_length(traces: Iterable[Sequence[bool]]) -> float:
    """n̄: mean of the completed runs pooled over prompts.

    Raises ConfigError when no prompt has a disagreement (n̄ is then not estimable).

    >>> mean_run_length([[True, True, False, False], [True, False, True]])
    1.0
    """
    runs = [run for trace in traces for run in agreement_runs(trace)]
    if not runs:
        raise ConfigError("no disagreement in any trace: the acceptance rate is not estimable "
                          "(every run is censored); use longer generations or more prompts")
    return float(np.mean(runs))


def acceptance_rate(traces: Iterable[Sequence[bool]]) -> float:
    """â = 1 − 1/(1 + n̄) (table protocol of SPEC §10).

    >>> acceptance_rate([[True, True, False, False, True, False, True, True]])  # n̄ = 1
    0.5
    """
    n_bar = mean_run_length(traces)
    return 1.0 - 1.0 / (1.0 + n_bar)



def trace_paths(traces: Sequence[Sequence[bool]], tokens: int, repeats: int, seed: int) -> np.ndarray:
    """Acceptance paths (repeats, tokens) made of real agreement traces.

    Path r concatenates the prompts' traces in a random order (a fresh permutation of the
    prompts each pass, from ``default_rng(seed)``) until ``tokens`` positions are filled: the
    runs of agreement and their correlation within a prompt are kept, instead of i.i.d. draws.

    >>> trace_paths([[True, False], [True, True, True]], 7, 1, 0).shape
    (1, 7)
    """
    pool = [tuple(bool(x) for x in t) for t in traces if len(t) > 0]
    if not pool:
        raise ConfigError("trace_paths needs at least one non-empty agreement trace")
    if tokens < 1 or repeats < 1:
        raise ConfigError(f"tokens and repeats must be >= 1, got {tokens}, {repeats}")
    rng = np.random.default_rng(seed)
    out = np.empty((repeats, tokens), dtype=bool)
    for r in range(repeats):
        filled: list[bool] = []
        while len(filled) < tokens:
            for index in rng.permutation(len(pool)):
                filled.extend(pool[int(index)])
                if len(filled) >= tokens:
                    break
        out[r] = filled[:tokens]
    return out
