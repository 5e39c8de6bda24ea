"""CLI of paper_repro: ``dsi repro illustration|heatmaps|table|all`` and ``dsi heatmap`` (SPEC §9).

Thin layer: it builds the validated settings objects (:mod:`paper_repro.settings`) and calls
the step functions of :mod:`paper_repro.steps` or the runner (:mod:`paper_repro.runner`); heavy
imports (matplotlib, transformers) happen only when a command runs. ``--json`` prints exactly
one JSON object on stdout. Exit status: 0 on success; for ``repro all`` 1 when a claim is "not
reproduced" or a step failed; 2 on invalid input (a ``DSIError``, mapped by the root parser).
``repro all`` prints a compact summary (:mod:`paper_repro.summary`); the full claim table is
``REPORT.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from paper_repro.artifacts import check_replaceable
from reference.cli_args import (
    MAX_COUNT,
    MAX_LOOKAHEAD,
    MAX_SERVERS,
    MAX_TOKENS,
    add_max_new_tokens,
    add_num_target_servers,
    check_work,
    integer,
)
from reference.errors import ConfigError, PathError
from reference.files import check_output_dir, check_output_file, staged_directory

DEFAULT_OUT = "results"


def _print_json(obj: Any) -> None:
    from reference.files import to_json

    sys.stdout.write(json.dumps(json.loads(to_json(obj))) + "\n")


def _add_grid_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ndim", type=integer(MAX_COUNT, minimum=1), default=20,
                        help="grid intervals per axis (default 20)")
    add_num_target_servers(parser, type=integer(MAX_SERVERS, minimum=1), default=7, help="target servers N (default 7)")
    add_max_new_tokens(parser, type=integer(MAX_TOKENS, minimum=1), default=1000, help="tokens S (default 1000)")
    parser.add_argument("--repeats", type=integer(MAX_COUNT, minimum=1), default=5, help="repeats (default 5)")
    parser.add_argument("--seed", type=integer(2**32), default=42, help="seed (default 42)")
    parser.add_argument("--max-lookahead", type=integer(MAX_LOOKAHEAD, minimum=1), default=20,
                        help="k in 1..K (default 20)")


def _grid_settings(args: argparse.Namespace) -> Any:
    from paper_repro.settings import HeatmapSettings

    if args.seed < 0:
        raise ConfigError(f"seed must be >= 0, got {args.seed}")
    check_work("grid paths (ndim + 1) x max lookahead x repeats x tokens",
               (args.ndim + 1) * args.max_lookahead * args.repeats * args.max_new_tokens)
    check_work("grid cells (ndim + 1)^2 x max lookahead", (args.ndim + 1) ** 2 * args.max_lookahead)
    return HeatmapSettings(ndim=args.ndim, num_target_servers=args.num_target_servers, tokens=args.max_new_tokens,
                           repeats=args.repeats,
                           seed=args.seed, max_lookahead=args.max_lookahead)


# ------------------------------------------------------------------ handlers


def cmd_illustration(args: argparse.Namespace) -> int:
    from paper_repro import illustration

    if args.out:
        from paper_repro.settings import StepContext
        from paper_repro.steps import illustration_step

        with staged_directory(args.out) as staging:
            outcome = illustration_step(StepContext(out=staging))
        counts = {case: outcome.data[case] for case in illustration.CASES}
        rows = outcome.rows
    else:
        config = illustration.IllustrationConfig()
        counts = illustration.token_counts(illustration.run_illustration(config))
        rows = illustration.findings(counts, config)
    if args.json:
        _print_json(illustration.illustration_json(counts))
        return 0
    print(f"tokens by t = {', '.join(map(str, illustration.PAPER_TIMES))} (ours / paper)")
    for row in rows:
        print(f"  {row.claim.split(': ')[0]:<38} {row.ours:<12} {row.paper:<12} {row.verdict}"
              + (f" ({row.note})" if row.note else ""))
    if args.out:
        print(f"wrote {Path(args.out) / 'illustration'}")
    return 0


def cmd_heatmaps(args: argparse.Namespace) -> int:
    from paper_repro.steps import write_heatmaps

    settings = _grid_settings(args)
    models = ("exact", "paper") if args.model == "both" else (args.model,)
    out = Path(args.out) / "heatmaps"
    summary = {}
    rows = []
    with staged_directory(out) as staging:
        for model in models:
            outcome = write_heatmaps(model, settings, staging / model)
            summary[model] = outcome.data
            rows += outcome.rows
    if args.json:
        _print_json({"models": summary, "claims": [r.as_dict() for r in rows], "out": str(out)})
        return 0
    for model, data in summary.items():
        print(f"{model} model:")
        for key, stats in data["panels"].items():
            print(f"  {key:<24} min {stats['min']:.4f}  max {stats['max']:.3f}  cells < 1: {stats['cells_below_1']}")
    for row in rows:
        print(f"[{row.verdict}] {row.step}: {row.claim}: {row.ours}")
    print(f"wrote {out}")
    return 0


def cmd_heatmap(args: argparse.Namespace) -> int:
    """SPEC §9 ``dsi heatmap``: one model's CSVs and figures directly under --out."""
    from paper_repro.steps import write_heatmaps

    settings = _grid_settings(args)
    with staged_directory(args.out) as staging:
        outcome = write_heatmaps(args.model, settings, staging)
    if args.json:
        _print_json({"model": args.model, **outcome.data, "out": args.out})
        return 0
    for key, stats in outcome.data["panels"].items():
        print(f"{key:<24} min {stats['min']:.4f}  max {stats['max']:.3f}  cells < 1: {stats['cells_below_1']}")
    print(f"wrote {args.out}")
    return 0


def cmd_table(args: argparse.Namespace) -> int:
    from paper_repro.measurements import load_measurements, save_measurements
    from paper_repro.settings import ReproSettings, StepContext
    from paper_repro.steps import table_step
    from paper_repro.table import TableConfig

    measurements = args.measurements
    check_work("table repeats x tokens", args.repeats * TableConfig().tokens)
    check_output_dir(args.out)
    real_folder = None
    if args.measure and "humaneval-smollm2" in args.measure:
        if len(args.measure) > 1:
            raise ConfigError("measure humaneval-smollm2 on its own (it writes its own file)")
        real_folder = _measure_real(args)
        args.measure = None
    if args.measure:
        from paper_repro.hf_measure import measure_row

        rows = load_measurements(measurements)
        measurements = args.save_measurements or str(Path(args.out) / "table" / "measurements_measured.json")
        check_output_file(measurements, what="--save-measurements file")
        wanted = {r.row_id for r in rows} if args.measure == ["all"] else set(args.measure)
        unknown = wanted - {r.row_id for r in rows}
        if unknown:
            raise ConfigError(f"unknown row ids {sorted(unknown)}; known: {[r.row_id for r in rows]}")
        rows = [measure_row(r, device=args.device, dtype=args.dtype, n_prompts=args.prompts or 50,
                            builtin=args.builtin_prompts) if r.row_id in wanted else r for r in rows]
        save_measurements(measurements, rows)
        print(f"wrote measurements to {measurements}", file=sys.stderr)
    settings = ReproSettings(measurements=measurements, table_repeats=args.repeats,
                             table_demo=args.demo, progress=not args.json, real_measurements=real_folder)
    with staged_directory(args.out) as staging:
        outcome = table_step(StepContext(out=staging, settings=settings))
    if args.json:
        _print_json({**outcome.data, "claims": [r.as_dict() for r in outcome.rows]})
        return 0
    for result in outcome.data["results"]:
        print(f"{result['row_id']:<24} {result['kind']:<6} c={result['c']:.4f} a={result['acceptance_rate']:.3f} "
              f"k_SI={result['si_k']} k_DSI={result['dsi_k']} N={result['num_target_servers']} "
              f"DSI/SI={result['dsi_over_si']:.3f} DSI/non-SI={result['dsi_over_nonsi']:.3f}")
    if outcome.data["unmeasured"]:
        print("rows lacking measurements (TTFT, TPOT, acceptance): " + ", ".join(outcome.data["unmeasured"]))
        print("measure them with `dsi repro table --measure ROW_ID|all` on a machine with the models and a GPU")
    return 0


def _measure_real(args: argparse.Namespace) -> str:
    """``--measure humaneval-smollm2``: the real model's table protocol; returns the JSON's folder."""
    from paper_repro.real_measure import MEASUREMENT_ID, MeasureConfig, measure
    from reference.files import write_json

    path = Path(args.save_measurements or Path(args.out) / "table" / f"{MEASUREMENT_ID}.json")
    if path.name != f"{MEASUREMENT_ID}.json":
        raise ConfigError(f"--save-measurements for {MEASUREMENT_ID} must be named {MEASUREMENT_ID}.json")
    check_output_file(path, what="--save-measurements file")  # before the measurement, not after
    result = measure(MeasureConfig(prompts=args.prompts, split=args.split), progress=not args.json)
    write_json(path, result)
    print(f"wrote {path} ({result['machine']['seconds']} s)", file=sys.stderr)
    return str(path.parent)


def cmd_real_run(args: argparse.Namespace) -> int:
    """``dsi repro real-run``: the runtime on the real model beside Hugging Face's decoding."""
    from paper_repro.real_run import MEASUREMENT_FILE, RunConfig, load_measurement, run
    from reference.files import write_json

    path = Path(args.save or Path(args.out) / "real-run" / "humaneval-smollm2-run.json")
    check_output_file(path, what="--save file")  # before the run, not after
    config = RunConfig(prompts=args.prompts, tokens=args.max_new_tokens, runs=args.runs)
    result = run(config, measurement=load_measurement(args.measurements or MEASUREMENT_FILE),
                 log=(lambda m: None) if args.json else (lambda m: print(m, file=sys.stderr)))
    write_json(path, result)
    if args.json:
        _print_json(result["summary"])
        return 0
    for method, row in result["summary"]["totals_s"].items():
        predicted = f", predicted {row['predicted_s']:.2f} s" if "predicted_s" in row else ""
        print(f"{method:<28} measured {row['measured_s']:.2f} s{predicted}")
    print(f"checks: {result['summary']['checks']}")
    print(f"wrote {path}")
    return 0


def cmd_all(args: argparse.Namespace) -> int:
    from paper_repro.report import verdict_counts
    from paper_repro.runner import run_steps, select_steps
    from paper_repro.settings import HeatmapSettings, ReproSettings
    from paper_repro.summary import FAILING, print_summary

    if args.measurements:
        from paper_repro.measurements import load_measurements

        load_measurements(args.measurements)  # invalid input is exit 2 before any work
    check_replaceable(args.out)  # ... and an --out that must not be replaced, or cannot be written
    if args.figures:
        check_output_dir(args.figures, what="--figures directory")
    steps = select_steps(args.skip or [])
    settings = ReproSettings(heatmap=HeatmapSettings(), measurements=args.measurements,
                             table_demo=args.demo, progress=not args.no_progress and not args.json)
    try:
        summary = run_steps(steps, args.out, settings, figures_dir=args.figures)
    except OSError as exc:  # copying the figures into --figures (run_steps' last act)
        raise PathError(f"cannot write the figures to {args.figures}: {exc.strerror}") from None
    bad = [r for r in summary.rows if r.verdict in FAILING]
    if args.json:
        _print_json({"out": str(summary.out), "claims": [r.as_dict() for r in summary.rows],
                     "verdicts": verdict_counts(summary.rows), "timings": dict(summary.timings)})
        return 1 if bad else 0
    print_summary(summary.rows, report=summary.report, timings=summary.timings)
    return 1 if bad else 0


# ------------------------------------------------------------------ registration


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``repro`` (illustration|heatmaps|table|all) and ``heatmap`` to the root ``dsi`` parser."""
    from reference.cli import OneLineErrorParser

    repro = subparsers.add_parser("repro", help="reproduce the paper's figures, table and claims")
    targets = repro.add_subparsers(dest="target", metavar="TARGET", parser_class=OneLineErrorParser)
    repro.set_defaults(func=lambda args: (repro.print_help(), 0)[1])

    p = targets.add_parser("illustration", help="the timeline figure and its token-count table")
    p.add_argument("--out", help="directory for the figure and numbers (default: print only)")
    p.add_argument("--json", action="store_true", help="print {times, best, worst} as one JSON object")
    p.set_defaults(func=cmd_illustration)

    p = targets.add_parser("heatmaps", help="Figure 1 in the exact and/or the paper's model")
    p.add_argument("--model", choices=("exact", "paper", "both"), default="both")
    p.add_argument("--out", default=DEFAULT_OUT, help=f"results directory (default {DEFAULT_OUT})")
    p.add_argument("--json", action="store_true")
    _add_grid_options(p)
    p.set_defaults(func=cmd_heatmaps)

    p = targets.add_parser("table", help="the off-the-shelf pairs table from measurements")
    p.add_argument("--out", default=DEFAULT_OUT, help=f"results directory (default {DEFAULT_OUT})")
    p.add_argument("--measurements", help="measurements JSON (default: the shipped file)")
    p.add_argument("--measure", nargs="+", metavar="ROW_ID",
                   help="measure these rows (or 'all') with Hugging Face models first; 'humaneval-smollm2': "
                        "the real model reachable here, on this CPU")
    p.add_argument("--device", default="cuda", help="device for --measure (default cuda)")
    p.add_argument("--dtype", default="bfloat16", help="dtype for --measure (default bfloat16)")
    p.add_argument("--prompts", type=integer(MAX_COUNT, minimum=1), default=None,
                   help="prompts per dataset (default 50; humaneval-smollm2: all 164)")
    p.add_argument("--builtin-prompts", action="store_true", help="use the shipped prompt set")
    p.add_argument("--split", choices=("all", "held-out"), default="all",
                   help="humaneval-smollm2: all 164 problems or the 41 held-out ones (default all)")
    p.add_argument("--save-measurements", help="where --measure writes the filled measurements")
    p.add_argument("--repeats", type=integer(MAX_COUNT, minimum=1), default=5,
                   help="acceptance paths per row (default 5)")
    p.add_argument("--no-demo", dest="demo", action="store_false",
                   help="skip the tiny random-init pipeline demo row")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_table)

    p = targets.add_parser("real-run",
                           help="the runtime on SmolLM2 (non-SI, SI, DSI) beside Hugging Face's decoding")
    p.add_argument("--out", default=DEFAULT_OUT, help=f"results directory (default {DEFAULT_OUT})")
    p.add_argument("--measurements",
                   help="the table measurement JSON (default docs/measurements/humaneval-smollm2.json)")
    p.add_argument("--save", help="where to write the run's JSON (default OUT/real-run/humaneval-smollm2-run.json)")
    p.add_argument("--prompts", type=integer(MAX_COUNT, minimum=1), default=3,
                   help="held-out HumanEval prompts (default 3)")
    add_max_new_tokens(p, type=integer(MAX_TOKENS, minimum=1), default=48, help="new tokens S (default 48)")
    p.add_argument("--runs", type=integer(MAX_COUNT, minimum=1), default=3,
                   help="runs per method, median (default 3)")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.set_defaults(func=cmd_real_run)

    p = targets.add_parser("all", help="every step; writes results/ and results/REPORT.md")
    p.add_argument("--out", default=DEFAULT_OUT, help=f"results directory (default {DEFAULT_OUT})")
    p.add_argument("--figures", help="also copy the PNG figures into this directory (e.g. docs/figures)")
    p.add_argument("--measurements", help="measurements JSON for the table (default: the shipped file)")
    p.add_argument("--skip", action="append", metavar="STEP",
                   help="leave a step out (repeatable): proofs, properties, mutants, runtime, "
                        "illustration, heatmaps, table, open")
    p.add_argument("--no-demo", dest="demo", action="store_false", help="skip the tiny table demo row")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_all)

    p = subparsers.add_parser("heatmap", help="one model's heatmap grid: CSVs and figures (SPEC §9)")
    p.add_argument("--model", choices=("exact", "paper"), required=True)
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--json", action="store_true")
    _add_grid_options(p)
    p.set_defaults(func=cmd_heatmap)
