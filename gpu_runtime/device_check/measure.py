"""Random-weight Llama models on the device, and their forwards timed alone and under contention.

Models are built from a :class:`~gpu_runtime.device_check.plan.ModelShape` with transformers'
``LlamaConfig`` and ``LlamaForCausalLM`` directly on the device in the plan's dtype (seeded;
nothing is downloaded) and wrapped in :class:`gpu_runtime.hf.HFCausalLM`, the runtime's own
Hugging Face model — so a timed forward is exactly a server's forward: the server's
:class:`~gpu_runtime.devices.DeviceBinding` (its own CUDA stream), ``HFCausalLM.forward`` on
its cache, and the explicit stream sync the worker ends each forward with.

Contention is measured, not assumed: :func:`time_together` starts one thread per server, each
with its own binding and cache, releases them at once and lets every one compute until all
have finished ``repeats`` forwards; only forwards that ended before the first thread stopped
count, so each was timed while every server was computing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from gpu_runtime.device_check.latency_table import Timing
from gpu_runtime.device_check.plan import CheckPlan, ModelShape
from gpu_runtime.devices import DeviceBinding
from gpu_runtime.hf import HFCausalLM, dtype_argument
from reference.errors import GenerationError


def build_model(shape: ModelShape, *, device: str, dtype: str, seed: int, max_positions: int) -> HFCausalLM:
    """A random-weight ``LlamaForCausalLM`` of ``shape``, initialised on ``device`` in ``dtype``."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(**shape.llama_config(max_positions))
    torch.manual_seed(seed)
    with torch.device(device):
        model = LlamaForCausalLM._from_config(config, **dtype_argument(dtype))
    model.requires_grad_(False)
    if device.startswith("cuda"):
        torch.cuda.synchronize(device)  # weights written on the default stream, read from the servers'
    return HFCausalLM(model.eval(), device=device)


@dataclass(frozen=True)
class Job:
    """What one thread computes, over and over: ``width`` new ids after ``start`` cached ones."""

    role: str
    model: HFCausalLM
    width: int
    start: int
    kind: str  # "decode" or "prefill" (start 0)


def _forever(job: Job, ids: list[int], binding: DeviceBinding, warmup: int, ready: threading.Barrier,
             stop: threading.Event, enough: Callable[[], None], repeats: int,
             out: list[tuple[float, float]], errors: list[BaseException]) -> None:
    model = job.model
    try:
        cache = model.new_cache()
        if job.start:
            with binding.active():
                model.forward(cache, ids[:job.start], 0, last=1)
            binding.synchronize()
        new = ids[job.start:job.start + job.width]

        def one() -> tuple[float, float]:
            nonlocal cache
            began = time.perf_counter()
            with binding.active():
                cache = model.crop(cache, job.start)
                model.forward(cache, new, job.start, last=1)
            binding.synchronize()
            return began, time.perf_counter()

        for _ in range(warmup):
            one()
        ready.wait()
        while not stop.is_set():
            out.append(one())
            if len(out) == repeats:
                enough()
    except BaseException as exc:  # reported to the caller
        errors.append(exc)
        enough()
        ready.abort()


def time_together(jobs: list[Job], *, device: str, ids: list[int], repeats: int, warmup: int,
                  timeout_s: float) -> list[list[float]]:
    """Run ``jobs`` at once, one thread and stream each; per job the latencies (ms) of the forwards
    that ended while every job was still computing (module docstring)."""
    stop = threading.Event()
    ready = threading.Barrier(len(jobs))
    remaining = [len(jobs)]
    lock = threading.Lock()
    stopped_at = [float("inf")]

    def enough() -> None:
        with lock:
            remaining[0] -= 1
            if remaining[0] == 0:
                stopped_at[0] = time.perf_counter()
                stop.set()

    records: list[list[tuple[float, float]]] = [[] for _ in jobs]
    errors: list[BaseException] = []
    threads = [threading.Thread(target=_forever, name=f"dsi-timing-{i}", daemon=True,
                                args=(job, ids, DeviceBinding(device), warmup, ready, stop, enough, repeats,
                                      records[i], errors))
               for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    if not stop.wait(timeout_s):
        stop.set()
        raise GenerationError(f"timing {len(jobs)} concurrent forwards took over {timeout_s} s")
    deadline = time.perf_counter() + timeout_s
    for thread in threads:
        thread.join(max(0.0, deadline - time.perf_counter()))
    if errors:
        raise GenerationError(f"a timed forward failed: {type(errors[0]).__name__}: {errors[0]}") from errors[0]
    return [[(end - began) * 1e3 for began, end in rec if end <= stopped_at[0]] for rec in records]


def measure_alone(target: HFCausalLM, drafter: HFCausalLM, plan: CheckPlan, timeout_s: float) -> list[Timing]:
    """Each model by itself: every width on the cached prompt, one position after P + S cached
    positions, and the prefill of the prompt."""
    ids = _ids(plan)
    P, S = plan.prompt_length, plan.max_new_tokens
    timings = []
    for role, model in (("target", target), ("drafter", drafter)):
        cases = [("decode", width, P) for width in plan.widths] + [("decode", 1, P + S), ("prefill", P, 0)]
        for kind, width, start in cases:
            job = Job(role, model, width, start, kind)
            (samples,) = time_together([job], device=plan.device, ids=ids, repeats=plan.repeats,
                                       warmup=plan.warmup, timeout_s=timeout_s)
            timings.append(Timing(role, kind, width, start, None, tuple(samples)))
    return timings


def measure_level(target: HFCausalLM, drafter: HFCausalLM, plan: CheckPlan, level: int,
                  timeout_s: float) -> list[Timing]:
    """``level`` target streams and the drafter's stream computing at once: decode (target
    ``verify_width`` positions, drafter one) and prefill (both the prompt)."""
    ids = _ids(plan)
    P = plan.prompt_length
    timings = []
    for kind in ("decode", "prefill"):
        start = P if kind == "decode" else 0
        target_width = plan.verify_width if kind == "decode" else P
        drafter_width = 1 if kind == "decode" else P
        jobs = [Job("target", target, target_width, start, kind) for _ in range(level)]
        jobs.append(Job("drafter", drafter, drafter_width, start, kind))
        samples = time_together(jobs, device=plan.device, ids=ids, repeats=plan.repeats, warmup=plan.warmup,
                                timeout_s=timeout_s)
        pooled = [ms for job_samples in samples[:-1] for ms in job_samples]
        timings.append(Timing("target", kind, target_width, start, level, tuple(pooled)))
        timings.append(Timing("drafter", kind, drafter_width, start, level, tuple(samples[-1])))
    return timings


def _ids(plan: CheckPlan) -> list[int]:
    """Prompt plus enough continuation ids for every timed forward (inside the synthetic vocabulary)."""
    length = plan.prompt_length + plan.max_new_tokens + max(plan.widths, default=1) + plan.prompt_length
    return [(7 * i + 1) % plan.synthetic_vocab for i in range(length)]
