"""The message_latency property can fail: engines that mishandle message latencies are caught."""

from __future__ import annotations

from dataclasses import replace

import pytest

from properties.engines import EngineRequest, ReferenceEngine
from properties.suite import run_property
from properties.violation import PropertyViolation
from reference.latency import LatencyModel


class DropsDSIMessages(ReferenceEngine):
    """DSI's forwards do not pay their messages (SI and non-SI do)."""

    def generate(self, request: EngineRequest):
        if request.algorithm == "dsi" and request.latency is not None:
            request = request.but(latency=replace(request.latency, dispatch_latency=0, result_latency=0))
        return super().generate(request)


class ChargesMessagesToDrafts(ReferenceEngine):
    """Drafts pay the messages too, though the drafter sits with the scheduler."""

    def generate(self, request: EngineRequest):
        if request.latency is not None and request.latency.messages("target"):
            request = request.but(latency=replace(request.latency, remote_drafter=True))
        return super().generate(request)


def test_the_reference_satisfies_message_latency():
    run_property("message_latency", ReferenceEngine())


@pytest.mark.parametrize("engine", [DropsDSIMessages("drops"), ChargesMessagesToDrafts("drafts")],
                         ids=["dsi-messages-dropped", "drafts-charged"])
def test_engines_mishandling_messages_fail(engine):
    with pytest.raises(PropertyViolation, match="message_latency"):
        run_property("message_latency", engine, shrink=False)


def test_a_remote_drafter_pays_the_messages_in_the_latency_model():
    lat = LatencyModel(10, 2, dispatch_latency=1, result_latency=2)
    assert lat.duration("target", 0, 0, prefill=False) == 13 and lat.duration("drafter", 0, 0, prefill=False) == 2
    remote = replace(lat, remote_drafter=True)
    assert remote.duration("drafter", 0, 0, prefill=False) == 5
