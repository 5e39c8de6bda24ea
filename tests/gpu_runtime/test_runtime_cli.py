"""``dsi generate``, ``dsi bench`` and ``python -m gpu_runtime.bench`` (CPU, tiny models)."""

from __future__ import annotations

import json
import math

import pytest
import torch

from gpu_runtime import bench as gpu_bench
from reference import generate
from reference.cli import main
from reference.latency import LatencyModel
from reference.toy_models import SyntheticAcceptancePair


def _json(capsys, argv):
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1  # exactly one JSON object
    return json.loads(out)


@pytest.mark.parametrize("model", ["synthetic", "tabular", "tiny"])
def test_generate_runtime_and_reference_print_the_same_tokens(capsys, model):
    argv = ["generate", "--json", "--model", model, "--tokens", "12", "--k", "3", "--sp", "3",
            "--seed", "5", "--target-ms", "2", "--drafter-ms", "0.5", "--vocab", "16"]
    runtime = _json(capsys, [*argv, "--engine", "runtime"])
    reference = _json(capsys, [*argv, "--engine", "reference"])
    assert runtime["tokens"] == reference["tokens"] and len(runtime["tokens"]) == 12
    assert runtime["engine"] == "runtime" and reference["engine"] == "reference"
    assert runtime["counters"]["accepted_drafts"] == reference["counters"]["accepted_drafts"]


def test_bench_json_has_measured_predicted_speedup_and_overhead(capsys):
    out = _json(capsys, ["bench", "--json", "--tokens", "12", "--runs", "1", "--target-ms", "4",
                         "--drafter-ms", "1", "--k", "2", "--acceptance", "0.5"])
    assert set(out["measured"]) == set(out["predicted"]) == {"nonsi", "si", "dsi"}
    assert {"measured_dsi_over_si", "predicted_dsi_over_si"} <= set(out["speedup"])
    assert math.isfinite(out["overhead_per_task_ms"])
    assert out["config"]["sp_degree"] == 3  # ceil(1 / (2 · 1/4)) + 1
    pair = SyntheticAcceptancePair(64, 0.5, seed=0)
    predicted_nonsi = generate(pair.target, pair.drafter, [1, 2, 3], 12, algorithm="nonsi",
                               latency=LatencyModel(4, 1)).latency
    assert out["predicted"]["nonsi"] == pytest.approx(float(predicted_nonsi) * 1e-3)
    assert out["predicted"]["nonsi"] == pytest.approx(12 * 0.004)  # S target forwards of 4 ms
    assert out["schedule_agrees"] and out["ok"]


def test_bench_warm_start_is_passed_to_both_engines(capsys):
    """Target prefill 12 ms, decode 4 ms, N = 3: with warm start the reference's DSI prediction
    is what the runtime is compared with, and the tokens agree."""
    argv = ["bench", "--json", "--tokens", "8", "--runs", "1", "--target-ms", "4", "--drafter-ms", "1",
            "--target-prefill-ms", "12", "--k", "2", "--sp", "3", "--acceptance", "0.5"]
    warm, cold = _json(capsys, [*argv, "--warm-start"]), _json(capsys, argv)
    assert warm["config"]["warm_start"] is True and cold["config"]["warm_start"] is False
    assert warm["schedule_agrees"] and cold["schedule_agrees"]
    pair = SyntheticAcceptancePair(64, 0.5, seed=0)
    latency = LatencyModel(target_decode=4, drafter_decode=1, target_prefill=12)
    expected = generate(pair.target, pair.drafter, [1, 2, 3], 8, lookahead=2, sp_degree=3, latency=latency,
                        warm_start=True)
    assert warm["predicted"]["dsi"] == pytest.approx(float(expected.latency) * 1e-3)
    assert cold["predicted"]["dsi"] != warm["predicted"]["dsi"]  # the flag changes the schedule


@pytest.mark.parametrize("argv", [
    ["generate", "--drafter-ms", "30"],  # c > 1
    ["generate", "--k", "0"],
    ["generate", "--tokens", "0"],
    ["generate", "--acceptance", "1.5"],
    ["generate", "--prompt", "a,b"],
    ["bench", "--runs", "0"],
    ["bench", "--sp", "0"],
    ["generate", "--warm-start"],  # warm start needs a finite N
])
def test_bad_input_exits_2_with_one_line(capsys, argv):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "error" in err


def _save_tiny(path, vocab_size):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=vocab_size, hidden_size=16, intermediate_size=32,
                                         num_hidden_layers=1, num_attention_heads=2,
                                         num_key_value_heads=1, max_position_embeddings=64,
                                         eos_token_id=None, bos_token_id=None))
    model.save_pretrained(path)  # safetensors
    return path


def test_gpu_bench_runs_on_cpu_with_tiny_saved_models(tmp_path):
    target = _save_tiny(tmp_path / "target", 20)
    drafter = _save_tiny(tmp_path / "drafter", 20)
    out = tmp_path / "bench.json"
    code = gpu_bench.main(["--target", str(target), "--drafter", str(drafter), "--target-devices", "cpu",
                           "--drafter-device", "cpu", "--dtype", "float64", "--prompt-ids", "1,2",
                           "--tokens", "6", "--runs", "1", "--sp", "2", "--k", "2", "--out", str(out)])
    assert code == 0
    result = json.loads(out.read_text())
    tokens = {alg: result["results"][alg]["tokens"] for alg in ("nonsi", "si", "dsi")}
    assert tokens["nonsi"] == tokens["si"] == tokens["dsi"] and len(tokens["dsi"]) == 6
    assert "dsi_over_si" in result["speedup"]


def test_gpu_bench_refuses_a_drafter_vocabulary_before_loading_weights(tmp_path, capsys):
    from transformers import LlamaConfig

    target = _save_tiny(tmp_path / "target", 20)
    LlamaConfig(vocab_size=30).save_pretrained(tmp_path / "drafter")  # a config, no weights at all
    code = gpu_bench.main(["--target", str(target), "--drafter", str(tmp_path / "drafter"),
                           "--target-devices", "cpu", "--drafter-device", "cpu", "--prompt-ids", "1"])
    assert code == 2
    assert "VocabularyMismatchError" in capsys.readouterr().err


def test_loading_is_safe_by_default(monkeypatch):
    import transformers

    from gpu_runtime import hf

    seen = {}

    def fake(name, **kwargs):
        seen.update(kwargs)
        raise RuntimeError("stop here")

    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", fake)
    with pytest.raises(RuntimeError, match="stop here"):
        hf.load_pretrained("some/model")
    assert seen["use_safetensors"] is True and seen["trust_remote_code"] is False
