"""Message latencies (SPEC §13): what a timed engine must do with them, and what they do to DSI.

A latency model may give every target forward a dispatch and a result message
(``LatencyModel.dispatch_latency``, ``result_latency``; the drafter is on the scheduler's
process). :func:`check_message_latency` runs one request on an engine — any engine whose times
are exact (virtual time, or a reported schedule) — and checks, path by path:

* *messages are forward time*: non-SI, SI and DSI give exactly the times of the same request
  whose target forwards are longer by the messages (decode and prefill) and that has none;
* *dominance with messages on every side* (T10, consequence 1): ``T_DSI ≤ T_nonSI`` (N ≥ 1)
  and ``T_DSI ≤ T_SI`` (N ≥ 2) when all three pay the messages (decode latencies, preemptive);
* *the loss against message-free baselines is bounded* (T10, consequence 2, for N ≥ 2):
  ``T_DSI ≤ T_SI⁰ + μ·I`` and ``T_DSI ≤ T_nonSI⁰ + μ·S``, where ⁰ marks the run without
  messages, I is SI's number of target forwards (its iterations) and μ = dispatch + result.
  (That DSI *does* lose to them on some path for every N is kept as regression cases in
  :data:`proofs.t10_communication.LOCAL_COUNTEREXAMPLES`.)
"""

from __future__ import annotations

from fractions import Fraction

from hypothesis import strategies as st

from properties import strategies as pst
from properties.engines import Engine, EngineRequest
from properties.latency import scheduled
from properties.violation import PropertyViolation
from reference.latency import LatencyModel

#: Message latencies drawn, as fractions of the target decode latency.
MESSAGE_SHARES = (Fraction(0), Fraction(1, 20), Fraction(1, 4), Fraction(1), Fraction(5, 2))


@st.composite
def message_requests(draw: st.DrawFn) -> EngineRequest:
    """Generation requests with decode latencies, no jitter, preemptive, and messages."""
    request = draw(pst.generation_requests(max_length=14, jitter=False, with_processing=False))
    lat = request.latency
    dispatch, result = (draw(st.sampled_from(MESSAGE_SHARES)) * lat.target_decode for _ in range(2))
    return request.but(latency=LatencyModel(lat.target_decode, lat.drafter_decode, dispatch_latency=dispatch,
                                            result_latency=result),
                       preemptive=True, stop_tokens=frozenset(), warm_start=False)


def lengthened(lat: LatencyModel) -> LatencyModel:
    """The same model with the messages moved into the target forwards (and none left)."""
    mu = lat.dispatch_latency + lat.result_latency
    prefill = None if lat.target_prefill is None else lat.target_prefill + mu
    return LatencyModel(lat.target_decode + mu, lat.drafter_decode, prefill, lat.drafter_prefill, lat.jitter,
                        lat.jitter_seed)


def check_message_latency(engine: Engine, request: EngineRequest) -> None:
    """The three checks of the module docstring on ``request`` (whose latency has messages)."""
    lat = request.latency
    mu = lat.dispatch_latency + lat.result_latency
    setting = (f"N = {request.num_target_servers}, k = {request.lookahead}, S = {request.max_new_tokens}, target "
               f"{lat.target_decode}, drafter {lat.drafter_decode}, messages {lat.dispatch_latency} + "
               f"{lat.result_latency}")
    runs = {}
    for algorithm in ("nonsi", "si", "dsi"):
        with_messages = scheduled(engine, request.but(algorithm=algorithm))
        longer = scheduled(engine, request.but(algorithm=algorithm, latency=lengthened(lat)))
        if tuple(with_messages.times) != tuple(longer.times):
            raise PropertyViolation("message_latency", f"{algorithm}: times with messages "
                                    f"{[str(t) for t in with_messages.times]} != times with target forwards longer "
                                    f"by them {[str(t) for t in longer.times]} ({setting})")
        runs[algorithm] = with_messages
    t_dsi, t_si, t_nonsi = (runs[a].latency for a in ("dsi", "si", "nonsi"))
    if t_dsi > t_nonsi or (request.num_target_servers != 1 and t_dsi > t_si):
        raise PropertyViolation("message_latency", f"with messages on every side T_DSI = {t_dsi} > "
                                f"{'T_nonSI = ' + str(t_nonsi) if t_dsi > t_nonsi else 'T_SI = ' + str(t_si)} "
                                f"({setting})")
    if request.num_target_servers == 1:
        return
    bare = LatencyModel(lat.target_decode, lat.drafter_decode)
    si0 = scheduled(engine, request.but(algorithm="si", latency=bare))
    nonsi0 = scheduled(engine, request.but(algorithm="nonsi", latency=bare))
    iterations = si0.counters.target_forwards
    if t_dsi > si0.latency + mu * iterations or t_dsi > nonsi0.latency + mu * request.max_new_tokens:
        raise PropertyViolation("message_latency", f"T_DSI = {t_dsi} exceeds the loss bound against message-free "
                                f"baselines: T_SI⁰ + μ·I = {si0.latency} + {mu}·{iterations}, T_nonSI⁰ + μ·S = "
                                f"{nonsi0.latency} + {mu}·{request.max_new_tokens} ({setting})")
