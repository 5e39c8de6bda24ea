"""KV caches: a forward reuses its server's longest common prefix and processes the rest.

Expectations are literal, computed by hand from the schedule (prompt of 3 tokens).
"""

from __future__ import annotations

from gpu_runtime.engine import RuntimeEngine
from gpu_runtime.models import ReferenceModelAdapter
from gpu_runtime.workers import ServerCache
from reference import generate
from reference.latency import LatencyModel
from reference.toy_models import SyntheticAcceptancePair, TabularLM
from tests.gpu_runtime.helpers import replay_cache

PROMPT = [1, 2, 3]


def _records(result, server):
    return [r for r in result.trace if r.server == server and r.start is not None]


def test_nonsi_prefills_the_prompt_then_processes_one_token_per_forward():
    target = TabularLM(8, order=1, seed=0)
    result = RuntimeEngine().generate(target, target, PROMPT, 5, algorithm="nonsi")
    for server in ("target:0", "drafter"):
        records = _records(result, server)
        assert [r.tokens_processed for r in records] == [3, 1, 1, 1, 1]
        assert [r.cache_reused for r in records] == [0, 3, 4, 5, 6]  # input 3, 4, 5, 6, 7 ids
        assert [r.prefill for r in records] == [True, False, False, False, False]


def test_si_all_accepted_reuses_the_verified_drafts():
    """a = 1: every draft accepted. k = 2, S = 7: iterations of 2 drafts + bonus, 3 tokens each.

    verify 1: input prompt + d0 d1 (5 ids), nothing cached -> processes 5 (p at 0..2).
    verify 2: input prompt + x0..x2 + d3 d4 (8 ids); cache holds prompt + d0 d1 = prompt + x0 x1,
              p needed at 3 newest -> reuse min(5, 8 − 3) = 5, process 3.
    verify 3: kk = min(2, 7 − 6 − 1) = 0: input prompt + x0..x5 (9 ids), need 1 -> reuse 8, process 1.
    """
    pair = SyntheticAcceptancePair(6, 1.0, seed=1)
    result = RuntimeEngine().generate(pair.target, pair.drafter, PROMPT, 7, algorithm="si", lookahead=2)
    verify = _records(result, "target:0")
    assert [(r.first_position, r.last_position) for r in verify] == [(0, 2), (3, 5), (6, 6)]
    assert [r.tokens_processed for r in verify] == [5, 3, 1]
    assert [r.cache_reused for r in verify] == [0, 5, 8]
    drafts = _records(result, "drafter")
    # the drafter: prompt (3) for d0, then one new id per draft, never reprocessing
    assert [r.tokens_processed for r in drafts] == [3, 1, 1, 1, 1, 1, 1]


def test_dsi_one_server_serial_windows_reuse_the_prefix():
    """a = 1, k = 2, N = 1, floors 50 ms target / 1 ms drafter, S = 5.

    Frontier F0 (p at 0, input = prompt, 3 ids) runs first on the only server; window W0
    (p at 0..2, input prompt + d0 d1) is queued behind it: reuse min(LCP 3, 5 − 3 = 2) = 2
    (p at 0 is needed again, so the prompt's last position is processed anew), process 3.
    Window W1 (p at 2..4, drafts d2 d3 after d0 d1) still has 3 and 4 to deliver: input
    prompt + d0..d3 (7 ids), need 3 -> reuse min(LCP 5, 7 − 3 = 4) = 4, process 3.
    """
    pair = SyntheticAcceptancePair(6, 1.0, seed=2)
    latency = LatencyModel(target_decode=50, drafter_decode=1)  # windows queue long before F0 ends
    result = RuntimeEngine(emulate_latency=True).generate(pair.target, pair.drafter, PROMPT, 5, algorithm="dsi",
                                                          lookahead=2, num_target_servers=1, latency=latency)
    ran = [r for r in _records(result, "target:0") if r.cancelled is None]
    assert [(r.kind, r.first_position, r.last_position) for r in ran[:3]] == [
        ("frontier", 0, 0), ("window", 0, 2), ("window", 2, 4)]
    assert [r.tokens_processed for r in ran[:3]] == [3, 3, 3]
    assert [r.cache_reused for r in ran[:3]] == [0, 2, 4]
    assert replay_cache(result.trace) == []


def test_server_cache_crops_to_the_common_prefix():
    model = ReferenceModelAdapter(TabularLM(5, order=None, seed=3))
    cache = ServerCache(model)
    _, reused = cache.forward((1, 2, 3, 4), need=1)
    assert reused == 0 and cache.cache == [1, 2, 3, 4]
    _, reused = cache.forward((1, 2, 0, 0, 0), need=2)  # diverges at position 2
    assert reused == 2 and cache.cache == [1, 2, 0, 0, 0]
    rows, reused = cache.forward((1, 2, 0, 0, 0), need=3)  # same ids: the 3 needed are recomputed
    assert reused == 2 and rows.shape == (3, 5)


def test_warm_start_prefills_the_prompt_on_every_other_server_and_later_tasks_reuse_it():
    """N = 3, warm start, target prefill 60 ms / decode 20 ms, drafter 4 ms, k = 2, a = 1.
    Servers 1 and 2 run a warm-up on the 3 prompt ids at once (prefill floor: >= 60 ms);
    server 0 runs the frontier task (its own prefill). Every later task on servers 1 and 2
    starts after the warm-up, pays no prefill, and reuses the prompt — all of it but its last id
    when the task must deliver p at output position 0, whose logits sit at that id."""
    pair = SyntheticAcceptancePair(6, 1.0, seed=4)
    latency = LatencyModel(target_decode=20, drafter_decode=4, target_prefill=60)
    result = RuntimeEngine(emulate_latency=True).generate(pair.target, pair.drafter, PROMPT, 12, lookahead=2,
                                                          num_target_servers=3, latency=latency, warm_start=True)
    reference = generate(pair.target, pair.drafter, PROMPT, 12, lookahead=2, num_target_servers=3, latency=latency,
                         warm_start=True)
    assert result.tokens == reference.tokens
    for server in ("target:1", "target:2"):
        warmup, *later = _records(result, server)
        assert (warmup.kind, warmup.tokens_processed, warmup.prefill) == ("warmup", 3, True)
        assert warmup.end - warmup.start >= 0.06 - 1e-9  # the prefill floor
        assert later and all(r.start >= warmup.end and not r.prefill for r in later)
        assert all(r.cache_reused >= (2 if r.first_position == 0 else 3) for r in later)
    assert _records(result, "target:0")[0].kind == "frontier"
