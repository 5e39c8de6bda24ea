"""Exact law of an engine's output by enumerating the uniforms' effect (SPEC §7, §10).

For a canonical engine, token i is ``K(p, q, d_i, u_accept, u_residual)`` with
``d_i = sample(q, u_draft)`` and (p, q) the processed rows at the true prefix. As a function
of the three uniforms at position i it is piecewise constant on *cells*: the draft cell is an
interval of q's CDF (length q(d)); the accept cells split [0, 1) at ``r = min(1, p(d)/q(d))``;
the residual cells are the intervals of the residual's CDF. Any refinement of a partition on
which the output is constant is again such a partition, so evaluating the engine at one
point per (refined) cell and weighting by the cell's volume gives the *exact* conditional law
``P(x_i | x_<i)`` of a correct engine — no false positive is possible.

The law of the first m tokens is built prefix by prefix: for each prefix ``x_<i`` reached, a
*witness* assignment of the earlier positions' uniforms reproduces it (SPEC §3, consequence 1
says nothing else matters); position i's cells are then enumerated with ``S = i + 1``.

Refinements used to expose broken engines (sound for correct ones): each accept cell is
split into ``accept_splits`` equal parts; the residual cells use the union of the residual's
and p's CDF breakpoints.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import pairwise

from properties.engines import Engine, EngineRequest
from properties.exact_models import Number, RationalTabularLM, process_exact
from reference.errors import EngineContractError
from reference.results import Result

STREAMS = ("draft", "accept", "residual")


@dataclass(frozen=True)
class Cell:
    """One cell of position i's uniforms: its midpoints and its volume."""

    draft: float
    accept: float
    residual: float
    volume: Number


def _cdf_breaks(row: Sequence[Number]) -> list[Number]:
    breaks: list[Number] = []
    total: Number = 0
    for x in row:
        total += x
        breaks.append(total)
    return breaks


def _intervals(breaks: Sequence[Number]) -> list[tuple[Number, Number]]:
    """Intervals of [0, 1) cut at the given interior points (sorted, deduplicated)."""
    one = Fraction(1) if all(isinstance(b, Fraction) for b in breaks) else 1.0
    points = sorted({b for b in breaks if 0 < b < one})
    edges = [0 * one, *points, one]
    return [(lo, hi) for lo, hi in pairwise(edges) if hi > lo]


def cells(p: Sequence[Number], q: Sequence[Number], *, accept_splits: int = 2) -> Iterator[Cell]:
    """The cells of one position for processed rows p (target) and q (drafter).

    >>> half = Fraction(1, 2)
    >>> sum(c.volume for c in cells((half, half), (Fraction(1, 4), Fraction(3, 4))))
    Fraction(1, 1)
    """
    q_breaks = _cdf_breaks(q)
    lower: Number = 0
    for d, qd in enumerate(q):
        if not qd > 0:
            continue
        draft_point = float(lower + qd / 2)
        lower = q_breaks[d]
        one = Fraction(1) if isinstance(qd, Fraction) and isinstance(p[d], Fraction) else 1.0
        ratio = min(one, p[d] / qd)
        for lo, hi in _intervals([ratio]):
            width = (hi - lo) / accept_splits
            accepted = hi <= ratio
            if accepted:
                residual_cells = [(0 * width, 1 + 0 * width)]
            else:
                res = [max(a - b, 0) for a, b in zip(p, q, strict=True)]
                total = sum(res)
                res_breaks = _cdf_breaks([x / total for x in res]) if total > 0 else []
                residual_cells = _intervals(res_breaks + _cdf_breaks(p))
            for part in range(accept_splits):
                a_lo = lo + part * width
                for r_lo, r_hi in residual_cells:
                    yield Cell(draft_point, float(a_lo + width / 2), float((r_lo + r_hi) / 2),
                               qd * width * (r_hi - r_lo))


def _run(engine: Engine, base: EngineRequest, assignment: dict[tuple[int, str], float],
         length: int) -> Result:
    def source(position: int, stream: str) -> float:
        return assignment.get((position, stream), 0.5)

    return engine.generate(base.but(max_new_tokens=length, uniforms=source))


def _rows(target: RationalTabularLM, drafter: RationalTabularLM, base: EngineRequest,
          prefix: tuple[int, ...]) -> tuple[tuple[Number, ...], tuple[Number, ...]]:
    full = base.prompt + prefix
    kwargs = {"temperature": base.temperature, "top_k": base.top_k, "top_p": base.top_p}
    return (process_exact(target.exact_row(full), **kwargs),
            process_exact(drafter.exact_row(full), **kwargs))


def position_outcomes(engine: Engine, base: EngineRequest, target: RationalTabularLM,
                      drafter: RationalTabularLM, prefix: tuple[int, ...],
                      witness: dict[tuple[int, str], float], *, accept_splits: int = 2
                      ) -> Iterator[tuple[Cell, dict[tuple[int, str], float], Result]]:
    """Run the engine once per cell of position ``len(prefix)``, the prefix fixed by ``witness``."""
    i = len(prefix)
    p, q = _rows(target, drafter, base, prefix)
    for cell in cells(p, q, accept_splits=accept_splits):
        assignment = dict(witness)
        assignment.update({(i, "draft"): cell.draft, (i, "accept"): cell.accept,
                           (i, "residual"): cell.residual})
        result = _run(engine, base, assignment, i + 1)
        if tuple(result.tokens[:i]) != prefix or len(result.tokens) != i + 1:
            raise EngineContractError(
                f"{engine.name}: the uniforms that produced prefix {prefix} produced "
                f"{result.tokens} when one more token was asked for (not canonical)"
            )
        yield cell, assignment, result


def engine_sequence_law(engine: Engine, base: EngineRequest, target: RationalTabularLM,
                        drafter: RationalTabularLM, length: int, *, accept_splits: int = 2
                        ) -> dict[tuple[int, ...], Number]:
    """The exact law of the first ``length`` tokens the engine emits (sampling mode).

    Needs the ``uniform_injection`` capability; ``base`` fixes models, prompt, algorithm, k,
    N, latencies, processing and stop tokens (its ``max_new_tokens`` and ``uniforms`` are
    replaced). A sequence ending in a stop token is final: it is carried to the next length
    unchanged, so with stop tokens the law is that of the stopped sequence (≤ ``length`` tokens).
    """
    law: dict[tuple[int, ...], Number] = {(): Fraction(1)}
    witnesses: dict[tuple[int, ...], dict[tuple[int, str], float]] = {(): {}}
    for _ in range(length):
        nxt: dict[tuple[int, ...], Number] = {}
        nxt_witness: dict[tuple[int, ...], dict[tuple[int, str], float]] = {}
        for prefix, prob in law.items():
            if prefix and prefix[-1] in base.stop_tokens:
                nxt[prefix] = nxt.get(prefix, 0 * prob) + prob
                nxt_witness.setdefault(prefix, witnesses[prefix])
                continue
            for cell, assignment, result in position_outcomes(
                    engine, base, target, drafter, prefix, witnesses[prefix],
                    accept_splits=accept_splits):
                seq = tuple(result.tokens)
                nxt[seq] = nxt.get(seq, 0 * prob) + prob * cell.volume
                nxt_witness.setdefault(seq, assignment)
        law, witnesses = nxt, nxt_witness
    return law
