"""Real-model report pieces from their JSON (hand-made numbers), the cost-by-positions fit, the
latency model of a measured drafter, and the table step reading committed files."""

from __future__ import annotations

import json
from fractions import Fraction

from paper_repro.real_measure import fit_positions_cost, latency_model
from paper_repro.real_run import run_section
from paper_repro.steps import real_model_rows
from paper_repro.table import measured_here


def _choice(latency: float, k: int | None = 2) -> dict:
    return {"latency": latency, "lookahead": k, "num_target_servers": 1, "target_forwards_per_token": 1.0}


MEASUREMENT = {
    "machine": {"load_average_before": [0.1, 0.1, 0.1], "load_average_after": [0.2, 0.1, 0.1]},
    "target": {"ttft_ms": 150.0, "tpot_ms": 60.0, "prompts": 164},
    "positions_cost": {"fitted": [1.0, 1.05, 1.1], "measured": [1.0, 1.04, 1.12]},
    "drafters": {"lookup": {
        "c": 0.001, "latency_ms": {},
        "acceptance": {"held_out": {"table_estimate": 0.4, "greedy_match_rate": 0.35, "sum_min_pq": 0.3}},
        "prediction": {"nonsi": _choice(1000.0, None), "si": _choice(1200.0, 3), "dsi_N7": _choice(800.0, 4),
                       "dsi_N2": _choice(960.0, 2)}}},
}


def test_measured_here_rows():
    claims, lines = measured_here(MEASUREMENT)
    row = next(line for line in lines if line.startswith("| smollm2-humaneval, lookup"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    # c, â, match, Σmin, k SI, k DSI, DSI/SI N7 = 1200/800, N2 = 1200/960, DSI/non-SI 1000/800, 1000/960, SI/non-SI
    assert cells[1:] == ["0.0010", "0.400", "0.350", "0.300", "3", "4 / 2", "1.500", "1.250", "1.250", "1.042",
                         "0.833"]
    assert len(claims) == 1 and claims[0].verdict == "finding"
    assert "DSI/SI 1.250x-1.500x" in claims[0].ours and "DSI/non-SI 1.042x-1.250x" in claims[0].ours


def _run(greedy_ok: bool = True) -> dict:
    from paper_repro.real_run import summarize

    drafter = {"measured_s": {"nonsi": 4.2, "si": 5.0, "dsi": 3.2},
               "predicted_s": {"nonsi": 3.9, "si": 4.8, "dsi": 3.0},
               "greedy_tokens_equal_plain": greedy_ok, "sampling_tokens_equal_reference": {"dsi": True}}
    prompt = {"plain": {"measured_s": 4.0, "predicted_s": 3.9, "tokens_equal_plain": True},
              "drafters": {"lookup": drafter}, "hf": {"hf-plain": {"measured_s": 4.4, "tokens_equal_plain": True}}}
    prompts = [prompt, prompt]
    return {"config": {"tokens": 48, "num_target_servers": 2, "runs": 3, "seed": 0, "drafters": ["lookup"]},
            "machine": {}, "lookahead": {"lookup": {"si": 2, "dsi": 3}}, "prompts": prompts,
            "summary": summarize(prompts)}


def test_run_section_totals_and_verdicts():
    data = _run()
    assert data["summary"]["totals_s"]["plain"] == {"measured_s": 8.0, "predicted_s": 7.8}
    assert data["summary"]["totals_s"]["dsi (lookup)"] == {"measured_s": 6.4, "predicted_s": 6.0}
    assert data["summary"]["totals_s"]["hf-plain"] == {"measured_s": 8.8}
    claims, lines = run_section(data)
    assert [c.verdict for c in claims] == ["reproduced", "finding"]
    assert claims[1].ours == "lookup: DSI 1.25x vs plain, 1.31x vs non-SI, 1.56x vs SI"  # 8/6.4, 8.4/6.4, 10/6.4
    assert "| dsi (lookup) | 6.40 | 6.00 |" in lines
    bad, _ = run_section(_run(greedy_ok=False))
    assert bad[0].verdict == "not reproduced"


def test_table_step_reads_the_folder_and_falls_back_to_the_committed_files(tmp_path):
    committed_claims, committed_lines = real_model_rows(None)
    assert len(committed_claims) == 3  # docs/measurements: the table measurement and the real run
    assert real_model_rows(str(tmp_path)) == (committed_claims, committed_lines)  # empty folder
    (tmp_path / "humaneval-smollm2.json").write_text(json.dumps(MEASUREMENT))
    claims, lines = real_model_rows(str(tmp_path))  # a fresh measurement beside the committed run
    assert claims[0] != committed_claims[0] and claims[1:] == committed_claims[1:]
    (tmp_path / "humaneval-smollm2-run.json").write_text(json.dumps(_run()))
    claims, lines = real_model_rows(str(tmp_path))
    assert len(claims) == 3 and any("Measured here (CPU)" in line for line in lines)
    assert claims[1:] != committed_claims[1:]


def test_positions_fit_is_isotonic():
    # 1.3 > 1.2 pools to 1.25; 0.9 (faster than one position: noise) is raised to 1
    assert fit_positions_cost([1.0, 0.9, 1.3, 1.2, 1.7]) == (1.0, 1.0, 1.25, 1.25, 1.7)
    assert fit_positions_cost([1.0, 2.0, 1.0, 1.0]) == (1.0, 1.3333, 1.3333, 1.3333)  # (2 + 1 + 1) / 3
    assert fit_positions_cost([1.0]) == (1.0,)


def test_latency_model_of_a_measured_drafter():
    model = latency_model({"target_decode": 60.0, "target_prefill": 150.0, "drafter_decode": 0.00001,
                           "drafter_prefill": 0.5, "target_positions_cost": [1.0, 1.25]})
    assert model.drafter_decode == Fraction(1, 10_000)  # floored at 1e-4 ms: c > 0
    assert model.positions_cost(3) == Fraction(3, 2)
