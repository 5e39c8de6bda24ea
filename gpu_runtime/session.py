"""One generation's servers and event channel: start, wait for events, detect hangs, close.

The orchestrators (:mod:`gpu_runtime.dsi`, :mod:`gpu_runtime.si`) run in the caller's
thread and talk to the servers only through this object:

* ``target(i)`` — target server i, created (thread started) on first use, up to N;
* ``drafter`` — the drafter server, if the algorithm has one;
* ``next_events()`` — blocks until at least one event arrives and returns every event
  that has arrived (the orchestrator handles them as one instant: completions first). A
  :class:`gpu_runtime.servers.ServerFailure` becomes a ``GenerationError``; a compute that
  runs longer than ``forward_timeout_s`` is a hung-server ``GenerationError``; no event at
  all for twice that plus ten longest floors is a stall ``GenerationError`` (the stall limit
  is larger so that a hung forward is always reported as such first) — never a deadlock;
* ``close()`` — stops every server and joins its thread (a thread still in a forward after
  ``forward_timeout_s`` is hung: its daemon thread is left behind, listed in ``hung_threads``).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Sequence

from gpu_runtime.devices import DeviceBinding
from gpu_runtime.models import RuntimeModel
from gpu_runtime.request import RuntimeRequest
from gpu_runtime.servers import DrafterServer, ServerFailure, TargetServer
from gpu_runtime.trace import TargetTask
from reference.errors import ConfigError, GenerationError

#: Target servers created at most when N is unlimited (``sp_degree=None``).
UNLIMITED_SERVERS = 64
POLL_S = 0.05  # how often a silent session checks for hung forwards


class Session:
    """Servers of one request; use as a context manager so that it always closes."""

    def __init__(self, request: RuntimeRequest, num_target_servers: int | None, *,
                 with_drafter: bool, target_models: Sequence[RuntimeModel] | None = None,
                 target_devices: Sequence[str] = ("cpu",), drafter_device: str = "cpu",
                 charge_wakeups: bool = False) -> None:
        if num_target_servers is not None and num_target_servers < 1:
            raise ConfigError(f"sp_degree N must be >= 1, got {num_target_servers}")
        if not target_devices:
            raise ConfigError("target_devices is empty")
        self.request = request
        self.num_target_servers = num_target_servers
        self.max_targets = num_target_servers or UNLIMITED_SERVERS
        self.target_models = tuple(target_models or (request.target,))
        self.target_devices = tuple(target_devices)
        self.t0 = time.perf_counter()
        self.events: queue.SimpleQueue = queue.SimpleQueue()
        self.targets: list[TargetServer] = []
        self.drafter: DrafterServer | None = None
        self.hung_threads: list[threading.Thread] = []
        self.submitted: list[TargetTask] = []
        self._closed = False
        self._last_event = time.perf_counter()
        self._stall_s = 2 * request.forward_timeout_s + 10 * _longest_floor(request)
        if with_drafter and request.drafter is None:
            raise ConfigError("this algorithm needs a drafter")
        for device in {*self.target_devices, drafter_device}:
            DeviceBinding(device)  # refuse a bad device before any thread starts
        try:
            if with_drafter:
                self.drafter = DrafterServer("drafter", 0, request.drafter, DeviceBinding(drafter_device),
                                             request, self.events, self.t0)
                self.drafter.start()
            if num_target_servers is not None:
                self.target(num_target_servers - 1)  # start every server before the clock starts
        except BaseException:
            self.close()
            raise
        self.t0 = time.perf_counter()
        self.charge_wakeups = charge_wakeups
        self._anchor = self._woke = self.t0  # the current instant: nominal time, wake-up time
        for server in [*self.targets, *([self.drafter] if self.drafter else [])]:
            server.t0 = self.t0

    def now(self) -> float:
        """Seconds since the generation started."""
        return time.perf_counter() - self.t0

    def launch_time(self) -> float:
        """perf_counter at which work launched now starts in the emulated timeline.

        The current instant's nominal time (the latest floor deadline among the events being
        handled) plus the orchestrator's own processing since it woke: the OS and GIL delay
        between a deadline and the orchestrator running is not charged to the schedule
        (``charge_wakeups=True``: plain wall time, everything charged).
        """
        now = time.perf_counter()
        if self.charge_wakeups:
            return now
        return min(now, self._anchor + (now - self._woke))

    def timeline(self) -> float:
        """``launch_time()`` in seconds since the generation started (for trace records)."""
        return self.launch_time() - self.t0

    def can_add_target(self) -> bool:
        return len(self.targets) < self.max_targets

    def target(self, index: int) -> TargetServer:
        """Target server ``index``, started on first use (servers are created in order)."""
        while len(self.targets) <= index:
            if not self.can_add_target():
                raise ConfigError(f"target server {index} requested but N = {self.max_targets}")
            i = len(self.targets)
            server = TargetServer(f"target:{i}", i, self.target_models[i % len(self.target_models)],
                                  DeviceBinding(self.target_devices[i % len(self.target_devices)]),
                                  self.request, self.events, self.t0)
            server.start()
            self.targets.append(server)
        return self.targets[index]

    def submit(self, index: int, task: TargetTask) -> None:
        """Send ``task`` to target server ``index`` (it runs after what that server holds)."""
        task.server = index
        task.launched = self.launch_time()
        self.submitted.append(task)
        self.target(index).submit(task)

    def next_events(self) -> list[object]:
        """Every event that has arrived (at least one); failures and hangs raise."""
        while True:
            try:
                first = self.events.get(timeout=POLL_S)
            except queue.Empty:
                self._check_progress()
                continue
            events = [first]
            while True:
                try:
                    events.append(self.events.get_nowait())
                except queue.Empty:
                    break
            self._last_event = self._woke = time.perf_counter()
            self._anchor = max((e.at for e in events if hasattr(e, "at")), default=self._woke)
            for event in events:
                if isinstance(event, ServerFailure):
                    raise GenerationError(
                        f"{event.server} failed on {event.what}: {type(event.error).__name__}: "
                        f"{event.error}") from event.error
            return events

    def _check_progress(self) -> None:
        now = time.perf_counter()
        limit = self.request.forward_timeout_s
        for server in [*self.targets, *([self.drafter] if self.drafter else [])]:
            since = server.busy_since
            if since is not None and now - since > limit:
                raise GenerationError(f"{server.name} did not finish its forward within "
                                      f"forward_timeout_s={limit} s (hung server)")
        if now - self._last_event > self._stall_s:
            raise GenerationError(f"no server event for {self._stall_s:.3g} s: generation stalled")

    def close(self) -> None:
        """Stop every server; join threads (one still in a forward after ``forward_timeout_s``
        is hung: it is left as a daemon and recorded in ``hung_threads``). Idempotent."""
        if self._closed:
            return
        self._closed = True
        servers = [*self.targets, *([self.drafter] if self.drafter else [])]
        now = time.perf_counter()
        for task in self.submitted:
            task.cancel_at = min(task.cancel_at, now)
            task.cancel.set()  # end every floor now
        for server in servers:
            server.stop()
        deadline = time.perf_counter() + self.request.forward_timeout_s
        for server in servers:
            server.thread.join(max(0.0, deadline - time.perf_counter()))
            if server.thread.is_alive():
                self.hung_threads.append(server.thread)

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _longest_floor(request: RuntimeRequest) -> float:
    latency = request.floors.latency
    if latency is None:
        return request.floors.extra_jitter_s
    longest = max(v for v in (latency.target_decode, latency.target_prefill, latency.drafter_decode,
                              latency.drafter_prefill) if v is not None)
    return float(longest) * 2 * request.floors.time_unit_s + request.floors.extra_jitter_s
