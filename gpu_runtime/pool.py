"""The servers of one request: the drafter and N target workers, started and closed together.

Target server i computes with ``target_models[i % len]`` on ``target_devices[i % len]`` (one
CUDA stream per server; several servers may share a GPU). With a finite N every worker starts
before the clock does; with N unlimited a worker starts on first use. ``close()`` stops every
worker and joins its thread; one still inside a forward after ``forward_timeout_s`` is hung:
its daemon thread is left behind and listed in ``hung_threads`` (CPython cannot kill it).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

from gpu_runtime.devices import DeviceBinding
from gpu_runtime.models import RuntimeModel
from gpu_runtime.request import RuntimeRequest
from gpu_runtime.workers import Worker
from reference.errors import ConfigError


class ServerPool:
    """Workers of one request; use as a context manager so that it always closes."""

    def __init__(self, request: RuntimeRequest, post: Callable[[object], None], *,
                 num_target_servers: int | None, with_drafter: bool,
                 target_models: Sequence[RuntimeModel] = (), target_devices: Sequence[str] = ("cpu",),
                 drafter_device: str = "cpu", worker_class: type[Worker] = Worker) -> None:
        if not target_devices:
            raise ConfigError("target_devices is empty")
        if with_drafter and request.drafter is None:
            raise ConfigError("this algorithm needs a drafter")
        for device in {*target_devices, drafter_device}:
            DeviceBinding(device)  # refuse a bad device before any thread starts
        self.request = request
        self.post = post
        self.worker_class = worker_class
        self.target_models = tuple(target_models) or (request.target,)
        self.target_devices = tuple(target_devices)
        self.drafter_device = drafter_device
        self.targets: list[Worker] = []
        self.drafter: Worker | None = None
        self.hung_threads: list[threading.Thread] = []
        self._closed = False
        try:
            if with_drafter:
                assert request.drafter is not None
                self.drafter = self.make_worker("drafter", 0)
            if num_target_servers is not None:
                self.target(num_target_servers - 1)
        except BaseException:
            self.close()
            raise

    def target(self, index: int) -> Worker:
        """Target worker ``index``, started on first use (workers are created in order)."""
        while len(self.targets) <= index:
            i = len(self.targets)
            self.targets.append(self.make_worker("target", i))
        return self.targets[index]

    def make_worker(self, role: str, index: int) -> Worker:
        """A new worker for server ``index`` of ``role`` (a pool of remote servers overrides it)."""
        if role == "drafter":
            assert self.request.drafter is not None
            return self.worker_class("drafter", 0, self.request.drafter, DeviceBinding(self.drafter_device),
                                     self.request, self.post)
        return self.worker_class("target", index, self.target_models[index % len(self.target_models)],
                                 DeviceBinding(self.target_devices[index % len(self.target_devices)]),
                                 self.request, self.post)

    def worker(self, role: str, index: int) -> Worker:
        if role == "drafter":
            if self.drafter is None:
                raise ConfigError("this algorithm has no drafter")
            return self.drafter
        return self.target(index)

    def workers(self) -> list[Worker]:
        return [*self.targets, *([self.drafter] if self.drafter else [])]

    def close(self) -> None:
        """Stop every worker and join it (bounded by ``forward_timeout_s``). Idempotent."""
        if self._closed:
            return
        self._closed = True
        workers = self.workers()
        for worker in workers:
            worker.stop()
        deadline = time.perf_counter() + self.request.forward_timeout_s
        for worker in workers:
            worker.thread.join(max(0.0, deadline - time.perf_counter()))
            if worker.thread.is_alive():
                self.hung_threads.append(worker.thread)

    def __enter__(self) -> ServerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
