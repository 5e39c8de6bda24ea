"""``python -m gpu_runtime.device_check``: the whole check in one command, its CPU twin and its dry run.

    python -m gpu_runtime.device_check --out DIR            # one H200 (cuda:0), ≤ budget (450 s)
    python -m gpu_runtime.device_check --device cpu --tiny --out DIR   # the CPU twin, ≤ 60 s
    python -m gpu_runtime.device_check --dry-run [--estimates-from DIR/device_check.json]

Exit status: 0 correct; 1 a check failed (tokens, schedule, lag, or a run raised); 2 bad input or
no usable device (one line on stderr); 3 the watchdog stopped a run past its budget.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from gpu_runtime.device_check import estimate
from gpu_runtime.device_check.latency_table import LatencyTable, from_timings
from gpu_runtime.device_check.plan import H200, TINY, CheckPlan, configs
from gpu_runtime.device_check.report import SCHEMA, Checkpoint, agreement, speedups, summary, table_text, verdict
from gpu_runtime.device_check.runs import Budget, Prepared, Runner, prepare, within_budget
from reference.cli import OneLineErrorParser
from reference.errors import ConfigError, DSIError

WATCHDOG_GRACE_S = 15.0  # past the budget, the watchdog writes "aborted" and exits 3
REPORT_RESERVE_S = 5.0  # kept free for the final report


def parser() -> argparse.ArgumentParser:
    p = OneLineErrorParser(prog="python -m gpu_runtime.device_check", description=__doc__.split("\n")[0])
    p.add_argument("--out", default=None, help="directory for device_check.json and device_check.md")
    p.add_argument("--device", default=None, help="cuda[:i] or cpu (default: the plan's, cuda:0 for the H200 plan)")
    p.add_argument("--tiny", action="store_true", help="the CPU twin's plan: tiny models, fewer configs")
    p.add_argument("--budget-s", type=float, default=None, help="time limit of the whole check (default: the plan's)")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--dry-run", action="store_true", help="print the plan and estimated step times; run nothing")
    p.add_argument("--estimates-from", default=None, help="dry run: latencies of an earlier device_check.json")
    return p


def choose_plan(args: argparse.Namespace) -> CheckPlan:
    plan = TINY if args.tiny else H200
    changes: dict = {}
    if args.device is not None:
        device = "cuda:0" if args.device == "cuda" else args.device
        if device != "cpu" and not device.startswith("cuda:"):
            raise ConfigError(f"--device must be cpu or cuda[:i], got {args.device!r}")
        changes["device"] = device
    if args.budget_s is not None:
        changes["budget_s"] = args.budget_s
    if args.seed is not None:
        changes["seed"] = args.seed
    return replace(plan, **changes)


# ------------------------------------------------------------------ the check


def environment(plan: CheckPlan) -> dict:
    import numpy
    import torch
    import transformers

    from reference.files import git_revision

    env = {"python": platform.python_version(), "platform": platform.platform(), "torch": torch.__version__,
           "cuda": torch.version.cuda, "transformers": transformers.__version__, "numpy": numpy.__version__,
           "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(), "git_revision": git_revision()}
    if plan.device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"device {plan.device} requested but CUDA is not available "
                              "(the CPU twin: --device cpu --tiny)")
        props = torch.cuda.get_device_properties(torch.device(plan.device))
        env.update(device_name=props.name, capability=f"{props.major}.{props.minor}",
                   memory_gib=props.total_memory / 2**30, device_count=torch.cuda.device_count())
    else:
        env["device_name"] = f"cpu ({platform.processor() or platform.machine()})"
    return env


class Watchdog:
    """Past the budget plus a grace period: mark the report aborted, say so, exit 3."""

    def __init__(self, seconds: float, checkpoint: Checkpoint, doc: dict) -> None:
        self.timer = threading.Timer(seconds, self._fire, args=(checkpoint, doc))
        self.timer.daemon = True

    def _fire(self, checkpoint: Checkpoint, doc: dict) -> None:
        try:  # the main thread may be changing doc meanwhile: a failed write still exits
            doc["status"] = "aborted"
            doc.setdefault("notes", []).append("watchdog: the budget plus grace passed; the run was stopped")
            checkpoint.write(doc)
        finally:
            sys.stderr.write("gpu_runtime.device_check: watchdog: budget exceeded, stopped\n")
            os._exit(3)


def check(plan: CheckPlan, out: Path) -> dict:
    """Run the whole check (module docstring of the package), writing ``out`` as it goes."""
    budget = Budget(plan.budget_s)
    out.mkdir(parents=True, exist_ok=True)
    checkpoint = Checkpoint(out)
    doc: dict = {"schema": SCHEMA, "status": "running", "plan": plan.as_dict(), "environment": {},
                 "timeline": [], "notes": [], "skipped": [], "configs": [], "budget_s": plan.budget_s}
    checkpoint.write(doc)
    watchdog = Watchdog(plan.budget_s + WATCHDOG_GRACE_S, checkpoint, doc)
    watchdog.timer.start()
    try:
        _check(plan, budget, checkpoint, doc)
    except BaseException as exc:  # the partial report says what stopped it, then the error goes on
        doc.update(status="failed", elapsed_s=budget.elapsed())
        doc["notes"].append(f"stopped by {type(exc).__name__}: {exc}")
        checkpoint.write(doc)
        raise
    finally:
        watchdog.timer.cancel()
    return doc


def _step(doc: dict, budget: Budget, name: str, began: float) -> None:
    doc["timeline"].append({"step": name, "seconds": budget.elapsed() - began})


def _check(plan: CheckPlan, budget: Budget, checkpoint: Checkpoint, doc: dict) -> None:
    import torch

    from gpu_runtime.device_check.measure import build_model, measure_alone, measure_level

    began = budget.elapsed()
    if plan.device == "cpu":
        torch.set_num_threads(1)
        doc["notes"].append("CPU: one intra-op thread per forward (each server is a thread of its own)")
    doc["environment"] = environment(plan)
    _step(doc, budget, "start", began)

    began = budget.elapsed()
    models = {role: build_model(getattr(plan, role), device=plan.device, dtype=plan.dtype, seed=plan.seed + i,
                                max_positions=plan.max_positions())
              for i, role in enumerate(("target", "drafter"))}
    doc["models"] = {role: {"parameters": sum(p.numel() for p in m.model.parameters())}
                     for role, m in models.items()}
    _step(doc, budget, "build models", began)

    timeout = plan.forward_timeout_s * 4
    began = budget.elapsed()
    timings = measure_alone(models["target"], models["drafter"], plan, timeout)
    _step(doc, budget, "latencies alone", began)
    began = budget.elapsed()
    for level in plan.levels:
        if level:
            timings += measure_level(models["target"], models["drafter"], plan, level, timeout)
    _step(doc, budget, "latencies under contention", began)
    table = from_timings(timings, levels=plan.levels, verify_width=plan.verify_width)
    doc["timings"] = [t.as_dict() for t in timings]
    doc["latency_table"] = table.as_dict(plan.floor_margin)
    doc["notes"] += list(table.notes)
    checkpoint.write(doc)

    began = budget.elapsed()
    prepared = prepare_all(plan, table)
    _step(doc, budget, "plan and predictions", began)

    runner = Runner(plan, models["target"], models["drafter"])
    began = budget.elapsed()

    def run_one(item: Prepared) -> dict:
        row = config_fields(item)
        try:
            row.update(runner.run(item))
        except Exception as exc:  # recorded (a failed forward, a CUDA error); the check goes on, fails at the end
            row["error"] = f"{type(exc).__name__}: {exc}"
        return row

    def done(_: Prepared, row: dict) -> None:
        doc["configs"].append(row)
        doc["elapsed_s"] = budget.elapsed()
        checkpoint.write(doc)

    _, doc["skipped"] = within_budget(prepared, estimate=lambda p: p.estimate_s(plan.runs, estimate.RUN_OVERHEAD_S),
                                      run=run_one, budget=budget, reserve_s=REPORT_RESERVE_S,
                                      name=lambda p: p.config.name, done=done)
    _step(doc, budget, "runs", began)
    agreed = agreement(doc["configs"])
    doc.update(agreement=agreed, speedups=speedups(doc["configs"]),
               verdict=verdict(agreed, len(prepared)), status="complete", elapsed_s=budget.elapsed())
    checkpoint.write(doc)


def config_fields(item: Prepared) -> dict:
    c = item.config
    return {"name": c.name, "algorithm": c.algorithm, "num_target_servers": c.num_target_servers,
            "acceptance": c.acceptance, "mode": c.mode, "level": c.level, "lookahead": item.lookahead}


def prepare_all(plan: CheckPlan, table: LatencyTable) -> list[Prepared]:
    pairs: dict = {}
    ks: dict = {}
    return [prepare(config, table, plan, pairs, ks) for config in configs(plan)]


# ------------------------------------------------------------------ the dry run


def dry_run(plan: CheckPlan, estimates_from: str | None = None) -> str:
    """The plan and the estimated time of each step (how each is derived: :mod:`.estimate`)."""
    fixed = {name: (seconds, how) for name, seconds, how in estimate.FIXED_STEPS}
    if estimates_from is not None:
        try:
            data = json.loads(Path(estimates_from).read_text())
            table = LatencyTable.from_dict(data["latency_table"], source=estimates_from)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"--estimates-from {estimates_from}: not a device_check.json ({exc})") from None
        for step in data.get("timeline", []):  # the fixed steps as that run measured them
            if step.get("step") in fixed:
                fixed[step["step"]] = (float(step["seconds"]), f"measured by {estimates_from}")
    else:
        table = estimate.estimated_table(plan)
    lines = [f"plan {plan.name}: device {plan.device}, {plan.dtype}; target {plan.target.parameters() / 1e6:.0f}M "
             f"params ({plan.target.num_layers} layers, hidden {plan.target.hidden_size}, vocab "
             f"{plan.target.vocab_size}), drafter {plan.drafter.parameters() / 1e6:.0f}M ({plan.drafter.num_layers} "
             f"layers, hidden {plan.drafter.hidden_size}); P = {plan.prompt_length}, S = {plan.max_new_tokens}; "
             f"N in {plan.num_target_servers}, a in {plan.acceptances}, modes {plan.modes}; real runs x{plan.runs}; "
             f"budget {plan.budget_s:.0f} s",
             f"latencies: {table.source}" + ("" if table.source != "estimated" else
                                              " (cost model of gpu_runtime/device_check/estimate.py)")]
    rows = [[level, *(f"{entry.median[k]:.2f}" for k in ("target_decode", "drafter_decode", "target_prefill",
                                                          "drafter_prefill")), f"{entry.c:.3f}"]
            for level, entry in sorted(table.levels.items())]
    lines += [table_text(["level", "target ms", "drafter ms", "target prefill", "drafter prefill", "c"], rows), ""]
    steps = [("start", *fixed["start"]), ("build models", *fixed["build models"])]
    for name, seconds in estimate.timing_seconds(plan, table).items():
        steps.append((name, seconds, "(warm-up + repeats) forwards per situation x its slowest forward"))
    began = time.perf_counter()
    prepared = prepare_all(plan, table)
    steps.append(("plan and predictions", time.perf_counter() - began, "measured now: the same k plan and "
                  "reference predictions the check computes, on this CPU"))
    clock = [sum(s for _, s, _ in steps)]
    budget = Budget(plan.budget_s, clock=lambda: clock[0])
    budget.t0 = 0.0
    per_config = []

    def simulate(item: Prepared) -> None:
        seconds = item.estimate_s(plan.runs, estimate.RUN_OVERHEAD_S)
        clock[0] += seconds
        per_config.append([item.config.name, item.lookahead or "—", f"{item.seconds(item.emulated):.2f}",
                           f"{item.seconds(item.median):.2f}", f"{seconds:.2f}"])

    _, skipped = within_budget(prepared, estimate=lambda p: p.estimate_s(plan.runs, estimate.RUN_OVERHEAD_S),
                               run=simulate, budget=budget, reserve_s=REPORT_RESERVE_S,
                               name=lambda p: p.config.name)
    runs_s = sum(float(row[-1]) for row in per_config)
    steps.append(("runs", runs_s, f"{len(per_config)} configs: emulated run + {plan.runs} real run(s) each, "
                  f"predicted virtual time + {estimate.RUN_OVERHEAD_S} s per generation"))
    steps.append(("report", *fixed["report"]))
    total = sum(s for _, s, _ in steps)
    lines += [table_text(["step", "estimate s", "derived from"], [[n, f"{s:.1f}", how] for n, s, how in steps]), "",
              table_text(["config", "k", "emulated s", "real s (predicted)", "estimate s"], per_config), "",
              f"estimated total {total:.0f} s of the {plan.budget_s:.0f} s budget"
              f" ({'fits' if total <= plan.budget_s else 'over: the guard skips the rest'})",
              *skipped]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        plan = choose_plan(args)
        if args.dry_run:
            print(dry_run(plan, args.estimates_from))
            return 0
        if args.out is None:
            raise ConfigError("--out DIR is required (or --dry-run)")
        out = Path(args.out)
        if out.exists() and not out.is_dir():
            raise ConfigError(f"--out {out} exists and is not a directory")
        if plan.device == "cpu":  # servers are threads: one OpenMP thread each (read when torch loads)
            os.environ.setdefault("OMP_NUM_THREADS", "1")
        doc = check(plan, out)
    except DSIError as exc:
        sys.stderr.write(f"gpu_runtime.device_check: error: {type(exc).__name__}: {exc}\n")
        return 2
    print(summary(doc))
    print(f"wrote {Path(args.out) / 'device_check.json'} and device_check.md")
    return 0 if doc["verdict"]["correct"] else 1
