"""The property suite as data: every property of SPEC §7, runnable against any engine.

Each :class:`SuiteProperty` has a name, the capabilities it needs, and ``run(engine,
shrink=...)``, which raises :class:`~properties.violation.PropertyViolation` (or the
engine's own error) when the engine fails it, and returns the records of its statistical
tests (α, power, n, p-value), if any. Hypothesis drives the randomised ones with the active
profile (``quick``: half the examples; ``ci``: derandomized; ``thorough``: fresh seeds,
10x examples; :mod:`properties.profiles`); statistical ones use the fixed cases of
:mod:`properties.statistical_suite`, registered so that the Bonferroni share of the
family-wise α = 1e-6 is known.

Order matters to the mutant harness (``killed_by`` is the first property that fails, and a
mutant runs every property before it): the exact and deterministic properties of the
original suite first, then the cheap properties that close its blind spots (ties, stop
tokens, processing combinations, requests sharing state), the latency properties, the long
generations (S in the hundreds), statistical ones last.
:func:`evaluate` runs one property and classifies the outcome; ``dsi check``
(:mod:`properties.check`), the pytest plugin, ``dsi mutants`` and the ``repro all`` sweep all
go through it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from properties import strategies as pst
from properties import suite_cases as cases
from properties.communication import check_message_latency, message_requests
from properties.distribution import check_exact_acceptance_rate, check_exact_sequence_law, check_processed_law
from properties.engines import Engine, EngineRequest
from properties.isolation import (
    check_batch_consistency,
    check_request_isolation,
    check_request_isolation_sampled,
    check_vocab_mismatch,
)
from properties.latency import (
    check_exact_timing,
    check_illustration,
    check_latency_dominance,
)
from properties.profiles import examples, is_derandomized
from properties.schedule import (
    check_cache_reuse,
    check_schedule_agreement,
    check_timing_fidelity,
    schedule_requests,
)
from properties.statistical_suite import (
    REGISTERED_STATISTICAL_TESTS,
    STATISTICAL_ALPHA,
    run_monte_carlo_means,
    run_statistical_law,
    statistical_plans,
)
from properties.stopping import check_exact_stopped_law, check_stop_tokens, check_stop_trajectory
from properties.trajectory import (
    check_canonical_tokens,
    check_greedy_acceptances,
    check_greedy_equality,
    check_result_contract,
    check_trajectory_equality,
)
from properties.violation import PropertyViolation
from reference.latency import LatencyModel

__all__ = ["PROPERTIES", "REGISTERED_STATISTICAL_TESTS", "STATISTICAL_ALPHA", "SUITE", "Outcome",
           "SuiteProperty", "evaluate", "failure_of", "failures", "first_failure", "run_property"]

#: ``runner(engine, shrink=...)``: raises on failure; may return statistical records.
Runner = Callable[..., "list[dict[str, object]] | None"]
#: A strategy, or a function of the engine returning one (engine-specific model pairs).
StrategyFor = st.SearchStrategy | Callable[[Engine], st.SearchStrategy]


@dataclass(frozen=True)
class SuiteProperty:
    """One property of the suite: name, what it checks, what it needs, how to run it."""

    name: str
    kind: str  # "contract", "trajectory", "greedy", "stop", "isolation", "exact", "latency", "statistical"
    requires: tuple[str, ...]  # capability attributes that must be True
    description: str
    runner: Runner

    def missing(self, engine: Engine) -> tuple[str, ...]:
        """The capabilities this property needs that the engine does not declare."""
        return tuple(cap for cap in self.requires if not getattr(engine.capabilities, cap, False))

    def applies_to(self, engine: Engine) -> bool:
        """True when the engine declares every capability the property needs."""
        return not self.missing(engine)

    def run(self, engine: Engine, *, shrink: bool = True) -> list[dict[str, object]] | None:
        """Run against ``engine``; raises on failure; returns statistical records, if any."""
        return self.runner(engine, shrink=shrink)


@contextmanager
def module_independent_generation() -> Iterator[None]:
    """Make Hypothesis' generation depend on the strategy and the seed only.

    Hypothesis (6.13x and later) mixes numbers it finds in the source of every *local* module
    already imported into what it generates (``providers._get_local_constants``), so the same
    derandomized run drew different examples under ``dsi mutants`` (which imports proofs/,
    gpu_runtime/, paper_repro/), under pytest, and from an engine's CI (where this package is
    installed, not local). Inside the suite's runners that pool is empty, so "a CI failure is
    a deterministic regression" holds wherever the suite runs. A private hook: if a later
    Hypothesis drops it, generation falls back to Hypothesis' default (still correct, only
    less reproducible across entry points).
    """
    try:
        from hypothesis.internal.conjecture import providers

        original, constants = providers._get_local_constants, providers.Constants()
        cache = providers.CONSTANTS_CACHE.cache
    except (ImportError, AttributeError):  # pragma: no cover - a Hypothesis without the hook
        yield
        return
    cache.clear()  # entries built with the module constants
    providers._get_local_constants = lambda: constants
    try:
        yield
    finally:
        providers._get_local_constants = original
        cache.clear()


def _hypothesis(strategy: StrategyFor, check: Callable[[Engine, object], None], n: int) -> Runner:
    def runner(engine: Engine, *, shrink: bool = True) -> None:
        phases = [Phase.explicit, Phase.reuse, Phase.generate] + ([Phase.shrink] if shrink else [])
        drawn = strategy if isinstance(strategy, st.SearchStrategy) else strategy(engine)

        @settings(max_examples=examples(n), database=None, deadline=None, phases=phases,
                  derandomize=is_derandomized(), print_blob=True,
                  suppress_health_check=list(HealthCheck))
        @given(drawn)
        def inner(case: object) -> None:
            check(engine, case)

        with module_independent_generation():
            inner()

    return runner


# ---------------------------------------------------------------- randomised properties


def _exact_law(engine: Engine, case: tuple) -> None:
    request, target, drafter, length = case
    check_exact_sequence_law(engine, request, target, drafter, length)


def _exact_acceptance(engine: Engine, case: tuple) -> None:
    request, target, drafter, _ = case
    check_exact_acceptance_rate(engine, request, target, drafter)


def _decode_only(request: EngineRequest) -> EngineRequest:
    lat = request.latency
    return request.but(latency=LatencyModel(lat.target_decode, lat.drafter_decode))


def _dominance(engine: Engine, request: EngineRequest) -> None:
    # T5/T6 are theorems about the preemptive algorithm; the non-preemptive variant (a
    # cancelled draft keeps the drafter) can lose to non-SI when c > 1/2 (tests/properties).
    check_latency_dominance(engine, _decode_only(request).but(preemptive=True))


def _warm_start_dominance(engine: Engine, request: EngineRequest) -> None:
    # With prefill and warm start only T_DSI <= T_nonSI holds (SI can win: docs/reference.md).
    check_latency_dominance(engine, request, against_si=False)


def _illustration(engine: Engine, *, shrink: bool = True) -> None:
    check_illustration(engine)


def _processed_law(engine: Engine, case: tuple) -> None:
    check_processed_law(engine, *case)


def _stopped_law(engine: Engine, case: tuple) -> None:
    check_exact_stopped_law(engine, *case)


def _stop_tokens(engine: Engine, case: tuple) -> None:
    check_stop_tokens(engine, *case)


def _stop_trajectory(engine: Engine, case: tuple) -> None:
    check_stop_trajectory(engine, *case)


def _greedy_ties(engine: Engine, request: EngineRequest) -> None:
    check_greedy_equality(engine, request, prop="greedy_ties")


def _long_greedy(engine: Engine, request: EngineRequest) -> None:
    check_greedy_equality(engine, request, prop="long_greedy")


CANONICAL = ("canonical",)
TIMED = ("canonical", "timed", "any_model")
INJECTED = ("uniform_injection", "any_model")
SCHEDULED = ("canonical", "schedule_trace", "any_model")


SUITE: tuple[SuiteProperty, ...] = (
    # -- the original suite: exact and deterministic first
    SuiteProperty("result_contract", "contract", (),
                  "S tokens in range(V), one non-decreasing time per token, latency = last time",
                  _hypothesis(lambda e: cases.engine_requests(e, max_length=10), check_result_contract, 10)),
    SuiteProperty("trajectory_equality", "trajectory", CANONICAL,
                  "non-SI == SI == DSI token for token (random and tied models, k, N, latencies, jitter)",
                  _hypothesis(lambda e: cases.engine_requests(e, max_length=12), check_trajectory_equality, 60)),
    SuiteProperty("greedy_equality", "greedy", (),
                  "greedy DSI/SI/non-SI == the target's greedy decode",
                  _hypothesis(lambda e: cases.engine_requests(e, modes=("greedy",)), check_greedy_equality, 25)),
    SuiteProperty("greedy_acceptances", "greedy", CANONICAL,
                  "greedy: accepted drafts == positions with argmax q = argmax p",
                  _hypothesis(lambda e: cases.engine_requests(e, modes=("greedy",)), check_greedy_acceptances, 25)),
    SuiteProperty("exact_sequence_law", "exact", INJECTED,
                  "law of the first m <= 3 tokens by exact enumeration == target law",
                  _hypothesis(cases.exact_cases(), _exact_law, 20)),
    SuiteProperty("exact_acceptance_rate", "exact", INJECTED,
                  "P[accept] == Σ min(p, q), exactly",
                  _hypothesis(cases.exact_cases(), _exact_acceptance, 20)),
    # -- the blind spots: ties, stop tokens, processing combinations, shared state
    SuiteProperty("greedy_ties", "greedy", ("any_model",),
                  "greedy == target decode on rows with exact ties (lowest id), point masses, zeros, "
                  "near-ties within 1e-6",
                  _hypothesis(pst.generation_requests(modes=("greedy",), pairs=pst.tied_pairs(), max_length=16),
                              _greedy_ties, 25)),
    SuiteProperty("stop_tokens", "stop", (),
                  "greedy, every algorithm: output == target decode cut just after the first stop token "
                  "(a stop id in the prompt stops nothing), time per token, latency = stop time",
                  _hypothesis(cases.stop_cases, _stop_tokens, 20)),
    SuiteProperty("stop_trajectory", "stop", CANONICAL,
                  "sampling: every algorithm (DSI both preemptions) == stop-free tokens cut at the first "
                  "stop token",
                  _hypothesis(lambda e: cases.stop_cases(e, modes=("sample",)), _stop_trajectory, 20)),
    SuiteProperty("stopped_law", "exact", INJECTED,
                  "exact law of the stopped sequence (<= m tokens) == the target's stopped law",
                  _hypothesis(cases.stopped_cases(), _stopped_law, 15)),
    SuiteProperty("processed_law", "exact", INJECTED,
                  "exact law under temperature + top-k + top-p together (ties, zeros, exact top-p "
                  "boundaries) == the independently processed target law",
                  _hypothesis(cases.processed_cases(), _processed_law, 15)),
    SuiteProperty("request_isolation", "isolation", (),
                  "greedy: requests sharing prompts/prefixes across two models, forward then reversed, "
                  "each == its target decode",
                  _hypothesis(cases.shared_prompt_cases, check_request_isolation, 6)),
    SuiteProperty("request_isolation_sampled", "isolation", CANONICAL,
                  "sampling: shared prompts across models and processing, each request == its canonical "
                  "tokens whatever ran before",
                  _hypothesis(cases.shared_prompt_cases, check_request_isolation_sampled, 6)),
    SuiteProperty("batch_consistency", "isolation", ("batching",),
                  "generate_batch (prompts of different lengths, own S and stop tokens) == each request "
                  "alone",
                  _hypothesis(cases.batch_cases, check_batch_consistency, 10)),
    SuiteProperty("vocab_mismatch", "contract", ("any_model",),
                  "drafter vocabulary V±1: refused, or output == target greedy decode",
                  _hypothesis(cases.vocab_mismatch_requests(), check_vocab_mismatch, 10)),
    # -- the schedule of a wall-time engine (SPEC §8.1, §11.1)
    SuiteProperty("schedule_agreement", "schedule", SCHEDULED,
                  "the engine's schedule (forwards, servers, rounds, times, cancellations) == the reference's",
                  _hypothesis(schedule_requests(), check_schedule_agreement, 100)),
    SuiteProperty("kv_cache_reuse", "schedule", ("kv_cache", "any_model"),
                  "each forward reuses exactly min(LCP, len − needed) cached positions of its server",
                  _hypothesis(schedule_requests(), check_cache_reuse, 30)),
    SuiteProperty("timing_fidelity", "timing", ("schedule_trace", "any_model"),
                  "observed times within the declared tolerance of the schedule (emulated and real latency)",
                  lambda engine, shrink=True: check_timing_fidelity(engine)),
    # -- latency (virtual time, or the schedule a wall-time engine reports)
    SuiteProperty("illustration", "latency", TIMED,
                  "the paper's illustration: tokens by t = 14, 32, 56, 64", _illustration),
    SuiteProperty("latency_dominance", "latency", TIMED,
                  "pathwise T_DSI <= T_nonSI (N >= 1) and <= T_SI (N >= 2), decode latencies",
                  _hypothesis(pst.generation_requests(max_length=14, jitter=False,
                                                      with_processing=False), _dominance, 60)),
    SuiteProperty("warm_start_dominance", "latency", TIMED,
                  "prefill latencies, warm start: pathwise T_DSI <= T_nonSI (N >= 1)",
                  _hypothesis(cases.warm_start_requests(), _warm_start_dominance, 40)),
    SuiteProperty("exact_timing", "latency", TIMED,
                  "non-SI/SI times from the path (prefill included); DSI round-additive",
                  _hypothesis(pst.generation_requests(max_length=14, jitter=False, modes=("sample",),
                                                      with_processing=False), check_exact_timing, 40)),
    # -- long generations
    SuiteProperty("long_greedy", "greedy", ("any_model",),
                  "S in 100..300, whole-prefix models: greedy == target decode",
                  _hypothesis(pst.long_requests(modes=("greedy",)), _long_greedy, 4)),
    SuiteProperty("canonical_tokens", "trajectory", ("canonical", "any_model"),
                  "sampling, S in 100..300: every algorithm == the canonical sequence recomputed "
                  "independently",
                  _hypothesis(cases.canonical_cases(), check_canonical_tokens, 8)),
    # -- statistical last
    SuiteProperty("monte_carlo_means", "statistical", TIMED,
                  "mean SI/DSI latency == exact finite-S expectation (CLT interval, α stated)",
                  run_monte_carlo_means),
    SuiteProperty("statistical_law", "statistical", (),
                  "χ² of the first m tokens (and of a stopped sequence) vs the exact target law "
                  "(α, power, n stated)",
                  run_statistical_law),
    # last, so that the mutant catalogue's first failures (killed_by) are those documented before it
    SuiteProperty("message_latency", "latency", TIMED,
                  "message latencies are target forward time; with them on every side T_DSI <= T_nonSI, "
                  "T_SI (N >= 2); the loss against message-free SI/non-SI is at most mu per iteration/token",
                  _hypothesis(message_requests(), check_message_latency, 20)),
)

PROPERTIES = {prop.name: prop for prop in SUITE}


def run_property(name: str, engine: Engine, *, shrink: bool = True) -> list[dict[str, object]] | None:
    """Run one property by name against ``engine``."""
    return PROPERTIES[name].run(engine, shrink=shrink)


VERDICTS = ("pass", "fail", "error", "not applicable")


@dataclass(frozen=True)
class Outcome:
    """What running one property on one engine gave.

    verdict: "pass"; "fail" (a PropertyViolation: the engine broke the property); "error"
        (the engine raised something else under the property: also a failure); "not
        applicable" (``missing`` names the capabilities the engine does not declare).
    evidence: the violation's message, with Hypothesis' falsifying example (shrunk when
        ``shrink``) — empty on a pass.
    records: the statistical tests run (α, power, effect, n, statistic, p-value).
    plans: the statistical tests' plans (α, power, effect, n), also for a failed or skipped run.
    """

    name: str
    verdict: str
    seconds: float
    evidence: str = ""
    missing: tuple[str, ...] = ()
    records: tuple[dict[str, object], ...] = ()
    plans: tuple[dict[str, object], ...] = field(default=(), compare=False)

    @property
    def failed(self) -> bool:
        """True for "fail" and "error"."""
        return self.verdict in ("fail", "error")


def _evidence(exc: BaseException) -> str:
    notes = [n for n in getattr(exc, "__notes__", []) if n.startswith("Falsifying example")]
    message = str(exc) if isinstance(exc, PropertyViolation) else f"{type(exc).__name__}: {exc}"
    return "\n".join([message, *notes])


def evaluate(prop: SuiteProperty, engine: Engine, *, shrink: bool = True) -> Outcome:
    """Run ``prop`` on ``engine`` (unless not applicable) and classify the outcome."""
    missing = prop.missing(engine)
    plans = tuple(statistical_plans(prop.name, engine)) if prop.kind == "statistical" and not missing else ()
    if missing:
        return Outcome(prop.name, "not applicable", 0.0, missing=missing)
    start = time.perf_counter()
    try:
        records = prop.run(engine, shrink=shrink) or []
    except PropertyViolation as exc:
        return Outcome(prop.name, "fail", time.perf_counter() - start, _evidence(exc), plans=plans)
    except Exception as exc:  # the engine crashed under the property: a failure too
        return Outcome(prop.name, "error", time.perf_counter() - start, _evidence(exc), plans=plans)
    return Outcome(prop.name, "pass", time.perf_counter() - start, records=tuple(records), plans=plans)


def failures(engine: Engine, *, stop_at_first: bool = True,
             names: tuple[str, ...] | None = None) -> list[tuple[str, str]]:
    """Run the suite in order (no shrinking); ``(property, message)`` of each failure.

    A crash of the engine under a property (any exception) counts as a failure of it.
    """
    found: list[tuple[str, str]] = []
    for prop in SUITE:
        if (names is not None and prop.name not in names) or not prop.applies_to(engine):
            continue
        message = failure_of(prop, engine)
        if message is not None:
            found.append((prop.name, message))
        if found and stop_at_first:
            break
    return found


def failure_of(prop: SuiteProperty, engine: Engine) -> str | None:
    """Run one property without shrinking: None if it holds, else why it failed (a crash of
    the engine under the property counts as a failure)."""
    outcome = evaluate(prop, engine, shrink=False)
    return outcome.evidence if outcome.failed else None


def first_failure(engine: Engine) -> tuple[str, str] | None:
    """``(property, message)`` of the first property the engine fails, or None."""
    found = failures(engine, stop_at_first=True)
    return found[0] if found else None
