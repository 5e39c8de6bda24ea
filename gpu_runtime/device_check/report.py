"""The check's verdict, speedups, ``device_check.json``, the one-page ``device_check.md`` and
the terminal table. Both files are written atomically (temporary file + rename), after every
config as well as at the end, so a run stopped early leaves a complete, readable partial
report (``"status": "running"`` or ``"aborted"``) and never a half-written one.
"""

from __future__ import annotations

import threading
from pathlib import Path

from reference.files import atomic_write_text, to_json

SCHEMA = "gpu_runtime.device_check/1"
#: A real run "holds to its prediction" when it takes at most this much longer than predicted
#: from the median latencies: a reporting threshold (the host's per-task work is not in the
#: latency model), not a statistical test; the run fails only on correctness.
PREDICTION_SLACK = 1.25


def agreement(configs: list[dict]) -> dict:
    """Token identity (with the reference, across algorithms, with plain greedy decoding), the
    emulated schedules and lags, errors — over the configs that ran."""
    ran = [c for c in configs if "error" not in c]
    blocks: dict[tuple, list[dict]] = {}
    for c in ran:
        blocks.setdefault((c["acceptance"], c["mode"]), []).append(c)
    across = []
    for (a, mode), members in blocks.items():
        speculative = {tuple(c["tokens"]) for c in members if c["algorithm"] != "plain"}
        if mode == "greedy":  # argmax of p either way: plain decoding gives the same tokens
            speculative |= {tuple(c["tokens"]) for c in members if c["algorithm"] == "plain"}
        across.append({"acceptance": a, "mode": mode, "identical": len(speculative) <= 1,
                       "configs": len(members)})
    return {
        "configs_run": len(ran),
        "errors": len(configs) - len(ran),
        "tokens_match_reference": sum(c["tokens_match_reference"] for c in ran),
        "tokens_identical_across_algorithms": all(b["identical"] for b in across),
        "blocks": across,
        "schedules_agree": sum(c["emulated"]["schedule_agrees"] for c in ran),
        "lags_within_tolerance": sum(c["emulated"]["within_tolerance"] for c in ran),
        "nonfinite_forwards": sum(c["nonfinite_forwards"] for c in ran),
        "real_within_prediction": sum(c["real"]["measured_over_predicted"] <= PREDICTION_SLACK for c in ran),
    }


def verdict(agreed: dict, configs_total: int) -> dict:
    """``correct``: something ran, nothing failed, tokens and schedules all agree, lags within the
    allowance. ``fast`` is reported beside it, never failing the check."""
    n = agreed["configs_run"]
    correct = (n > 0 and agreed["errors"] == 0 and agreed["tokens_match_reference"] == n
               and agreed["tokens_identical_across_algorithms"] and agreed["schedules_agree"] == n
               and agreed["lags_within_tolerance"] == n)
    return {"correct": correct, "configs_run": n, "configs_planned": configs_total,
            "real_within_prediction": f"{agreed['real_within_prediction']}/{n}"}


def speedups(configs: list[dict]) -> list[dict]:
    """Per (a, mode, N): DSI against SI, non-SI and plain decoding, measured (real runs, medians)
    and predicted (median latencies)."""
    index = {(c["algorithm"], c["num_target_servers"] if c["algorithm"] == "dsi" else 1,
              c["acceptance"], c["mode"]): c["real"] for c in configs if "error" not in c}
    out = []
    for (algorithm, n, a, mode), dsi in index.items():
        if algorithm != "dsi":
            continue
        row = {"acceptance": a, "mode": mode, "num_target_servers": n}
        for other in ("si", "nonsi", "plain"):
            base = index.get((other, 1, a, mode))
            if base is not None:
                row[f"measured_dsi_over_{other}"] = base["measured_s"] / dsi["measured_s"]
                row[f"predicted_dsi_over_{other}"] = base["predicted_s"] / dsi["predicted_s"]
        out.append(row)
    return out


class Checkpoint:
    """Writes the JSON and the markdown page atomically; one writer at a time."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.lock = threading.Lock()

    def write(self, doc: dict) -> None:
        with self.lock:
            atomic_write_text(self.directory / "device_check.json", to_json(doc))
            atomic_write_text(self.directory / "device_check.md", markdown(doc))


def _count(n: int) -> str:
    """A parameter count: 1236M, 91.9K."""
    return f"{n / 1e6:.0f}M" if n >= 1e7 else f"{n / 1e3:.1f}K"


def latency_rows(doc: dict) -> list[list[str]]:
    """Per level: median ms of the four forwards, and c."""
    names = ("target_decode", "drafter_decode", "target_prefill", "drafter_prefill")
    return [[level, *(f"{entry['median_ms'][k]:.2f}" for k in names), f"{entry['c']:.3f}"]
            for level, entry in doc.get("latency_table", {}).get("levels", {}).items()]


LATENCY_HEADER = ["level", "target decode ms", "drafter decode ms", "target prefill ms", "drafter prefill ms", "c"]


def _f(value: object, digits: int = 3) -> str:
    return f"{value:.{digits}g}" if isinstance(value, float) else ("—" if value is None else str(value))


def config_rows(doc: dict) -> list[list[str]]:
    """One row per config: name, k, emulated schedule and worst lag, real measured/predicted, tokens."""
    rows = []
    for c in doc.get("configs", []):
        if "error" in c:
            rows.append([c["name"], "", "error", "", "", "", "", c["error"][:60]])
            continue
        e, r = c["emulated"], c["real"]
        rows.append([c["name"], _f(c["lookahead"]), "ok" if e["schedule_agrees"] else "DIFFERS",
                     f"{e['token_lag_ms']['max']:.1f}/{e['allowed_lag_ms']:.0f}",
                     f"{r['measured_s']:.3f}", f"{r['predicted_s']:.3f}", f"{r['measured_over_predicted']:.2f}",
                     "ok" if c["tokens_match_reference"] else "DIFFER"])
    return rows


CONFIG_HEADER = ["config", "k", "schedule", "lag max/allowed ms", "real s", "predicted s", "ratio", "tokens"]


def table_text(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows, strict=True)]
    lines = ["  ".join(str(x).ljust(w) for x, w in zip(line, widths, strict=True)) for line in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    return "\n".join(["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
                      *["| " + " | ".join(str(x) for x in row) + " |" for row in rows]])


def markdown(doc: dict) -> str:
    """The one-page report."""
    env, plan, v = doc.get("environment", {}), doc["plan"], doc.get("verdict", {})
    lines = [f"# Device check ({plan['name']}): {doc['status']}", ""]
    if v:
        lines.append(f"**{'correct' if v['correct'] else 'NOT CORRECT'}** — {v['configs_run']}/{v['configs_planned']} "
                     f"configs run; real runs within {PREDICTION_SLACK}× of prediction: {v['real_within_prediction']}.")
    lines += ["", f"Device `{env.get('device_name', plan['device'])}`; torch {env.get('torch')} (CUDA "
              f"{env.get('cuda')}), transformers {env.get('transformers')}; {doc.get('elapsed_s', 0):.0f} s of "
              f"{plan['budget_s']:.0f} s budget. Target {_count(plan['target_parameters'])}, drafter "
              f"{_count(plan['drafter_parameters'])} parameters ({plan['dtype']}, random weights), P = "
              f"{plan['prompt_length']}, S = {plan['max_new_tokens']}, seed {plan['seed']}.", ""]
    if doc.get("latency_table"):
        lines += ["## Latencies (median; level 0: the target alone; level m: m target streams + the drafter's)",
                  "", _md_table(LATENCY_HEADER, latency_rows(doc)), ""]
    if doc.get("configs"):
        lines += ["## Runs", "", _md_table(CONFIG_HEADER, config_rows(doc)), ""]
    if doc.get("speedups"):
        def pair(s: dict, other: str) -> str:
            nan = float("nan")
            return f"{s.get(f'measured_dsi_over_{other}', nan):.2f} ({s.get(f'predicted_dsi_over_{other}', nan):.2f})"

        rows = [[s["acceptance"], s["mode"], s["num_target_servers"], *(pair(s, o) for o in ("si", "nonsi", "plain"))]
                for s in doc["speedups"]]
        lines += ["## DSI speedups, measured (predicted)", "",
                  _md_table(["a", "mode", "N", "over SI", "over non-SI", "over plain"], rows), ""]
    notes = doc.get("skipped", []) + doc.get("notes", [])
    if notes:
        lines += ["## Notes", "", *[f"- {n}" for n in notes], ""]
    return "\n".join(lines)


def summary(doc: dict) -> str:
    """The terminal summary: the config table and the verdict."""
    v = doc.get("verdict", {})
    head = (f"device check ({doc['plan']['name']}, {doc['environment'].get('device_name', doc['plan']['device'])}): "
            f"{'correct' if v.get('correct') else 'NOT CORRECT'}, {v.get('configs_run', 0)}/"
            f"{v.get('configs_planned', 0)} configs, {doc.get('elapsed_s', 0):.1f} s")
    parts = [head]
    if doc.get("latency_table"):
        parts.append(table_text(LATENCY_HEADER, latency_rows(doc)))
    return "\n".join([*parts, table_text(CONFIG_HEADER, config_rows(doc)), *doc.get("skipped", []),
                      *doc.get("notes", [])])
