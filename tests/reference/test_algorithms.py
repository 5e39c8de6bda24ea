"""non-SI, SI and DSI in virtual time: identical tokens, exact timing facts, dominance."""

from fractions import Fraction as F

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from properties.profiles import examples
from reference import LatencyModel, generate, tokens_by
from reference.errors import ConfigError
from reference.results import max_concurrent_target_tasks
from reference.toy_models import AcceptancePathPair, MixtureDrafter, SyntheticAcceptancePair, TabularLM

ILLUSTRATION = LatencyModel(target_decode=7, drafter_decode=1)
TIMES = (14, 32, 56, 64)


@settings(max_examples=examples(120))
@given(seed=st.integers(0, 2**32), vocab=st.integers(2, 7), order=st.integers(0, 2),
       overlap=st.floats(0, 1), k=st.integers(1, 8), N=st.integers(1, 8), S=st.integers(1, 24),
       mode=st.sampled_from(["sample", "greedy"]), preemptive=st.booleans(),
       c=st.sampled_from([F(1, 20), F(1, 7), F(1, 3), F(1, 2), F(1)]), jitter=st.sampled_from([F(0), F(1, 2)]))
def test_all_algorithms_emit_identical_tokens(seed, vocab, order, overlap, k, N, S, mode, preemptive, c, jitter):
    target = TabularLM(vocab, order=order, seed=seed)
    drafter = MixtureDrafter(target, overlap=overlap, seed=seed + 1)
    latency = LatencyModel(target_decode=1, drafter_decode=c, jitter=jitter, jitter_seed=seed)
    runs = [generate(target, drafter, [seed % vocab], S, algorithm=alg, lookahead=k, num_target_servers=N, mode=mode,
                     seed=seed, latency=latency, preemptive=preemptive) for alg in ("nonsi", "si", "dsi")]
    assert runs[0].tokens == runs[1].tokens == runs[2].tokens
    assert len(runs[0].tokens) == S


@settings(max_examples=examples(40))
@given(seed=st.integers(0, 2**32), k=st.integers(1, 8), N=st.integers(1, 8), S=st.integers(1, 20))
def test_greedy_dsi_equals_target_greedy_decode(seed, k, N, S):
    target = TabularLM(5, order=2, seed=seed)
    drafter = TabularLM(5, order=1, seed=seed + 7)
    prefix = [1, 2]
    expected = []
    for _ in range(S):
        token = int(np.argmax(target.next_token_probs(prefix)))
        expected.append(token)
        prefix.append(token)
    out = generate(target, drafter, [1, 2], S, lookahead=k, num_target_servers=N, mode="greedy", seed=seed)
    assert list(out.tokens) == expected


@pytest.mark.parametrize(
    ("acceptance", "algorithm", "expected"),
    [
        (1.0, "dsi", [8, 26, 50, 58]),
        (1.0, "si", [2, 8, 14, 16]),
        (1.0, "nonsi", [2, 4, 8, 9]),
        (0.0, "dsi", [2, 4, 8, 9]),
        (0.0, "nonsi", [2, 4, 8, 9]),
        (0.0, "si", [1, 4, 7, 8]),  # the paper's row reads 1/4/8/9; its own model gives this
    ],
)
def test_paper_illustration(acceptance, algorithm, expected):
    pair = SyntheticAcceptancePair(4, acceptance, seed=0)
    out = generate(pair.target, pair.drafter, [0], 100, algorithm=algorithm, lookahead=1, num_target_servers=7,
                   latency=ILLUSTRATION)
    assert [tokens_by(out, t) for t in TIMES] == expected


def test_hand_computed_dsi_schedule():
    # k = 2, N = 2, c = 1/5; path: accept, reject, accept, accept, reject, accept (see docs/reference.md)
    pair = AcceptancePathPair([True, False, True, True, False, True])
    out = generate(pair.target, pair.drafter, [0], 6, lookahead=2, num_target_servers=2, mode="greedy",
                   latency=LatencyModel.time_units(F(1, 5)))
    assert out.times == (F(1), F(7, 5), F(12, 5), F(14, 5), F(14, 5), F(19, 5))
    assert out.counters.accepted_drafts == 4 and out.counters.rejected_drafts == 2


def test_si_hand_computed_and_trace():
    pair = AcceptancePathPair([True, True, False, True, True])
    out = generate(pair.target, pair.drafter, [0], 5, algorithm="si", lookahead=2, mode="greedy",
                   latency=LatencyModel.time_units(F(1, 4)))
    # iteration 1: drafts 0,1 (1/2) + verify (1) -> positions 0,1 accepted, bonus 2 rejected at 3/2
    # iteration 2: drafts 3,4 -> kk = min(2, 5-3-1) = 1: draft 3 (1/4) + verify -> 3, bonus 4 at 11/4
    assert out.times == (F(3, 2), F(3, 2), F(3, 2), F(11, 4), F(11, 4))
    assert [task.kind for task in out.trace if task.server == "target:0"] == ["verify", "verify"]


def test_servers_never_exceed_num_target_servers_and_cancellations_are_traced():
    target = TabularLM(4, order=1, seed=3)
    drafter = MixtureDrafter(target, overlap=0.6)
    out = generate(target, drafter, [0], 60, lookahead=2, num_target_servers=3,
                   latency=LatencyModel.time_units(F(1, 10)))
    assert max_concurrent_target_tasks(out.trace) <= 3
    assert out.counters.cancelled_tasks == sum(1 for t in out.trace if t.cancelled is not None and t.kind != "draft")
    assert out.counters.rejected_drafts > 0 and out.counters.cancelled_tasks > 0


def test_stop_token_ends_generation_at_its_position():
    target = TabularLM(3, order=1, seed=11)
    drafter = MixtureDrafter(target, overlap=0.9)
    full = generate(target, drafter, [0], 40, seed=2, num_target_servers=4)
    stop = full.tokens[5]
    first = full.tokens.index(stop)
    for algorithm in ("dsi", "si", "nonsi"):
        out = generate(target, drafter, [0], 40, seed=2, num_target_servers=4, stop_tokens=[stop], algorithm=algorithm)
        assert out.tokens == full.tokens[: first + 1]
        assert out.latency == out.times[-1]


def _latencies(accept, k, N, c):
    pair = AcceptancePathPair(accept)
    latency = LatencyModel.time_units(c)
    return {alg: generate(pair.target, pair.drafter, [0], len(accept), algorithm=alg, lookahead=k, num_target_servers=N,
                          mode="greedy", latency=latency).latency for alg in ("nonsi", "si", "dsi")}


@settings(max_examples=examples(400))
@given(accept=st.lists(st.booleans(), min_size=1, max_size=16), k=st.integers(1, 8), N=st.integers(1, 8),
       c=st.fractions(F(1, 50), F(1)))
def test_pathwise_dsi_never_slower(accept, k, N, c):
    T = _latencies(accept, k, N, c)
    assert T["dsi"] <= T["nonsi"]
    if N >= 2:
        assert T["dsi"] <= T["si"]


# Counterexamples at N = 1, kept as regressions: the frontier task holds the only server, so
# the first window waits for it. By hand: SI drafts k (k·c) and verifies (1): every token at
# k·c + 1; DSI: F0 on [0, 1], window 0 queued until 1, runs [1, 2]: T = 2.
@pytest.mark.parametrize(
    ("accept", "k", "c", "dsi", "si"),
    [
        ([True, True, True], 2, F(1, 10), F(2), F(6, 5)),
        ([True] * 6, 5, F(1, 100), F(2), F(21, 20)),
    ],
)
def test_n1_counterexamples(accept, k, c, dsi, si):
    T = _latencies(accept, k, 1, c)
    assert (T["dsi"], T["si"]) == (dsi, si)
    assert T["dsi"] > T["si"]


@settings(max_examples=examples(150))
@given(seed=st.integers(0, 2**32), S=st.integers(1, 60), a=st.floats(0, 1), k=st.integers(1, 8),
       N=st.integers(1, 8), c=st.sampled_from([0.01, 0.05, 0.1, 0.2, 0.25, 1 / 3, 0.5, 0.75, 1.0]))
def test_pathwise_dominance_on_thousands_of_paths(seed, S, a, k, N, c):
    """40 random paths per example through the fast exact model (equal to the event simulation)."""
    from reference.fast import exact

    accept = np.random.default_rng(seed).random((40, S)) < a
    dsi = exact.dsi_latency(accept, k, c, N)
    assert (dsi <= S + 1e-9).all()
    if N >= 2:
        assert (dsi <= exact.si_latency(accept, k, c) + 1e-9).all()


def test_torch_module_adapter_acts_as_a_reference_model():
    import torch

    from reference.toy_models import TorchModuleLM

    torch.manual_seed(0)
    vocab = 7

    class TinyLM(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = torch.nn.Embedding(vocab, 8)
            self.head = torch.nn.Linear(8, vocab)

        def forward(self, ids):  # ids (1, L) -> logits (1, L, V)
            return self.head(torch.cumsum(self.embed(ids), dim=1))

    target, drafter = TorchModuleLM(TinyLM(), vocab), TorchModuleLM(TinyLM(), vocab)
    probs = target.next_token_probs([1, 2, 3])
    assert probs.dtype == np.float64 and probs.shape == (vocab,) and abs(probs.sum() - 1) < 1e-12
    runs = [generate(target, drafter, [1, 2], 10, algorithm=alg, lookahead=3, num_target_servers=2, seed=5)
            for alg in ("nonsi", "si", "dsi")]
    assert runs[0].tokens == runs[1].tokens == runs[2].tokens


# ---------------------------------------------------------------- prefill: cold and warm start

def _prefill_latencies(accept, k, N, c, target_prefill, drafter_prefill, *, warm_start):
    pair = AcceptancePathPair(accept)
    latency = LatencyModel.time_units(c, target_prefill=target_prefill, drafter_prefill=drafter_prefill)
    common = {"mode": "greedy", "latency": latency}
    S = len(accept)
    return {
        "nonsi": generate(pair.target, pair.drafter, [0], S, algorithm="nonsi", **common).latency,
        "si": generate(pair.target, pair.drafter, [0], S, algorithm="si", lookahead=k, **common).latency,
        "dsi": generate(pair.target, pair.drafter, [0], S, lookahead=k, num_target_servers=N, warm_start=warm_start,
                        **common).latency,
    }


@settings(max_examples=examples(400))
@given(accept=st.lists(st.booleans(), min_size=1, max_size=14), k=st.integers(1, 6), N=st.integers(1, 6),
       c=st.fractions(F(1, 20), F(1)), target_prefill=st.fractions(F(1), F(8)), share=st.fractions(F(0), F(1)))
def test_warm_start_dsi_never_slower_than_nonsi_with_prefill(accept, k, N, c, target_prefill, share):
    """Prefill latencies (drafter's between its decode latency and the target's prefill): with
    warm start, pathwise T_DSI <= T_nonSI. (Cold start breaks this: see the regression below.)"""
    drafter_prefill = c + share * (target_prefill - c)
    T = _prefill_latencies(accept, k, N, c, target_prefill, drafter_prefill, warm_start=True)
    assert T["dsi"] <= T["nonsi"]


def test_prefill_cold_start_counterexample_is_fixed_by_warm_start():
    """S = 2, k = 1, N = 2, c = 1/2, target prefill 4, drafter prefill 2, drafts accepted.
    non-SI: x0 at 4, x1 at 5. Cold start: window [0, 1] starts at 2 on fresh server 1 and pays
    the prefill, x1 at 6. Warm start: server 1 prefills the prompt over [0, 4]; the window runs
    [4, 5] on the first free server, x1 at 5."""
    cold = _prefill_latencies([True, True], 1, 2, F(1, 2), 4, 2, warm_start=False)
    warm = _prefill_latencies([True, True], 1, 2, F(1, 2), 4, 2, warm_start=True)
    assert (cold["nonsi"], cold["dsi"], warm["dsi"]) == (5, 6, 5)


def test_warm_start_can_lose_to_si_when_drafts_come_early():
    """Not a theorem: S = 2, k = 1, N = 5, c = 9/20, target prefill 47/20, drafter prefill 9/20,
    draft accepted. SI: d0 at 9/20, one cold verification [9/20, 9/20 + 47/20] gives x0 and x1 at
    14/5. DSI warm start: F0 on [0, 47/20] gives x0; the window [0, 1] (d0 at 9/20) waits for a
    warmed server until 47/20 and runs one decode: x1 at 67/20 > 14/5. Cold start runs the
    window at once on a fresh server: x1 at 14/5 too."""
    warm = _prefill_latencies([True, True], 1, 5, F(9, 20), F(47, 20), F(9, 20), warm_start=True)
    cold = _prefill_latencies([True, True], 1, 5, F(9, 20), F(47, 20), F(9, 20), warm_start=False)
    assert (warm["si"], warm["dsi"], cold["dsi"]) == (F(14, 5), F(67, 20), F(14, 5))


def test_warm_start_runs_one_warmup_per_other_server_and_needs_finite_servers():
    pair = SyntheticAcceptancePair(5, 0.6, seed=2)
    latency = LatencyModel.time_units(F(1, 4), target_prefill=3)
    result = generate(pair.target, pair.drafter, [1], 12, lookahead=2, num_target_servers=4, latency=latency,
                      warm_start=True)
    warmups = [r for r in result.trace if r.kind == "warmup"]
    assert sorted(r.server for r in warmups) == ["target:1", "target:2", "target:3"]
    assert all((r.start, r.end, r.prefill, r.cancelled) == (0, 3, True, None) for r in warmups)
    assert result.tokens == generate(pair.target, pair.drafter, [1], 12, lookahead=2, num_target_servers=4,
                                     latency=latency).tokens
    assert max_concurrent_target_tasks(result.trace) <= 4
    with pytest.raises(ConfigError, match="warm_start needs a finite num_target_servers"):
        generate(pair.target, pair.drafter, [1], 4, warm_start=True)
