"""``python -m gpu_runtime.jitter``: how far the runtime's observed times lag its schedule.

Runs random requests (DSI, SI, non-SI; k, N, c, acceptance, S drawn from a seeded generator)
on the runtime with emulated latency and records, per run, the lag of every token (observed
minus nominal time) and of every forward's start (when its server took it minus its nominal
start), plus whether the schedule equalled the reference's, and what a :class:`WakeupProbe`
(a bare sleeping thread) saw meanwhile. ``--load P`` runs P CPU-burning processes beside it,
to reproduce a busy machine. A lag check allows ``TIMING_TOLERANCE_S + PROBE_FACTOR × the
probe's worst wake-up delay`` (``gpu_runtime.engine.TIMING_TOLERANCE_S``); the numbers printed
here are what that choice rests on (docs/runtime.md, "Timing tolerance").
"""

from __future__ import annotations

import json
import multiprocessing
import statistics
import sys
import threading
import time
from collections.abc import Sequence
from fractions import Fraction

import numpy as np

from gpu_runtime.engine import RuntimeEngine
from gpu_runtime.floors import timer_slack
from reference.cli import OneLineErrorParser
from reference.errors import ConfigError
from reference.generate import generate
from reference.latency import LatencyModel
from reference.scheduler.agreement import trace_differences
from reference.toy_models import SyntheticAcceptancePair

#: A lag check allows the engine's declared tolerance plus this many times the worst wake-up
#: delay a bare sleeping thread saw meanwhile (the lag chains a worker's and the driver's delays).
PROBE_FACTOR = 3


class WakeupProbe:
    """A thread that sleeps ``period_s`` at a time and records how late it wakes: the scheduling
    delay this process sees from the machine right now (0.1 ms when quiet, tens of ms when the
    2 cores are oversubscribed). Use as a context manager around the timed work."""

    def __init__(self, period_s: float = 1e-3) -> None:
        self.period_s = period_s
        self.worst_s = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wakeup-probe", daemon=True)

    def _run(self) -> None:
        timer_slack(1)
        while True:
            before = time.perf_counter()
            if self._stop.wait(self.period_s):
                return
            self.worst_s = max(self.worst_s, time.perf_counter() - before - self.period_s)

    def __enter__(self) -> WakeupProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def allowance(self, declared_s: float) -> float:
        """The lag allowed now: ``declared + PROBE_FACTOR × worst wake-up delay``."""
        return declared_s + PROBE_FACTOR * self.worst_s


def _burn(stop: multiprocessing.synchronize.Event) -> None:  # pragma: no cover - a load process
    while not stop.is_set():
        sum(i * i for i in range(10_000))


class CpuLoad:
    """``processes`` CPU-burning processes for the duration of a ``with`` block: a busy machine
    (used here and by ``dsi soak --load``)."""

    def __init__(self, processes: int) -> None:
        if isinstance(processes, bool) or not isinstance(processes, int) or processes < 0:
            raise ConfigError(f"load processes must be an integer >= 0, got {processes!r}")
        self.processes = processes
        self._stop = multiprocessing.Event()
        self._burners = [multiprocessing.Process(target=_burn, args=(self._stop,), daemon=True, name=f"cpu-load-{i}")
                         for i in range(processes)]

    def __enter__(self) -> CpuLoad:
        for process in self._burners:
            process.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for process in self._burners:
            process.join(5)
            if process.is_alive():
                process.terminate()
                process.join()


def measure(runs: int, *, time_unit_s: float = 1e-3, seed: int = 0) -> dict:
    """Lag quantiles (ms) and schedule agreement over ``runs`` random requests."""
    if runs < 1:
        raise ConfigError(f"runs must be >= 1, got {runs}")
    rng = np.random.default_rng(seed)
    engine = RuntimeEngine(time_unit_s=time_unit_s, emulate_latency=True)
    token_lags: list[float] = []
    start_lags: list[float] = []
    worst_run: list[float] = []
    differ = 0
    probe_worst: list[float] = []
    for case in range(runs):
        algorithm = ("dsi", "si", "nonsi")[case % 3]
        k, num_target_servers = int(rng.integers(1, 6)), int(rng.integers(1, 5))
        c = min(Fraction(int(rng.integers(1, 5)), int(rng.integers(4, 9))), Fraction(1))
        pair = SyntheticAcceptancePair(8, float(rng.uniform(0.3, 1.0)), seed=case)
        kwargs = {"algorithm": algorithm, "lookahead": k, "latency": LatencyModel.time_units(c), "seed": case,
                  **({"num_target_servers": num_target_servers} if algorithm == "dsi" else {})}
        tokens = int(rng.integers(4, 24))
        expected = generate(pair.target, pair.drafter, [1], tokens, **kwargs)
        with WakeupProbe() as probe:
            got = engine.generate(pair.target, pair.drafter, [1], tokens, **kwargs)
        probe_worst.append(probe.worst_s)
        differ += bool(trace_differences(expected, got))
        lags = [float(o) - float(n) * time_unit_s for o, n in zip(got.times, got.nominal_times, strict=True)]
        token_lags += lags
        worst_run.append(max(lags) - PROBE_FACTOR * probe.worst_s)
        start_lags += [r.wall_start - float(r.start) * time_unit_s for r in got.trace
                       if r.wall_start is not None and r.start is not None]
    return {"runs": runs, "time_unit_s": time_unit_s, "schedule_differs": differ,
            "token_lag_ms": _quantiles(token_lags), "start_lag_ms": _quantiles(start_lags),
            "probe_worst_ms": _quantiles(probe_worst),
            "worst_lag_beyond_probe_allowance_ms": _quantiles(worst_run)}


def _quantiles(values_s: list[float]) -> dict[str, float]:
    ms = np.array(values_s or [0.0]) * 1e3
    return {"median": float(statistics.median(ms)), "p99": float(np.quantile(ms, 0.99)),
            "p999": float(np.quantile(ms, 0.999)), "max": float(ms.max())}


def main(argv: Sequence[str] | None = None) -> int:
    parser = OneLineErrorParser(prog="python -m gpu_runtime.jitter", description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=300, help="random requests (default 300)")
    parser.add_argument("--time-unit-ms", type=float, default=1.0, help="ms per latency unit (default 1)")
    parser.add_argument("--load", type=int, default=0, help="CPU-burning processes beside the runs")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.load < 0 or not args.time_unit_ms > 0:
        sys.stderr.write("jitter: error: --load must be >= 0 and --time-unit-ms > 0\n")
        return 2
    started = time.perf_counter()
    try:
        with CpuLoad(args.load):
            out = measure(args.runs, time_unit_s=args.time_unit_ms * 1e-3, seed=args.seed)
    except ConfigError as exc:
        sys.stderr.write(f"jitter: error: {exc}\n")
        return 2
    out.update(load_processes=args.load, seconds=time.perf_counter() - started)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
