"""Prefill (SPEC §10): which DSI schedules stay never slower than both SI and non-SI.

Latencies in decode units: target decode 1, drafter decode c ∈ (0, 1], target prefill P ≥ 1
(a server's first forward on the prompt), drafter prefill Pd ≥ c (the drafter's first).
non-SI (with the drafter alongside) resolves position i at max(P, Pd) + i; SI's first
iteration costs Pd + (kk − 1)c + P (or max(P, Pd) when it drafts nothing), later ones
kk·c + 1 (:func:`si_latency`).

Policies:

* ``cold`` (SPEC §10 default) and ``warm`` (every server prefills at t = 0): the reference's
  two, with N servers and FIFO; a *switch* picks one of them from the latencies;
* ``best-start`` (this module's candidate): unlimited servers, each task on a server warmed
  at t = 0 or on a fresh one, whichever ends first (:class:`proofs.schedule_model.Prefill`).

Results (theorem Tpre): no policy among cold, warm and any latency-dependent choice between
them is never slower than both SI and non-SI: at some latencies both fail (witness paths on
the reference simulation, exact); S = 2 cannot show it (there cold fails iff 1 < Pd < P and
warm iff Pd < min(1, P)), S = 3 does. The best-start policy is never slower than both on every
path with S ≤ 4 and every k, for symbolic c, P, Pd (z3 over the path model).
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from itertools import product

import z3

from proofs.core import ProofRefuted, exact, expect_unsat, make_solver, theorem
from proofs.path_model import encode_path
from proofs.schedule_model import Prefill, zmax


def _max(a, b):
    return max(a, b) if isinstance(a, Fraction) and isinstance(b, Fraction) else zmax(a, b)


def si_latency(accept: Sequence[bool], k: int, c, P, Pd):
    """SI(k) with prefill on a path (Fractions or z3 terms): the first iteration drafts kk
    tokens (the first one a prefill) and verifies with a prefill, later ones decode."""
    S = len(accept)
    n, t, first = 0, 0, True
    while n < S:
        kk = min(k, S - n - 1)
        # the first iteration's first draft and verification pay the prefills
        first_cost = Pd + (kk - 1) * c + P if kk >= 1 else _max(P, Pd)
        t = t + (first_cost if first else kk * c + 1)
        first = False
        run = 0
        while run < kk and accept[n + run]:
            run += 1
        n += run + 1
    return t


def nonsi_latency(S: int, P, Pd):
    """non-SI with the drafter alongside, with prefill: max(P, Pd) + S − 1."""
    return _max(P, Pd) + (S - 1)


def best_start_violation(max_S: int = 4) -> dict[str, object] | None:
    """A path, k and latencies with T_best-start > min(T_SI, T_nonSI), or None (z3, unsat for
    every path of length ≤ max_S and every k ≤ S − 1, symbolic c, P, Pd)."""
    c, P, Pd = z3.Reals("c P Pd")
    for S in range(1, max_S + 1):
        for bits in product((True, False), repeat=S):
            for k in range(1, max(1, S - 1) + 1):
                T, constraints = encode_path(bits, k, c, None, prefill=Prefill(P, Pd))
                solver = make_solver()
                solver.add(c > 0, c <= 1, P >= 1, Pd >= c, *constraints)
                solver.add(z3.Or(si_latency(bits, k, c, P, Pd) < T, nonsi_latency(S, P, Pd) < T))
                try:
                    expect_unsat(solver, f"best-start S={S} k={k}")
                except ProofRefuted as exc:
                    model = exc.countermodel
                    return {"path": "".join("A" if b else "R" for b in bits), "k": k,
                            **{name: str(exact(model.eval(v, model_completion=True)))
                               for name, v in (("c", c), ("P", P), ("Pd", Pd), ("T", T))}}
    return None


# ---------------------------------------------------------------- the theorem

#: Latencies at which both of the reference's policies fail (c, P, Pd), k = 1.
WITNESS_LATENCIES = (Fraction(1, 2), Fraction(3), Fraction(1, 2))
#: Default bound of the best-start model check (``dsi prove``); ``--deep`` goes further.
BEST_START_S, BEST_START_DEEP_S = 4, 6


def reference_latency(accept: Sequence[bool], algorithm: str, k: int, latency, *, N: int | None = None,
                      warm_start: bool = False) -> Fraction:
    """One path on the reference simulations (public entry point; exact)."""
    from reference.generate import generate
    from reference.toy_models import AcceptancePathPair

    pair = AcceptancePathPair(list(accept))
    extra = {"num_target_servers": N, "warm_start": warm_start} if algorithm == "dsi" else {}
    return generate(pair.target, pair.drafter, [0], len(accept), algorithm=algorithm, lookahead=k,
                    mode="greedy", latency=latency, **extra).latency


def reference_policies_fail(servers: Sequence[int] = (2, 3, 4, 5, 6)) -> list[str]:
    """At the witness latencies both cold and warm start are slower than SI or non-SI on some
    path (searched over every path with S ≤ 3, re-computed exactly): no choice between them,
    however it depends on the latencies, is never slower than both."""
    from reference.latency import LatencyModel

    c, P, Pd = WITNESS_LATENCIES
    latency = LatencyModel.time_units(c, target_prefill=P, drafter_prefill=Pd)
    found = []
    for N in servers:
        for warm in (False, True):
            witness = None
            for S in (1, 2, 3):
                for bits in product((True, False), repeat=S):
                    bound = min(si_latency(bits, 1, c, P, Pd), nonsi_latency(S, P, Pd))
                    T = reference_latency(bits, "dsi", 1, latency, N=N, warm_start=warm)
                    if bound < T:
                        path = "".join("A" if b else "R" for b in bits)
                        witness = f"{'warm' if warm else 'cold'} N={N} {path}: {T} > {bound}"
                        break
                if witness:
                    break
            if witness is None:
                raise ProofRefuted(f"Tpre: {'warm' if warm else 'cold'} start at N = {N} is never slower "
                                   f"than SI and non-SI on paths S <= 3 at (c, P, Pd) = {WITNESS_LATENCIES}")
            found.append(witness)
    return found


def lemma_best_start_nonsi() -> None:
    """Best-start vs non-SI for every S (step lemma): r_0 = max(P, Pd); at r_{u−1} ≥ P a task
    covering u was dispatched at t ≤ r_{u−1} (unlimited servers: it runs) and ends by
    max(t, P) + 1 ≤ r_{u−1} + 1, or F_u is dispatched at r_{u−1}; the draft of u by r_{u−1} + c."""
    P, t, rho, end = z3.Reals("P t rho end")
    solver = make_solver()
    solver.add(P >= 1, rho >= P, t <= rho, t >= 0)
    solver.add(end == z3.If(t + P <= zmax(t, P) + 1, t + P, zmax(t, P) + 1), end > rho + 1)
    expect_unsat(solver, "best-start step vs non-SI")


def prove_prefill(max_S: int = BEST_START_S) -> str:
    witnesses = reference_policies_fail()
    violation = best_start_violation(max_S)
    if violation is not None:
        raise ProofRefuted(f"Tpre: the best-start policy is slower on {violation}", violation)
    lemma_best_start_nonsi()
    return (f"cold and warm start both fail at (c, P, Pd) = (1/2, 3, 1/2), k = 1, N = 2..6 (reference, "
            f"exact): {'; '.join(witnesses[:2])}; ...; best-start (unlimited servers) never slower than "
            f"SI and non-SI: every path S <= {max_S}, every k, symbolic c, P >= 1, Pd >= c (z3); vs non-SI "
            "every S (step lemma)")


@theorem(
    id="Tpre",
    title="prefill: which schedules stay never slower than SI and non-SI",
    statement="with per-server prefill, neither cold nor warm start (nor any latency-dependent choice "
              "between them) is never slower than both SI and non-SI; the unlimited-server best-start "
              "policy is, on every path with S <= 4 (every S against non-SI)",
    assumptions=("latencies: target decode 1, drafter c in (0,1], target prefill P >= 1, drafter "
                 "prefill Pd >= c",),
    method="witness paths on the reference simulations (exact); z3 over the path model with "
           "prefill (symbolic c, P, Pd)",
    prose=("the best-start policy's model (unlimited servers, each task on a server warmed at t = 0 "
           "or a fresh one, whichever ends first) is encoded in the path model only; it agrees "
           "with the reference DSI when P = 1, Pd = c (tested)",
           "induction over positions for the every-S bound against non-SI"),
    deep=lambda: prove_prefill(BEST_START_DEEP_S),
)
def tpre() -> str:
    return prove_prefill()
