"""``dsi generate``, ``dsi bench`` and ``python -m gpu_runtime.hf_bench`` (CPU, tiny models)."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
import torch

from gpu_runtime import compare
from gpu_runtime import hf_bench as gpu_bench
from gpu_runtime.engine import RuntimeEngine
from paper_repro.console import main
from reference.errors import FileFormatError


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
    assert out["config"]["num_target_servers"] == 3  # ceil(1 / (2 · 1/4)) + 1
    assert out["predicted"]["nonsi"] == pytest.approx(12 * 0.004)  # S target forwards of 4 ms
    assert out["schedule_agrees"] is True and out["schedule_differences"] == [] and out["ok"]


class _RuntimeOffByOne(RuntimeEngine):
    """A broken runtime: DSI's last token is one id off."""

    def generate(self, *args, **kwargs):
        result = super().generate(*args, **kwargs)
        if result.algorithm != "dsi":
            return result
        return dataclasses.replace(result, tokens=(*result.tokens[:-1], (result.tokens[-1] + 1) % 64))


class _RuntimeIgnoringWarmStart(RuntimeEngine):
    """A broken runtime: it accepts warm_start and ignores it."""

    def generate(self, *args, **kwargs):
        return super().generate(*args, **{**kwargs, "warm_start": False})


def test_bench_reports_runtime_tokens_that_differ_and_exits_1(capsys, monkeypatch):
    monkeypatch.setattr(compare, "RuntimeEngine", _RuntimeOffByOne)
    assert main(["bench", "--json", "--tokens", "6", "--runs", "1", "--target-ms", "2", "--drafter-ms", "1",
                 "--k", "2", "--acceptance", "0.5"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["schedule_agrees"] is False and out["ok"] is False
    assert [line.split(":")[0] for line in out["schedule_differences"]] == ["dsi"]
    assert "tokens" in out["schedule_differences"][0]


WARM_ARGV = ["bench", "--json", "--tokens", "8", "--runs", "1", "--target-ms", "4", "--drafter-ms", "1",
             "--target-prefill-ms", "12", "--k", "2", "--sp", "3", "--acceptance", "1"]


def _check_warm_start_bench(warm: dict, cold: dict) -> None:
    """Hand-derived, every draft accepted (a = 1), S = 8, k = 2, N = 3, target prefill 12 / decode 4,
    drafter 1 (ms). Windows W0..W3 (drafts 0-1, 2-3, 4-5, 6) are dispatched at 2, 4, 6, 7.
    Warm start: servers 1, 2 warm up and server 0 runs F0 over [0, 12]; W0, W1, W2 run [12, 16]
    (positions 1..6 at 16), W3 [16, 20]: T_DSI = 20. Cold: F0 [0, 12], W0 on server 1 [2, 14],
    W1 on server 2 [4, 16] (prefills), W2 on server 0 [12, 16], W3 on server 1 [14, 18]: T_DSI = 18.
    non-SI: 12 + 7·4 = 40; SI: (2 + 12) + (2 + 4) + (1 + 4) = 25."""
    for out, dsi in ((warm, 0.020), (cold, 0.018)):
        assert out["predicted"] == pytest.approx({"nonsi": 0.040, "si": 0.025, "dsi": dsi})
        # the runtime ran the reference's schedule: warm-ups on servers 1..N-1 included
        assert out["schedule_agrees"] is True, out["schedule_differences"]


def test_bench_warm_start_is_passed_to_both_engines(capsys):
    _check_warm_start_bench(_json(capsys, [*WARM_ARGV, "--warm-start"]), _json(capsys, WARM_ARGV))


def test_bench_warm_start_check_detects_a_runtime_ignoring_it(capsys, monkeypatch):
    monkeypatch.setattr(compare, "RuntimeEngine", _RuntimeIgnoringWarmStart)
    assert main([*WARM_ARGV, "--warm-start"]) == 1  # off the reference's schedule: the bench fails
    warm = json.loads(capsys.readouterr().out)
    cold = _json(capsys, WARM_ARGV)  # without warm start it does run the reference's schedule
    with pytest.raises(AssertionError):
        _check_warm_start_bench(warm, cold)


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
    with pytest.raises(FileFormatError, match="stop here"):  # what a bad checkpoint raises is typed
        hf.load_pretrained("some/model")
    assert seen["use_safetensors"] is True and seen["trust_remote_code"] is False
