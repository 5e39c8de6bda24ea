"""A whole acceptance path as one z3 encoding: rounds in sequence on one FIFO queue.

The round model (:mod:`proofs.schedule_model`) encodes one round that starts clean; the
theorems sum rounds (``T_DSI = Σ R_m(j)``). This module chains the rounds of a path on one
set of N servers instead: round r starts at the rejection that ends round r − 1, only tasks
dispatched before its own rejection exist, and at that rejection its tasks are cancelled, or,
for a schedule that keeps stale tasks (``KEEP_STALE``), keep their servers and queue places
to their natural end. For the DSI schedule the path's latency equals the sum of its rounds
(tested); for ``KEEP_STALE`` it exhibits concrete paths where the every-S theorems fail.

Positions are split into rounds as in ``reference.fast.exact.rounds_of``: a round starts at
f (0, or one past a rejection at a position ≤ S − 2) and ends at the next such rejection.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import z3

from proofs.schedule_model import DSI, Prefill, ScheduleVariant, encode_round, fifo_constraints


def round_spans(accept: Sequence[bool]) -> list[tuple[int, int | None]]:
    """(first position f, relative rejected position or None) for each round of a path.

    >>> round_spans([True, False, True, True]), round_spans([False, False])
    ([(0, 1), (2, None)], [(0, 0), (1, None)])
    """
    S = len(accept)
    spans, f = [], 0
    for i in range(S - 1):
        if not accept[i]:
            spans.append((f, i - f))
            f = i + 1
    spans.append((f, None))
    return spans


def encode_path(accept: Sequence[bool], k: int, c: z3.ArithRef, N: int | None, *,
                variant: ScheduleVariant = DSI,
                prefill: Prefill | None = None) -> tuple[z3.ArithRef, list[z3.BoolRef]]:
    """(the time of the path's last token, constraints) for DSI(k, N) on ``accept``
    (``N=None``: unlimited servers; ``prefill``: the best-start policy of :class:`Prefill`)."""
    S = len(accept)
    spans = round_spans(accept)
    constraints: list[z3.BoolRef] = []
    tasks = []
    start: z3.ArithRef = z3.RealVal(0)
    last_time: z3.ArithRef = start
    for index, (f, rejected) in enumerate(spans):
        end = z3.Real(f"path_end{index}") if rejected is not None else None
        enc = encode_round(S - f, k, c, N, variant=variant, tag=f"p{index}_", start=start, end=end,
                           round_index=index, fifo=False, rejected_at=rejected, prefill=prefill)
        constraints += enc.constraints
        tasks += enc.tasks
        if end is not None:
            start = end
        else:
            last_time = enc.r[-1]
    if N is not None:
        constraints += fifo_constraints(tasks, N, "path_")
    return last_time, constraints


def path_latency(accept: Sequence[bool], k: int, N: int | None, c: Fraction, *,
                 variant: ScheduleVariant = DSI,
                 prefill: tuple[Fraction, Fraction] | None = None) -> Fraction:
    """The latency at an exact c (and exact prefill latencies (P, Pd) of the best-start
    policy), with a second query proving the encoding determines it."""
    from proofs.core import exact, make_solver

    cz = z3.Real("c")
    timing = Prefill(z3.RealVal(str(prefill[0])), z3.RealVal(str(prefill[1]))) if prefill else None
    T, constraints = encode_path(accept, k, cz, N, variant=variant, prefill=timing)
    solver = make_solver()
    solver.add(cz == z3.RealVal(str(c)), *constraints)
    if solver.check() != z3.sat:
        raise AssertionError(f"path encoding {accept} k={k} N={N} c={c} is unsatisfiable")
    value = exact(solver.model().eval(T, model_completion=True))
    solver.add(z3.RealVal(str(value)) != T)
    if solver.check() != z3.unsat:
        raise AssertionError(f"path encoding {accept} k={k} N={N} c={c} does not determine T")
    return value


def si_latency(accept: Sequence[bool], k: int, c: Fraction) -> Fraction:
    """SI(k)'s latency on a path (reference simulation, exact)."""
    from reference.generate import generate
    from reference.latency import LatencyModel
    from reference.toy_models import AcceptancePathPair

    pair = AcceptancePathPair(list(accept))
    return generate(pair.target, pair.drafter, [0], len(accept), algorithm="si", lookahead=k,
                    mode="greedy", latency=LatencyModel.time_units(c)).latency


def find_path_violation(variant: ScheduleVariant, against: str, servers: Sequence[int], *,
                        max_S: int = 3, ks: Sequence[int] = (1, 2),
                        cs: Sequence[Fraction] = (Fraction(1, 2), Fraction(1, 4))) -> dict[str, object] | None:
    """The first path (S ≤ max_S, every acceptance pattern) on which the ``variant`` schedule
    is slower than non-SI (``against="nonsi"``) or SI (``"si"``), computed exactly."""
    from itertools import product

    for S in range(1, max_S + 1):
        for bits in product((True, False), repeat=S):
            for k in ks:
                for c in cs:
                    bound = Fraction(S) if against == "nonsi" else si_latency(bits, k, c)
                    for N in servers:
                        T = path_latency(bits, k, N, c, variant=variant)
                        if bound < T:
                            path = "".join("A" if b else "R" for b in bits)
                            return {"variant": variant.name, "path": path, "k": k, "N": N, "c": str(c),
                                    "T_DSI": str(T), f"T_{against}": str(bound)}
    return None
