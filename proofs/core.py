"""Proof results, the theorem registry and the solver discipline of SPEC §6.

A theorem is a function registered with its id, one-line statement, assumptions and method;
calling :func:`run_theorem` runs its check and returns a frozen :class:`ProofResult`.
Nothing is proved at import time. The hygiene rules (Knuckledragger-like):

* a check is a claim whose negation must come back ``unsat``; ``sat`` gives a countermodel,
  which is re-checked with exact rationals before the theorem is reported ``refuted``;
* ``unknown`` or a timeout is a failure (status ``unknown``), never a pass;
* every solver call has a time limit (:data:`SOLVER_TIMEOUT_MS`), every theorem a budget
  (SPEC §10: ≤ 20 s of CPU time, so that other jobs on a shared machine do not fail it);
* where cheap, the same SMT-LIB query is sent to cvc5: agreement is recorded, cvc5's
  ``unknown`` (or a construct it cannot parse) is a note, and a contradicting answer (``sat``
  where z3 said ``unsat`` or the reverse) fails the theorem (:class:`SolverDisagreement`).
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from fractions import Fraction

import z3

from reference.errors import ProofFailure

#: Allowed values of ``ProofResult.status`` (SPEC §9).
STATUSES = ("proved", "refuted", "unknown", "error")

#: Time limit of one solver call, in milliseconds.
SOLVER_TIMEOUT_MS = 20_000

#: Time budget of one theorem, in seconds of CPU time (SPEC §10).
THEOREM_BUDGET_S = 20.0

#: Time limit of one solver call in a ``--deep`` check (long bounded model checking).
DEEP_SOLVER_TIMEOUT_MS = 600_000

_solver_timeout_ms = SOLVER_TIMEOUT_MS  # the limit make_solver applies now


class ProofRefuted(ProofFailure):
    """The negation of a claim is satisfiable: ``countermodel`` is an exact witness."""


class ProofUndecided(ProofFailure):
    """A solver answered ``unknown`` (or timed out): the claim is not proved."""


class CountermodelMismatch(ProofFailure):
    """A solver's ``sat`` model did not survive the exact-rational re-check."""


class SolverDisagreement(ProofFailure):
    """cvc5 contradicts z3 (``sat`` against ``unsat``): neither answer can be trusted."""


@dataclass(frozen=True)
class ProofResult:
    """The outcome of one theorem's check."""

    id: str
    title: str
    statement: str
    assumptions: tuple[str, ...]
    method: str
    status: str
    seconds: float
    detail: str = ""
    countermodel: object | None = None
    #: steps of the argument that are *not* machine-checked (model restatements, induction
    #: glue); empty when the check is the whole proof
    prose: tuple[str, ...] = ()
    #: CPU time of the check (the budget is on CPU time, so a busy machine does not fail it)
    cpu_seconds: float = 0.0

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")

    @property
    def proved(self) -> bool:
        return self.status == "proved"

    def as_json(self) -> dict[str, object]:
        """The SPEC §9 record (plus the detail line)."""
        return {
            "id": self.id, "title": self.title, "method": self.method, "status": self.status,
            "seconds": round(self.seconds, 3), "cpu_seconds": round(self.cpu_seconds, 3),
            "statement": self.statement,
            "detail": self.detail, "prose": list(self.prose),
        }


@dataclass(frozen=True)
class Theorem:
    """A registered theorem: metadata and the check (returns a detail line or raises)."""

    id: str
    title: str
    statement: str
    assumptions: tuple[str, ...]
    method: str
    check: Callable[[], str] = field(repr=False)
    prose: tuple[str, ...] = ()
    #: a longer check run by ``dsi prove --deep`` instead of ``check`` (no budget), if any
    deep: Callable[[], str] | None = field(default=None, repr=False)


REGISTRY: dict[str, Theorem] = {}


def theorem(*, id: str, title: str, statement: str, assumptions: Iterable[str],
            method: str, prose: Iterable[str] = (),
            deep: Callable[[], str] | None = None) -> Callable[[Callable[[], str]], Callable[[], str]]:
    """Register ``check`` as theorem ``id``; the check runs only when asked for.

    ``prose`` lists the steps of the argument the check does not cover (reported with the
    result, so that "proved" is read as "the check passed and these steps are argued").
    ``deep`` is a longer version of the check for ``dsi prove --deep`` (outside the budget).
    """

    def wrap(check: Callable[[], str]) -> Callable[[], str]:
        if id in REGISTRY:
            raise ValueError(f"theorem id {id!r} registered twice")
        REGISTRY[id] = Theorem(id, title, statement, tuple(assumptions), method, check, tuple(prose), deep)
        return check

    return wrap


def run_theorem(thm: Theorem, *, deep: bool = False) -> ProofResult:
    """Run one theorem's check and classify the outcome (never raises for a failed proof).

    ``deep`` runs the theorem's deep check where it has one, without the time budget.
    """
    global _solver_timeout_ms
    check = thm.deep if deep and thm.deep is not None else thm.check
    budget = not (deep and thm.deep is not None)
    _solver_timeout_ms = SOLVER_TIMEOUT_MS if budget else DEEP_SOLVER_TIMEOUT_MS
    start, cpu_start = time.perf_counter(), time.process_time()
    countermodel: object | None = None
    try:
        detail = check()
        status = "proved"
    except ProofRefuted as exc:
        status, detail, countermodel = "refuted", str(exc), exc.countermodel
    except ProofUndecided as exc:
        status, detail = "unknown", str(exc)
    except ProofFailure as exc:
        status, detail, countermodel = "error", str(exc), exc.countermodel
    except Exception as exc:  # a bug in a check is an error, reported, not a pass
        status = "error"
        detail = f"{type(exc).__name__}: {exc} | {traceback.format_exc(limit=3)}"
    finally:
        _solver_timeout_ms = SOLVER_TIMEOUT_MS
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    if budget and status == "proved" and cpu_seconds > THEOREM_BUDGET_S:  # CPU time: robust to load
        status, detail = "unknown", (f"over the {THEOREM_BUDGET_S:.0f} s budget ({cpu_seconds:.1f} s "
                                     f"CPU, {seconds:.1f} s wall); {detail}")
    return ProofResult(thm.id, thm.title, thm.statement, thm.assumptions, thm.method, status,
                       seconds, detail, countermodel, thm.prose, cpu_seconds)


# ---------------------------------------------------------------- solver helpers


def make_solver(timeout_ms: int | None = None, logic: str | None = None) -> z3.Solver:
    """A z3 solver with a time limit (``logic`` e.g. ``"QF_LRA"``); the default limit is
    :data:`SOLVER_TIMEOUT_MS`, or :data:`DEEP_SOLVER_TIMEOUT_MS` inside a ``--deep`` check."""
    solver = z3.SolverFor(logic) if logic else z3.Solver()
    solver.set("timeout", timeout_ms if timeout_ms is not None else _solver_timeout_ms)
    return solver


def exact(value: z3.ExprRef) -> Fraction:
    """An exact rational from a z3 model value (integers and rationals only)."""
    if z3.is_int_value(value):
        return Fraction(value.as_long())
    if z3.is_rational_value(value):
        return Fraction(value.numerator_as_long(), value.denominator_as_long())
    raise ProofFailure(f"model value {value} is not an exact rational (algebraic number?)")


def model_values(model: z3.ModelRef, variables: dict[str, z3.ExprRef]) -> dict[str, Fraction]:
    """Exact values of named variables in a model (unconstrained ones evaluate to 0)."""
    return {name: exact(model.eval(var, model_completion=True)) for name, var in variables.items()}


def expect_unsat(solver: z3.Solver, what: str) -> None:
    """Check ``solver``; return on ``unsat``, raise on ``unknown``; ``sat`` is the caller's job.

    Raises :class:`ProofUndecided` on ``unknown``. Returns normally only for ``unsat``;
    on ``sat`` raises a bare :class:`ProofRefuted` whose countermodel is the z3 model (the
    caller re-checks it and replaces it with exact rationals).
    """
    answer = solver.check()
    if answer == z3.unsat:
        return
    if answer == z3.unknown:
        raise ProofUndecided(f"{what}: z3 answered unknown ({solver.reason_unknown()})")
    raise ProofRefuted(f"{what}: z3 found a countermodel", countermodel=solver.model())


def cvc5_check(smt2: str, timeout_ms: int = SOLVER_TIMEOUT_MS) -> str:
    """Run an SMT-LIB 2 script (from ``z3.Solver.to_smt2``) through cvc5: sat/unsat/unknown."""
    import cvc5

    tm = cvc5.TermManager()
    solver = cvc5.Solver(tm)
    solver.setOption("tlimit-per", str(timeout_ms))
    solver.setLogic("ALL")
    parser = cvc5.InputParser(solver)
    script = "\n".join(line for line in smt2.splitlines() if not line.startswith("(set-info"))
    parser.setStringInput(cvc5.InputLanguage.SMT_LIB_2_6, script, "query")
    symbols = parser.getSymbolManager()
    answer = "unknown"
    try:
        while True:
            command = parser.nextCommand()
            if command.isNull():
                break
            out = command.invoke(solver, symbols).strip()
            if out in ("sat", "unsat", "unknown"):
                answer = out
    except RuntimeError as exc:  # a construct cvc5 does not parse: no verdict
        return f"error: {exc}"
    return answer


def cross_check(solver: z3.Solver, expected: str = "unsat", *,
                answer_of: Callable[[str], str] | None = None) -> bool:
    """Whether cvc5 agrees with z3's answer ``expected`` on ``solver``'s assertions.

    Returns True on agreement, False when cvc5 gives no verdict (``unknown``, a timeout, or
    a construct it cannot parse: a note, not a failure). Raises :class:`SolverDisagreement`
    when cvc5 answers the opposite of ``expected`` (``sat`` against ``unsat`` or the reverse).
    ``answer_of`` replaces cvc5 (tests inject a contradicting solver through it).
    """
    if expected not in ("sat", "unsat"):
        raise ValueError(f"expected must be 'sat' or 'unsat', got {expected!r}")
    answer = (answer_of or cvc5_check)(solver.to_smt2())
    if answer == expected:
        return True
    if answer in ("sat", "unsat"):
        raise SolverDisagreement(f"cvc5 answered {answer} where z3 answered {expected}: "
                                 "the solvers contradict each other")
    return False
