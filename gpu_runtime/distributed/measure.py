"""``python -m gpu_runtime.distributed.measure``: what a message costs between two gloo ranks.

Starts one server rank on this machine and times ECHO round trips (rank 0 sends a message with a
payload of ``d`` float64 values, the rank answers with ``r`` values; the time from the send to
the answer's arrival), median / p90 / p99 over ``--repeats`` round trips per size, all sizes
interleaved:

* ``sizes`` — a small dispatch and answers of 0, 64, 1 000, 10 000, 50 000 and 300 000 floats
  (one p row at V = 50k is 50 000; a full window of k = 5 drafts and its bonus, 300 000),
  and a least-squares line ``rtt = a + b·bytes`` through the medians;
* ``protocols`` — one target result at V = ``--vocab`` and k = ``--lookahead`` under each result protocol
  (:mod:`gpu_runtime.distributed.protocol`): ``rows`` sends (k + 1)·V floats for a full window,
  ``verify`` V + k (one row and p at the drafts; its JOB carries k more floats), and which one
  is faster.

Prints one JSON object. The numbers depend on the machine and its load (``load_average``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Sequence

import numpy as np

from gpu_runtime.distributed import wire
from gpu_runtime.distributed.cluster import Cluster, ClusterConfig
from gpu_runtime.distributed.wire import Message
from reference.cli import run_standalone
from reference.cli_args import MAX_COUNT, MAX_LOOKAHEAD, MAX_VOCAB, add_lookahead, integer

SIZES = (0, 64, 1_000, 10_000, 50_000, 300_000)
DISPATCH_FLOATS = 64  # a JOB: ids of a prefix of a few dozen tokens, the floor, q at the drafts


def round_trips(cluster: Cluster, shapes: dict[str, tuple[int, int]], repeats: int) -> dict[str, list[float]]:
    """Seconds per ECHO round trip to rank 1 for each (dispatch floats, reply floats), the shapes
    interleaved (one round trip of each per repeat, so that a load drift hits all alike); one
    warm-up round first."""
    link = cluster.links[1]
    out: dict[str, list[float]] = {name: [] for name in shapes}
    for i in range(repeats + 1):
        for name, (send_floats, reply_floats) in shapes.items():
            payload = np.zeros(send_floats)
            sent = time.perf_counter()
            link.send(Message(wire.ECHO, 0, i, ints=np.array([reply_floats], np.int64), floats=payload), wait=True)
            answer = link.expect(wire.ECHOED, 30.0, "ECHO")
            if i:
                out[name].append(answer.received - sent)
    return out


def quantiles_ms(values: list[float]) -> dict[str, float]:
    ordered = sorted(v * 1e3 for v in values)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {"median": statistics.median(ordered), "p90": pick(0.9), "p99": pick(0.99)}


def measure(repeats: int = 200, vocab: int = 50_000, k: int = 5) -> dict:
    """The report of the module docstring."""
    cluster = Cluster.spawn(ClusterConfig(target_ranks=1))
    try:
        shapes = {str(size): (DISPATCH_FLOATS, size) for size in SIZES}
        shapes.update(rows=(DISPATCH_FLOATS, (k + 1) * vocab), verify=(DISPATCH_FLOATS + k, vocab + k))
        measured = {name: quantiles_ms(values) for name, values in round_trips(cluster, shapes, repeats).items()}
        sizes = {str(size): measured[str(size)] for size in SIZES}
        x = np.array([8.0 * s for s in SIZES])
        y = np.array([sizes[str(s)]["median"] for s in SIZES])
        slope, intercept = np.polyfit(x, y, 1)
        protocols = {"rows": measured["rows"], "verify": measured["verify"]}
    finally:
        cluster.close()
    better = min(protocols, key=lambda name: protocols[name]["median"])
    return {
        "repeats": repeats, "dispatch_floats": DISPATCH_FLOATS, "round_trip_ms": sizes,
        "fit": {"intercept_ms": float(intercept), "ms_per_MB": float(slope) * 1e6},
        "protocols": {"vocab": vocab, "k": k, "round_trip_ms": protocols, "faster": better,
                      "result_floats": {"rows": (k + 1) * vocab, "verify": vocab + k}},
        "load_average": os.getloadavg()[0],
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repeats", type=integer(MAX_COUNT, minimum=1), default=200,
                        help="round trips per size (default 200)")
    parser.add_argument("--vocab", type=integer(MAX_VOCAB, minimum=2), default=50_000,
                        help="V of the protocol comparison (default 50000)")
    add_lookahead(parser, type=integer(MAX_LOOKAHEAD, minimum=1), default=5,
                  help="lookahead of the protocol comparison (default 5)")


def main(argv: Sequence[str] | None = None) -> int:
    def execute(args: argparse.Namespace) -> int:
        print(json.dumps(measure(args.repeats, args.vocab, args.lookahead)))
        return 0

    return run_standalone("python -m gpu_runtime.distributed.measure", __doc__.split("\n")[0], add_arguments,
                          execute, argv)


if __name__ == "__main__":
    raise SystemExit(main())
