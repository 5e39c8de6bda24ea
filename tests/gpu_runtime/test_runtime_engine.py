"""Engine contract: validation before any work, capabilities, result shape, preemption."""

from __future__ import annotations

import pytest

from gpu_runtime.engine import RuntimeEngine
from gpu_runtime.floors import Floors
from reference import generate
from reference.config import GenerationConfig
from reference.errors import ConfigError, VocabularyMismatchError
from reference.latency import LatencyModel
from reference.results import Result
from reference.toy_models import MixtureDrafter, SyntheticAcceptancePair, TabularLM
from tests.gpu_runtime.helpers import runtime_threads

TARGET = TabularLM(5, order=1, seed=0)
DRAFTER = MixtureDrafter(TARGET, overlap=0.5)


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"max_new_tokens": 0}, ConfigError, "max_new_tokens"),
    ({"lookahead": 0}, ConfigError, "lookahead"),
    ({"num_target_servers": 0}, ConfigError, "num_target_servers"),
    ({"algorithm": "fast"}, ConfigError, "algorithm"),
    ({"prompt": []}, ConfigError, "prompt is empty"),
    ({"prompt": [7]}, ConfigError, "outside"),
    ({"mode": "beam"}, ConfigError, "mode"),
    ({"temperature": 0.0}, ConfigError, "temperature"),
    ({"drafter": None}, ConfigError, "needs a drafter"),
    ({"drafter": TabularLM(6, seed=1)}, VocabularyMismatchError, r"vocab_size=5.*vocab_size=6"),
])
def test_invalid_requests_are_refused_before_any_server_starts(kwargs, error, match):
    args = {"target": TARGET, "drafter": DRAFTER, "prompt": [1], "max_new_tokens": 5, **kwargs}
    with pytest.raises(error, match=match):
        RuntimeEngine().generate(args.pop("target"), args.pop("drafter"), args.pop("prompt"),
                                 args.pop("max_new_tokens"), **args)
    assert runtime_threads() == []


def test_result_is_a_reference_result_with_runtime_records():
    result = RuntimeEngine().generate(TARGET, DRAFTER, [1], 12, lookahead=3, num_target_servers=2, seed=4)
    assert isinstance(result, Result) and result.algorithm == "dsi"
    assert len(result.times) == 12 and list(result.times) == sorted(result.times)
    used = [r for r in result.trace if r.start is not None and r.cancelled is None]
    assert used and all(r.wall_start is not None and r.wall_end is not None and r.input_ids for r in used)
    kinds = {r.kind for r in result.trace}
    assert {"frontier", "draft"} <= kinds
    assert result.params["num_target_servers"] == 2 and result.params["engine"] == "runtime"
    assert RuntimeEngine().capabilities["canonical"] is True
    assert runtime_threads() == []  # every server thread joined


def test_plain_decoding_needs_no_drafter_and_matches_reference():
    expected = generate(TARGET, None, [1], 8, algorithm="plain", seed=3)
    got = RuntimeEngine().generate(TARGET, None, [1], 8, algorithm="plain", seed=3)
    assert got.tokens == expected.tokens
    assert {r.server for r in got.trace} == {"target:0"}


def test_rejections_start_new_rounds_and_cancel_stale_tasks():
    """a = 0: every draft is rejected, so every round ends at its first position.

    With k = 2, target 100 ms and drafter 10 ms, the windows of a round are dispatched at
    20, 40, 60 ms into it and would end at 120 ms or later, while its frontier task ends at
    100 ms: the rejection cancels them (they depend on the rejected draft) with at least 20 ms
    of wall-clock slack for the orchestrator to wake up.
    """
    pair = SyntheticAcceptancePair(4, 0.0, seed=3)
    latency = LatencyModel(target_decode=100, drafter_decode=10)
    result = RuntimeEngine(emulate_latency=True).generate(pair.target, pair.drafter, [1], 6, lookahead=2,
                                                          num_target_servers=4, latency=latency)
    assert result.counters.rejected_drafts == 6 and result.counters.accepted_drafts == 0
    rounds = {r.round for r in result.trace}
    assert rounds == set(range(6))  # a new round after each of the 6 rejections (the last one is 5)
    windows = [r for r in result.trace if r.kind == "window"]
    assert windows and all(r.cancelled is not None for r in windows)  # never used
    used = [r for r in result.trace if r.kind == "frontier" and r.cancelled is None]
    assert [r.first_position for r in used] == [0, 1, 2, 3, 4, 5]


def test_floors_convert_latency_units_to_seconds():
    floors = Floors(LatencyModel(target_decode=20, drafter_decode=2, target_prefill=50), time_unit_s=1e-3)
    assert floors.seconds("target", 0, 0, prefill=True) == 0.05
    assert floors.seconds("target", 0, 1, prefill=False) == 0.02
    assert floors.seconds("drafter", 0, 0, prefill=True) == 0.002  # no drafter prefill: decode
    assert Floors().seconds("target", 0, 0, prefill=True) == 0.0  # no latency: no floor
    jittery = Floors(extra_jitter_s=0.01, jitter_seed=5)
    values = [jittery.seconds("target", 1, i, prefill=False) for i in range(20)]
    assert all(0 <= v < 0.01 for v in values) and len(set(values)) == 20
    assert values == [jittery.seconds("target", 1, i, prefill=False) for i in range(20)]


def test_floors_refuse_a_non_positive_time_unit():
    with pytest.raises(ConfigError):
        Floors(time_unit_s=0.0)


@pytest.mark.parametrize(("devices", "match"), [(("tpu:0",), "device must be"),
                                                ((), "target_devices is empty")])
def test_bad_devices_are_refused_before_any_server_starts(devices, match):
    with pytest.raises(ConfigError, match=match):
        RuntimeEngine(target_devices=devices).generate(TARGET, DRAFTER, [1], 5, num_target_servers=2)
    assert runtime_threads() == []


def test_cuda_device_without_cuda_is_refused(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # also on GPU machines
    with pytest.raises(ConfigError, match="CUDA is not available"):
        RuntimeEngine(drafter_device="cuda:0").generate(TARGET, DRAFTER, [1], 5)
    assert runtime_threads() == []


def test_unlimited_servers_agree_with_reference():
    expected = generate(TARGET, DRAFTER, [1], 25, lookahead=2, seed=8)
    got = RuntimeEngine(emulate_latency=True).generate(TARGET, DRAFTER, [1], 25, lookahead=2, seed=8,
                                                       latency=LatencyModel(target_decode=20, drafter_decode=1))
    assert got.tokens == expected.tokens
    assert got.params["num_target_servers"] is None
    # round 0: F0 at 0 ms and a window every 2 ms, all dispatched before F0 ends at 20 ms
    assert len({r.server for r in got.trace if r.server.startswith("target")}) > 3


@pytest.mark.parametrize("preemptive", [True, False])
def test_a_cancelled_emulated_forward_frees_its_server_at_once_only_if_preemptive(preemptive):
    """a = 0, k = 1, target 100 units, drafter 10, N = 8: the windows of round 0 start at
    10, 20, ..., 50 and the rejection of position 0 (frontier ends at 100) cancels them while
    running. Preemptive: each ends at its cancellation (100), before its floor is up at
    start + 100. Non-preemptive: each keeps its server for its whole floor."""
    pair = SyntheticAcceptancePair(4, 0.0, seed=5)
    latency = LatencyModel(target_decode=100, drafter_decode=10)
    result = RuntimeEngine(time_unit_s=1e-4, emulate_latency=True).generate(
        pair.target, pair.drafter, [1], 6, lookahead=1, num_target_servers=8, latency=latency, preemptive=preemptive)
    assert result.tokens == generate(pair.target, pair.drafter, [1], 6, lookahead=1, num_target_servers=8).tokens
    cut = [r for r in result.trace if r.kind == "window" and r.round == 0 and r.start is not None]
    assert [r.start for r in cut] == [10, 20, 30, 40, 50]  # windows hold drafts 0..S − 2 = 4
    assert all(r.cancelled == 100 for r in cut)
    for record in cut:
        assert record.end == (100 if preemptive else record.start + 100)
        assert record.wall_end is not None and record.wall_end >= float(record.end) * 1e-4


def test_a_cancelled_real_compute_keeps_its_server_until_its_output_arrives():
    """No floors: the compute is the forward and cannot be interrupted (SPEC §4.3 step 6).
    a = 0, k = 3, S = 4, N = 3, a slow target (40 ms per position). Round 0: frontier F0 (one
    position) on server 0, window W0 (positions 0..3, 160 ms) on server 1. F0's rejection at ~40 ms
    cancels W0 while it computes: server 1 stays busy until W0's output arrives, so round 1's
    window goes to the idle server 2 instead of queueing behind W0."""
    from properties.schedule import SlowModel

    never = SyntheticAcceptancePair(4, 0.0, seed=4)
    result = RuntimeEngine(time_unit_s=1e-3).generate(SlowModel(never.target, 0.04), never.drafter, [1], 4,
                                                      lookahead=3, num_target_servers=3, seed=1)
    w0, w1 = [r for r in result.trace if r.kind == "window" and r.round in (0, 1) and r.start is not None][:2]
    assert (w0.server, w0.round, w0.cancelled is not None) == ("target:1", 0, True)
    assert w0.end > w0.cancelled  # stopped when its output arrived, not at the cancellation
    assert (w1.server, w1.round) == ("target:2", 1)  # not behind the stale compute on server 1
    assert w1.start < w0.end


def test_one_config_drives_the_reference_and_the_runtime():
    config = GenerationConfig(max_new_tokens=10, lookahead=2, num_target_servers=3, seed=6, top_k=4)
    expected = generate(TARGET, DRAFTER, [1], config=config)
    got = RuntimeEngine().generate(TARGET, DRAFTER, [1], config=config)
    assert got.tokens == expected.tokens and len(got.tokens) == 10
    assert got.params["num_target_servers"] == 3
    # keywords override the config's fields in both
    assert (RuntimeEngine().generate(TARGET, DRAFTER, [1], config=config, algorithm="si").tokens
            == generate(TARGET, DRAFTER, [1], config=config, algorithm="si").tokens)


@pytest.mark.parametrize("run", [
    lambda **kw: generate(TARGET, DRAFTER, [1], 5, **kw),
    lambda **kw: RuntimeEngine().generate(TARGET, DRAFTER, [1], 5, **kw),
], ids=["reference", "runtime"])
@pytest.mark.parametrize(("kwargs", "match"), [
    ({"num_target_servers": True}, "num_target_servers N must be an integer >= 1 or None, got True"),
    ({"sp_degree": 2}, r"unknown generation parameter\(s\) \['sp_degree'\]"),
])
def test_the_config_refuses_the_same_inputs_in_both_engines(run, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        run(**kwargs)
    assert runtime_threads() == []


def test_latency_needs_emulate_latency_and_max_servers_caps_an_unlimited_n():
    with pytest.raises(ConfigError, match="emulate_latency"):
        RuntimeEngine().generate(TARGET, DRAFTER, [1], 5, latency=LatencyModel(target_decode=20, drafter_decode=1))
    with pytest.raises(ConfigError, match="max_servers"):
        RuntimeEngine(max_servers=0)
    with pytest.raises(ConfigError, match="emulate_latency"):
        RuntimeEngine(emulate_latency=1)  # type: ignore[arg-type]
    capped = RuntimeEngine(max_servers=2, emulate_latency=True).generate(
        TARGET, DRAFTER, [1], 12, lookahead=2, seed=8, latency=LatencyModel(target_decode=20, drafter_decode=1))
    assert capped.params["num_target_servers"] == 2
    assert {r.server for r in capped.trace if r.start is not None and r.server.startswith("target")} \
        <= {"target:0", "target:1"}
    assert capped.tokens == generate(TARGET, DRAFTER, [1], 12, lookahead=2, seed=8).tokens
