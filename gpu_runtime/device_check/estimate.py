"""The dry run's cost model: forward latencies and step times guessed before any device is used.

These are estimates, not measurements; the check itself measures every latency it uses. They
exist so that a plan can be sized to its time limit in advance, and every constant below is an
assumption stated with its reason (refine them from an earlier run with
``--dry-run --estimates-from DIR/device_check.json``, which replaces the latency table by the
measured one and keeps only the fixed per-step costs).

One forward of ``w`` new positions, at batch 1, for a model of L layers and W bytes of weights:

* host time ``L · HOST_S_PER_LAYER + HOST_S_FIXED`` — transformers' eager Llama is launch
  bound at batch 1: per decoder layer the Python module calls issue about 15–20 kernels, each
  costing some 10–20 µs of interpreter and launch time; plus the embedding, masks, final norm,
  head, the float64 softmax over the vocabulary and the copy of the rows to the host;
* device time ``W / (HBM_BYTES_PER_S · HBM_EFFICIENCY) + 2 · params · w / (PEAK_FLOPS · MFU)``
  — reading every weight once per forward, plus the matmul FLOPs of the new positions;
* latency = the larger of the two (launches overlap the kernels they queue).

Under contention (level m: m target streams and the drafter's) every forward is assumed to
take ``(m + 1)`` times as long: all servers' host work serialised by the one Python
interpreter (the GIL), the pessimistic end; the device itself would be far from saturated.
Times for a run are the reference's virtual time with these latencies (the same predictor
the check uses) plus ``RUN_OVERHEAD_S`` per generation (threads and streams started, the
reference's prediction, token checks).
"""

from __future__ import annotations

from gpu_runtime.device_check.latency_table import LatencyTable, LevelLatency
from gpu_runtime.device_check.plan import CheckPlan, ModelShape

#: Assumed host cost per decoder layer of an eager transformers forward (interpreter + launches).
HOST_S_PER_LAYER = 0.35e-3
#: Assumed fixed host cost per forward: embedding, masks, head, float64 softmax, copy to host.
HOST_S_FIXED = 1.5e-3
#: H200 HBM3e bandwidth (4.8 TB/s, NVIDIA's datasheet) and an assumed achievable fraction.
HBM_BYTES_PER_S = 4.8e12
HBM_EFFICIENCY = 0.6
#: H200 dense bf16 peak (989 TFLOP/s, datasheet) and an assumed utilisation at batch 1.
PEAK_FLOPS = 989e12
MFU = 0.2
#: Assumed per-generation overhead: worker threads and streams, prediction, checks.
RUN_OVERHEAD_S = 0.3

#: Fixed steps: (name, seconds, how the number is derived).
FIXED_STEPS = (
    ("start", 25.0, "assumed: import torch + transformers, create the CUDA context"),
    ("build models", 15.0, "assumed: random init of ~1.4B parameters on the device, cuBLAS warm-up"),
    ("report", 2.0, "assumed: JSON, markdown, summary table"),
)

BYTES_PER_PARAMETER = {"bfloat16": 2, "float16": 2, "float32": 4, "float64": 8}


def forward_seconds(shape: ModelShape, width: int, dtype: str) -> float:
    """Estimated latency of one forward of ``width`` new positions, the model alone (docstring)."""
    params = shape.parameters()
    host = shape.num_layers * HOST_S_PER_LAYER + HOST_S_FIXED
    device = (params * BYTES_PER_PARAMETER.get(dtype, 2) / (HBM_BYTES_PER_S * HBM_EFFICIENCY)
              + 2 * params * width / (PEAK_FLOPS * MFU))
    return max(host, device)


def estimated_table(plan: CheckPlan) -> LatencyTable:
    """Every level from the cost model: alone latencies times ``(m + 1)`` at level m ≥ 1."""
    def alone(shape: ModelShape, width: int) -> float:
        return forward_seconds(shape, width, plan.dtype) * 1e3

    base = {"target_decode": alone(plan.target, plan.verify_width), "drafter_decode": alone(plan.drafter, 1),
            "target_prefill": alone(plan.target, plan.prompt_length),
            "drafter_prefill": alone(plan.drafter, plan.prompt_length)}
    levels = {}
    for level in plan.levels:
        factor = 1 if level == 0 else level + 1
        values = {name: ms * factor for name, ms in base.items()}
        levels[level] = LevelLatency(level, values, dict(values))
    return LatencyTable(levels, "estimated")


def timing_seconds(plan: CheckPlan, table: LatencyTable) -> dict[str, float]:
    """Estimated time of the latency measurements: per timed situation, (warm-up + repeats)
    forwards of its slowest participant."""
    alone = table.at(0).median
    per_model = len(plan.widths) + 2  # widths, the late decode, the prefill
    alone_s = (plan.warmup + plan.repeats) * per_model * (alone["target_decode"] + alone["drafter_decode"]) / 1e3
    together_s = 0.0
    for level in plan.levels:
        if level == 0:
            continue
        at = table.at(level).median
        together_s += (plan.warmup + plan.repeats) * (at["target_decode"] + at["target_prefill"]) / 1e3
    return {"latencies alone": alone_s, "latencies under contention": together_s}
