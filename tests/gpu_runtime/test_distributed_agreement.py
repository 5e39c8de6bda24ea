"""The distributed runtime runs the reference's schedule over processes (SPEC §13, §11.1).

Three gloo server ranks spawned on this machine (one cluster for the module: start-up costs
seconds here), rank 0 running the scheduler and the drafter: tokens and trace (forwards,
servers, positions, rounds, dispatch order, cancellations, nominal times) equal to the
reference's virtual-time run for DSI, SI and non-SI, with and without message latencies in the
latency model, for both result protocols; and on random requests of the schedule strategy
(every algorithm, N unlimited / 1 / 2 / more sharing the three ranks, kc = 1/n boundaries,
prefill, warm start, stop tokens, preemptive or not, jitter).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from gpu_runtime.distributed.cluster import active
from properties.distributed_adapter import DistributedAdapter
from properties.engines import EngineRequest
from properties.profiles import examples
from properties.schedule import cache_problems, check_schedule_agreement, schedule_requests
from reference.latency import LatencyModel
from reference.toy_models import SyntheticAcceptancePair

#: Floors of 2 ms (target) and 0.2 ms (drafter) at 0.1 ms per unit: the schedule, not the speed.
UNIT_S = 1e-4
WITH_MESSAGES = LatencyModel(target_decode=20, drafter_decode=2, dispatch_latency=3, result_latency="5/2")
ENGINE = DistributedAdapter(UNIT_S)


@pytest.mark.parametrize("latency", [LatencyModel(20, 2), WITH_MESSAGES], ids=["no-messages", "messages"])
@pytest.mark.parametrize("mode", ["sample", "greedy"])
@pytest.mark.parametrize(("algorithm", "servers"), [("dsi", 3), ("si", None), ("nonsi", None)])
def test_tokens_and_trace_equal_the_reference_over_three_ranks(algorithm, servers, mode, latency):
    pair = SyntheticAcceptancePair(32, 0.7, seed=4, mode=mode)
    request = EngineRequest(pair.target, pair.drafter, (1, 2), 40, algorithm=algorithm, lookahead=4,
                            num_target_servers=servers, mode=mode, latency=latency, seed=9)
    check_schedule_agreement(ENGINE, request)
    cluster = active()
    assert cluster is not None and cluster.config.world_size == 4  # rank 0 + three server ranks
    answered = [t for t in cluster.last_timings if t.arrived is not None]
    assert answered and all(t.role == "target" and t.rank_received is not None for t in answered)


def test_both_result_protocols_give_the_reference_trace():
    """Full p rows and the verification-only protocol (a = 0.5: windows with every draft
    accepted and windows with a rejection). A result carries every row it computed, or one row
    and p at the accepted drafts before it (plus 48 bytes of counts and timings)."""
    V, k = 48, 3
    pair = SyntheticAcceptancePair(V, 0.5, seed=2)
    request = EngineRequest(pair.target, pair.drafter, (3,), 40, algorithm="dsi", lookahead=k, num_target_servers=3,
                            latency=LatencyModel(20, 2), seed=1)
    sizes = {}
    for protocol in ("rows", "verify"):
        check_schedule_agreement(DistributedAdapter(UNIT_S, protocol=protocol), request)
        sizes[protocol] = [t.result_bytes for t in active().last_timings if t.arrived and not t.stopped]
    assert max(sizes["verify"]) <= 8 * (V + k) + 64
    assert max(sizes["rows"]) >= 8 * (k + 1) * V  # a full window: k drafts and the bonus position


def test_kv_caches_on_the_ranks_reuse_what_they_hold():
    pair = SyntheticAcceptancePair(16, 0.8, seed=3)
    request = EngineRequest(pair.target, pair.drafter, (1, 2, 3), 30, algorithm="dsi", lookahead=3,
                            num_target_servers=3, latency=LatencyModel(20, 2), seed=2)
    result = ENGINE.generate(request)
    assert cache_problems(result) == []
    assert sum(r.cache_reused or 0 for r in result.trace if r.server.startswith("target")) > 0


def test_a_model_goes_to_each_rank_once_not_per_request():
    """The toy models memoise rows, so their pickle grows with use; the same object is not sent
    again (a rank keeps the model in use), a new one is."""
    pair = SyntheticAcceptancePair(8, 0.8, seed=5)
    request = EngineRequest(pair.target, pair.drafter, (1,), 12, algorithm="dsi", lookahead=2, num_target_servers=3,
                            latency=LatencyModel(20, 2))
    ENGINE.generate(request)
    cluster = active()
    sent = cluster.models_sent
    for seed in range(3):
        check_schedule_agreement(ENGINE, request.but(seed=seed))
    assert cluster.models_sent == sent
    other = SyntheticAcceptancePair(8, 0.8, seed=5)  # equal, but another object with another memo
    check_schedule_agreement(ENGINE, request.but(target=other.target, drafter=other.drafter))
    assert cluster.models_sent == sent + 3  # once per rank


@settings(max_examples=examples(25), deadline=None)
@given(request=schedule_requests())
def test_random_requests_trace_equals_the_reference(request: EngineRequest) -> None:
    check_schedule_agreement(ENGINE, request)


def test_the_drafter_on_a_rank_of_its_own():
    """Last (a cluster of its own: three target ranks and a drafter rank). Drafts pay the
    messages too (``remote_drafter``); the schedule is still the reference's."""
    pair = SyntheticAcceptancePair(32, 0.7, seed=6)
    latency = LatencyModel(20, 2, dispatch_latency=1, result_latency=1, remote_drafter=True)
    engine = DistributedAdapter(UNIT_S, drafter_rank=True)
    for algorithm, servers in (("dsi", 3), ("si", None)):
        request = EngineRequest(pair.target, pair.drafter, (1,), 30, algorithm=algorithm, lookahead=3,
                                num_target_servers=servers, latency=latency, seed=3)
        check_schedule_agreement(engine, request)
    cluster = active()
    assert cluster.config.world_size == 5
    assert any(t.role == "drafter" and t.arrived is not None for t in cluster.last_timings)
    engine.runtime.close()
