"""Checks of the schedule theorems T5–T7 over the z3 round model (parametric in the schedule).

Every check takes the :class:`~proofs.schedule_model.ScheduleVariant` under proof, so a
broken schedule (no frontier task, ...) can be shown to fail. Claims are per round; a path
is a sequence of rounds with the same boundaries for DSI, SI and non-SI (a rejection at
relative position j ends the round for all three: SI also restarts its iterations at the
corrected token), so a per-round inequality for every round length m ≤ S gives the pathwise
inequality for every acceptance path of length S (summing over rounds).

Countermodels (``sat``) are re-checked with exact rationals: for the DSI variant against the
reference event simulation (``reference.generate`` on an acceptance-path pair); for other
variants by re-solving the encoding at the model's rational c (with uniqueness).

Servers note: the proofs declare N as a *real* variable ``N ≥ n_min`` (pure QF_LRA, about
twice as fast as mixed integer/real). This is sound: the integer values of N are a subset
of the real ones, so ``unsat`` over real N implies ``unsat`` over every integer N. A ``sat``
answer is re-solved with an integer N before it is reported.
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from itertools import product

import z3

from proofs.core import (
    CountermodelMismatch,
    ProofFailure,
    ProofRefuted,
    cross_check,
    exact,
    expect_unsat,
    make_solver,
)
from proofs.schedule_model import (
    DSI,
    RoundEncoding,
    ScheduleVariant,
    encode_round,
    si_round_times,
    solve_round,
    windows_alone,
)

#: Bound on the round length (and on S) of the bounded schedule proofs.
MAX_ROUND = 8


def round_shapes(max_m: int = MAX_ROUND) -> Iterator[tuple[int, int]]:
    """(m, k) for every round length m ≤ max_m and every distinct lookahead.

    For k ≥ m − 1 the round has a single window holding every draft, so k = max(1, m − 1)
    stands for all larger k (in particular every k ≤ S is covered).
    """
    for m in range(1, max_m + 1):
        for k in range(1, max(1, m - 1) + 1):
            yield m, k


# ---------------------------------------------------------------- exact re-checks


def event_round_times(m: int, k: int, N: int | None, c: Fraction,
                      accept: tuple[bool, ...] | None = None) -> tuple[Fraction, ...]:
    """Resolution times of the reference event simulation (decode latencies, greedy pair)."""
    from reference.generate import generate
    from reference.latency import LatencyModel
    from reference.toy_models import AcceptancePathPair

    pair = AcceptancePathPair(list(accept) if accept is not None else [True] * m)
    result = generate(pair.target, pair.drafter, [0], m, algorithm="dsi", lookahead=k,
                      num_target_servers=N, mode="greedy", latency=LatencyModel.time_units(c))
    return tuple(result.times)


def reference_round_times(variant: ScheduleVariant, m: int, k: int, N: int,
                          c: Fraction) -> tuple[Fraction, ...]:
    """R_m(0..m−1) at an exact c: the event simulation for DSI, the encoding otherwise."""
    if variant == DSI:
        return event_round_times(m, k, N, c)
    return tuple(solve_round(m, k, N, c, variant=variant))


def _countermodel(enc: RoundEncoding, model: z3.ModelRef, variant: ScheduleVariant,
                  bound_of: callable, what: str) -> dict[str, object]:
    """Exact countermodel of a per-round inequality, re-checked independently."""
    c = exact(model.eval(enc.c, model_completion=True))
    N = enc.N if isinstance(enc.N, int) else int(exact(model.eval(enc.N, model_completion=True)))
    times = reference_round_times(variant, enc.m, enc.k, N, c)
    bounds = [Fraction(b) for b in bound_of(c)]
    bad = [j for j in range(enc.m) if times[j] > bounds[j]]
    info = {"m": enc.m, "k": enc.k, "N": N, "c": str(c), "variant": variant.name,
            "R": [str(t) for t in times], "bound": [str(b) for b in bounds], "violated_at": bad}
    if not bad:
        raise CountermodelMismatch(f"{what}: z3 countermodel {info} does not re-check exactly", info)
    return info


# ---------------------------------------------------------------- T5 / T6


def check_round_bound(name: str, bound_of: callable, *, variant: ScheduleVariant = DSI,
                      min_servers: int = 1, max_m: int = MAX_ROUND, cvc5_max_m: int = 4) -> str:
    """For every round shape, N ≥ min_servers (symbolic) and c ∈ (0, 1]: R_m(j) ≤ bound(j).

    ``bound_of(c)`` returns the list of bounds for j = 0..m−1 (z3 terms for symbolic c).
    """
    c, N = z3.Real("c"), z3.Real("N")  # a real N covers every integer N (see servers_note)
    queries = agreed = 0
    for m, k in round_shapes(max_m):
        enc = encode_round(m, k, c, N, variant=variant)
        solver = make_solver()
        solver.add(c > 0, c <= 1, min_servers <= N, *enc.constraints)
        solver.push()  # vacuity guard, at one point: the schedule must resolve every position
        solver.add(c == z3.RealVal("1/2"), min_servers == N)
        feasible = solver.check() == z3.sat
        solver.pop()
        if not feasible:
            info = {"m": m, "k": k, "variant": variant.name}
            raise ProofRefuted(f"{name}: the {variant.name} schedule never resolves a round of "
                               f"length m={m} (k={k}): no task computes p at some position", info)
        bounds = bound_of(m, k, c)
        solver.add(z3.Or(*[rj > b for rj, b in zip(enc.r, bounds, strict=True)]))
        try:
            expect_unsat(solver, f"{name} m={m} k={k}")
        except ProofRefuted:
            info = _integer_countermodel(m, k, variant, bound_of, min_servers, name)
            raise ProofRefuted(f"{name}: counterexample {info}", info) from None
        queries += 1
        if m <= cvc5_max_m:
            agreed += cross_check(solver)
    checked = sum(1 for m, _ in round_shapes(max_m) if m <= cvc5_max_m)
    return (f"{queries} round shapes (m <= {max_m}, every k, symbolic c in (0,1], symbolic "
            f"N >= {min_servers}) unsat; cvc5 agrees on {agreed}/{checked} (m <= {cvc5_max_m})")


def _integer_countermodel(m: int, k: int, variant: ScheduleVariant, bound_of: callable,
                          min_servers: int, name: str) -> dict[str, object]:
    """Re-solve one round shape with an integer N and re-check the countermodel exactly."""
    c, N = z3.Real("c"), z3.Int("N")
    enc = encode_round(m, k, c, z3.ToReal(N), variant=variant)
    solver = make_solver()
    solver.add(c > 0, c <= 1, min_servers <= N, *enc.constraints)
    solver.add(z3.Or(*[rj > b for rj, b in zip(enc.r, bound_of(m, k, c), strict=True)]))
    if solver.check() != z3.sat:
        raise CountermodelMismatch(f"{name}: m={m} k={k} refuted only at a non-integer N")
    model = solver.model()
    enc.N = int(exact(model.eval(N, model_completion=True)))
    return _countermodel(enc, model, variant, lambda cv: bound_of(m, k, cv), name)


def nonsi_bounds(m: int, k: int, c: object) -> list:
    """non-SI resolves relative position j at j + 1."""
    return [j + 1 for j in range(m)]


def si_bounds(m: int, k: int, c: object) -> list:
    return si_round_times(m, k, c)


def find_round_violation(bound_of: callable, N: int, *, variant: ScheduleVariant = DSI,
                         max_m: int = MAX_ROUND) -> dict[str, object] | None:
    """A round shape and c ∈ (0, 1] with R_m(j) > bound(j) at N servers, re-checked exactly."""
    c = z3.Real("c")
    for m, k in round_shapes(max_m):
        enc = encode_round(m, k, c, N, variant=variant)
        solver = make_solver()
        solver.add(c > 0, c <= 1, *enc.constraints)
        solver.add(z3.Or(*[rj > b for rj, b in zip(enc.r, bound_of(m, k, c), strict=True)]))
        answer = solver.check()
        if answer == z3.sat:
            return _countermodel(enc, solver.model(), variant,
                                 lambda cv, m=m, k=k: bound_of(m, k, cv), "witness")
    return None


def concrete_violation(variant: ScheduleVariant, against: str, servers: tuple[int, ...]) -> dict[str, object] | None:
    """A concrete schedule where DSI is slower than ``against`` (``"nonsi"``: R_m(j) > j + 1;
    ``"si"``: R_m(j) > SI_m(j)) at one of ``servers``, re-checked exactly, or None.

    The round model starts every round clean, so a variant that keeps stale tasks is searched
    in the path model instead (:func:`proofs.path_model.find_path_violation`).
    """
    if not variant.cancel_stale:
        from proofs.path_model import find_path_violation

        return find_path_violation(variant, against, servers)
    bounds = {"nonsi": nonsi_bounds, "si": si_bounds}[against]
    for N in servers:
        witness = find_round_violation(bounds, N, variant=variant, max_m=5)
        if witness is not None:
            return witness
    return None


def path_violation(m: int, k: int, N: int, c: Fraction) -> tuple[tuple[bool, ...], Fraction, Fraction]:
    """An acceptance path of length m with T_DSI > T_SI in the reference simulations."""
    from reference.generate import generate
    from reference.latency import LatencyModel
    from reference.toy_models import AcceptancePathPair

    for bits in product((True, False), repeat=m):
        pair = AcceptancePathPair(list(bits))
        kwargs = {"mode": "greedy", "latency": LatencyModel.time_units(c), "lookahead": k}
        dsi = generate(pair.target, pair.drafter, [0], m, algorithm="dsi", num_target_servers=N, **kwargs)
        si = generate(pair.target, pair.drafter, [0], m, algorithm="si", **kwargs)
        if dsi.latency > si.latency:
            return bits, dsi.latency, si.latency
    raise CountermodelMismatch(f"no path of length {m} with T_DSI > T_SI at k={k}, N={N}, c={c}")


# ---------------------------------------------------------------- T7


def servers_at_least(N: z3.ArithRef, k: int, c: z3.ArithRef, *, extra: int, floor: int,
                     top: int) -> z3.BoolRef:
    """Linear encoding of ``N ≥ max(floor, ⌈1/(kc)⌉ + extra)`` for c ∈ (0, 1].

    Split on n0 = ⌈1/(kc)⌉ ∈ {1..top}: ``(n0−1)kc < 1 ≤ n0·kc``; the tail n0 > top is
    ``top·kc < 1`` with ``N ≥ max(floor, top + 1 + extra)`` (a weaker demand is not needed
    there because ``top`` exceeds the number of tasks of the round).
    """
    cases = [z3.And(n0 * k * c >= 1, (n0 - 1) * k * c < 1, max(floor, n0 + extra) <= N)
             for n0 in range(1, top + 1)]
    cases.append(z3.And(top * k * c < 1, max(floor, top + 1 + extra) <= N))
    return z3.Or(*cases)


def check_no_wait(*, variant: ScheduleVariant = DSI, windows: str, extra: int, floor: int,
                  max_m: int = MAX_ROUND) -> int:
    """No window of the given kind ("full" or "cut") waits when N ≥ max(floor, ⌈1/(kc)⌉ + extra).

    Returns the number of unsat queries; raises ProofRefuted with an exact countermodel.
    """
    c, N = z3.Real("c"), z3.Real("N")  # a real N covers every integer N
    queries = 0
    for m, k in round_shapes(max_m):
        enc = encode_round(m, k, c, N, variant=variant)
        chosen = [t for t in enc.tasks if t.kind == "window"
                  and enc.is_full_window(t) == (windows == "full")]
        if not chosen:
            continue
        top = len(enc.tasks) + 1
        solver = make_solver()
        solver.add(c > 0, c <= 1, N >= 1, *enc.constraints)
        solver.add(servers_at_least(N, k, c, extra=extra, floor=floor, top=top))
        solver.add(z3.Or(*[enc.waits(t) for t in chosen]))
        try:
            expect_unsat(solver, f"no {windows} window waits m={m} k={k}")
        except ProofRefuted as exc:
            model = exc.countermodel
            cv = exact(model.eval(c, model_completion=True))
            nv = exact(model.eval(N, model_completion=True))
            if nv.denominator != 1:
                raise CountermodelMismatch(f"wait countermodel at non-integer N={nv}") from None
            nv = int(nv)
            info = {"m": m, "k": k, "N": nv, "c": str(cv), "windows": windows}
            if variant == DSI and not waits_in_reference(m, k, nv, cv, windows):
                raise CountermodelMismatch(f"wait countermodel {info} does not re-check", info) from None
            raise ProofRefuted(f"a {windows} window waits: {info}", info) from None
        queries += 1
    return queries


def waits_in_reference(m: int, k: int, N: int, c: Fraction, windows: str) -> bool:
    """Whether a window of the kind waits in the event simulation's trace (all accepted)."""
    from reference.generate import generate
    from reference.latency import LatencyModel
    from reference.toy_models import AcceptancePathPair

    pair = AcceptancePathPair([True] * m)
    result = generate(pair.target, pair.drafter, [0], m, algorithm="dsi", lookahead=k,
                      num_target_servers=N, mode="greedy", latency=LatencyModel.time_units(c))
    for task in result.trace:
        if task.kind != "window":
            continue
        full = task.first_position + k <= m - 1
        if full == (windows == "full") and (task.start is None or task.start > task.dispatch):
            return True
    return False


def wait_witness(m: int, k: int, N: int, windows: str, c_range: tuple[Fraction, Fraction]) -> Fraction:
    """A c in [lo, hi) at which a window of the kind waits, from z3, re-checked exactly."""
    c = z3.Real("c")
    enc = encode_round(m, k, c, N)
    chosen = [t for t in enc.tasks if t.kind == "window" and enc.is_full_window(t) == (windows == "full")]
    lo, hi = c_range
    solver = make_solver()
    solver.add(c >= z3.RealVal(str(lo)), c < z3.RealVal(str(hi)), c > 0, c <= 1, *enc.constraints)
    solver.add(z3.Or(*[enc.waits(t) for t in chosen]) if chosen else z3.BoolVal(False))
    if solver.check() != z3.sat:
        raise ProofFailure(f"no {windows}-window wait witness at m={m} k={k} N={N} c in [{lo},{hi})")
    cv = exact(solver.model().eval(c, model_completion=True))
    if not waits_in_reference(m, k, N, cv, windows):
        raise CountermodelMismatch(f"wait witness m={m} k={k} N={N} c={cv} does not re-check")
    return cv


def check_windows_alone(max_windows: int = 8) -> int:
    """Paper's setting: no window waits ⟺ N ≥ min(B, ⌈1/(kc)⌉), as a function of x = kc > 0.

    Dispatches are at (b+1)·x, so k and c enter only through x; N ≥ ⌈1/x⌉ ⟺ N·x ≥ 1.
    """
    x = z3.Real("x")
    queries = 0
    for B in range(1, max_windows + 1):
        for N in range(1, B + 1):
            tasks, constraints = windows_alone(B, 1, x, N)
            no_wait = z3.And(*[t.start == t.dispatch for t in tasks])
            claim = no_wait == z3.Or(N >= B, N * x >= 1)
            solver = make_solver()
            solver.add(x > 0, *constraints, z3.Not(claim))
            try:
                expect_unsat(solver, f"windows alone B={B} N={N}")
            except ProofRefuted as exc:
                xv = exact(exc.countermodel.eval(x, model_completion=True))
                raise ProofRefuted(f"windows alone B={B} N={N} kc={xv}", {"B": B, "N": N, "kc": str(xv)}) from None
            queries += 1
    return queries


def check_cut_short_k2(max_m: int = MAX_ROUND) -> int:
    """k = 2, N = 2, kc ≥ 1: the cut-short window waits ⟺ m even, m ≥ 4 and c < 2/3."""
    c = z3.Real("c")
    queries = 0
    for m in range(2, max_m + 1):
        enc = encode_round(m, 2, c, 2)
        cut = [t for t in enc.tasks if t.kind == "window" and not enc.is_full_window(t)]
        waits = z3.Or(*[enc.waits(t) for t in cut]) if cut else z3.BoolVal(False)
        predicted = z3.BoolVal(m % 2 == 0 and m >= 4)
        solver = make_solver()
        solver.add(2 * c >= 1, c <= 1, *enc.constraints,
                   z3.Not(waits == z3.And(predicted, c < z3.RealVal("2/3"))))
        expect_unsat(solver, f"cut-short k=2 m={m}")
        queries += 1
    return queries


def check_single_window_no_wait(max_m: int = MAX_ROUND) -> int:
    """A round with one window (m ≤ k + 1) has no waiting task when N ≥ 2."""
    c, N = z3.Real("c"), z3.Real("N")
    queries = 0
    for m in range(1, max_m + 1):
        k = max(1, m - 1)
        enc = encode_round(m, k, c, N)
        solver = make_solver()
        solver.add(c > 0, c <= 1, N >= 2, *enc.constraints, z3.Or(*[enc.waits(t) for t in enc.tasks]))
        expect_unsat(solver, f"single window m={m}")
        queries += 1
    return queries


# ---------------------------------------------------------------- generic round properties


def check_round_property(name: str, shapes: list[tuple[int, int]], negation: callable, *,
                         domain: callable, variant: ScheduleVariant = DSI,
                         servers: int | None = None) -> int:
    """For every (m, k) in ``shapes``: ``domain(c, N, k) ∧ round constraints ∧ negation(enc)``
    is unsat. ``servers`` fixes N (else N is a real variable, see the servers note).
    Returns the number of queries; raises ProofRefuted with the (m, k, c, N) of a model."""
    c = z3.Real("c")
    N = servers if servers is not None else z3.Real("N")
    for m, k in shapes:
        enc = encode_round(m, k, c, N, variant=variant)
        solver = make_solver()
        solver.add(*domain(c, N, k), *enc.constraints, negation(enc))
        try:
            expect_unsat(solver, f"{name} m={m} k={k}")
        except ProofRefuted as exc:
            model = exc.countermodel
            info = {"m": m, "k": k, "c": str(exact(model.eval(c, model_completion=True))),
                    "N": servers if servers is not None
                    else str(exact(model.eval(N, model_completion=True))),
                    "R": [str(exact(model.eval(r, model_completion=True))) for r in enc.r]}
            n_value = Fraction(info["N"])
            if variant == DSI and n_value.denominator == 1:  # exact re-check on the simulation
                times = event_round_times(m, k, int(n_value), Fraction(info["c"]))
                if [str(t) for t in times] != info["R"]:
                    raise CountermodelMismatch(f"{name}: model {info} differs from the event "
                                               f"simulation {times}", info) from None
            raise ProofRefuted(f"{name}: countermodel {info}", info) from None
    return len(shapes)
