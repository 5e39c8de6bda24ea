"""Faults end the generation with GenerationError: no deadlock, no orphan threads."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from gpu_runtime.engine import RuntimeEngine
from gpu_runtime.models import ReferenceModelAdapter
from reference.errors import GenerationError
from reference.toy_models import TabularLM
from tests.gpu_runtime.helpers import runtime_threads

V = 6


class Faulty(ReferenceModelAdapter):
    """A tabular model whose forward misbehaves from the ``after``-th call on."""

    def __init__(self, fault: str, after: int = 2) -> None:
        super().__init__(TabularLM(V, order=1, seed=1))
        self.fault, self.after, self.calls = fault, after, 0
        self.release = threading.Event()
        self.hung = False

    def forward(self, cache, token_ids, start, *, last):
        self.calls += 1
        if self.calls > self.after:
            if self.fault == "raise":
                raise RuntimeError("device lost")
            if self.fault == "nan":
                return np.full((last, V), np.nan)
            if self.fault == "hang" and not self.release.is_set() and not self.hung:
                self.hung = True  # one forward that never returns (until the test releases it)
                self.release.wait(60)
        return super().forward(cache, token_ids, start, last=last)


GOOD = TabularLM(V, order=1, seed=1)


@pytest.mark.parametrize("algorithm", ["dsi", "si", "nonsi"])
@pytest.mark.parametrize("side", ["target", "drafter"])
@pytest.mark.parametrize(("fault", "message"), [("raise", "RuntimeError: device lost"),
                                                ("nan", "NaN")])
def test_raising_or_nan_forward_ends_generation(algorithm, side, fault, message):
    bad = Faulty(fault)
    target, drafter = (bad, GOOD) if side == "target" else (GOOD, bad)
    with pytest.raises(GenerationError, match=message):
        RuntimeEngine().generate(target, drafter, [1], 30, algorithm=algorithm, num_target_servers=3)
    assert runtime_threads() == []  # every server thread has exited


@pytest.mark.parametrize("side", ["target", "drafter"])
def test_hung_forward_times_out_and_leaves_only_its_daemon_thread(side):
    """The first forward of the only target server (or of the drafter) never returns."""
    bad = Faulty("hang", after=0)
    target, drafter = (bad, GOOD) if side == "target" else (GOOD, bad)
    engine = RuntimeEngine(forward_timeout_s=0.3)
    try:
        with pytest.raises(GenerationError, match=r"forward_timeout_s=0\.3"):
            engine.generate(target, drafter, [1], 30, algorithm="dsi", num_target_servers=1)
        left = runtime_threads()
        assert len(left) == 1 and left[0].daemon  # the hung one only, and it cannot block exit
        assert left[0].name == ("dsi-target:0" if side == "target" else "dsi-drafter")
    finally:
        bad.release.set()
    for thread in runtime_threads():
        thread.join(5)
    assert runtime_threads() == []


def test_a_failed_generation_leaves_the_engine_usable():
    with pytest.raises(GenerationError):
        RuntimeEngine().generate(Faulty("raise", after=0), GOOD, [1], 5)
    result = RuntimeEngine().generate(GOOD, GOOD, [1], 5, algorithm="dsi", num_target_servers=2)
    assert len(result.tokens) == 5


def test_hung_forward_whose_result_is_not_needed_still_fails_the_generation():
    """a = 0, N = 2, target 50 ms: F0 runs on server 0, window W0 (server 1's first forward)
    hangs — server 1 alone holds the hanging replica — and is cancelled by the rejection at
    position 0; every later round is also resolved by its frontier on server 0, so the tokens
    complete. The hung server is still reported when the session closes."""
    from reference.latency import LatencyModel
    from reference.toy_models import SyntheticAcceptancePair

    pair = SyntheticAcceptancePair(4, 0.0, seed=2)
    hanging = Faulty("hang", after=0)
    hanging.model, hanging.vocab_size = pair.target, pair.target.vocab_size
    replicas = (ReferenceModelAdapter(pair.target), hanging)  # server i runs replicas[i % 2]
    engine = RuntimeEngine(forward_timeout_s=0.5, target_replicas=replicas, emulate_latency=True)
    try:
        with pytest.raises(GenerationError, match="dsi-target:1 did not finish"):
            engine.generate(hanging, pair.drafter, [1], 3, lookahead=1, num_target_servers=2,
                            latency=LatencyModel(target_decode=50, drafter_decode=1))
    finally:
        hanging.release.set()
    for thread in runtime_threads():
        thread.join(5)
    assert runtime_threads() == []
