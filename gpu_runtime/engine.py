"""``RuntimeEngine``: the runtime behind the engine protocol of SPEC §9, §10.

``RuntimeEngine(...).generate(target, drafter, prompt, max_new_tokens=None, *, config=None,
**overrides)`` takes the generation parameters as one :class:`reference.config.GenerationConfig`,
exactly like :func:`reference.generate`, and returns a :class:`reference.results.Result` whose
tokens must equal the reference's for the seed; ``times`` are wall-clock seconds since the
request started and the trace holds :class:`reference.results.TaskRecord`s.

Differences from the reference are settings of the engine, each with its own name:

* ``emulate_latency``: True emulates the config's ``latency`` by floors of
  ``latency · time_unit_s`` seconds per forward (SPEC §10); False (the default) sets no floor:
  forwards take their compute time only. A latency other than the default with
  ``emulate_latency=False`` is refused (it would be ignored);
* ``max_servers``: how many target servers an unlimited N (``num_target_servers=None``) runs;
  None (the default) is unlimited here too (a server starts on first use), an integer makes
  the schedule that of N = ``max_servers``;
* models may be reference models (wrapped by
  :class:`gpu_runtime.models.ReferenceModelAdapter`) or runtime models with a cache.

Validation runs before any server starts: vocabulary widths must agree
(``VocabularyMismatchError``), prompt and configuration are checked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from gpu_runtime.driver import Inbox, WallDriver
from gpu_runtime.floors import Floors
from gpu_runtime.models import RuntimeModel, as_runtime_model
from gpu_runtime.pool import ServerPool
from gpu_runtime.request import RuntimeRequest
from gpu_runtime.workers import Worker
from reference.config import GenerationConfig, generation_config
from reference.errors import ConfigError, GenerationError, VocabularyMismatchError, check_count
from reference.generate import ALGORITHMS
from reference.latency import LatencyModel
from reference.models import check_prompt
from reference.results import Result
from reference.scheduler import build_scheduler

#: How far observed times may lag the schedule — a token after its nominal time, a forward
#: taken by its server after its nominal start — beyond PROBE_FACTOR × the machine's wake-up
#: delay measured meanwhile (gpu_runtime/jitter.py; docs/runtime.md, "Timing tolerance").
TIMING_TOLERANCE_S = 0.05

#: Declared capabilities (SPEC §10 engine protocol).
CAPABILITIES = {
    "canonical": True,  # tokens are the canonical ones of SPEC §3
    "virtual_time": False,
    "wall_time": True,
    "schedule_trace": True,  # the trace is the scheduler's, nominal times in latency units
    "timing_tolerance_s": TIMING_TOLERANCE_S,
    "kv_cache": True,  # the trace has each forward's input and cache counts
    "uniform_injection": False,
    "modes": ("sample", "greedy"),
    "algorithms": ALGORITHMS,
}


def check_vocabularies(target: object, drafter: object | None) -> int:
    """The shared vocabulary width; a drafter with another width is refused before any work."""
    width = getattr(target, "vocab_size", None)
    if not isinstance(width, int) or width < 1:
        raise ConfigError(f"target.vocab_size must be a positive integer, got {width!r}")
    if drafter is not None and getattr(drafter, "vocab_size", None) != width:
        raise VocabularyMismatchError(f"target vocab_size={width} but drafter vocab_size="
                                      f"{getattr(drafter, 'vocab_size', None)}")
    return width


@dataclass(frozen=True)
class RuntimeEngine:
    """The runtime as an engine; the fields are its wall-clock and device settings."""

    time_unit_s: float = 1e-3  # seconds per unit of the ``latency`` argument (ms by default)
    extra_jitter_s: float = 0.0  # extra random delay per forward (schedule perturbation)
    jitter_seed: int = 0
    forward_timeout_s: float = 30.0  # a forward computing longer than this is a hung server
    target_devices: tuple[str, ...] = ("cpu",)  # server i uses target_devices[i % len]
    drafter_device: str = "cpu"
    target_replicas: tuple[RuntimeModel, ...] = field(default=(), repr=False)  # one per device
    charge_wakeups: bool = False  # True: each instant happens when observed (gpu_runtime/driver.py)
    driver_class: type[WallDriver] = WallDriver  # the wall-time driver (runtime mutants replace it)
    worker_class: type[Worker] = Worker  # the server (runtime mutants replace it)
    emulate_latency: bool = False  # True: the config's latency as floors; False: no floors (compute time)
    max_servers: int | None = None  # target servers for an unlimited N (None: unlimited, started on first use)
    name: str = "runtime"

    def __post_init__(self) -> None:
        self.check_settings()

    def check_settings(self) -> None:
        """Validate the settings that name a difference from the reference."""
        if not isinstance(self.emulate_latency, bool):
            raise ConfigError(f"emulate_latency must be True or False, got {self.emulate_latency!r}")
        check_count(self.max_servers, "max_servers", allow_none=True)

    @property
    def capabilities(self) -> dict:
        return dict(CAPABILITIES)

    def generate(
        self,
        target: object,
        drafter: object | None,
        prompt: Sequence[int],
        max_new_tokens: int | None = None,
        *,
        config: GenerationConfig | None = None,
        **overrides: object,
    ) -> Result:
        """Run the configured algorithm for real; same arguments and result type as
        ``reference.generate``."""
        cfg = generation_config(config, max_new_tokens, overrides)
        if cfg.algorithm != "plain" and drafter is None:
            raise ConfigError(f"algorithm {cfg.algorithm!r} needs a drafter")
        if not self.emulate_latency and cfg.latency != LatencyModel():
            raise ConfigError("a latency model is given but this engine has emulate_latency=False "
                              "(forwards take their compute time): set RuntimeEngine(emulate_latency=True)")
        with_drafter = cfg.algorithm != "plain"
        vocab_size = check_vocabularies(target, drafter if with_drafter else None)
        request = RuntimeRequest(
            target=as_runtime_model(target),
            drafter=as_runtime_model(drafter) if with_drafter and drafter is not None else None,
            prompt=check_prompt(prompt, vocab_size),
            max_new_tokens=cfg.max_new_tokens,
            sampling=cfg.sampling,
            seed=cfg.seed,
            floors=Floors(cfg.latency if self.emulate_latency else None, self.time_unit_s,
                          self.extra_jitter_s, self.jitter_seed),
            stop_tokens=cfg.stop_tokens,
            forward_timeout_s=self.forward_timeout_s,
        )
        n = cfg.num_target_servers if cfg.num_target_servers is not None else self.max_servers
        servers = n if cfg.algorithm == "dsi" else 1
        scheduler = build_scheduler(request, cfg.algorithm, lookahead=cfg.lookahead, num_target_servers=n,
                                    preemptive=cfg.preemptive, warm_start=cfg.warm_start)
        inbox = Inbox()
        with self.open_pool(request, inbox, num_target_servers=servers, with_drafter=with_drafter) as pool:
            result = self.driver_class(request, scheduler, pool, inbox, charge_wakeups=self.charge_wakeups).run()
        if pool.hung_threads:  # a forward whose result was no longer needed never returned
            names = ", ".join(thread.name for thread in pool.hung_threads)
            raise GenerationError(f"{names} did not finish its forward within forward_timeout_s="
                                  f"{self.forward_timeout_s} s (hung server; daemon thread left)")
        return result

    def open_pool(self, request: RuntimeRequest, inbox: Inbox, *, num_target_servers: int | None,
                  with_drafter: bool) -> ServerPool:
        """The servers of one request, posting to ``inbox`` (threads here; processes in
        :class:`gpu_runtime.distributed.engine.DistributedEngine`)."""
        return ServerPool(request, inbox.post, num_target_servers=num_target_servers, with_drafter=with_drafter,
                          target_models=self.target_replicas, target_devices=self.target_devices,
                          drafter_device=self.drafter_device, worker_class=self.worker_class)


def generate(target: object, drafter: object | None, prompt: Sequence[int], max_new_tokens: int | None = None,
             **kwargs: object) -> Result:
    """``RuntimeEngine().generate(...)`` with default settings."""
    return RuntimeEngine().generate(target, drafter, prompt, max_new_tokens, **kwargs)  # type: ignore[arg-type]
