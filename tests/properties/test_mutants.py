"""Each mutant is killed by its designated property on a fixed case the reference passes."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

import pytest

from properties.distribution import check_exact_sequence_law, check_processed_law
from properties.engines import Engine, EngineRequest, ReferenceEngine
from properties.exact_models import RationalTabularLM
from properties.isolation import (
    SharedPromptCase,
    check_batch_consistency,
    check_request_isolation,
    check_request_isolation_sampled,
    check_vocab_mismatch,
)
from properties.latency import check_exact_timing, check_illustration, check_latency_dominance
from properties.mutants import CATALOGUE, MUTANTS, run_catalogue
from properties.stopping import check_stop_tokens
from properties.suite import PROPERTIES, evaluate
from properties.trajectory import (
    check_canonical_tokens,
    check_greedy_acceptances,
    check_greedy_equality,
    check_trajectory_equality,
)
from properties.violation import PropertyViolation
from reference.latency import LatencyModel
from reference.toy_models import MixtureDrafter, TabularLM

EXACT_TARGET = RationalTabularLM.from_weights([[1, 2, 1], [0, 1, 3], [2, 2, 0]], order=1)
EXACT_DRAFTER = RationalTabularLM.from_weights([[3, 1, 0], [1, 1, 1], [0, 1, 4]], order=1)
TABULAR = TabularLM(4, order=1, seed=1)
MIXTURE = MixtureDrafter(TABULAR, overlap=0.5)
FAST_DRAFTER = LatencyModel.time_units("1/10")
WHOLE_PREFIX = TabularLM(4, order=None, seed=1)  # context = whole prefix: every slip shows
CLOSE_DRAFTER = MixtureDrafter(WHOLE_PREFIX, overlap=0.9)


def _exact(engine: Engine) -> None:
    request = EngineRequest(EXACT_TARGET, EXACT_DRAFTER, (0,), 2, algorithm="dsi", lookahead=2, num_target_servers=2)
    check_exact_sequence_law(engine, request, EXACT_TARGET, EXACT_DRAFTER, 2)


def _trajectory(engine: Engine) -> None:
    for seed in range(5):
        check_trajectory_equality(engine, EngineRequest(WHOLE_PREFIX, CLOSE_DRAFTER, (0,), 10, lookahead=3,
                                                        seed=seed, latency=FAST_DRAFTER))


def _greedy(engine: Engine) -> None:
    check_greedy_equality(engine, EngineRequest(TABULAR, MIXTURE, (0,), 12, lookahead=3))


def _greedy_acceptances(engine: Engine) -> None:
    for seed in range(3):
        check_greedy_acceptances(engine, EngineRequest(TABULAR, MIXTURE, (0,), 12, lookahead=3, seed=seed))


def _timing(engine: Engine) -> None:
    for seed in range(3):
        check_exact_timing(engine, EngineRequest(TABULAR, MixtureDrafter(TABULAR, overlap=0.3), (0,), 12,
                                                 lookahead=3, num_target_servers=2, seed=seed,
                                                 latency=LatencyModel.time_units("1/8")))


def _dominance(engine: Engine) -> None:
    # c = 3/4, k = 3: without the frontier chain, accepted positions wait for windows
    # (dispatched every 9/4) instead of resolving one per target forward.
    for seed in range(5):
        check_latency_dominance(engine, EngineRequest(TABULAR, MIXTURE, (0,), 6, lookahead=3, seed=seed,
                                                      latency=LatencyModel.time_units("3/4")))


# ---------------------------------------------------------------- fixed cases of the engine-level mutants

TIE = RationalTabularLM.from_weights([[2, 2, 1]], order=0)  # p = (2/5, 2/5, 1/5): ids 0 and 1 tie


class _Row:
    """A model with one fixed float row (every context)."""

    def __init__(self, row: list[float]) -> None:
        self.row, self.vocab_size = row, len(row)

    def next_token_probs(self, prefix: object) -> object:
        import numpy as np

        return np.array(self.row)

    def __repr__(self) -> str:
        return f"_Row({self.row})"


#: p(1) exceeds p(0) by 2e-7: argmax is 1; in float16 both round to 0.4502 and argmax is 0.
NEAR_TIE = _Row([0.45, 0.45 + 2e-7, 0.1 - 2e-7])
LONG_TARGET = TabularLM(4, order=None, seed=3)
LONG = EngineRequest(LONG_TARGET, MixtureDrafter(LONG_TARGET, overlap=0.8), (1,), 160, lookahead=3,
                     num_target_servers=3)


def _stop(engine: Engine) -> None:
    # TABULAR's greedy decode from prompt (0,) is cut at the token it emits at index 3.
    check_stop_tokens(engine, EngineRequest(TABULAR, MIXTURE, (0,), 12, lookahead=3), pick=3)


def _stop_in_prompt(engine: Engine) -> None:
    # the stop set also holds the prompt's token (0): it must stop nothing
    check_stop_tokens(engine, EngineRequest(TABULAR, MIXTURE, (0,), 12, lookahead=3), pick=3,
                      extra=frozenset({0}))


def _ties(engine: Engine) -> None:
    check_greedy_equality(engine, EngineRequest(TIE, TIE, (0,), 4, lookahead=2), prop="greedy_ties")


def _near_ties(engine: Engine) -> None:
    check_greedy_equality(engine, EngineRequest(NEAR_TIE, NEAR_TIE, (0,), 4, lookahead=2), prop="greedy_ties")


def _processed(engine: Engine) -> None:
    # rows (3/8, 3/8, 1/4) and (1/2, 1/4, 1/4): ties at top-k boundaries, masses reaching top-p exactly
    target = RationalTabularLM.from_weights([[3, 3, 2], [4, 2, 2], [2, 2, 4]], order=1)
    drafter = RationalTabularLM.from_weights([[2, 4, 2], [2, 2, 4], [4, 2, 2]], order=1)
    request = EngineRequest(target, drafter, (0,), 1, algorithm="dsi", lookahead=2, num_target_servers=2)
    check_processed_law(engine, request, target, drafter, 1, {"temperature": 2.0, "top_k": 2, "top_p": 0.5})


def _isolation(engine: Engine) -> None:
    other = TabularLM(4, order=None, seed=9)
    case = SharedPromptCase(EngineRequest(WHOLE_PREFIX, CLOSE_DRAFTER, (0, 1), 6, lookahead=2), other,
                            MixtureDrafter(other, overlap=0.9), 2)
    check_request_isolation(engine, case)


def _isolation_sampled(engine: Engine) -> None:
    case = SharedPromptCase(EngineRequest(WHOLE_PREFIX, CLOSE_DRAFTER, (0, 1), 6, lookahead=2, seed=4), WHOLE_PREFIX,
                            CLOSE_DRAFTER, 2)
    check_request_isolation_sampled(engine, case)


def _batch(engine: Engine) -> None:
    first = EngineRequest(WHOLE_PREFIX, CLOSE_DRAFTER, (2,), 6, lookahead=2, mode="greedy")
    check_batch_consistency(engine, [first, first.but(prompt=(1, 3, 3)), first.but(prompt=(3, 0))])


def _vocab(engine: Engine) -> None:
    target = TabularLM(4, order=None, seed=0, concentration=0.5)  # its greedy decode emits id 3 (index 1)
    check_vocab_mismatch(engine, EngineRequest(target, TabularLM(3, order=None, seed=6), (0,), 12, lookahead=2))


def _long_greedy(engine: Engine) -> None:
    check_greedy_equality(engine, LONG, prop="long_greedy")


def _long_canonical(engine: Engine) -> None:
    check_canonical_tokens(engine, LONG)


DESIGNATED: dict[str, Callable[[Engine], None]] = {
    "always_accept": _exact,
    "residual_no_clip": _exact,
    "ratio_q_over_p": _exact,
    "reject_from_p": _exact,
    "residual_uniform_reused": _exact,
    "q_not_sampling_distribution": _exact,
    "temperature_drafter_only": _exact,
    "greedy_draft_softmax_q": _greedy_acceptances,
    "off_by_one_logits": _greedy,
    "bonus_dropped": check_illustration,
    "bonus_wrong_position": _trajectory,
    "stale_task_not_cancelled": _timing,
    "post_rejection_acceptances_kept": _trajectory,
    "no_frontier_chain": _dominance,
    "drafter_stale_prefix": _trajectory,
    "stop_ignored": _stop,
    "stop_token_excluded": _stop,
    "stop_one_late": _stop,
    "stop_in_prompt": _stop_in_prompt,
    "greedy_ties_upward": _ties,
    "greedy_half_precision": _near_ties,
    "top_p_crossing_dropped": _processed,
    "top_k_keeps_ties": _processed,
    "top_p_before_temperature": _processed,
    "top_p_after_top_k_renormalised": _processed,
    "first_token_unverified": _exact,
    "cache_ignores_model": _isolation,
    "cache_ignores_sampling": _isolation_sampled,
    "batch_padding_unmasked": _batch,
    "target_cut_to_drafter_vocab": _vocab,
    "context_window_128": _long_greedy,
    "uniform_counter_wraps_128": _long_canonical,
}


@pytest.mark.parametrize("name", sorted(DESIGNATED))
def test_designated_property_passes_on_the_reference(name: str) -> None:
    DESIGNATED[name](ReferenceEngine())


@pytest.mark.parametrize("name", sorted(DESIGNATED))
def test_designated_property_kills_the_mutant(name: str) -> None:
    with pytest.raises(PropertyViolation):
        DESIGNATED[name](MUTANTS[name].build())


def test_every_reference_mutant_has_a_designated_killer() -> None:
    assert set(DESIGNATED) == {name for name, m in MUTANTS.items() if m.engine == "reference"}


def test_catalogue_covers_the_spec_list() -> None:
    required = {"always_accept", "residual_no_clip", "greedy_draft_softmax_q", "q_not_sampling_distribution",
                "bonus_dropped", "bonus_wrong_position", "off_by_one_logits", "temperature_drafter_only",
                "stale_task_not_cancelled", "post_rejection_acceptances_kept", "ratio_q_over_p",
                "reject_from_p"}
    assert required <= set(MUTANTS)
    assert len(CATALOGUE) >= 12


def test_catalogue_covers_the_blind_spots_and_names_its_engine() -> None:
    classes = {m.bug_class for m in CATALOGUE}
    assert {"stop tokens", "ties", "logits processing", "caches", "batching", "long generation"} <= classes
    assert {m.engine for m in CATALOGUE} <= {"reference", "runtime"}
    assert len(CATALOGUE) >= 32


def test_stop_token_property_fails_on_an_engine_that_ignores_stop_tokens() -> None:
    # TABULAR's greedy decode from (0,) and the stop set {its token at index 3}: the reference
    # stops there, the mutant runs on to S = 12 and the property names the stop token.
    _stop(ReferenceEngine())
    with pytest.raises(PropertyViolation, match=r"\[stop_tokens\].*a stop token of .* before the last position"):
        _stop(MUTANTS["stop_ignored"].build())
    outcome = evaluate(PROPERTIES["stop_tokens"], MUTANTS["stop_ignored"].build(), shrink=False)
    assert outcome.verdict == "fail" and outcome.evidence.startswith("[stop_tokens]")


def test_tie_property_fails_on_an_engine_that_breaks_ties_upward() -> None:
    # p = (2/5, 2/5, 1/5) in every context: the greedy decode is 0, 0, 0, 0 (lowest id on the
    # tie); breaking ties upward gives 1, 1, 1, 1.
    assert ReferenceEngine().generate(EngineRequest(TIE, TIE, (0,), 4, mode="greedy")).tokens == (0, 0, 0, 0)
    upward = MUTANTS["greedy_ties_upward"].build()
    assert upward.generate(EngineRequest(TIE, TIE, (0,), 4, mode="greedy")).tokens == (1, 1, 1, 1)
    with pytest.raises(PropertyViolation, match=r"\[greedy_ties\] dsi emitted \(1, 1, 1, 1\)"):
        _ties(upward)
    outcome = evaluate(PROPERTIES["greedy_ties"], upward, shrink=False)
    assert outcome.verdict == "fail"


def test_near_ties_separate_the_float16_argmax() -> None:
    # 0.45 and 0.4500002 are distinct in float64 (argmax 1) and equal in float16 (argmax 0).
    assert ReferenceEngine().generate(EngineRequest(NEAR_TIE, NEAR_TIE, (0,), 2, mode="greedy")).tokens == (1, 1)
    assert MUTANTS["greedy_half_precision"].build().generate(
        EngineRequest(NEAR_TIE, NEAR_TIE, (0,), 2, mode="greedy")).tokens == (0, 0)


@pytest.mark.parametrize("name", ["bonus_dropped", "stale_task_not_cancelled", "no_frontier_chain"])
def test_timing_only_mutants_are_killed_by_latency_properties_in_the_harness(name: str) -> None:
    (outcome,) = run_catalogue([name])
    assert outcome.killed
    assert PROPERTIES[outcome.killed_by].kind == "latency"  # type: ignore[index]


def test_timing_only_mutants_keep_the_tokens() -> None:
    request = EngineRequest(TABULAR, MIXTURE, (0,), 12, lookahead=2, num_target_servers=2, seed=3,
                            latency=LatencyModel.time_units(Fraction(1, 4)))
    expected = ReferenceEngine().generate(request).tokens
    for name in ("bonus_dropped", "stale_task_not_cancelled", "no_frontier_chain"):
        assert MUTANTS[name].build().generate(request).tokens == expected


def test_the_documented_kill_matrix_covers_the_catalogue_and_the_suite() -> None:
    """docs/mutants.md's matrix (``dsi mutants --all-properties --write-docs``) is current:
    one row per mutant, one column per property in suite order, no survivor."""
    import re
    from pathlib import Path

    from properties.kill_matrix import END, START
    from properties.suite import SUITE

    text = (Path(__file__).resolve().parents[2] / "docs" / "mutants.md").read_text(encoding="utf-8")
    block = text.split(START, 1)[1].split(END, 1)[0]
    rows = [line.split("|")[1].strip() for line in block.splitlines()
            if line.startswith("| ") and not line.startswith(("| mutant", "| **"))]
    assert sorted(rows) == sorted(MUTANTS)
    legend = re.search(r"Columns: (.*)\.\n", block)
    assert legend is not None
    assert re.findall(r"`(\w+)`", legend.group(1)) == [p.name for p in SUITE]
    assert "Surviving mutants" not in block
